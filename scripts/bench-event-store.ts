// `npm run bench:store`: CPU cost of storing one ingested event in SQLite (issue #9).
// N realistic access and movement events (`--sites`, 20 by default; 2 agents each) go into a fresh SQLite file made by
// `openDatabase`, B per transaction as the ingest batches them, in two ways: through the real event
// repository (`insert`), and through the same INSERT statement with the payload JSON built beforehand
// ("raw"), so the JavaScript around the statement is the difference. CPU time (user + system) is
// counted around each batch transaction over the second half of the events only (the indexes are
// then as deep as in steady state); the WAL is checkpointed every `--checkpoint-every` events, outside
// the timing (the server does it in a worker), and that cost is reported on its own. Each mode runs
// `--reps` times on a new file (interleaved, so background load hits both alike); the median is printed
// as one JSON line.
//
//   npm run -s bench:store -- --events 150000 --batch 150 --reps 3
//   npm run -s bench:store -- --schema 120 --cache-kib 2000      # the schema and cache before issue #9's change
//   npm run -s bench:store -- --repository /tmp/old-event-repository.ts   # another createEventRepository
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { newEventId, validate, type AccessEvent, type MovementEvent } from '../protocol/src/index.js';
import { createEventRepository, INSERT_EVENT_SQL } from '../control-server/src/repositories/event-repository.js';
import { DEFAULT_CACHE_SIZE_KIB, openDatabase } from '../control-server/src/store/database.js';
import { MIGRATIONS } from '../control-server/src/store/migrations.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '150000' },
    batch: { type: 'string', default: '150' },
    sites: { type: 'string', default: '20' },
    reps: { type: 'string', default: '3' },
    'cache-kib': { type: 'string', default: String(DEFAULT_CACHE_SIZE_KIB) },
    // apply the migrations up to this version only (e.g. 120: the json_valid CHECK still in place)
    schema: { type: 'string' },
    'checkpoint-every': { type: 'string', default: '30000' },
    mmap: { type: 'string', default: '0' },
    // a module exporting createEventRepository, to compare another implementation on the same run
    repository: { type: 'string' },
  },
});
const N = Number(values.events);
const B = Number(values.batch);
const siteCount = Number(values.sites);
const reps = Number(values.reps);
const cacheKiB = Number(values['cache-kib']);
const checkpointEvery = Number(values['checkpoint-every']);
const schema = values.schema === undefined ? MIGRATIONS.at(-1)!.version : Number(values.schema);
const mmapBytes = Number(values.mmap);
const makeRepository: typeof createEventRepository = values.repository
  ? (
      (await import(pathToFileURL(path.resolve(values.repository)).href)) as {
        createEventRepository: typeof createEventRepository;
      }
    ).createEventRepository
  : createEventRepository;

type Item = { kind: 'access'; value: AccessEvent } | { kind: 'movement'; value: MovementEvent };

/** Deterministic but for the ids; time advances 0.1 ms per event, as at 10 000 events/s. */
function makeEvents(n: number): Item[] {
  const sites = Array.from({ length: siteCount }, (_, i) => `lycee-${i}`);
  const start = Date.parse('2026-11-22T07:30:00.000Z');
  const out: Item[] = [];
  for (let i = 0; i < n; i++) {
    const site = sites[i % siteCount]!;
    const ts = new Date(start + Math.floor(i / 10)).toISOString();
    if (i % 2 === 0) {
      out.push({
        kind: 'access',
        value: {
          id: newEventId(),
          v: 1,
          site,
          agent: `gate-${(i >> 1) % 2}`,
          camera: 'entrance',
          ts,
          passageId: `p-${i.toString(36)}`,
          credentialId: `c${(i % 1_000_000).toString(32).padStart(8, 'a')}`,
          decision: i % 50 === 0 ? 'mismatch' : 'confirmed',
          biometric: true,
          scores: { similarity: 0.61, threshold: 0.36, liveness: 0.97, quality: 0.88 },
          timingsMs: {
            credential: 0.4,
            align: 0.8,
            quality: 0.3,
            liveness: 9.1,
            embed: 7.6,
            total: 18.2,
            window: 1000,
            frames: 6,
          },
          modelId: 'faceplugin-fr-feature-512d',
        },
      });
    } else {
      out.push({
        kind: 'movement',
        value: {
          id: newEventId(),
          v: 1,
          site,
          agent: `hall-${(i >> 1) % 2}`,
          camera: 'hall',
          ts,
          rule: 'entry',
          kind: 'line_crossing',
          trackId: `t-${(i % 4096).toString(36)}`,
          direction: i % 3 === 0 ? 'out' : 'in',
        },
      });
    }
  }
  return out;
}

interface RunResult {
  usPerEvent: number;
  sysUsPerEvent: number;
  checkpointUsPerEvent: number;
  /** bytes this process read (read/pread: SQLite pages missing from its cache) per timed event; Linux only */
  readBytesPerEvent: number | null;
}

/** `rchar` of /proc/self/io: bytes read by any read call, null where there is no such file. */
function readBytes(): number | null {
  try {
    const m = /^rchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    // not Linux: the figure is optional
    return null;
  }
}

function run(mode: 'repository' | 'raw', items: Item[], payloadJson: string[], receivedAt: string[]): RunResult {
  const dir = mkdtempSync(path.join(tmpdir(), 'portail-bench-store-'));
  const db = openDatabase({
    dataDir: dir,
    cacheSizeKiB: cacheKiB,
    migrations: MIGRATIONS.filter((m) => m.version <= schema),
  });
  try {
    // as the server: checkpoints are not the inserting thread's work (ingest/wal-checkpointer.ts)
    db.pragma('wal_autocheckpoint = 0');
    if (mmapBytes > 0) db.pragma(`mmap_size = ${mmapBytes}`);
    const repo = makeRepository(db);
    const stmt = db.prepare<[string, string, string, string, string, string, string, string]>(INSERT_EVENT_SQL);
    let stored = 0;
    const batchRepo = db.transaction((from: number, to: number, at: string) => {
      for (let i = from; i < to; i++) {
        const it = items[i]!;
        if (repo.insert(it.kind, it.value, at).inserted) stored++;
      }
    });
    const batchRaw = db.transaction((from: number, to: number, at: string) => {
      for (let i = from; i < to; i++) {
        const { kind, value } = items[i]!;
        stmt.run(value.id, kind, value.site, value.agent, value.camera, value.ts, at, payloadJson[i]!);
        stored++;
      }
    });
    const batch = mode === 'raw' ? batchRaw : batchRepo;
    let user = 0;
    let system = 0;
    let checkpoint = 0;
    let timed = 0;
    let sinceCheckpoint = 0;
    let read = 0;
    const half = Math.floor(N / 2);
    for (let i = 0; i < N; i += B) {
      const to = Math.min(N, i + B);
      const at = receivedAt[i / B]!;
      if (i >= half) {
        const r0 = readBytes();
        const c0 = process.cpuUsage();
        batch(i, to, at);
        const c = process.cpuUsage(c0);
        const r1 = readBytes();
        if (r0 !== null && r1 !== null) read += r1 - r0;
        user += c.user;
        system += c.system;
        timed += to - i;
      } else {
        batch(i, to, at);
      }
      sinceCheckpoint += to - i;
      if (sinceCheckpoint >= checkpointEvery) {
        sinceCheckpoint = 0;
        const c0 = process.cpuUsage();
        db.pragma('wal_checkpoint(RESTART)');
        const c = process.cpuUsage(c0);
        if (i >= half) checkpoint += c.user + c.system;
      }
    }
    if (stored !== N) throw new Error(`${mode}: stored ${stored} of ${N}`);
    const count = (db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
    if (count !== N) throw new Error(`${mode}: ${count} rows for ${N} events`);
    return {
      usPerEvent: (user + system) / timed,
      sysUsPerEvent: system / timed,
      checkpointUsPerEvent: checkpoint / timed,
      readBytesPerEvent: readBytes() === null ? null : read / timed,
    };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number): number => Math.round(x * 100) / 100;

const runs: Record<'repository' | 'raw', RunResult[]> = { repository: [], raw: [] };
for (let r = 0; r < reps; r++) {
  for (const mode of ['repository', 'raw'] as const) {
    // new ids each time: every run inserts N new rows into a new file
    const items = makeEvents(N);
    // what the ingest stores has passed the protocol's validation: so must the bench's events
    for (let i = 0; i < Math.min(N, 1000); i++) {
      const r = validate(items[i]!.kind, items[i]!.value);
      if (!r.ok) throw new Error(`bench event ${i} is not a valid ${items[i]!.kind}: ${r.error.messages.join('; ')}`);
    }
    const payloadJson = mode === 'raw' ? items.map((it) => JSON.stringify(it.value)) : [];
    // one receipt time per batch, as the ingest's tick
    const receivedAt = Array.from({ length: Math.ceil(N / B) }, (_, k) => new Date(Date.now() + k).toISOString());
    runs[mode].push(run(mode, items, payloadJson, receivedAt));
  }
}
const summarise = (rs: RunResult[]) => ({
  usPerEvent: round(median(rs.map((x) => x.usPerEvent))),
  sysUsPerEvent: round(median(rs.map((x) => x.sysUsPerEvent))),
  checkpointUsPerEvent: round(median(rs.map((x) => x.checkpointUsPerEvent))),
  readBytesPerEvent:
    rs[0]!.readBytesPerEvent === null ? null : Math.round(median(rs.map((x) => x.readBytesPerEvent ?? 0))),
  runsUsPerEvent: rs.map((x) => round(x.usPerEvent)),
});
const repository = summarise(runs.repository);
const raw = summarise(runs.raw);
process.stdout.write(
  `${JSON.stringify({
    bench: 'event-store',
    events: N,
    batch: B,
    sites: siteCount,
    reps,
    timedEvents: N - Math.floor(N / 2),
    schema,
    cacheKiB,
    mmapBytes,
    repositoryModule: values.repository ?? null,
    repository,
    raw,
    jsOverheadUsPerEvent: round(repository.usPerEvent - raw.usPerEvent),
    load1: Math.round((await import('node:os')).loadavg()[0]! * 100) / 100,
  })}\n`,
);
