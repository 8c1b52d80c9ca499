import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { backoffDelayMs, createLiveClient, type ConnectionStatus } from './live-client.js';
import type { ServerMessage } from './wire.js';

/** Minimal browser-WebSocket stand-in: the test drives its events. */
class FakeSocket {
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  closed = false;
  close(): void {
    this.closed = true;
    this.onclose?.();
  }
  receive(data: string): void {
    this.onmessage?.({ data } as MessageEvent);
  }
  drop(): void {
    this.onerror?.();
    this.onclose?.();
  }
}

describe('backoffDelayMs', () => {
  it('doubles from the minimum up to the cap, within ±20 % jitter', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4, 10].map((n) => backoffDelayMs(n, 500, 15_000, mid))).toEqual([500, 1000, 2000, 4000, 15_000]);
    expect(backoffDelayMs(1, 500, 15_000, () => 0)).toBe(400);
    expect(backoffDelayMs(1, 500, 15_000, () => 0.999999)).toBe(600);
  });
});

describe('createLiveClient', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reconnects after a drop, resets the backoff on hello, and stops for good on close', () => {
    const sockets: FakeSocket[] = [];
    const statuses: ConnectionStatus[] = [];
    const messages: ServerMessage[] = [];
    const client = createLiveClient({
      url: 'ws://x/ws',
      minDelayMs: 100,
      maxDelayMs: 1_000,
      createSocket: () => {
        const s = new FakeSocket();
        sockets.push(s);
        return s as unknown as WebSocket;
      },
      onMessage: (m) => messages.push(m),
      onStatus: (s) => statuses.push(s),
    });
    sockets[0]!.receive(JSON.stringify({ type: 'hello', serverTime: 't', agents: [], events: [] }));
    sockets[0]!.receive('not json');
    sockets[0]!.receive(JSON.stringify({ type: 'unknown' }));
    expect(messages.map((m) => m.type)).toEqual(['hello']);
    expect(statuses.at(-1)).toEqual({ state: 'open' });

    sockets[0]!.drop();
    expect(statuses.at(-1)).toMatchObject({ state: 'closed', attempt: 1 });
    vi.advanceTimersByTime(1_000);
    expect(sockets).toHaveLength(2);
    sockets[1]!.drop();
    expect(statuses.at(-1)).toMatchObject({ state: 'closed', attempt: 2 });
    vi.advanceTimersByTime(1_000);
    sockets[2]!.receive(JSON.stringify({ type: 'hello', serverTime: 't', agents: [], events: [] }));
    sockets[2]!.drop();
    expect(statuses.at(-1)).toMatchObject({ state: 'closed', attempt: 1 });

    client.close();
    vi.advanceTimersByTime(10_000);
    expect(sockets).toHaveLength(3);
  });
});
