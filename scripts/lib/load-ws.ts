/**
 * Child process of `npm run load`: K console clients on /ws (batch frames unless `batch` is false).
 * Latency of an event = receipt time − its edge `ts` (the simulated agent's generation time; both
 * clocks are this machine's). Every client finds the events in the frame's bytes instead of
 * decoding and parsing it (20 parses of every event cost this process about half a core, taken from
 * the server on this 2-core machine); client 0 also keeps every id to count duplicates.
 */
import WebSocket from 'ws';
import { LatencyHistogram, type LatencyHistogramJson } from './load-common.js';

export interface WsInput {
  /** clients are spread over these servers round-robin (one per instance) */
  httpUrls: string[];
  clients: number;
  batch: boolean;
}

export type WsToParent =
  | { type: 'ready'; clients: number }
  | { type: 'counts'; received: number[]; duplicates: number; closed: number }
  | {
      type: 'done';
      received: number[];
      duplicates: number;
      closed: number;
      frames: number;
      histogram: LatencyHistogramJson;
      cpuUserMs: number;
      cpuSystemMs: number;
      wallMs: number;
    };

// An event message as the hub serialises it: `{"type":"event","kind":…,"event":{"id":"<uuid>",…,"ts":"…"`.
// Found in the frame's bytes with Buffer.indexOf (no UTF-8 decoding of 20 copies of every frame, no
// JSON.parse): a real console runs on another machine, and on this 2-core one every µs this process
// spends is taken from the server it measures.
const EVENT_MARK = Buffer.from('{"type":"event","kind":"');
const ID_MARK = Buffer.from('"event":{"id":"');
const TS_MARK = Buffer.from('"ts":"');
const HELLO = Buffer.from('{"type":"hello"');
const ID_CHARS = 36;

const hourBase = new Map<string, number>();
/** Epoch ms of the canonical `YYYY-MM-DDTHH:MM:SS.mmmZ` at `at` (what the agents send); Date.parse otherwise. */
function tsMs(b: Buffer, at: number): number {
  const d = (k: number): number => b[at + k]! - 48;
  if (b[at + 23] === 90 /* Z */ && b[at + 19] === 46 /* . */ && b[at + 24] === 34 /* " */) {
    const hour = b.toString('latin1', at, at + 13);
    let base = hourBase.get(hour);
    if (base === undefined) {
      base = Date.parse(`${hour}:00:00.000Z`);
      hourBase.set(hour, base);
    }
    return base + (d(14) * 10 + d(15)) * 60_000 + (d(17) * 10 + d(18)) * 1000 + d(20) * 100 + d(21) * 10 + d(22);
  }
  const end = b.indexOf(34, at);
  return Date.parse(b.toString('latin1', at, end));
}

const send = (m: WsToParent): void => {
  process.send?.(m);
};

async function main(input: WsInput): Promise<void> {
  const hist = new LatencyHistogram();
  const received = new Array<number>(input.clients).fill(0);
  const seen = new Set<string>();
  let duplicates = 0;
  let closed = 0;
  let frames = 0;
  const sockets: WebSocket[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();

  // every client counts the events and their latencies; client 0 also keeps every id (duplicates)
  const onFrame = (i: number, b: Buffer, now: number): void => {
    let n = 0;
    let at = b.indexOf(EVENT_MARK);
    while (at >= 0) {
      const id = b.indexOf(ID_MARK, at + EVENT_MARK.length);
      if (id < 0) break;
      const idAt = id + ID_MARK.length;
      const ts = b.indexOf(TS_MARK, idAt + ID_CHARS);
      if (ts < 0) break;
      n += 1;
      if (i === 0) {
        const key = b.toString('latin1', idAt, idAt + ID_CHARS);
        if (seen.has(key)) duplicates += 1;
        else seen.add(key);
      }
      hist.record(now - tsMs(b, ts + TS_MARK.length));
      at = b.indexOf(EVENT_MARK, ts);
    }
    received[i] = received[i]! + n;
  };

  await Promise.all(
    Array.from({ length: input.clients }, (_, i) => {
      const base = input.httpUrls[i % input.httpUrls.length]!.replace(/^http/, 'ws');
      const ws = new WebSocket(`${base}/ws${input.batch ? '?batch=1' : ''}`, { perMessageDeflate: false });
      sockets.push(ws);
      ws.on('message', (data: Buffer) => {
        const now = Date.now();
        frames += 1;
        if (data.subarray(0, HELLO.length).equals(HELLO)) return;
        onFrame(i, data, now);
      });
      ws.on('close', () => {
        closed += 1;
      });
      return new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
    }),
  );
  send({ type: 'ready', clients: sockets.length });

  process.on('message', (m: { type: string }) => {
    if (m.type === 'counts') send({ type: 'counts', received, duplicates, closed });
    if (m.type === 'stop') {
      const cpu = process.cpuUsage(cpu0);
      send({
        type: 'done',
        received,
        duplicates,
        closed,
        frames,
        histogram: hist.toJSON(),
        cpuUserMs: cpu.user / 1000,
        cpuSystemMs: cpu.system / 1000,
        wallMs: Date.now() - t0,
      });
      for (const s of sockets) s.terminate();
      process.disconnect?.();
    }
  });
}

const input = JSON.parse(process.argv[2] ?? '{}') as WsInput;
main(input).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
