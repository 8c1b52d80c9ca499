import { buildTopic, decodePayload, type AgentConfig } from '@portail/protocol';
import type { Database } from 'better-sqlite3';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../test-support/fixtures.js';
import { openDatabase } from '../store/database.js';
import {
  classifyChange,
  createAgentConfigService,
  type AgentConfigBody,
  type AgentConfigService,
} from './agent-config-service.js';

const hall = (over: Record<string, unknown> = {}) => ({
  id: 'hall',
  locationType: 'circulation',
  trackingEnabled: true,
  zones: [
    {
      id: 'stairs',
      polygon: [
        [10, 10],
        [200, 10],
        [200, 150],
        [10, 150],
      ],
    },
  ],
  ...over,
});

describe('agent configuration service', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let db: Database;
  let svc: AgentConfigService;
  let sent: Array<{ topic: string; payload: string; retain: boolean; qos: number }>;
  const decoded = (i: number): AgentConfig => {
    const r = decodePayload('config', sent[i]!.payload);
    if (!r.ok) throw new Error(r.error.messages.join('; '));
    return r.value;
  };
  const wire = (c: Partial<AgentConfig> & { configVersion: number }) =>
    Buffer.from(
      JSON.stringify({
        v: 1,
        site: 's1',
        agent: 'a1',
        ts: new Date().toISOString(),
        cameras: [],
        thresholds: {},
        ...c,
      }),
    );

  beforeEach(() => {
    tmp = makeTempDir();
    db = openDatabase({ dataDir: tmp.dir });
    sent = [];
    svc = createAgentConfigService({
      db,
      publish: async (topic, payload, o) => {
        sent.push({ topic, payload, ...o });
      },
      logger: pino({ level: 'silent' }),
      settleMs: 10,
    });
  });
  afterEach(() => {
    svc.stop();
    db.close();
    tmp.remove();
  });

  it('stores version N+1 and publishes it retained on the agent config topic; an identical body is no new version', async () => {
    const r = svc.save('s1', 'a1', { cameras: [hall()], thresholds: { personScore: 0.4 } }, 'alice');
    expect(r).toMatchObject({ ok: true, value: { version: 1, unchanged: false } });
    await svc.idle();
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ topic: buildTopic('config', 's1', 'a1'), retain: true, qos: 1 });
    expect(decoded(0)).toMatchObject({
      configVersion: 1,
      thresholds: { personScore: 0.4 },
      cameras: [{ id: 'hall', zones: [{ id: 'stairs' }] }],
    });
    expect(svc.publication('s1', 'a1')).toMatchObject({ version: 1, publishedAt: expect.any(String) });

    const same = svc.save('s1', 'a1', { baseVersion: 1, cameras: [hall()], thresholds: { personScore: 0.4 } }, 'bob');
    expect(same).toMatchObject({ ok: true, value: { version: 1, unchanged: true } });
    const next = svc.save(
      's1',
      'a1',
      { baseVersion: 1, cameras: [hall({ zones: [] })], thresholds: { personScore: 0.4 } },
      'bob',
    );
    expect(next).toMatchObject({ ok: true, value: { version: 2, unchanged: false } });
    await svc.idle();
    expect(sent).toHaveLength(2);
    expect(svc.history('s1', 'a1').map((v) => [v.version, v.createdBy, v.source])).toEqual([
      [2, 'bob', 'console'],
      [1, 'alice', 'console'],
    ]);
  });

  it('answers validation problems with their paths and refuses an edit made on an old version', () => {
    const bad = svc.save(
      's1',
      'a1',
      {
        cameras: [
          hall({
            zones: [
              {
                id: 'z',
                polygon: [
                  [0, 0],
                  [1, 1],
                ],
              },
            ],
          }),
        ],
      },
      'alice',
    );
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.error.code === 'CONFIG_INVALID' && bad.error.issues.map((i) => i.path)).toContain(
      'cameras.0.zones.0.polygon',
    );
    const playground = svc.save('s1', 'a1', { cameras: [hall({ locationType: 'playground' })] }, 'alice');
    expect(!playground.ok && playground.error.message).toMatch(
      /cameras\.0\.trackingEnabled: tracking cannot be enabled/,
    );
    // what the agent's status says it runs is checked before anything is published
    const unknown = svc.save('s1', 'a1', { cameras: [hall({ id: 'roof' })] }, 'alice', [
      { id: 'hall', role: 'tracking' },
    ]);
    expect(!unknown.ok && unknown.error.code === 'CONFIG_INVALID' && unknown.error.issues).toEqual([
      { path: 'cameras.0.id', message: 'agent a1 has no camera "roof"' },
    ]);
    const gate = svc.save('s1', 'a1', { cameras: [hall()] }, 'alice', [{ id: 'hall', role: 'gate' }]);
    expect(!gate.ok && gate.error.code === 'CONFIG_INVALID' && gate.error.issues[0]!.path).toBe(
      'cameras.0.trackingEnabled',
    );
    expect(sent).toHaveLength(0);

    expect(svc.save('s1', 'a1', { cameras: [hall()] }, 'alice').ok).toBe(true);
    const stale = svc.save('s1', 'a1', { baseVersion: 0, cameras: [] }, 'bob');
    expect(stale).toMatchObject({ ok: false, error: { code: 'CONFIG_CONFLICT', currentVersion: 1 } });
  });

  it('imports a retained configuration it did not publish, on first sight and when newer, and ignores its own echo', async () => {
    const topic = buildTopic('config', 's1', 'a1');
    expect(svc.observe(topic, wire({ configVersion: 7, cameras: [hall()] as AgentConfig['cameras'] }))).toBe(true);
    expect(svc.current('s1', 'a1')).toMatchObject({ version: 7, source: 'imported', createdBy: 'broker' });
    // the next version made here follows the imported one; its echo changes nothing
    expect(svc.save('s1', 'a1', { cameras: [hall({ zones: [] })] }, 'alice')).toMatchObject({
      ok: true,
      value: { version: 8 },
    });
    await svc.idle();
    svc.observe(topic, Buffer.from(sent[0]!.payload));
    expect(svc.history('s1', 'a1')).toHaveLength(2);
    expect(svc.brokerVersion('s1', 'a1')).toBe(8);
    // a newer configuration written by another tool is kept as a version, not overwritten
    svc.observe(topic, wire({ configVersion: 12 }));
    expect(svc.current('s1', 'a1')).toMatchObject({ version: 12, source: 'imported', body: { cameras: [] } });
    // invalid payloads and other agents' topics are not imported
    expect(svc.observe(topic, Buffer.from('{"nope"'))).toBe(false);
    expect(svc.observe(buildTopic('status', 's1', 'a1'), wire({ configVersion: 99 }))).toBe(false);
    expect(svc.current('s1', 'a1')?.version).toBe(12);
    expect(sent).toHaveLength(1);
  });

  it('publishes its version again over an older one found on the broker', async () => {
    svc.save('s1', 'a1', { cameras: [hall()] }, 'alice');
    svc.save('s1', 'a1', { cameras: [hall({ zones: [] })] }, 'alice');
    await svc.idle();
    sent.length = 0;
    svc.observe(
      buildTopic('config', 's1', 'a1'),
      wire({ configVersion: 1, cameras: [hall()] as AgentConfig['cameras'] }),
    );
    await svc.idle();
    expect(sent.map((_, i) => decoded(i).configVersion)).toEqual([2]);
    expect(svc.current('s1', 'a1')?.version).toBe(2);
  });

  it('after a (re)connect, republishes what the broker lacks once the retained messages settled', async () => {
    svc.save('s1', 'a1', { cameras: [hall()] }, 'alice');
    svc.save('s1', 'a2', { cameras: [hall()] }, 'alice');
    await svc.idle();
    sent.length = 0;
    svc.onConnect();
    // the broker still holds a1's configuration (its retained message comes back); a2's was lost
    svc.observe(
      buildTopic('config', 's1', 'a1'),
      Buffer.from(JSON.stringify({ ...decoded0(), ts: new Date().toISOString() })),
    );
    await new Promise((r) => setTimeout(r, 50));
    await svc.idle();
    expect(sent.map((m) => m.topic)).toEqual([buildTopic('config', 's1', 'a2')]);

    function decoded0() {
      const c = svc.current('s1', 'a1')!;
      return { v: 1, site: 's1', agent: 'a1', configVersion: c.version, ...c.body };
    }
  });
});

describe('classifyChange', () => {
  const body = (cams: Array<Record<string, unknown>>, thresholds = {}): AgentConfigBody => {
    const b: unknown = {
      cameras: cams.map((c) => ({
        id: 'hall',
        locationType: 'circulation',
        trackingEnabled: false,
        zones: [],
        lines: [],
        tailgating: [],
        ...c,
      })),
      thresholds,
    };
    return b as AgentConfigBody;
  };

  it('tells rule changes (zones:write) from camera and threshold changes (cameras:write)', () => {
    const zone = {
      id: 'z',
      polygon: [
        [0, 0],
        [1, 0],
        [1, 1],
      ],
    };
    expect(classifyChange(body([{}]), body([{ zones: [zone] }]))).toEqual({ rules: true, cameras: false });
    expect(classifyChange(body([{}]), body([{ trackingEnabled: true }]))).toEqual({ rules: false, cameras: true });
    expect(classifyChange(body([{}]), body([{}], { faceScore: 0.7 }))).toEqual({ rules: false, cameras: true });
    expect(classifyChange(body([{ zones: [zone] }]), body([{ zones: [zone] }]))).toEqual({
      rules: false,
      cameras: false,
    });
    // a first configuration: whatever it declares
    expect(classifyChange(null, body([{ zones: [zone] }]))).toEqual({ rules: true, cameras: true });
  });
});
