/**
 * `npm run bench:ingest`: CPU per event of the control server's in-process ingest pipeline, without
 * the broker and the network: the real ingest (routing, JSON parse, schema validation, idempotent
 * insert into a real SQLite file made by `openDatabase`, one transaction per batch) and the real live
 * hub fanning every event out to K batch-frame clients. The clients are in-memory sockets that count
 * bytes, so the figure excludes the `ws` framing and the kernel's socket copies (see `npm run load`
 * for the end-to-end figure). Prints one JSON line: µs of CPU per event in total and per stage
 * (handle, commit, fan-out), medians of R repetitions of N events each, after a warm-up. With the
 * event writer (the server's default) the CPU figure includes the worker thread's, and `commit` is
 * the main thread's wait for it, fan-out included (the events are pushed when the worker answers):
 * batches are committed one after the other here, whereas the server gathers the next batch meanwhile.
 *
 * The events are the load tool's (scripts/lib/load-common.ts). Options (env): PORTAIL_BENCH_EVENTS (N, default 60 000), PORTAIL_BENCH_BATCH (default 150),
 * PORTAIL_BENCH_CLIENTS (K, default 20), PORTAIL_BENCH_REPEAT (R, default 3),
 * PORTAIL_BENCH_WRITER (`worker`, the default, or `inline`: the events inserted on the main thread).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildTopic } from '@portail/protocol';
import pino from 'pino';
import { WebSocket } from 'ws';
import { startEventWriter } from '../control-server/src/ingest/event-writer.js';
import { createIngest } from '../control-server/src/ingest/ingest-service.js';
import { createLiveHub, type HubSocket } from '../control-server/src/http/ws/live-hub.js';
import { createAgentRepository } from '../control-server/src/repositories/agent-repository.js';
import { createEventRepository } from '../control-server/src/repositories/event-repository.js';
import { createLiveBus } from '../control-server/src/services/live-bus.js';
import { openDatabase } from '../control-server/src/store/database.js';
import { createLoadEventSource } from './lib/load-common.js';

const N = Number(process.env.PORTAIL_BENCH_EVENTS ?? 60_000);
const BATCH = Number(process.env.PORTAIL_BENCH_BATCH ?? 150);
const CLIENTS = Number(process.env.PORTAIL_BENCH_CLIENTS ?? 20);
const REPEAT = Number(process.env.PORTAIL_BENCH_REPEAT ?? 3);
const WRITER = process.env.PORTAIL_BENCH_WRITER ?? 'worker';
if (WRITER !== 'worker' && WRITER !== 'inline') throw new Error('PORTAIL_BENCH_WRITER must be worker or inline');
const SITES = 20;
const AGENTS_PER_SITE = 2;

// the load tool's generator: the same event mix and payloads as `npm run load` (half access, half movement)
const source = createLoadEventSource({ accessShare: 0.5 });
const agents = Array.from({ length: SITES * AGENTS_PER_SITE }, (_, i) => {
  const site = `lycee-${String(i % SITES).padStart(3, '0')}`;
  const agent = `agent-${Math.floor(i / SITES)}`;
  return { site, agent, events: source.forAgent(site, agent) };
});

function message(i: number, tsMs: number): [string, Buffer] {
  const a = agents[i % agents.length]!;
  const { key, json } = a.events.next(tsMs);
  return [buildTopic(key, a.site, a.agent), Buffer.from(json)];
}

interface CountingSocket extends HubSocket {
  bytes: number;
}
function countingSocket(): CountingSocket {
  const s = {
    bytes: 0,
    readyState: WebSocket.OPEN,
    bufferedAmount: 0,
    send(data: string | Buffer) {
      s.bytes += typeof data === 'string' ? data.length : data.byteLength;
    },
    ping() {},
    terminate() {},
    close() {},
    on() {
      return s;
    },
  };
  return s as unknown as CountingSocket;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cpuUs = (): number => {
  const c = process.cpuUsage();
  return c.user + c.system;
};

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'portail-bench-ingest-'));
  const db = openDatabase({ dataDir });
  const logger = pino({ level: 'silent' });
  const bus = createLiveBus();
  const eventWriter = WRITER === 'worker' ? await startEventWriter({ db, logger }) : undefined;
  const ingest = createIngest({
    events: createEventRepository(db),
    agents: createAgentRepository(db),
    bus,
    logger,
    db,
    ...(eventWriter ? { eventWriter } : {}),
  });
  const hub = createLiveHub({ pingIntervalMs: 3_600_000, maxBufferedBytes: 1 << 30, logger });
  bus.subscribe((m) => hub.broadcast(m));
  const sockets = Array.from({ length: CLIENTS }, countingSocket);
  for (const s of sockets) hub.add(s, { type: 'hello' }, { batch: true });

  let t = Date.now();
  const runs: Array<{ total: number; handle: number; commit: number; fanout: number }> = [];
  for (let r = 0; r <= REPEAT; r++) {
    const msgs = Array.from({ length: N }, (_, i) => message(r * N + i, (t += 0.1)));
    const c0 = cpuUs();
    let handle = 0;
    let commit = 0;
    let fanout = 0;
    for (let i = 0; i < N; i += BATCH) {
      const a = performance.now();
      const b = ingest.beginAsync();
      for (let j = i; j < Math.min(N, i + BATCH); j++) b.handle(msgs[j]![0], msgs[j]![1]);
      const m = performance.now();
      const done = await b.commit();
      if (!done.ok) throw new Error(`bench:ingest: commit failed: ${done.error}`);
      const c = performance.now();
      await Promise.resolve(); // the hub frames the tick in a microtask
      fanout += performance.now() - c;
      handle += m - a;
      commit += c - m;
    }
    const total = cpuUs() - c0;
    // the first repetition warms up the JIT and the page cache
    if (r > 0)
      runs.push({
        total: total / N,
        handle: (handle * 1000) / N,
        commit: (commit * 1000) / N,
        fanout: (fanout * 1000) / N,
      });
  }
  const stats = ingest.stats();
  hub.close();
  await eventWriter?.close();
  db.close();
  rmSync(dataDir, { recursive: true, force: true });
  if (stats.stored !== N * (REPEAT + 1) || sockets.some((s) => s.bytes === 0)) {
    throw new Error(
      `bench:ingest: stored ${stats.stored} of ${N * (REPEAT + 1)} (rejected ${JSON.stringify(stats.rejected)})`,
    );
  }
  const round = (x: number): number => Math.round(x * 100) / 100;
  console.log(
    JSON.stringify({
      bench: 'ingest',
      writer: WRITER,
      events: N,
      batch: BATCH,
      clients: CLIENTS,
      repeat: REPEAT,
      cpuUsPerEvent: round(median(runs.map((x) => x.total))),
      wallUsPerEvent: {
        handle: round(median(runs.map((x) => x.handle))),
        commit: round(median(runs.map((x) => x.commit))),
        fanout: round(median(runs.map((x) => x.fanout))),
      },
      bytesPerEventPerClient: Math.round(sockets[0]!.bytes / (N * (REPEAT + 1))),
    }),
  );
}

await main();
