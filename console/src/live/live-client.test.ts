import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  backoffDelayMs,
  createLiveClient,
  defaultLiveUrl,
  nextCursor,
  withResumeCursor,
  type ConnectionStatus,
} from './live-client.js';
import type { ServerMessage } from './wire.js';

/** Minimal browser-WebSocket stand-in: the test drives its events. */
class FakeSocket {
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onclose: ((ev?: CloseEvent) => void) | null = null;
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
  /** the server closed the connection with this code */
  closedByServer(code: number): void {
    this.onclose?.({ code } as CloseEvent);
  }
}

function fakeSockets(): { sockets: FakeSocket[]; createSocket: () => WebSocket } {
  const sockets: FakeSocket[] = [];
  return {
    sockets,
    createSocket: () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s as unknown as WebSocket;
    },
  };
}

const HELLO = JSON.stringify({ type: 'hello', serverTime: 't', agents: [], events: [] });

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

  it('stops for good when the server closes with 1008 (session ended), and says so', () => {
    const { sockets, createSocket } = fakeSockets();
    let ended = 0;
    createLiveClient({
      url: 'ws://x/ws',
      minDelayMs: 100,
      createSocket,
      onMessage: () => undefined,
      onStatus: () => undefined,
      onSessionEnded: () => (ended += 1),
    });
    sockets[0]!.receive(HELLO);
    sockets[0]!.closedByServer(1008);
    expect(ended).toBe(1);
    vi.advanceTimersByTime(60_000);
    expect(sockets).toHaveLength(1);
  });

  it('asks whether the session is still valid before each reconnect', async () => {
    const { sockets, createSocket } = fakeSockets();
    const answers = [true, false];
    let asked = 0;
    let ended = 0;
    createLiveClient({
      url: 'ws://x/ws',
      minDelayMs: 100,
      maxDelayMs: 100,
      createSocket,
      onMessage: () => undefined,
      onStatus: () => undefined,
      onSessionEnded: () => (ended += 1),
      sessionStillValid: async () => answers[asked++] ?? false,
    });
    expect(asked).toBe(0);
    // a network drop (1006): the session is still there, so the client reconnects
    sockets[0]!.closedByServer(1006);
    await vi.advanceTimersByTimeAsync(200);
    expect(asked).toBe(1);
    expect(sockets).toHaveLength(2);
    // the next drop finds the session gone: no socket is opened with a dead cookie
    sockets[1]!.closedByServer(1006);
    await vi.advanceTimersByTimeAsync(200);
    expect(asked).toBe(2);
    expect(ended).toBe(1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(sockets).toHaveLength(2);
  });
});

describe('resume without duplicates', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const ev = (id: string) => ({
    type: 'event',
    kind: 'camera',
    event: { id, kind: 'camera', site: 's', agent: 'a', camera: 'c', ts: 't', receivedAt: 't', payload: {} },
  });

  it('opens the live feed with batch frames, on the page origin, wss under https', () => {
    expect(defaultLiveUrl({ protocol: 'https:', host: 'portail.example:8443' } as Location)).toBe(
      'wss://portail.example:8443/ws?batch=1',
    );
    expect(withResumeCursor(defaultLiveUrl({ protocol: 'http:', host: 'localhost:8080' } as Location), 'e1')).toBe(
      'ws://localhost:8080/ws?batch=1&after=e1',
    );
  });

  it('adds the cursor to a URL with or without a query', () => {
    expect(withResumeCursor('ws://x/ws', null)).toBe('ws://x/ws');
    expect(withResumeCursor('ws://x/ws', 'a b')).toBe('ws://x/ws?after=a%20b');
    expect(withResumeCursor('ws://x/ws?batch=1', 'id1')).toBe('ws://x/ws?batch=1&after=id1');
  });

  it('reconnects with ?after= set to the last event it received (the hello cursor, then each push)', () => {
    const urls: string[] = [];
    const sockets: FakeSocket[] = [];
    const client = createLiveClient({
      url: 'ws://x/ws',
      minDelayMs: 100,
      maxDelayMs: 100,
      createSocket: (url) => {
        urls.push(url);
        const s = new FakeSocket();
        sockets.push(s);
        return s as unknown as WebSocket;
      },
      onMessage: () => undefined,
      onStatus: () => undefined,
    });
    expect(client.cursor()).toBeNull();
    sockets[0]!.receive(JSON.stringify({ type: 'hello', serverTime: 't', agents: [], events: [], cursor: 'e-10' }));
    expect(client.cursor()).toBe('e-10');
    sockets[0]!.receive(JSON.stringify(ev('e-11')));
    sockets[0]!.receive(JSON.stringify({ type: 'health', site: 's', agent: 'a', health: {} }));
    sockets[0]!.drop();
    vi.advanceTimersByTime(200);
    expect(urls).toEqual(['ws://x/ws', 'ws://x/ws?after=e-11']);
    // a hello without anything newer keeps the cursor (an older server sends no cursor at all)
    sockets[1]!.receive(JSON.stringify({ type: 'hello', serverTime: 't', agents: [], events: [], resumed: true }));
    sockets[1]!.drop();
    vi.advanceTimersByTime(200);
    expect(urls.at(-1)).toBe('ws://x/ws?after=e-11');
    client.close();
  });

  it('unpacks batch frames in order and moves the cursor through them', () => {
    const { sockets, createSocket } = fakeSockets();
    const messages: ServerMessage[] = [];
    const client = createLiveClient({
      url: 'ws://x/ws',
      createSocket,
      onMessage: (m) => messages.push(m),
      onStatus: () => undefined,
    });
    sockets[0]!.receive(HELLO);
    sockets[0]!.receive(JSON.stringify({ type: 'batch', messages: [ev('e-1'), { type: 'nope' }, ev('e-2')] }));
    expect(messages.map((m) => (m.type === 'event' ? m.event.id : m.type))).toEqual(['hello', 'e-1', 'e-2']);
    expect(client.cursor()).toBe('e-2');
    expect(nextCursor('x', { type: 'agent', agent: {} as never })).toBe('x');
    client.close();
  });
});
