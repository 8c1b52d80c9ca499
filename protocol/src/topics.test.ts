import { describe, expect, it } from 'vitest';
import {
  agentTopicsFilter,
  buildSiteTopic,
  buildTopic,
  parseSiteTopic,
  parseTopic,
  siteSyncFilter,
  SITE_TOPICS,
  TOPIC_KEYS,
  TOPICS,
  TopicError,
} from './topics.js';

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

  it('reserves the agent id `sync` for the site sync topics, which are never read as an agent topic', () => {
    expect(() => buildTopic('status', 's', 'sync')).toThrow(TopicError);
    expect(() => agentTopicsFilter('s', 'sync')).toThrow(TopicError);
    expect(parseTopic('portail/v1/s/sync/manifest')).toBeNull();
    expect(parseTopic('portail/v1/s/sync/status')).toBeNull();
    expect(parseTopic(buildTopic('syncState', 's', 'gate-1'))).toEqual({ key: 'syncState', site: 's', agent: 'gate-1' });
  });

  it('builds, parses and filters the site sync topics', () => {
    expect(buildSiteTopic('syncManifest', 'lycee-a')).toBe('portail/v1/lycee-a/sync/manifest');
    expect(buildSiteTopic('syncChunk', 'lycee-a', 12)).toBe('portail/v1/lycee-a/sync/templates/12');
    expect(parseSiteTopic('portail/v1/lycee-a/sync/manifest')).toEqual({ key: 'syncManifest', site: 'lycee-a' });
    expect(parseSiteTopic('portail/v1/lycee-a/sync/templates/12')).toEqual({ key: 'syncChunk', site: 'lycee-a', index: 12 });
    for (const t of [
      'portail/v1/lycee-a/sync/templates/012',
      'portail/v1/lycee-a/sync/templates/256',
      'portail/v1/lycee-a/sync/templates/-1',
      'portail/v1/lycee-a/sync/templates',
      'portail/v1/lycee-a/sync/other',
      'portail/v1/lycee-a/gate-1/sync/state',
      'portail/v1/Lycee/sync/manifest',
    ]) {
      expect(parseSiteTopic(t), t).toBeNull();
    }
    expect(() => buildSiteTopic('syncChunk', 'lycee-a')).toThrow(TopicError);
    expect(() => buildSiteTopic('syncChunk', 'lycee-a', 256)).toThrow(TopicError);
    expect(() => buildSiteTopic('syncManifest', 'lycee-a', 1)).toThrow(TopicError);
    expect(() => buildSiteTopic('syncManifest', '+')).toThrow(TopicError);
    expect(siteSyncFilter('lycee-a')).toBe('portail/v1/lycee-a/sync/#');
    // an agent's own sync/state is not under the site filter (agent id `sync` is reserved)
    expect(buildTopic('syncState', 'lycee-a', 'gate-1').startsWith('portail/v1/lycee-a/sync/')).toBe(false);
    expect(SITE_TOPICS.syncManifest).toMatchObject({ qos: 1, retain: true, publisher: 'server' });
    expect(SITE_TOPICS.syncChunk).toMatchObject({ qos: 1, retain: true, publisher: 'server' });
    expect(TOPICS.syncState).toMatchObject({ qos: 1, retain: true, publisher: 'agent' });
  });
});
