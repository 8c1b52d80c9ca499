/**
 * Child process of `npm run load`: one control server (the real one: broker or external broker,
 * validation, batched idempotent storage, WebSocket fan-out), or with `bare` the baseline pipeline:
 * aedes → in-process subscription → JSON.parse → SQLite insert, with no validation and no fan-out.
 * Answers `stats` with the ingest counters and its own CPU, event-loop utilisation and delay.
 */
import { createServer, type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { agentTopicsFilter } from '@portail/protocol';
import { Aedes } from 'aedes';
import pino from 'pino';
import { makeConfig, startControlServer, type ConfigInput } from '../../control-server/src/server.js';
import { INSERT_EVENT_SQL } from '../../control-server/src/repositories/event-repository.js';
import { openDatabase } from '../../control-server/src/store/database.js';
import { startWalCheckpointer } from '../../control-server/src/ingest/wal-checkpointer.js';
import type { ProcessCost } from './load-common.js';

export interface ServerInput {
  mode: 'server' | 'bare';
  /** server mode: the config (dataDir is made here when absent) */
  config?: ConfigInput;
}

export interface ServerCounters {
  received: number;
  stored: number;
  duplicates: number;
  rejected: number;
  storeErrors: number;
  foreignSite: number;
  wsClients: number;
  wsDroppedSlow: number;
}

export type ServerToParent =
  | { type: 'ready'; httpUrl: string | null; mqttUrl: string; dataDir: string }
  | { type: 'stats'; counters: ServerCounters; cost: ProcessCost };

const send = (m: ServerToParent): void => {
  process.send?.(m);
};

async function startBare(
  dataDir: string,
): Promise<{ mqttUrl: string; counters: () => ServerCounters; close: () => Promise<void> }> {
  const aedes = await Aedes.createBroker();
  const server = createServer((s) => aedes.handle(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const mqttUrl = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const db = openDatabase({ dataDir });
  // the same off-thread WAL checkpoints as the real server: the baseline differs only by what it skips
  const checkpointer = await startWalCheckpointer({ db, logger: pino({ level: 'warn' }) });
  // the repository's own statement: the baseline writes exactly what the ingest writes
  const insert = db.prepare(INSERT_EVENT_SQL);
  const c = { received: 0, stored: 0, duplicates: 0, rejected: 0 };
  let batch: Array<[string, Buffer]> = [];
  // the same one-transaction-per-socket-read as the real ingest: the baseline is not a strawman
  const flush = db.transaction((rows: Array<[string, Buffer]>) => {
    const at = new Date().toISOString();
    for (const [topic, payload] of rows) {
      const kind = topic.slice(topic.lastIndexOf('/') + 1);
      if (kind !== 'access' && kind !== 'movement') continue;
      const text = payload.toString('utf8');
      const v = JSON.parse(text) as { id: string; site: string; agent: string; camera: string; ts: string };
      if (insert.run(v.id, kind, v.site, v.agent, v.camera, v.ts, at, text).changes === 1) c.stored += 1;
      else c.duplicates += 1;
    }
  });
  // in-process, like the real server's fast path from its embedded broker: what is compared is
  // validation + fan-out + bookkeeping, not two ways of reaching the broker
  await new Promise<void>((resolve, reject) =>
    aedes.subscribe(
      agentTopicsFilter(),
      (packet: { topic: string; payload: Buffer | string }, cb: () => void) => {
        c.received += 1;
        if (batch.length === 0)
          setImmediate(() => {
            const rows = batch;
            batch = [];
            flush(rows);
          });
        batch.push([packet.topic, Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload)]);
        cb();
      },
      (err?: Error) => (err ? reject(err) : resolve()),
    ),
  );
  return {
    mqttUrl,
    counters: () => ({ ...c, storeErrors: 0, foreignSite: 0, wsClients: 0, wsDroppedSlow: 0 }),
    close: async () => {
      await new Promise<void>((r) => aedes.close(() => r()));
      server.close();
      await checkpointer.close();
      db.close();
    },
  };
}

async function main(input: ServerInput): Promise<void> {
  const made = input.config?.dataDir ? null : mkdtempSync(join(tmpdir(), 'portail-load-'));
  const dataDir = input.config?.dataDir ?? made!;
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let elu0 = performance.eventLoopUtilization();
  let cpu0 = process.cpuUsage();
  let t0 = Date.now();

  let counters: () => ServerCounters;
  let close: () => Promise<void>;
  if (input.mode === 'bare') {
    const bare = await startBare(dataDir);
    counters = bare.counters;
    close = bare.close;
    send({ type: 'ready', httpUrl: null, mqttUrl: bare.mqttUrl, dataDir });
  } else {
    const server = await startControlServer(makeConfig({ ...input.config, dataDir }), {
      logger: pino({ level: 'warn' }),
    });
    counters = () => {
      const s = server.stats();
      return {
        received: s.ingest.received,
        stored: s.ingest.stored,
        duplicates: s.ingest.duplicates,
        rejected: Object.values(s.ingest.rejected).reduce((a, b) => a + b, 0),
        storeErrors: s.ingest.storeErrors,
        foreignSite: s.ingest.foreignSite,
        wsClients: s.ws.clients,
        wsDroppedSlow: s.ws.droppedSlow,
      };
    };
    close = () => server.close();
    send({ type: 'ready', httpUrl: server.httpUrl, mqttUrl: server.mqttUrl, dataDir });
  }

  process.on('message', (m: { type: string }) => {
    if (m.type === 'stats') {
      // cumulative since start or the last `reset`: the orchestrator takes differences
      const elu = performance.eventLoopUtilization(elu0);
      const cpu = process.cpuUsage(cpu0);
      const cost: ProcessCost = {
        cpuUserMs: cpu.user / 1000,
        cpuSystemMs: cpu.system / 1000,
        wallMs: Date.now() - t0,
        rssBytes: process.memoryUsage.rss(),
        elu: elu.utilization,
        loopDelayP99Ms: delay.percentile(99) / 1e6,
      };
      send({ type: 'stats', counters: counters(), cost });
    }
    if (m.type === 'reset') {
      elu0 = performance.eventLoopUtilization();
      cpu0 = process.cpuUsage();
      t0 = Date.now();
      delay.reset();
    }
    if (m.type === 'stop') {
      void close().finally(() => {
        if (made) rmSync(made, { recursive: true, force: true });
        process.exit(0);
      });
    }
  });
}

const input = JSON.parse(process.argv[2] ?? '{}') as ServerInput;
main(input).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
