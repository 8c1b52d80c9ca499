import { parseServerFrame, type ServerMessage } from './wire.js';

export type ConnectionStatus =
  { state: 'connecting'; attempt: number } | { state: 'open' } | { state: 'closed'; attempt: number; retryAt: number };

export interface LiveClientOptions {
  url: string;
  onMessage: (msg: ServerMessage) => void;
  onStatus: (status: ConnectionStatus) => void;
  minDelayMs?: number;
  maxDelayMs?: number;
  /** injectable for tests */
  createSocket?: (url: string) => WebSocket;
  /**
   * The server closed the socket because its session ended (logout, expiry, account disabled): the
   * client stops for good and calls this instead of reconnecting.
   */
  onSessionEnded?: () => void;
  /**
   * Asked before each reconnect: false means the session is gone (the client stops and calls
   * `onSessionEnded`). Without it a reconnect with a dead cookie would be refused at the handshake,
   * which a browser reports as an error and which tells the page nothing about why.
   */
  sessionStillValid?: () => Promise<boolean>;
}

/** Close code the server sends when the session behind a connection ended (policy violation). */
export const WS_CLOSE_SESSION_ENDED = 1008;

export interface LiveClient {
  close(): void;
  /** the resume cursor the next connection will send (`?after=`), null before the first hello */
  cursor(): string | null;
}

/** `url` with `after=<cursor>` added to its query (kept as is without a cursor). */
export function withResumeCursor(url: string, cursor: string | null): string {
  if (!cursor) return url;
  return `${url}${url.includes('?') ? '&' : '?'}after=${encodeURIComponent(cursor)}`;
}

/**
 * The resume cursor after a message: the hello's own cursor (the server's last stored event this
 * account may see), then the id of each pushed event. Pushes arrive in the order the server stored
 * them, so the cursor is the last event this client holds.
 */
export function nextCursor(cursor: string | null, msg: ServerMessage): string | null {
  if (msg.type === 'hello') return msg.cursor ?? cursor;
  if (msg.type === 'event') return msg.event.id;
  return cursor;
}

/** Delay before reconnect attempt n (1-based): exponential, capped, with ±20 % jitter so consoles spread out. */
export function backoffDelayMs(attempt: number, minMs: number, maxMs: number, random = Math.random): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/**
 * The live feed with batch frames: at a morning peak a commit of hundreds of events reaches the
 * console as one frame per tick instead of one frame per event (the server encodes each once).
 */
export function defaultLiveUrl(loc: Location = window.location): string {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/ws?batch=1`;
}

/**
 * A WebSocket that reconnects by itself. Each connection starts with a `hello` snapshot from the
 * server, so a reconnect re-syncs the whole view; the attempt counter resets only once hello arrives.
 * A reconnect resumes (`?after=<cursor>`): its hello carries only the events stored since the last one
 * this client received (after a server restart too: the cursor is an event id in the server's database),
 * and the reducer drops any id it already has.
 */
export function createLiveClient(opts: LiveClientOptions): LiveClient {
  const minMs = opts.minDelayMs ?? 500;
  const maxMs = opts.maxDelayMs ?? 15_000;
  const make = opts.createSocket ?? ((url: string) => new WebSocket(url));
  let attempt = 0;
  let socket: WebSocket | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let stopped = false;
  let cursor: string | null = null;

  function connect(): void {
    if (stopped) return;
    opts.onStatus({ state: 'connecting', attempt });
    const ws = make(withResumeCursor(opts.url, cursor));
    socket = ws;
    ws.onmessage = (ev: MessageEvent) => {
      // one message per frame, or several in a batch frame
      for (const msg of parseServerFrame(ev.data)) {
        if (msg.type === 'hello') {
          attempt = 0;
          opts.onStatus({ state: 'open' });
        }
        cursor = nextCursor(cursor, msg);
        opts.onMessage(msg);
      }
    };
    ws.onclose = (ev?: CloseEvent) => {
      if (socket !== ws) return;
      socket = null;
      if (stopped) return;
      if (ev?.code === WS_CLOSE_SESSION_ENDED) {
        endSession();
        return;
      }
      attempt += 1;
      const delay = backoffDelayMs(attempt, minMs, maxMs);
      opts.onStatus({ state: 'closed', attempt, retryAt: Date.now() + delay });
      timer = setTimeout(reconnect, delay);
    };
    // an error is always followed by close, which schedules the retry
    ws.onerror = () => undefined;
  }

  function endSession(): void {
    stopped = true;
    opts.onSessionEnded?.();
  }

  function reconnect(): void {
    timer = null;
    if (stopped) return;
    if (!opts.sessionStillValid) {
      connect();
      return;
    }
    opts.sessionStillValid().then(
      (valid) => {
        if (stopped) return;
        if (valid) connect();
        else endSession();
      },
      // the check itself failed (server unreachable): try the socket, whose failure retries later
      () => connect(),
    );
  }

  connect();
  return {
    close() {
      stopped = true;
      if (timer) clearTimeout(timer);
      socket?.close();
      socket = null;
    },
    cursor: () => cursor,
  };
}
