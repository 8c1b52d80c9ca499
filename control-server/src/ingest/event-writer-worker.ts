/**
 * The event writer's thread, as plain JavaScript run with `eval` (no loader needed, so it works under
 * tsx, vitest and the built server alike, like the WAL checkpointer). Everything it needs comes in
 * `workerData`: the paths of better-sqlite3 and of the protocol's ajv, the protocol's JSON Schemas of
 * the event topics with the protocol's ajv options, and the repositories' own SQL.
 *
 * For each batch it receives the raw payloads of the event messages (back to back in one transferred
 * buffer) and, in one transaction, for each: parses the JSON, runs the protocol's compiled accept-check
 * (`fast-validate.ts`), checks site and agent against the topic, normalises `ts`, inserts the row
 * (`ON CONFLICT DO NOTHING`), and for a new event builds the JSON the live fan-out sends. Then it
 * updates the agents' `last_seen` once per agent. What it does not accept here (bad JSON, a refusal of
 * the compiled check, a topic mismatch) it leaves alone and marks for the main thread, which decides
 * with zod exactly as for any other message: the reject, its reason and its wording stay the
 * protocol's, and the rare payload zod accepts but the compiled check refuses is still stored.
 *
 * Answer per message (`status`): 1 stored, 0 already there (a replay), 2 left to the main thread.
 */
export const EVENT_WRITER_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fatal = (err) => parentPort.postMessage({ type: 'fatal', error: String((err && err.message) || err) });
const Database = require(workerData.betterSqlite3);
let db;
try {
  db = new Database(workerData.file, { fileMustExist: true });
  db.pragma('busy_timeout = ' + workerData.busyTimeoutMs);
  db.pragma('synchronous = NORMAL');
  db.pragma('cache_size = ' + workerData.cacheSize);
  // checkpoints belong to the checkpointer worker: a writer that checkpoints stalls its commits
  db.pragma('wal_autocheckpoint = 0');
} catch (err) {
  fatal(err);
  throw err;
}
let insert, touch, checks;
try {
  insert = db.prepare(workerData.insertSql);
  touch = db.prepare(workerData.touchSql);
  const { Ajv2020 } = require(workerData.ajv);
  const ajv = new Ajv2020(workerData.ajvOptions);
  checks = workerData.schemas.map((schema) => ajv.compile(schema));
} catch (err) {
  fatal(err);
  db.close();
  throw err;
}
const KINDS = workerData.kinds;
const CANONICAL_TS = new RegExp(workerData.canonicalTs);
// as the repository's normaliseTs: agents send the canonical shape, anything else goes through Date
const normaliseTs = (ts) => (CANONICAL_TS.test(ts) ? ts : new Date(ts).toISOString());
// as the repository's jsonString: JSON.stringify only for strings that need escaping
function jsonString(s) {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(s);
  }
  return '"' + s + '"';
}
let isoMs = NaN;
let iso = '';
const isoAt = (ms) => {
  if (ms !== isoMs) {
    isoMs = ms;
    iso = new Date(ms).toISOString();
  }
  return iso;
};

// Parsing and checking happen before the transaction: the write lock is held for the inserts only,
// so the server's own connection (status, health) waits as little as with rows prepared elsewhere.
function check(m, status) {
  const buf = Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
  const rows = [];
  let start = 0;
  for (let i = 0; i < m.kinds.length; i++) {
    const end = m.ends[i];
    const text = buf.toString('utf8', start, end);
    start = end;
    status[i] = 2;
    let v;
    try {
      v = JSON.parse(text);
    } catch {
      continue;
    }
    const kind = m.kinds[i];
    const t = m.topics[i];
    if (!checks[kind](v) || v.site !== m.sites[t] || v.agent !== m.agents[t]) continue;
    let ts;
    try {
      ts = normaliseTs(v.ts);
    } catch {
      continue;
    }
    rows.push({ i, v, kind: KINDS[kind], ts, ms: m.receivedMs[i], at: isoAt(m.receivedMs[i]), payload: JSON.stringify(v) });
  }
  return rows;
}

const insertAll = db.transaction((rows, status) => {
  const touches = new Map();
  for (const r of rows) {
    const v = r.v;
    status[r.i] = insert.run(v.id, r.kind, v.site, v.agent, v.camera, r.ts, r.at, r.payload).changes;
    touches.set(v.site + '\u0000' + v.agent, r.at);
  }
  for (const [key, at] of touches) {
    const cut = key.indexOf('\u0000');
    touch.run(at, key.slice(0, cut), key.slice(cut + 1));
  }
});

function ingest(m, out) {
  const rows = check(m, out.status);
  insertAll(rows, out.status);
  for (const r of rows) {
    if (out.status[r.i] !== 1) continue;
    const v = r.v;
    // the keys and order of a StoredEvent: byte for byte JSON.stringify of the event read back
    const json = '{"id":' + jsonString(v.id) + ',"kind":"' + r.kind + '","site":' + jsonString(v.site) +
      ',"agent":' + jsonString(v.agent) + ',"camera":' + jsonString(v.camera) + ',"ts":' + jsonString(r.ts) +
      ',"receivedAt":"' + r.at + '","payload":' + r.payload + '}';
    out.parts.push(json);
    out.length += json.length;
    out.ends.push(out.length);
    const skew = Date.parse(r.ts) - r.ms;
    if (skew > m.aheadMs) out.skewFuture += 1;
    else if (-skew > m.behindMs) out.skewPast += 1;
  }
}

parentPort.on('message', (m) => {
  if (m.type === 'stop') {
    db.close();
    parentPort.close();
    return;
  }
  const out = { status: new Uint8Array(m.kinds.length), parts: [], ends: [], length: 0, skewFuture: 0, skewPast: 0 };
  try {
    ingest(m, out);
  } catch (err) {
    // rolled back: nothing of the batch is stored, the caller keeps it for a retry
    parentPort.postMessage({ type: 'done', seq: m.seq, ok: false, error: String((err && err.message) || err) });
    return;
  }
  const ends = Uint32Array.from(out.ends);
  parentPort.postMessage(
    { type: 'done', seq: m.seq, ok: true, status: out.status, json: out.parts.join(''), ends, skewFuture: out.skewFuture, skewPast: out.skewPast },
    [out.status.buffer, ends.buffer],
  );
});
parentPort.postMessage({ type: 'ready' });
`;
