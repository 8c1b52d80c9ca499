/**
 * Child process of `npm run load`: K console clients on /ws (batch frames unless `batch` is false).
 * Latency of an event = receipt time − its edge `ts` (the simulated agent's generation time; both
 * clocks are this machine's). Every client finds the events in the frame's bytes instead of
 * decoding and parsing it (20 parses of every event cost this process about half a core, taken from
 * the server on this 2-core machine); client 0 also keeps every id to count duplicates. The K clients
 * get the same frames (each over its own socket): a frame byte-for-byte equal to one another client
 * already scanned is compared instead of scanned again (`FrameScanCache`), and its events are still
 * counted and timed by every client at its own receipt time.
 */
import { writeFileSync } from 'node:fs';
import WebSocket from 'ws';
import { ByteKeySet, FrameScanCache, ID_CHARS, LatencyHistogram, type LatencyHistogramJson } from './load-common.js';

export interface WsInput {
  /** clients are spread over these servers round-robin (one per instance) */
  httpUrls: string[];
  clients: number;
  batch: boolean;
}

export type WsToParent =
  | { type: 'ready'; clients: number }
  | { type: 'measuring' }
  | { type: 'counts'; received: number[]; duplicates: number; closed: number }
  | {
      type: 'done';
      received: number[];
      duplicates: number;
      closed: number;
      frames: number;
      /** frames found byte-for-byte equal to one already scanned (by another client) / scanned */
      framesReused: number;
      framesScanned: number;
      histogram: LatencyHistogramJson;
      /** client 0 only: edge ts → server receipt, and server receipt → client receipt */
      toServer: LatencyHistogramJson;
      fromServer: LatencyHistogramJson;
      /** every client, events generated at or after the `steady` message's time (past the start transient) */
      steady: LatencyHistogramJson;
      /** client 0, the same events: server receipt → client receipt */
      steadyFromServer: LatencyHistogramJson;
      cpuUserMs: number;
      cpuSystemMs: number;
      wallMs: number;
    };

const HELLO = Buffer.from('{"type":"hello"');

const send = (m: WsToParent): void => {
  process.send?.(m);
};

async function main(input: WsInput): Promise<void> {
  let hist = new LatencyHistogram();
  let toServer = new LatencyHistogram();
  let fromServer = new LatencyHistogram();
  let steady = new LatencyHistogram();
  let steadyFromServer = new LatencyHistogram();
  let steadyFromMs = Number.POSITIVE_INFINITY;
  let received = new Array<number>(input.clients).fill(0);
  const seen = new ByteKeySet(ID_CHARS);
  const scans = new FrameScanCache();
  let duplicates = 0;
  let closed = 0;
  let frames = 0;
  const sockets: WebSocket[] = [];
  let cpu0 = process.cpuUsage();
  let t0 = Date.now();
  // PORTAIL_LOAD_TIMELINE=file: client 0's seconds, [events, max latency, max edge→server, max
  // server→client] per second of receipt, written at the end (to find where a tail comes from)
  const timelineFile = process.env.PORTAIL_LOAD_TIMELINE;
  const timeline: Array<[number, number, number, number]> | null = timelineFile ? [] : null;

  // every client counts the events of each frame it receives and records their latencies at its own
  // receipt time; client 0 also keeps every id (duplicates)
  const onFrame = (i: number, b: Buffer, now: number): void => {
    const ev = scans.scan(b);
    for (let k = 0; k < ev.tsMs.length; k++) {
      hist.record(now - ev.tsMs[k]!, ev.tsRun[k]);
      if (ev.tsMs[k]! >= steadyFromMs) steady.record(now - ev.tsMs[k]!, ev.tsRun[k]);
    }
    received[i] = received[i]! + ev.n;
    if (i === 0 && timeline) {
      const sec = Math.floor((now - t0) / 1000);
      const row = (timeline[sec] ??= [0, 0, 0, 0]);
      for (let k = 0; k < ev.tsMs.length; k++) {
        row[0] += ev.tsRun[k]!;
        row[1] = Math.max(row[1], now - ev.tsMs[k]!);
      }
      let k = 0;
      for (let r = 0; r < ev.tsMs.length; r++) {
        for (let j = 0; j < ev.tsRun[r]!; j++, k++) {
          const rx = ev.receivedMs[k]!;
          if (Number.isNaN(rx)) continue;
          row[2] = Math.max(row[2], rx - ev.tsMs[r]!);
          row[3] = Math.max(row[3], now - rx);
        }
      }
    }
    if (i === 0) {
      // where the time goes: before the server received the event, or between its receipt and ours
      let k = 0;
      for (let r = 0; r < ev.tsMs.length; r++) {
        for (let j = 0; j < ev.tsRun[r]!; j++, k++) {
          const rx = ev.receivedMs[k]!;
          if (Number.isNaN(rx)) continue;
          toServer.record(rx - ev.tsMs[r]!);
          fromServer.record(now - rx);
          if (ev.tsMs[r]! >= steadyFromMs) steadyFromServer.record(now - rx);
        }
      }
      for (const idAt of ev.idAt) if (!seen.add(b, idAt)) duplicates += 1;
    }
  };

  await Promise.all(
    Array.from({ length: input.clients }, (_, i) => {
      const base = input.httpUrls[i % input.httpUrls.length]!.replace(/^http/, 'ws');
      // skipUTF8Validation: the frames are never decoded as text, only scanned for ASCII markers
      const ws = new WebSocket(`${base}/ws${input.batch ? '?batch=1' : ''}`, {
        perMessageDeflate: false,
        skipUTF8Validation: true,
      });
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

  process.on('message', (m: { type: string; fromMs?: number }) => {
    if (m.type === 'measure') {
      // after the warm-up, whose events have all arrived: the run measured starts from zero
      hist = new LatencyHistogram();
      toServer = new LatencyHistogram();
      fromServer = new LatencyHistogram();
      steady = new LatencyHistogram();
      steadyFromServer = new LatencyHistogram();
      received = new Array<number>(input.clients).fill(0);
      frames = 0;
      cpu0 = process.cpuUsage();
      t0 = Date.now();
      if (timeline) timeline.length = 0;
      send({ type: 'measuring' });
    }
    if (m.type === 'steady' && typeof m.fromMs === 'number') steadyFromMs = m.fromMs;
    if (m.type === 'counts') send({ type: 'counts', received, duplicates, closed });
    if (m.type === 'stop') {
      const cpu = process.cpuUsage(cpu0);
      send({
        type: 'done',
        received,
        duplicates,
        closed,
        frames,
        framesReused: scans.hits,
        framesScanned: scans.misses,
        histogram: hist.toJSON(),
        toServer: toServer.toJSON(),
        fromServer: fromServer.toJSON(),
        steady: steady.toJSON(),
        steadyFromServer: steadyFromServer.toJSON(),
        cpuUserMs: cpu.user / 1000,
        cpuSystemMs: cpu.system / 1000,
        wallMs: Date.now() - t0,
      });
      if (timelineFile && timeline) writeFileSync(timelineFile, JSON.stringify({ t0, timeline }));
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
