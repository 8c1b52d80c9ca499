import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { createLiveHub, WS_CLOSE_SESSION_ENDED, type HubSocket, type LiveHub } from './live-hub.js';

/** Hand-written stand-in for a ws socket: records sends, lets the test set the kernel backlog. */
class FakeSocket {
  readyState: number = WebSocket.OPEN;
  bufferedAmount = 0;
  sent: string[] = [];
  pings = 0;
  terminated = false;
  private handlers = new Map<string, Array<(...a: unknown[]) => void>>();
  send(data: string): void {
    this.sent.push(data);
  }
  ping(): void {
    this.pings += 1;
  }
  terminate(): void {
    this.terminated = true;
    this.readyState = WebSocket.CLOSED;
  }
  closeCode: number | null = null;
  close(code?: number): void {
    this.closeCode = code ?? null;
    this.readyState = WebSocket.CLOSED;
  }
  on(event: string, fn: (...a: unknown[]) => void): this {
    this.handlers.set(event, [...(this.handlers.get(event) ?? []), fn]);
    return this;
  }
  emit(event: string): void {
    for (const fn of this.handlers.get(event) ?? []) fn();
  }
}

const asHub = (s: FakeSocket): HubSocket => s as unknown as HubSocket;
const msg = { type: 'health', site: 's', agent: 'a', health: {} } as never;

describe('live hub', () => {
  let hub: LiveHub | undefined;
  afterEach(() => hub?.close());

  it('sends the first message then every broadcast, serialised once', () => {
    hub = createLiveHub({ pingIntervalMs: 60_000, maxBufferedBytes: 1024, logger: pino({ level: 'silent' }) });
    const a = new FakeSocket();
    const b = new FakeSocket();
    hub.add(asHub(a), { type: 'hello' });
    hub.add(asHub(b), { type: 'hello' });
    hub.broadcast(msg);
    expect(a.sent.map((s) => (JSON.parse(s) as { type: string }).type)).toEqual(['hello', 'health']);
    expect(b.sent[1]).toBe(a.sent[1]);
    expect(hub.stats()).toEqual({ clients: 2, droppedSlow: 0, droppedUnresponsive: 0 });
  });

  it('drops a client whose send buffer would exceed the bound, and keeps serving the others', () => {
    hub = createLiveHub({ pingIntervalMs: 60_000, maxBufferedBytes: 1024, logger: pino({ level: 'silent' }) });
    const slow = new FakeSocket();
    const fast = new FakeSocket();
    hub.add(asHub(slow), { type: 'hello' });
    hub.add(asHub(fast), { type: 'hello' });
    slow.bufferedAmount = 1000;
    hub.broadcast(msg);
    expect(slow.terminated).toBe(true);
    expect(slow.sent).toHaveLength(1);
    expect(fast.sent).toHaveLength(2);
    expect(hub.stats()).toEqual({ clients: 1, droppedSlow: 1, droppedUnresponsive: 0 });
  });

  it('pings, and terminates a client that missed the previous ping', async () => {
    hub = createLiveHub({ pingIntervalMs: 1_000, maxBufferedBytes: 1024, logger: pino({ level: 'silent' }) });
    const alive = new FakeSocket();
    const dead = new FakeSocket();
    hub.add(asHub(alive), { type: 'hello' });
    hub.add(asHub(dead), { type: 'hello' });
    // wait for two ping rounds; only `alive` answers
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (alive.pings > 0 && alive.pings === dead.pings) alive.emit('pong');
        if (dead.terminated) {
          clearInterval(check);
          resolve();
        }
      }, 50);
    });
    expect(alive.terminated).toBe(false);
    expect(hub.stats()).toMatchObject({ clients: 1, droppedUnresponsive: 1 });
  });

  it('lets a batch client take a tick larger than the bound, and cuts it off if it still has that much unread at the next', async () => {
    hub = createLiveHub({ pingIntervalMs: 60_000, maxBufferedBytes: 16 * 1024, logger: pino({ level: 'silent' }) });
    const reader = new FakeSocket();
    const stuck = new FakeSocket();
    hub.add(asHub(reader), { type: 'hello' }, { batch: true });
    hub.add(asHub(stuck), { type: 'hello' }, { batch: true });
    const burst = (): void => {
      // ~60 KiB in one tick: several frames, well over the 16 KiB bound
      for (let i = 0; i < 600; i++)
        hub!.broadcast({ type: 'health', site: 's', agent: `a${i}`, health: { pad: 'x'.repeat(64) } } as never);
    };
    burst();
    await Promise.resolve();
    const frames = reader.sent.length - 1;
    expect(frames).toBeGreaterThan(1);
    expect(stuck.sent).toHaveLength(frames + 1);
    expect(hub.stats().droppedSlow).toBe(0);
    // the reader drained its socket, the stuck one did not
    stuck.bufferedAmount = 60 * 1024;
    burst();
    await Promise.resolve();
    expect(stuck.terminated).toBe(true);
    expect(stuck.sent).toHaveLength(frames + 1);
    expect(reader.sent).toHaveLength(2 * frames + 1);
    expect(hub.stats()).toMatchObject({ clients: 1, droppedSlow: 1 });
  });

  it('sends each client only what its filter lets through', () => {
    hub = createLiveHub({ pingIntervalMs: 60_000, maxBufferedBytes: 1 << 20, logger: pino({ level: 'silent' }) });
    const s1 = new FakeSocket();
    const all = new FakeSocket();
    hub.add(asHub(s1), { type: 'hello' }, { filter: (m) => m.type === 'health' && m.site === 's1' });
    hub.add(asHub(all), { type: 'hello' });
    hub.broadcast({ type: 'health', site: 's2', agent: 'a', health: {} } as never);
    hub.broadcast({ type: 'health', site: 's1', agent: 'a', health: {} } as never);
    expect(s1.sent.slice(1).map((x) => (JSON.parse(x) as { site: string }).site)).toEqual(['s1']);
    expect(all.sent).toHaveLength(3);
  });

  it('closes the connections of a session that logged out or expired, and only those', () => {
    vi.useFakeTimers();
    try {
      const valid = new Set(['sess-a', 'sess-b']);
      hub = createLiveHub({
        pingIntervalMs: 1_000,
        maxBufferedBytes: 1 << 20,
        logger: pino({ level: 'silent' }),
        revalidate: (key) => valid.has(key),
      });
      const a = new FakeSocket();
      const b = new FakeSocket();
      const c = new FakeSocket();
      hub.add(asHub(a), { type: 'hello' }, { sessionKey: 'sess-a' });
      hub.add(asHub(b), { type: 'hello' }, { sessionKey: 'sess-b' });
      hub.add(asHub(c), { type: 'hello' }, { sessionKey: 'sess-b' });
      hub.closeSession('sess-a');
      expect(a.closeCode).toBe(WS_CLOSE_SESSION_ENDED);
      expect(hub.stats().clients).toBe(2);
      valid.delete('sess-b'); // expired: found at the next ping
      vi.advanceTimersByTime(1_000);
      expect([b.closeCode, c.closeCode]).toEqual([WS_CLOSE_SESSION_ENDED, WS_CLOSE_SESSION_ENDED]);
      expect(hub.stats().clients).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('sends opted-in clients one batch frame per tick, in order, filtered, with a frame shared by identical receivers', async () => {
    hub = createLiveHub({ pingIntervalMs: 60_000, maxBufferedBytes: 1 << 20, logger: pino({ level: 'silent' }) });
    const legacy = new FakeSocket();
    const a = new FakeSocket();
    const b = new FakeSocket();
    const s1 = new FakeSocket();
    hub.add(asHub(legacy), { type: 'hello' });
    hub.add(asHub(a), { type: 'hello' }, { batch: true, filter: () => true });
    hub.add(asHub(b), { type: 'hello' }, { batch: true });
    hub.add(asHub(s1), { type: 'hello' }, { batch: true, filter: (m) => m.type === 'health' && m.site === 's1' });
    const sites = ['s1', 's2', 's1'];
    for (const site of sites) hub.broadcast({ type: 'health', site, agent: 'a', health: {} } as never);
    // the legacy client got one frame per message at once; batch clients nothing yet
    expect(legacy.sent).toHaveLength(4);
    expect(a.sent).toHaveLength(1);
    await Promise.resolve();
    const frame = (x: unknown) => JSON.parse(String(x)) as { type: string; messages: Array<{ site: string }> };
    expect(a.sent).toHaveLength(2);
    expect(frame(a.sent[1]).type).toBe('batch');
    expect(frame(a.sent[1]).messages.map((m) => m.site)).toEqual(sites);
    expect(b.sent[1]).toBe(a.sent[1]);
    expect(frame(s1.sent[1]).messages.map((m) => m.site)).toEqual(['s1', 's1']);
    // each message of the batch is the same JSON the legacy client received
    expect(frame(a.sent[1]).messages).toEqual(legacy.sent.slice(1).map((x) => JSON.parse(x) as unknown));
    // a client added mid-tick gets only what was broadcast after its hello
    hub.broadcast({ type: 'health', site: 's3', agent: 'a', health: {} } as never);
    const late = new FakeSocket();
    hub.add(asHub(late), { type: 'hello' }, { batch: true });
    hub.broadcast({ type: 'health', site: 's4', agent: 'a', health: {} } as never);
    await Promise.resolve();
    expect(frame(late.sent[1]).messages.map((m) => m.site)).toEqual(['s4']);
    expect(frame(a.sent[2]).messages.map((m) => m.site)).toEqual(['s3', 's4']);
    expect(s1.sent).toHaveLength(2);
  });

  it('evaluates a keyed filter once per message for all its clients, and keeps different keys apart', async () => {
    hub = createLiveHub({ pingIntervalMs: 60_000, maxBufferedBytes: 1 << 20, logger: pino({ level: 'silent' }) });
    let calls = 0;
    const keyed = (site: string) =>
      Object.assign(
        (m: { type: string; site?: string }) => {
          calls += 1;
          return m.site === site;
        },
        { key: `site:${site}` },
      ) as never;
    const s1 = Array.from({ length: 5 }, () => new FakeSocket());
    const s2 = new FakeSocket();
    for (const s of s1) hub.add(asHub(s), { type: 'hello' }, { batch: true, filter: keyed('s1') });
    hub.add(asHub(s2), { type: 'hello' }, { batch: true, filter: keyed('s2') });
    for (const site of ['s1', 's2', 's1']) hub.broadcast({ type: 'health', site, agent: 'a', health: {} } as never);
    // 3 messages × 2 keys, not 3 × 6 clients
    expect(calls).toBe(6);
    await Promise.resolve();
    const sites = (x: unknown) =>
      (JSON.parse(String(x)) as { messages: Array<{ site: string }> }).messages.map((m) => m.site);
    for (const s of s1) {
      expect(s.sent).toHaveLength(2);
      expect(sites(s.sent[1])).toEqual(['s1', 's1']);
      expect(s.sent[1]).toBe(s1[0]!.sent[1]);
    }
    expect(sites(s2.sent[1])).toEqual(['s2']);
    // a client that leaves its group stops receiving; the others keep going
    s1[0]!.emit('close');
    hub.broadcast({ type: 'health', site: 's1', agent: 'a', health: {} } as never);
    await Promise.resolve();
    expect(s1[0]!.sent).toHaveLength(2);
    expect(s1[1]!.sent).toHaveLength(3);
    expect(hub.stats().clients).toBe(5);
  });

  it('splits a busy tick into frames that stay under the buffer bound', async () => {
    hub = createLiveHub({ pingIntervalMs: 60_000, maxBufferedBytes: 64 * 1024, logger: pino({ level: 'silent' }) });
    const a = new FakeSocket();
    hub.add(asHub(a), { type: 'hello' }, { batch: true });
    const n = 2_000;
    for (let i = 0; i < n; i++)
      hub.broadcast({ type: 'health', site: `s${i}`, agent: 'a', health: { pad: 'x'.repeat(40) } } as never);
    await Promise.resolve();
    const frames = a.sent
      .slice(1)
      .map((x) => JSON.parse(String(x)) as { type: string; messages: Array<{ site: string }> });
    expect(frames.length).toBeGreaterThan(1);
    for (const x of a.sent.slice(1)) expect(String(x).length).toBeLessThanOrEqual(16 * 1024 + 200);
    expect(frames.flatMap((f) => f.messages.map((m) => m.site))).toEqual(Array.from({ length: n }, (_, i) => `s${i}`));
    expect(a.terminated).toBe(false);
  });
});
