/**
 * Child process of `npm run load`: K console clients on /ws (batch frames unless `batch` is false).
 * Latency of an event = receipt time − its edge `ts` (the simulated agent's generation time; both
 * clocks are this machine's). Client 0 parses every frame fully and keeps every id (format check,
 * duplicates); the others find the events with a pattern, which keeps this process from being the
 * bottleneck it would be if it parsed 20 copies of every event.
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

// an event message as the hub serialises it: the stored event's id, then its normalised edge ts
const EVENT_RE = /"type":"event","kind":"[a-z]+","event":\{"id":"[0-9a-f-]{36}","kind":"[a-z]+","site":"[^"]*","agent":"[^"]*","camera":"[^"]*","ts":"([^"]+)"/g;

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

  const onFull = (text: string, now: number): void => {
    const msg = JSON.parse(text) as { type: string; messages?: Array<{ type: string; event?: { id: string; ts: string } }>; event?: { id: string; ts: string } };
    const list = msg.type === 'batch' ? (msg.messages ?? []) : [msg];
    for (const m of list) {
      if (m.type !== 'event' || !m.event) continue;
      received[0] = received[0]! + 1;
      if (seen.has(m.event.id)) duplicates += 1;
      seen.add(m.event.id);
      hist.record(now - Date.parse(m.event.ts));
    }
  };
  const onFast = (i: number, text: string, now: number): void => {
    EVENT_RE.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = EVENT_RE.exec(text)) !== null) {
      received[i] = received[i]! + 1;
      hist.record(now - Date.parse(m[1]!));
    }
  };

  await Promise.all(
    Array.from({ length: input.clients }, (_, i) => {
      const base = input.httpUrls[i % input.httpUrls.length]!.replace(/^http/, 'ws');
      const ws = new WebSocket(`${base}/ws${input.batch ? '?batch=1' : ''}`, { perMessageDeflate: false });
      sockets.push(ws);
      ws.on('message', (data: Buffer) => {
        const now = Date.now();
        frames += 1;
        const text = data.toString('utf8');
        if (text.startsWith('{"type":"hello"')) return;
        if (i === 0) onFull(text, now);
        else onFast(i, text, now);
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
