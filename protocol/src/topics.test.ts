import { describe, expect, it } from 'vitest';
import { agentTopicsFilter, buildTopic, parseTopic, TOPIC_KEYS, TOPICS, TopicError } from './topics.js';

describe('topics', () => {
  it('builds and parses every topic of the contract', () => {
    for (const key of TOPIC_KEYS) {
      const t = buildTopic(key, 'lycee-a', 'gate-1');
      expect(t.startsWith('portail/v1/lycee-a/gate-1/')).toBe(true);
      expect(parseTopic(t)).toEqual({ key, site: 'lycee-a', agent: 'gate-1' });
    }
    expect(buildTopic('access', 's', 'a')).toBe('portail/v1/s/a/events/access');
  });

  it('refuses wildcards, separators and upper case in ids', () => {
    for (const bad of ['+', '#', 'a/b', 'Site', '', 'x'.repeat(65), 'é']) {
      expect(() => buildTopic('status', bad, 'a')).toThrow(TopicError);
      expect(() => buildTopic('status', 's', bad)).toThrow(TopicError);
    }
  });

  it('returns null for topics outside the contract', () => {
    for (const t of ['portail/v2/s/a/status', 'portail/v1/s/a/unknown', 'portail/v1/s/status', 'other/v1/s/a/status', 'portail/v1/S/a/status', 'portail/v1/s/a/events/access/extra']) {
      expect(parseTopic(t)).toBeNull();
    }
  });

  it('builds subscription filters', () => {
    expect(agentTopicsFilter()).toBe('portail/v1/+/+/#');
    expect(agentTopicsFilter('s1')).toBe('portail/v1/s1/+/#');
  });

  it('declares QoS 1 and retain for availability and config, QoS 1 for events', () => {
    expect(TOPICS.status).toMatchObject({ qos: 1, retain: true });
    expect(TOPICS.config).toMatchObject({ qos: 1, retain: true, publisher: 'server' });
    for (const k of ['access', 'movement', 'camera'] as const) expect(TOPICS[k]).toMatchObject({ qos: 1, retain: false });
  });
});
