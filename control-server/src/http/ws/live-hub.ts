import type { Logger } from 'pino';
import { WebSocket } from 'ws';
import type { LiveMessage } from '../../services/live-bus.js';

export interface LiveHubOptions {
  pingIntervalMs: number;
  maxBufferedBytes: number;
  logger: Logger;
  /** asked at every ping for clients tied to a session: false closes the client (logged out, expired) */
  revalidate?: (sessionKey: string) => boolean;
}

export interface LiveClientOptions {
  /** which pushes this client may receive (per-site scoping); all when absent */
  filter?: (msg: LiveMessage) => boolean;
  /** the session the connection was opened with, to close it when the session ends */
  sessionKey?: string | null;
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
  filter: ((msg: LiveMessage) => boolean) | null;
  sessionKey: string | null;
}

export function createLiveHub(opts: LiveHubOptions): LiveHub {
  const log = opts.logger;
  const clients = new Set<Client>();
  let droppedSlow = 0;
  let droppedUnresponsive = 0;

  /** false when the client was dropped instead */
  function sendTo(c: Client, data: string): boolean {
    if (c.socket.readyState !== WebSocket.OPEN) return false;
    // Bounded buffer: a console that cannot keep up is cut off (it reconnects and re-syncs from hello)
    // rather than letting its backlog grow in our memory.
    if (c.socket.bufferedAmount + Buffer.byteLength(data) > opts.maxBufferedBytes) {
      droppedSlow += 1;
      log.warn({ bufferedBytes: c.socket.bufferedAmount }, 'dropping slow websocket client');
      clients.delete(c);
      c.socket.terminate();
      return false;
    }
    c.socket.send(data);
    return true;
  }

  function endSession(c: Client): void {
    clients.delete(c);
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
        clients.delete(c);
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
      const c: Client = { socket, alive: true, filter: client.filter ?? null, sessionKey: client.sessionKey ?? null };
      clients.add(c);
      socket.on('pong', () => {
        c.alive = true;
      });
      socket.on('close', () => clients.delete(c));
      socket.on('error', (err: Error) => {
        log.debug({ err: err.message }, 'websocket client error');
        clients.delete(c);
      });
      sendTo(c, JSON.stringify(first));
    },
    broadcast(msg) {
      if (clients.size === 0) return;
      let data: string | null = null;
      for (const c of clients) {
        if (c.filter && !c.filter(msg)) continue;
        // serialised once, and only when someone receives it
        data ??= JSON.stringify(msg);
        sendTo(c, data);
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
      for (const c of clients) c.socket.close(1001, 'server shutting down');
      clients.clear();
    },
  };
}
