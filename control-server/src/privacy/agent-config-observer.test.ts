import { buildTopic, encodePayload, type AgentConfig } from '@portail/protocol';
import { describe, expect, it } from 'vitest';
import { createAgentConfigObserver } from './agent-config-observer.js';

const config = (agent: string, over: Partial<AgentConfig> = {}): AgentConfig => ({
  v: 1,
  site: 'lycee',
  agent,
  ts: '2026-03-02T10:00:00.000Z',
  configVersion: 2,
  cameras: [{ id: 'hall', locationType: 'circulation', trackingEnabled: true, zones: [], lines: [], tailgating: [] }],
  thresholds: {},
  ...over,
});
const bytes = (c: AgentConfig) => Buffer.from(encodePayload('config', c));

describe('agent config observer', () => {
  it('keeps the latest valid retained configuration of each agent, per site', () => {
    const o = createAgentConfigObserver();
    expect(o.observe(buildTopic('config', 'lycee', 'gate-1'), bytes(config('gate-1')))).toBe(true);
    expect(o.observe(buildTopic('config', 'lycee', 'gate-2'), bytes(config('gate-2', { configVersion: 5 })))).toBe(
      true,
    );
    expect(o.forSite('lycee').get('gate-1')!.cameras[0]).toMatchObject({
      locationType: 'circulation',
      trackingEnabled: true,
    });
    expect([...o.forSite('lycee').keys()].sort()).toEqual(['gate-1', 'gate-2']);
    expect(o.forSite('autre').size).toBe(0);
    o.observe(buildTopic('config', 'lycee', 'gate-1'), bytes(config('gate-1', { configVersion: 3, cameras: [] })));
    expect(o.forSite('lycee').get('gate-1')!.configVersion).toBe(3);
  });

  it('ignores other topics and invalid or mismatched payloads, and forgets a cleared topic', () => {
    const o = createAgentConfigObserver();
    const topic = buildTopic('config', 'lycee', 'gate-1');
    o.observe(topic, bytes(config('gate-1')));
    expect(o.observe(buildTopic('status', 'lycee', 'gate-1'), Buffer.from('{}'))).toBe(false);
    expect(o.observe('not/a/portail/topic', Buffer.from('{}'))).toBe(false);
    expect(o.observe(topic, Buffer.from('{"v":1}'))).toBe(false);
    // a configuration for another agent on this agent's topic
    expect(o.observe(topic, bytes(config('gate-9')))).toBe(false);
    expect(o.forSite('lycee').get('gate-1')!.configVersion).toBe(2);
    expect(o.observe(topic, new Uint8Array())).toBe(true);
    expect(o.forSite('lycee').has('gate-1')).toBe(false);
  });
});
