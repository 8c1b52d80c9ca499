import type { Logger } from 'pino';
import { WebSocket } from 'ws';
import { insertedEventJson } from '../../repositories/event-repository.js';
import type { LiveMessage } from '../../services/live-bus.js';

/** `JSON.stringify(msg)`, reusing the JSON the insert made of a new event's payload. */
export function serialiseLive(msg: LiveMessage): string {
  if (msg.type === 'event') {
    const event = insertedEventJson(msg.event);
    if (event !== undefined) return `{"type":"event","kind":${JSON.stringify(msg.kind)},"event":${event}}`;
  }
  return JSON.stringify(msg);
}

export interface LiveHubOptions {
  pingIntervalMs: number;
  maxBufferedBytes: number;
  logger: Logger;
  /** asked at every ping for clients tied to a session: false closes the client (logged out, expired) */
  revalidate?: (sessionKey: string) => boolean;
}

export interface LiveClientOptions {
  /**
   * which pushes this client may receive (per-site scoping); all when absent. A filter with a `key`
   * (`liveFilterOf`) is evaluated once per key and message, whatever the number of its clients.
   */
  filter?: ((msg: LiveMessage) => boolean) & { readonly key?: string };
  /** the session the connection was opened with, to close it when the session ends */
  sessionKey?: string | null;
  /**
   * The client accepts batch frames (`/ws?batch=1`): the live messages of one tick arrive in one
   * frame `{"type":"batch","messages":[...]}`, in order. Without it, one frame per message as before.
   */
  batch?: boolean;
}

/** Frame carrying several live messages, sent to clients that opted in with `?batch=1`. */
export interface LiveBatchFrame {
  type: 'batch';
  messages: LiveMessage[];
}

/** Close code sent when the session behind a connection ended (policy violation). */
export const WS_CLOSE_SESSION_ENDED = 1008;

export interface LiveHubStats {
  clients: number;
  /** clients terminated because their send buffer exceeded the bound */
  droppedSlow: number;
  /** clients terminated because they missed a ping */
  droppedUnresponsive: number;
}

/** The part of a `ws` WebSocket the hub uses, so a test can hand it a small fake. */
export type HubSocket = Pick<
  WebSocket,
  'readyState' | 'bufferedAmount' | 'send' | 'ping' | 'terminate' | 'close' | 'on'
>;

export interface LiveHub {
  /** Register a client and send it `first` (the hello snapshot) in the same tick, so no push is missed. */
  add(socket: HubSocket, first: unknown, client?: LiveClientOptions): void;
  broadcast(msg: LiveMessage): void;
  /** close every connection opened with this session (logout) */
  closeSession(sessionKey: string): void;
  stats(): LiveHubStats;
  close(): void;
}

interface Client {
  socket: HubSocket;
  alive: boolean;
  group: Group;
  sessionKey: string | null;
  batch: boolean;
  /** the tick's length when the client was added: it gets only the messages pushed after its hello */
  joinedAt: number;
}

/** Clients whose filters accept the same messages: filtered, queued and framed once for all of them. */
interface Group {
  key: string;
  filter: ((msg: LiveMessage) => boolean) | null;
  /** clients with batch frames / one frame per message */
  batched: Set<Client>;
  single: Set<Client>;
  /** indices into this tick's messages waiting for the group's batch frames */
  queue: number[];
}

export function createLiveHub(opts: LiveHubOptions): LiveHub {
  const log = opts.logger;
  const clients = new Set<Client>();
  const groups = new Map<string, Group>();
  let anonymousGroups = 0;
  let droppedSlow = 0;

  function joinGroup(c: Omit<Client, 'group'>, filter: LiveClientOptions['filter']): Client {
    // a filter without a key shares nothing: a group of its own
    const key = filter === undefined ? 'all' : filter.key === undefined ? `#${anonymousGroups++}` : `k:${filter.key}`;
    let g = groups.get(key);
    if (!g) {
      g = { key, filter: filter ?? null, batched: new Set(), single: new Set(), queue: [] };
      groups.set(key, g);
    }
    const client: Client = { ...c, group: g };
    (client.batch ? g.batched : g.single).add(client);
    return client;
  }

  function remove(c: Client): void {
    if (!clients.delete(c)) return;
    const g = c.group;
    g.batched.delete(c);
    g.single.delete(c);
    if (g.batched.size === 0 && g.single.size === 0) groups.delete(g.key);
  }
  let droppedUnresponsive = 0;

  function dropSlow(c: Client): false {
    droppedSlow += 1;
    log.warn({ bufferedBytes: c.socket.bufferedAmount }, 'dropping slow websocket client');
    remove(c);
    c.socket.terminate();
    return false;
  }

  function write(c: Client, data: string | Buffer): void {
    if (typeof data === 'string') c.socket.send(data);
    else c.socket.send(data, { binary: false });
  }

  /** false when the client was dropped instead */
  function sendTo(c: Client, data: string | Buffer): boolean {
    if (c.socket.readyState !== WebSocket.OPEN) return false;
    // Bounded buffer: a console that cannot keep up is cut off (it reconnects and re-syncs from hello)
    // rather than letting its backlog grow in our memory.
    const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    if (c.socket.bufferedAmount + bytes > opts.maxBufferedBytes) return dropSlow(c);
    write(c, data);
    return true;
  }

  /**
   * A tick's frames for a batch client. The bound applies to what the client left unread before
   * the tick, not to the tick itself: a commit of a few thousand events (after a pause of the
   * database, or at a morning peak) is one burst larger than the bound, which a console that reads
   * drains in milliseconds; one that still has more than the bound queued is cut off. Memory per
   * client stays under the bound plus one tick.
   */
  function sendTick(c: Client, frames: readonly Buffer[]): void {
    if (c.socket.readyState !== WebSocket.OPEN) return;
    if (c.socket.bufferedAmount > opts.maxBufferedBytes) {
      dropSlow(c);
      return;
    }
    for (const f of frames) write(c, f);
  }

  // Batch fan-out: the messages of one tick (an ingest batch commits hundreds at once) go out as one
  // frame per client; each message is serialised once, and clients that receive every message of the
  // tick (the usual case) share one frame, encoded once.
  const tick: string[] = [];
  let flushScheduled = false;
  // a frame stays well under the per-client buffer bound, or one busy tick would cut every client off
  const maxFrameChars = Math.max(4096, Math.min(256 * 1024, Math.floor(opts.maxBufferedBytes / 4)));
  function framesOf(parts: readonly string[]): Buffer[] {
    const frames: Buffer[] = [];
    let start = 0;
    let chars = 0;
    for (let i = 0; i < parts.length; i++) {
      chars += parts[i]!.length + 1;
      if (chars >= maxFrameChars || i === parts.length - 1) {
        frames.push(Buffer.from(`{"type":"batch","messages":[${parts.slice(start, i + 1).join(',')}]}`));
        start = i + 1;
        chars = 0;
      }
    }
    return frames;
  }
  function flushBatches(): void {
    flushScheduled = false;
    let full: Buffer[] | null = null;
    for (const g of groups.values()) {
      if (g.queue.length === 0) continue;
      const frames =
        g.queue.length === tick.length ? (full ??= framesOf(tick)) : framesOf(g.queue.map((i) => tick[i]!));
      for (const c of g.batched) {
        // added during this tick: what was queued before its hello is not for it
        const own = c.joinedAt === 0 ? frames : framesOf(g.queue.filter((i) => i >= c.joinedAt).map((i) => tick[i]!));
        c.joinedAt = 0;
        sendTick(c, own);
      }
      g.queue.length = 0;
    }
    for (const g of groups.values()) for (const c of g.batched) c.joinedAt = 0;
    tick.length = 0;
  }

  function endSession(c: Client): void {
    remove(c);
    c.socket.close(WS_CLOSE_SESSION_ENDED, 'session ended');
  }

  const pingTimer = setInterval(() => {
    for (const c of clients) {
      if (c.sessionKey !== null && opts.revalidate && !opts.revalidate(c.sessionKey)) {
        log.info('closing websocket client: its session ended');
        endSession(c);
        continue;
      }
      if (!c.alive) {
        droppedUnresponsive += 1;
        log.info('terminating unresponsive websocket client');
        remove(c);
        c.socket.terminate();
        continue;
      }
      c.alive = false;
      if (c.socket.readyState === WebSocket.OPEN) c.socket.ping();
    }
  }, opts.pingIntervalMs);
  pingTimer.unref();

  return {
    add(socket, first, client = {}) {
      const c = joinGroup(
        {
          socket,
          alive: true,
          sessionKey: client.sessionKey ?? null,
          batch: client.batch ?? false,
          joinedAt: tick.length,
        },
        client.filter,
      );
      clients.add(c);
      socket.on('pong', () => {
        c.alive = true;
      });
      socket.on('close', () => remove(c));
      socket.on('error', (err: Error) => {
        log.debug({ err: err.message }, 'websocket client error');
        remove(c);
      });
      sendTo(c, JSON.stringify(first));
    },
    broadcast(msg) {
      if (clients.size === 0) return;
      let data: string | null = null;
      let index = -1;
      // one filter call per group, not per client: consoles with the same rights form one group
      for (const g of groups.values()) {
        if (g.filter && !g.filter(msg)) continue;
        // serialised once, and only when someone receives it
        data ??= serialiseLive(msg);
        for (const c of g.single) sendTo(c, data);
        if (g.batched.size === 0) continue;
        if (index < 0) {
          index = tick.push(data) - 1;
          if (!flushScheduled) {
            flushScheduled = true;
            // a microtask: after the synchronous burst that produced the messages, before any I/O
            queueMicrotask(flushBatches);
          }
        }
        g.queue.push(index);
      }
    },
    closeSession(sessionKey) {
      for (const c of clients) if (c.sessionKey === sessionKey) endSession(c);
    },
    stats() {
      return { clients: clients.size, droppedSlow, droppedUnresponsive };
    },
    close() {
      clearInterval(pingTimer);
      tick.length = 0;
      for (const c of clients) c.socket.close(1001, 'server shutting down');
      clients.clear();
      groups.clear();
    },
  };
}
