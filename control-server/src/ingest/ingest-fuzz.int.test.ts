/**
 * Fuzz run of the MQTT ingest: mutated payloads (flipped bytes, truncation, type swaps, huge strings,
 * deep nesting, unknown and mismatched topics, replays) through the real ingest on a real SQLite
 * file, then a smaller share through a real aedes broker. Nothing may crash or leave a rejected
 * promise, and every message must be accounted for: accepted + rejected == sent.
 * PORTAIL_FUZZ_MESSAGES / PORTAIL_FUZZ_BROKER_MESSAGES / PORTAIL_FUZZ_SEED change the run.
 */
import { MAX_PAYLOAD_BYTES } from '@portail/protocol';
import type BetterSqlite3 from 'better-sqlite3';
import type { MqttClient } from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentRepository } from '../repositories/agent-repository.js';
import { createEventRepository } from '../repositories/event-repository.js';
import { createLiveBus, type LiveMessage } from '../services/live-bus.js';
import { openDatabase } from '../store/database.js';
import {
  makeAccessEvent,
  makeCameraEvent,
  makeHealth,
  makeMovementEvent,
  makeStatus,
  makeTempDir,
  waitFor,
} from '../test-support/fixtures.js';
import { connectAgentClient, getJson, startHarness, type Harness } from '../test-support/harness.js';
import { createIngest } from './ingest-service.js';
import { REJECT_REASONS, type IngestStats } from './ingest-stats.js';
import { createPayloadMutator, type MutationKind, type SeedMessage } from './payload-mutator.js';

const MESSAGES = Number(process.env.PORTAIL_FUZZ_MESSAGES ?? 100_000);
const BROKER_MESSAGES = Number(process.env.PORTAIL_FUZZ_BROKER_MESSAGES ?? 3_000);
const SEED = Number(process.env.PORTAIL_FUZZ_SEED ?? 20_261_122);

function seeds(): SeedMessage[] {
  const out: SeedMessage[] = [];
  for (const [site, agent] of [
    ['lycee-a', 'gate-1'],
    ['lycee-b', 'gate-2'],
  ] as const) {
    const ts = new Date().toISOString();
    out.push(
      { key: 'status', value: { ...makeStatus(site, agent) } },
      { key: 'health', value: { ...makeHealth(site, agent) } },
      { key: 'access', value: { ...makeAccessEvent(site, agent) } },
      { key: 'access', value: { ...makeAccessEvent(site, agent, { decision: 'mismatch', biometric: true }) } },
      { key: 'movement', value: { ...makeMovementEvent(site, agent) } },
      {
        key: 'movement',
        value: { ...makeMovementEvent(site, agent, { kind: 'line_counts', counts: { in: 3, out: 1 }, direction: undefined, trackId: undefined }) },
      },
      { key: 'camera', value: { ...makeCameraEvent(site, agent) } },
      {
        key: 'configState',
        value: { v: 1, site, agent, ts, appliedVersion: 2, result: 'applied', receivedVersion: 2 },
      },
      {
        key: 'syncState',
        value: { v: 1, site, agent, ts, appliedVersion: 1, result: 'applied', receivedVersion: 1, templateCount: 0, revocationCount: 0 },
      },
    );
  }
  // undefined fields (from the overrides above) are not part of a JSON payload
  return out.map((s) => ({ key: s.key, value: JSON.parse(JSON.stringify(s.value)) as Record<string, unknown> }));
}

/** Every counted outcome but a reject: the other half of accepted + rejected == received. */
function accepted(s: IngestStats): number {
  return s.stored + s.duplicates + s.statusUpdates + s.healthUpdates + s.stateUpdates + s.ignored + s.foreignSite;
}
function rejected(s: IngestStats): number {
  return Object.values(s.rejected).reduce((a, b) => a + b, 0);
}

describe('ingest fuzzing', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(() => {
    process.off('unhandledRejection', onUnhandled);
  });

  it(`survives ${MESSAGES} mutated payloads through the real ingest and SQLite, counting every one`, async () => {
    const tmp = makeTempDir('portail-fuzz-');
    const db: BetterSqlite3.Database = openDatabase({ dataDir: tmp.dir });
    try {
      const bus = createLiveBus((err) => {
        throw err;
      });
      let pushed = 0;
      // what the WebSocket hub does with every push: serialise it
      bus.subscribe((m: LiveMessage) => {
        pushed += JSON.stringify(m).length > 0 ? 1 : 0;
      });
      const ingest = createIngest({
        agents: createAgentRepository(db),
        events: createEventRepository(db),
        bus,
        db,
        logger: pino({ level: 'silent' }),
      });
      const mutator = createPayloadMutator({ seed: SEED, seeds: seeds() });
      const byMutation = new Map<MutationKind, number>();
      const validIds = new Set<string>();
      let sent = 0;
      let oversized = 0;
      while (sent < MESSAGES) {
        // mostly batches the size of a socket read, as the MQTT subscriber makes them; some single messages
        const size = sent % 7 === 0 ? 1 : 1 + (sent % 300);
        const batch = ingest.begin();
        for (let i = 0; i < size && sent < MESSAGES; i++, sent++) {
          const m = mutator.next();
          byMutation.set(m.mutation, (byMutation.get(m.mutation) ?? 0) + 1);
          if (m.payload.byteLength > MAX_PAYLOAD_BYTES) oversized += 1;
          if (m.mutation === 'valid' && m.topic.includes('/events/')) {
            validIds.add((JSON.parse(m.payload.toString('utf8')) as { id: string }).id);
          }
          batch.handle(m.topic, m.payload);
        }
        expect(batch.commit()).toEqual({ ok: true });
        // let pending microtasks and timers run, as they would between socket reads
        if (sent % 10_000 < size) await new Promise((r) => setImmediate(r));
      }

      const s = ingest.stats();
      expect(s.received).toBe(sent);
      expect(accepted(s) + rejected(s)).toBe(sent);
      expect(s.storeErrors).toBe(0);
      // every kind of reject was reached: the mutations exercise the whole decoder, not one path
      for (const reason of REJECT_REASONS) expect(s.rejected[reason], reason).toBeGreaterThan(0);
      expect(s.rejected.too_large).toBeGreaterThanOrEqual(oversized);
      // valid events are all stored, once; replays counted as duplicates
      const rows = db.prepare('SELECT count(*) AS n, count(DISTINCT id) AS d FROM events').get() as { n: number; d: number };
      expect(rows.n).toBe(rows.d);
      expect(rows.n).toBe(s.stored);
      const has = db.prepare('SELECT 1 FROM events WHERE id = ?');
      for (const id of validIds) expect(has.get(id), id).toBeDefined();
      expect(s.duplicates).toBeGreaterThan(0);
      expect(pushed).toBeGreaterThanOrEqual(s.stored);
      expect(unhandled).toEqual([]);
      // nothing slipped through the prototype-pollution payloads
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      console.info(
        JSON.stringify({ fuzz: 'ingest', sent, stats: { ...s, lastMessageAt: undefined }, mutations: Object.fromEntries(byMutation) }),
      );
    } finally {
      db.close();
      tmp.remove();
    }
  }, Math.max(300_000, MESSAGES * 3));

  describe('through a real aedes broker', () => {
    let h: Harness;
    let client: MqttClient;
    beforeAll(async () => {
      h = await startHarness();
      client = await connectAgentClient(h.server.mqttUrl, { clientId: 'fuzz-agent' });
    });
    afterAll(async () => {
      await client?.endAsync();
      await h?.stop();
    });

    it(`accounts for ${BROKER_MESSAGES} mutated messages published over MQTT and keeps serving`, async () => {
      const stats = async (): Promise<IngestStats> =>
        (await getJson<{ ingest: IngestStats }>(h.server.httpUrl, '/api/stats')).body.ingest;
      const before = await stats();
      // topics the broker accepts and routes to the ingest subscription; packets within its size limit
      const mutator = createPayloadMutator({ seed: SEED + 1, seeds: seeds(), brokerSafeTopics: true, oversizedShare: 0 });
      const pending: Array<Promise<unknown>> = [];
      for (let i = 0; i < BROKER_MESSAGES; i++) {
        const m = mutator.next();
        pending.push(client.publishAsync(m.topic, m.payload, { qos: i % 5 === 0 ? 0 : 1 }));
        if (pending.length >= 200) await Promise.all(pending.splice(0));
      }
      await Promise.all(pending);
      const after = await waitFor(
        async () => {
          const s = await stats();
          // counters of valid messages move at their batch's commit (a few ms after receipt)
          const settled = accepted(s) - accepted(before) + rejected(s) - rejected(before) === s.received - before.received;
          return s.received - before.received === BROKER_MESSAGES && settled ? s : undefined;
        },
        'every published message received and accounted for by the ingest',
        30_000,
      );
      expect(accepted(after) - accepted(before) + rejected(after) - rejected(before)).toBe(BROKER_MESSAGES);
      expect(after.storeErrors).toBe(0);
      expect(rejected(after) - rejected(before)).toBeGreaterThan(0);
      expect(after.stored - before.stored).toBeGreaterThan(0);
      const health = await getJson<{ ok: boolean }>(h.server.httpUrl, '/healthz');
      expect(health).toEqual({ status: 200, body: { ok: true } });
      expect(client.connected).toBe(true);
      expect(unhandled).toEqual([]);
    }, 90_000);
  });
});
