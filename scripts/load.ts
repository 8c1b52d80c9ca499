// `npm run load -- --sites 20 --agents-per-site 2 --rate 10000 --duration 60 [--shape peak|flat]
//   [--ws 20] [--bare] [--instances 2 --broker mosquitto] [--max-in-flight 64] [--capacity-s 15]
//   [--steady-after 10]`
//
// Load test of the control server's ingest. Every part runs in its own process so each one's CPU is
// measured: the server(s) (scripts/lib/load-server.ts), the simulated agents (load-agents.ts: status,
// health, access and movement events at QoS 1 with a morning-peak shape), and K console WebSocket
// clients (load-ws.ts). Prints one JSON line: events/s offered and stored, ingest latency
// (publish → row visible in SQLite, polled), WebSocket fan-out latency (publish → receipt at each
// client), losses, duplicates, each process's CPU and event-loop figures, the machine load and the
// limiting resource. `--rate 0` offers as much as the agents' in-flight windows allow (capacity).
// `--bare` adds two capacity phases (full pipeline, then aedes → SQLite with no validation and no
// fan-out) and reports their ratio. Method and figures: docs/performance.md.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import { startMosquitto, type MosquittoInstance } from '../test/helpers/mosquitto.js';
import type { AgentsInput, AgentsToParent } from './lib/load-agents.js';
import {
  execArgv,
  LatencyHistogram,
  median,
  round,
  type LatencyHistogramJson,
  type ProcessCost,
  type Shape,
} from './lib/load-common.js';
import type { ServerInput, ServerToParent } from './lib/load-server.js';
import type { WsInput, WsToParent } from './lib/load-ws.js';

const { values } = parseArgs({
  options: {
    sites: { type: 'string', default: '20' },
    'agents-per-site': { type: 'string', default: '2' },
    rate: { type: 'string', default: '10000' },
    duration: { type: 'string', default: '60' },
    shape: { type: 'string', default: 'peak' },
    ws: { type: 'string', default: '20' },
    'ws-legacy': { type: 'boolean', default: false },
    bare: { type: 'boolean', default: false },
    instances: { type: 'string', default: '1' },
    broker: { type: 'string', default: 'embedded' },
    'max-in-flight': { type: 'string', default: '64' },
    'access-share': { type: 'string', default: '0.5' },
    'capacity-s': { type: 'string', default: '15' },
    'poll-ms': { type: 'string', default: '10' },
    'steady-after': { type: 'string', default: '10' },
    warmup: { type: 'string', default: '5' },
    'warmup-rate': { type: 'string' },
  },
});

const LIB = fileURLToPath(new URL('./lib/', import.meta.url));
const opts = {
  sites: Number(values.sites),
  agentsPerSite: Number(values['agents-per-site']),
  rate: Number(values.rate),
  durationS: Number(values.duration),
  shape: values.shape as Shape,
  ws: Number(values.ws),
  wsBatch: !values['ws-legacy'],
  bare: values.bare === true,
  instances: Number(values.instances),
  broker: values.broker as 'embedded' | 'mosquitto',
  maxInFlight: Number(values['max-in-flight']),
  accessShare: Number(values['access-share']),
  capacityS: Number(values['capacity-s']),
  pollMs: Number(values['poll-ms']),
  steadyAfterS: Number(values['steady-after']),
  warmupS: Number(values.warmup),
  warmupRate:
    values['warmup-rate'] !== undefined ? Number(values['warmup-rate']) : Math.round(Number(values.rate) * 0.2),
};
if (opts.instances > 1 && opts.broker !== 'mosquitto')
  throw new Error('--instances > 1 needs --broker mosquitto (shared subscriptions)');
if (!['peak', 'flat'].includes(opts.shape)) throw new Error('--shape is peak or flat');

interface Child<Out> {
  proc: ChildProcess;
  next(pred: (m: Out) => boolean, timeoutMs?: number): Promise<Out>;
  on(fn: (m: Out) => void): void;
  send(m: unknown): void;
  kill(): void;
}

function summaryOf(json: LatencyHistogramJson): ReturnType<LatencyHistogram['summary']> {
  const h = new LatencyHistogram();
  h.merge(json);
  return h.summary();
}

function spawnChild<Out>(script: string, input: unknown): Child<Out> {
  // V8 CPU profiles (node --cpu-prof), to find the hot path: PORTAIL_LOAD_PROFILE_DIR for each server
  // process, PORTAIL_LOAD_AGENTS_PROFILE_DIR for the simulated agents, PORTAIL_LOAD_WS_PROFILE_DIR for
  // the console clients
  const profileDirs: Record<string, string | undefined> = {
    'load-server.ts': process.env.PORTAIL_LOAD_PROFILE_DIR,
    'load-agents.ts': process.env.PORTAIL_LOAD_AGENTS_PROFILE_DIR,
    'load-ws.ts': process.env.PORTAIL_LOAD_WS_PROFILE_DIR,
  };
  const prof = profileDirs[script];
  const argv = prof ? [...execArgv, '--cpu-prof', `--cpu-prof-dir=${prof}`] : [...execArgv];
  // PORTAIL_LOAD_TRACE_GC=1: every child prints V8's line per garbage collection (--trace-gc) on the
  // shared stdout, with its isolate's address (a worker thread has its own), to match pauses with latencies
  if (process.env.PORTAIL_LOAD_TRACE_GC === '1') argv.push('--trace-gc');
  // PORTAIL_LOAD_SERVER_FLAGS: more node/V8 flags for the server processes only (e.g. --trace-gc-nvp)
  const serverFlags = process.env.PORTAIL_LOAD_SERVER_FLAGS?.trim();
  if (script === 'load-server.ts' && serverFlags) argv.push(...serverFlags.split(/\s+/));
  const proc = fork(join(LIB, script), [JSON.stringify(input)], {
    execArgv: argv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const listeners = new Set<(m: Out) => void>();
  // a child that already exited makes send() fail with EPIPE: its exit is what matters, reported by next()
  proc.on('error', (err) => console.error(`${script}: ${err.message}`));
  proc.on('message', (m) => {
    for (const l of listeners) l(m as Out);
  });
  return {
    proc,
    next(pred, timeoutMs = 120_000) {
      return new Promise<Out>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${script}: no answer in ${timeoutMs} ms`)), timeoutMs);
        const exit = (code: number | null): void => reject(new Error(`${script} exited with ${code}`));
        // 'close', not 'exit': 'exit' can come before the IPC channel has delivered the child's last
        // message (its final report, sent just before it disconnects), which failed whole runs
        proc.once('close', exit);
        const l = (m: Out): void => {
          if (!pred(m)) return;
          clearTimeout(timer);
          listeners.delete(l);
          proc.off('close', exit);
          resolve(m);
        };
        listeners.add(l);
      });
    },
    on(fn) {
      listeners.add(fn);
    },
    send(m) {
      if (proc.connected) proc.send(m as never);
    },
    kill() {
      // only our own child, by its handle
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    },
  };
}

type ServerChild = Child<ServerToParent> & {
  ready: Extract<ServerToParent, { type: 'ready' }>;
  sites: string[] | null;
};
type StatsMsg = Extract<ServerToParent, { type: 'stats' }>;

/**
 * The machine's CPU time counters (all cores, in ticks) from /proc/stat: total and `steal`, the time a
 * virtual machine's cores were runnable but the hypervisor ran someone else. On a shared VM steal
 * varies from 0 to 50 % within minutes and moves every latency figure of a run; the run reports it so
 * that runs can be compared. Null where there is no /proc/stat.
 */
function cpuTicks(): { total: number; steal: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest time is inside user)
    const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
    if (f.length < 8 || f.some((x) => !Number.isFinite(x))) return null;
    return { total: f.reduce((a, b) => a + b, 0), steal: f[7]! };
  } catch {
    return null;
  }
}
const stealPctSince = (t0: { total: number; steal: number } | null): number | null => {
  const t1 = cpuTicks();
  if (!t0 || !t1 || t1.total <= t0.total) return null;
  return round((100 * (t1.steal - t0.steal)) / (t1.total - t0.total), 1);
};

const siteIds = Array.from({ length: opts.sites }, (_, i) => `lycee-${String(i + 1).padStart(3, '0')}`);
const cpuPct = (c: { cpuUserMs: number; cpuSystemMs: number; wallMs: number }): number =>
  round((100 * (c.cpuUserMs + c.cpuSystemMs)) / Math.max(1, c.wallMs));
const usPerEvent = (c: { cpuUserMs: number; cpuSystemMs: number }, events: number): number | null =>
  events > 0 ? round((1000 * (c.cpuUserMs + c.cpuSystemMs)) / events) : null;

/**
 * Poll each database for new event rows: publish (edge ts) → row visible, at `pollMs` resolution. The
 * rows are counted per `ts` in SQL (the events of one agent tick share it, ~50 per 5 ms at 10 000
 * events/s), so a poll returns a few groups instead of every row: the same samples for less of the
 * CPU this process takes from the server it measures. Rowids only grow (one writer, no deletes during
 * a run), and a statement reads one snapshot, so every row up to the largest rowid it returns is seen.
 */
function startIngestPollers(dataDirs: string[], hist: LatencyHistogram): { stop(): void; rows(): number } {
  // from the rows stored now on (not the warm-up's)
  const dbs = dataDirs.map(
    (d) => new BetterSqlite3(join(d, 'portail.sqlite'), { readonly: true, fileMustExist: true }),
  );
  const stmts = dbs.map((db) =>
    db
      .prepare<[number, number], [string, number, number]>(
        // NOT INDEXED: the rowid range, never a walk of the ts index to spare the GROUP BY's sort
        'SELECT ts, count(*), max(rowid) FROM events NOT INDEXED WHERE rowid > ? AND rowid <= ? GROUP BY ts',
      )
      .raw(),
  );
  const last = dbs.map((db) => Number(db.prepare('SELECT coalesce(max(rowid), 0) FROM events').pluck().get()));
  let rows = 0;
  const timer = setInterval(() => {
    const now = Date.now();
    for (let i = 0; i < stmts.length; i++) {
      const from = last[i]!;
      for (const [ts, n, r] of stmts[i]!.all(from, from + 50_000)) {
        if (r > last[i]!) last[i] = r;
        rows += n;
        hist.record(now - Date.parse(ts), n);
      }
    }
  }, opts.pollMs);
  return {
    stop() {
      clearInterval(timer);
      for (const db of dbs) db.close();
    },
    rows: () => rows,
  };
}

interface ScenarioResult {
  [k: string]: unknown;
}

async function runScenario(
  mode: 'server' | 'bare',
  rate: number,
  durationS: number,
  shape: Shape,
  wsClients: number,
  warmup: { rate: number; durationS: number } | null = null,
): Promise<ScenarioResult> {
  const work = mkdtempSync(join(tmpdir(), 'portail-load-'));
  const children: Array<Child<unknown>> = [];
  let mosquitto: MosquittoInstance | null = null;
  try {
    if (mode === 'server' && opts.broker === 'mosquitto') {
      // Mosquitto's defaults (20 in flight, 1000 queued per client) drop messages under a burst:
      // a regional broker must be sized for it (docs/deploy-region.md)
      mosquitto = await startMosquitto(
        ['max_inflight_messages 1000', 'max_queued_messages 1000000', 'set_tcp_nodelay true'].join('\n'),
      );
    }
    const instances = mode === 'server' ? opts.instances : 1;
    const servers: ServerChild[] = [];
    for (let i = 0; i < instances; i++) {
      const sites = instances > 1 ? siteIds.filter((_, j) => j % instances === i) : null;
      const input: ServerInput =
        mode === 'bare'
          ? { mode: 'bare', config: { dataDir: join(work, 'bare') } }
          : {
              mode: 'server',
              config: {
                dataDir: join(work, `server-${i}`),
                http: { host: '127.0.0.1', port: 0 },
                mqtt: mosquitto
                  ? {
                      mode: 'external',
                      url: mosquitto.url,
                      clientId: `portail-load-${i}`,
                      ...(instances > 1 ? { sharedGroup: 'portail' } : {}),
                    }
                  : { mode: 'embedded', host: '127.0.0.1', port: 0 },
                ...(sites ? { sites } : {}),
                consoleDir: work,
                auth: { mode: 'disabled' },
                log: { level: 'warn' },
              },
            };
      const c = spawnChild<ServerToParent>('load-server.ts', input);
      children.push(c);
      const ready = (await c.next((m) => m.type === 'ready', 60_000)) as Extract<ServerToParent, { type: 'ready' }>;
      servers.push(Object.assign(c, { ready, sites }));
    }
    const stats = async (): Promise<StatsMsg[]> =>
      Promise.all(
        servers.map(async (s) => {
          const p = s.next((m) => m.type === 'stats', 30_000);
          s.send({ type: 'stats' });
          return (await p) as StatsMsg;
        }),
      );

    let ws: Child<WsToParent> | null = null;
    if (mode === 'server' && wsClients > 0) {
      const input: WsInput = {
        httpUrls: servers.map((s) => s.ready.httpUrl!),
        clients: wsClients,
        batch: opts.wsBatch,
      };
      ws = spawnChild<WsToParent>('load-ws.ts', input);
      children.push(ws);
      await ws.next((m) => m.type === 'ready', 60_000);
    }

    const agentsInput: AgentsInput = {
      url: mosquitto ? mosquitto.url : servers[0]!.ready.mqttUrl,
      sites: siteIds,
      agentsPerSite: opts.agentsPerSite,
      rate,
      durationS,
      shape,
      maxInFlight: opts.maxInFlight,
      accessShare: opts.accessShare,
      clientPrefix: `load-${mode}`,
    };
    const agents = spawnChild<AgentsToParent>('load-agents.ts', agentsInput);
    children.push(agents);
    await agents.next((m) => m.type === 'ready', 120_000);
    // let the status messages land before measuring
    await new Promise((r) => setTimeout(r, 500));

    // Warm-up: a lower rate for a few seconds, not measured, as the hours before a morning peak warm a
    // running server (and this machine's clients and agents: cold code everywhere). It ends once all it
    // generated is stored and has reached every console, so the run starts from a clean count.
    let warmed: { generated: number; acked: number; backlogAtEnd: number } | null = null;
    if (warmup && warmup.durationS > 0 && warmup.rate > 0) {
      const before = (await stats()).reduce((a, x) => a + x.counters.stored, 0);
      const done = agents.next((m) => m.type === 'warmed', (warmup.durationS + 120) * 1000);
      agents.send({ type: 'warmup', rate: warmup.rate, durationS: warmup.durationS });
      warmed = (await done) as Extract<AgentsToParent, { type: 'warmed' }>;
      const deadline = Date.now() + 30_000;
      let storedNow = before;
      while (storedNow - before < warmed.acked && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        storedNow = (await stats()).reduce((a, x) => a + x.counters.stored, 0);
      }
      if (ws) {
        for (;;) {
          const p = ws.next((m) => m.type === 'counts');
          ws.send({ type: 'counts' });
          const c = (await p) as Extract<WsToParent, { type: 'counts' }>;
          if (c.received.every((n) => n >= (storedNow - before) / servers.length) || Date.now() > deadline) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        const measuring = ws.next((m) => m.type === 'measuring');
        ws.send({ type: 'measure' });
        await measuring;
      }
    }

    const ingestHist = new LatencyHistogram();
    const pollers = startIngestPollers(
      servers.map((s) => s.ready.dataDir),
      ingestHist,
    );
    for (const s of servers) s.send({ type: 'reset' });
    const base = await stats();
    const load0 = loadavg()[0]!;
    const ticks0 = cpuTicks();
    const t0 = Date.now();
    // this process's own CPU over the run (ingest polling, stats, IPC): taken from the server too
    const orchestratorCpu0 = process.cpuUsage();
    const done = agents.next((m) => m.type === 'done', (durationS + 180) * 1000);
    agents.send({ type: 'go', startMs: t0 });
    // the WebSocket clients also time the events generated after the first seconds apart (ws.steady):
    // the start transient (cold JIT, empty caches, every agent's window at once) shows separately
    const steadyFromMs = t0 + Math.min(opts.steadyAfterS, durationS / 2) * 1000;
    ws?.send({ type: 'steady', fromMs: steadyFromMs });

    // one sample a second: stored/s per second and the server's event-loop delay
    const storedPerS: number[] = [];
    const offeredPerS: number[] = [];
    let prevStored = base.reduce((a, s) => a + s.counters.stored, 0);
    let prevGenerated = 0;
    agents.on((m) => {
      if (m.type === 'progress') {
        offeredPerS.push(m.generated - prevGenerated);
        prevGenerated = m.generated;
      }
    });
    let finished: Extract<AgentsToParent, { type: 'done' }> | null = null;
    void done.then((d) => {
      finished = d as Extract<AgentsToParent, { type: 'done' }>;
    });
    while (!finished) {
      await new Promise((r) => setTimeout(r, 1_000));
      const s = await stats();
      const stored = s.reduce((a, x) => a + x.counters.stored, 0);
      storedPerS.push(stored - prevStored);
      prevStored = stored;
    }
    const agentsDone = finished as Extract<AgentsToParent, { type: 'done' }>;
    const sendEndedAt = Date.now();

    // drain: everything acknowledged by the broker must reach SQLite (bounded wait)
    let final = await stats();
    const storedOf = (xs: StatsMsg[]): number => xs.reduce((a, x) => a + x.counters.stored, 0);
    const baseStored = base.reduce((a, x) => a + x.counters.stored, 0);
    const drainDeadline = Date.now() + 60_000;
    while (storedOf(final) - baseStored < agentsDone.acked && Date.now() < drainDeadline) {
      await new Promise((r) => setTimeout(r, 100));
      final = await stats();
    }
    const drainedAt = Date.now();
    const orchestratorCpu = process.cpuUsage(orchestratorCpu0);
    await new Promise((r) => setTimeout(r, Math.max(50, opts.pollMs * 3)));
    pollers.stop();
    const storedRun = storedOf(final) - baseStored;

    let wsResult: Record<string, unknown> | null = null;
    let wsCost: { cpuUserMs: number; cpuSystemMs: number; wallMs: number } | null = null;
    if (ws) {
      // every client should reach the count its instance stored
      const expected = (i: number): number => {
        const s = final[i % servers.length]!;
        const b = base[i % servers.length]!;
        return s.counters.stored - b.counters.stored;
      };
      const wsDeadline = Date.now() + 15_000;
      let counts = (await (async () => {
        const p = ws.next((m) => m.type === 'counts');
        ws.send({ type: 'counts' });
        return p;
      })()) as Extract<WsToParent, { type: 'counts' }>;
      while (counts.received.some((n, i) => n < expected(i)) && Date.now() < wsDeadline) {
        await new Promise((r) => setTimeout(r, 100));
        const p = ws.next((m) => m.type === 'counts');
        ws.send({ type: 'counts' });
        counts = (await p) as Extract<WsToParent, { type: 'counts' }>;
      }
      const p = ws.next((m) => m.type === 'done');
      ws.send({ type: 'stop' });
      const d = (await p) as Extract<WsToParent, { type: 'done' }>;
      const hist = new LatencyHistogram();
      hist.merge(d.histogram);
      const missing = d.received.map((n, i) => Math.max(0, expected(i) - n));
      wsResult = {
        clients: d.received.length,
        batchFrames: opts.wsBatch,
        latency: hist.summary(),
        lost: missing.reduce((a, b) => a + b, 0),
        clientsWithLoss: missing.filter((n) => n > 0).length,
        duplicates: d.duplicates,
        closed: d.closed,
        frames: d.frames,
        framesReused: d.framesReused,
        framesScanned: d.framesScanned,
        // client 0's events split at the server's receipt (`receivedAt`): agent + broker side, server + fan-out side
        split: {
          edgeToServer: summaryOf(d.toServer),
          serverToClient: summaryOf(d.fromServer),
        },
        steady: {
          afterS: Math.min(opts.steadyAfterS, durationS / 2),
          latency: summaryOf(d.steady),
          // client 0: from the server's receipt, i.e. without the agent's outbox and the broker's read
          serverToClient: summaryOf(d.steadyFromServer),
        },
      };
      wsCost = d;
    }

    const serverCosts: ProcessCost[] = final.map((s) => s.cost);
    const counters = final.map((s, i) => {
      const b = base[i]!.counters;
      return {
        received: s.counters.received - b.received,
        stored: s.counters.stored - b.stored,
        duplicates: s.counters.duplicates - b.duplicates,
        rejected: s.counters.rejected - b.rejected,
        storeErrors: s.counters.storeErrors - b.storeErrors,
        foreignSite: s.counters.foreignSite - b.foreignSite,
        wsDroppedSlow: s.counters.wsDroppedSlow - b.wsDroppedSlow,
      };
    });
    const activeS = (drainedAt - t0) / 1000;
    const plateau = storedPerS.slice(
      Math.floor(storedPerS.length * (shape === 'peak' ? 0.35 : 0.1)),
      Math.ceil(storedPerS.length * (shape === 'peak' ? 0.65 : 0.95)),
    );
    const result: ScenarioResult = {
      mode,
      instances,
      ...(warmed && warmup
        ? {
            warmup: {
              ratePerS: warmup.rate,
              durationS: warmup.durationS,
              generated: warmed.generated,
              acked: warmed.acked,
            },
          }
        : {}),
      broker: mode === 'bare' ? 'aedes' : opts.broker,
      offered: {
        generated: agentsDone.generated,
        acked: agentsDone.acked,
        publishErrors: agentsDone.errors,
        meanPerS: round(agentsDone.generated / durationS),
        peakPerS: offeredPerS.length ? Math.max(...offeredPerS) : null,
        backlogAtEnd: agentsDone.backlogAtEnd,
        publishToAck: agentsDone.publishToAck,
      },
      stored: {
        events: storedRun,
        meanPerS: round(storedRun / activeS),
        plateauMedianPerS: median(plateau),
        maxPerS: storedPerS.length ? Math.max(...storedPerS) : null,
        drainAfterSendMs: drainedAt - sendEndedAt,
      },
      ingestLatency: { ...ingestHist.summary(), method: `edge ts → row visible, polled every ${opts.pollMs} ms` },
      ws: wsResult,
      // acknowledged by the broker but never stored: a real loss
      losses: Math.max(0, agentsDone.acked - storedRun),
      // generated but still in the simulated outboxes when the run gave up draining: the server fell behind
      notDelivered: agentsDone.generated - agentsDone.acked,
      duplicates: counters.reduce((a, c) => a + c.duplicates, 0),
      counters,
      cpu: {
        servers: serverCosts.map((c, i) => ({
          cpuPct: cpuPct(c),
          // CPU time per stored event: the figure that holds on a busy machine, where wall-clock rates do not
          cpuUsPerEvent:
            counters[i]!.received > 0 ? round((1000 * (c.cpuUserMs + c.cpuSystemMs)) / counters[i]!.received) : null,
          elu: round(c.elu, 2),
          loopDelayP99Ms: round(c.loopDelayP99Ms),
          rssMB: round(c.rssBytes / 1e6, 0),
        })),
        agentsPct: cpuPct(agentsDone),
        wsPct: wsCost ? cpuPct(wsCost) : null,
        orchestratorPct: cpuPct({
          cpuUserMs: orchestratorCpu.user / 1000,
          cpuSystemMs: orchestratorCpu.system / 1000,
          wallMs: drainedAt - t0,
        }),
        // CPU µs per event generated (agents) and per event stored (all K clients together; orchestrator)
        agentsUsPerEvent: usPerEvent(agentsDone, agentsDone.generated),
        wsUsPerEvent: wsCost ? usPerEvent(wsCost, storedRun) : null,
        orchestratorUsPerEvent: usPerEvent(
          { cpuUserMs: orchestratorCpu.user / 1000, cpuSystemMs: orchestratorCpu.system / 1000 },
          storedRun,
        ),
      },
      load1: { start: round(load0, 2), end: round(loadavg()[0]!, 2) },
      // share of the machine's CPU time taken by the hypervisor during the run (see cpuTicks)
      stealPct: stealPctSince(ticks0),
    };
    return result;
  } finally {
    for (const c of children.reverse()) {
      c.send({ type: 'stop' });
    }
    await new Promise((r) => setTimeout(r, 3_000));
    for (const c of children) c.kill();
    await mosquitto?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** The process that saturates first names the bottleneck; a machine near all its cores is itself the limit. */
function limitingResource(r: ScenarioResult): string {
  const cpu = r.cpu as {
    servers: Array<{ cpuPct: number; elu: number; loopDelayP99Ms: number }>;
    agentsPct: number;
    wsPct: number | null;
    orchestratorPct: number;
  };
  const cores = cpus().length;
  const total = cpu.servers.reduce((a, s) => a + s.cpuPct, 0) + cpu.agentsPct + (cpu.wsPct ?? 0) + cpu.orchestratorPct;
  const busiest = cpu.servers.reduce((a, s) => (s.elu > a.elu ? s : a), cpu.servers[0]!);
  const parts = [
    `server event loop ${Math.round(busiest.elu * 100)} % busy (${busiest.cpuPct} % CPU, loop delay p99 ${busiest.loopDelayP99Ms} ms)`,
    `simulated agents ${cpu.agentsPct} % CPU`,
    ...(cpu.wsPct !== null ? [`WebSocket clients ${cpu.wsPct} % CPU`] : []),
    `orchestrator ${cpu.orchestratorPct} % CPU`,
    `all load processes ${Math.round(total)} % of ${cores * 100} %`,
  ];
  let verdict: string;
  // what runs on the server's main thread: the SQLite writes only in external-broker mode (with the
  // embedded broker they run in the event writer thread, counted in the process's CPU but not its loop)
  const mainThread =
    'the control server main thread (MQTT handling, validation, fan-out; SQLite too in external-broker mode)';
  if (busiest.elu >= 0.9) verdict = mainThread;
  else if (total >= cores * 100 * 0.85)
    verdict = `the machine's CPU (${cores} cores shared by server, load generator and clients)`;
  else if (cpu.agentsPct >= 90) verdict = 'the load generator (simulated agents process)';
  else if (busiest.elu >= 0.7)
    verdict = `${mainThread}: not saturated, but busy enough for queueing on it to set the latency`;
  else verdict = 'none saturated: the offered rate is below capacity';
  return `${verdict}; ${parts.join(', ')}`;
}

const main = await runScenario('server', opts.rate, opts.durationS, opts.shape, opts.ws, {
  rate: opts.warmupRate,
  durationS: opts.warmupS,
});
/** Acceptance 3 of issue #9 for this run: the offered rate kept up with, nothing lost, p99 fan-out latency. */
function verdict(r: ScenarioResult): Record<string, unknown> {
  const offered = r.offered as { generated: number };
  const ws = r.ws as {
    latency: { p99Ms: number | null };
    lost: number;
    steady?: { latency: { p99Ms: number | null }; serverToClient: { p99Ms: number | null } };
  } | null;
  const stored = (r.stored as { events: number }).events;
  const steadyP99 = ws?.steady?.latency.p99Ms ?? null;
  return {
    keptUp: (r.notDelivered as number) === 0 && stored >= offered.generated,
    zeroLoss: (r.losses as number) === 0 && (ws?.lost ?? 0) === 0 && (r.notDelivered as number) === 0,
    wsP99Ms: ws?.latency.p99Ms ?? null,
    wsP99Within100Ms: ws !== null && ws.latency.p99Ms !== null && ws.latency.p99Ms <= 100,
    // the same after the warm-up (--steady-after): information, not the acceptance, which is the whole run
    steadyWsP99Ms: steadyP99,
    // and from the server's receipt (client 0), without the simulated outbox and the broker's read
    steadyServerToWsP99Ms: ws?.steady?.serverToClient.p99Ms ?? null,
    // what the machine took from the run: latencies of runs with different steal do not compare
    stealPct: r.stealPct ?? null,
  };
}
const out: Record<string, unknown> = {
  load: 'ingest',
  args: opts,
  machine: { cores: cpus().length, load1AtStart: main.load1 },
  ...main,
  limitingResource: limitingResource(main),
  verdict: verdict(main),
};
if (opts.bare) {
  // capacity of the full pipeline and of the bare one, same agents, same in-flight windows
  const full = await runScenario('server', 0, opts.capacityS, 'flat', opts.ws);
  const bare = await runScenario('bare', 0, opts.capacityS, 'flat', 0);
  const f = (full.stored as { meanPerS: number }).meanPerS;
  const b = (bare.stored as { meanPerS: number }).meanPerS;
  out.capacity = {
    full: { storedPerS: f, losses: full.losses, ws: full.ws, cpu: full.cpu, limitingResource: limitingResource(full) },
    bare: { storedPerS: b, losses: bare.losses, cpu: bare.cpu, limitingResource: limitingResource(bare) },
    ratio: b > 0 ? round(f / b, 2) : null,
  };
}
console.log(JSON.stringify(out));
process.exit(0);
