import WebSocket from 'ws';
import { waitUntil } from './wait.js';

export interface WsRecorder {
  messages: Array<Record<string, unknown>>;
  close(): void;
}

/** A console-like WebSocket client that records every message the server pushes. */
export async function recordWs(httpUrl: string): Promise<WsRecorder> {
  const ws = new WebSocket(`${httpUrl.replace(/^http/, 'ws')}/ws`, { headers: { origin: httpUrl } });
  const messages: Array<Record<string, unknown>> = [];
  ws.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString('utf8')) as Record<string, unknown>));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  await waitUntil(() => messages.some((m) => m.type === 'hello'), 'WebSocket hello', 5_000);
  return { messages, close: () => ws.close() };
}
