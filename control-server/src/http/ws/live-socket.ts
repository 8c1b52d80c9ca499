import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { AgentRecord } from '../../repositories/agent-repository.js';
import type { StoredEvent } from '../../repositories/event-repository.js';
import type { LiveHub } from './live-hub.js';

export interface HelloMessage {
  type: 'hello';
  serverTime: string;
  agents: AgentRecord[];
  /** latest events, newest first */
  events: StoredEvent[];
}

export interface LiveSocketOptions {
  hub: LiveHub;
  helloEvents: number;
  /** origins allowed besides the page's own (a browser always sends Origin on a WebSocket) */
  allowedOrigins: readonly string[];
}

/**
 * Cross-site WebSocket hijacking guard: a browser tab on another site could otherwise open /ws on a
 * loopback server and read the live feed. Non-browser clients send no Origin and are let through.
 */
export function isOriginAllowed(req: FastifyRequest, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (allowed.includes(origin)) return true;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    // an unparsable Origin is not a same-origin page
    return false;
  }
  return host === req.headers.host;
}

/** GET /ws: hello snapshot, then every live message from the bus. Client messages are ignored. */
export const liveSocket: FastifyPluginAsync<LiveSocketOptions> = async (app, opts) => {
  app.get(
    '/ws',
    {
      websocket: true,
      preValidation: async (req, reply) => {
        if (!isOriginAllowed(req, opts.allowedOrigins)) {
          req.log.warn({ origin: req.headers.origin }, 'websocket origin refused');
          return reply.code(403).send({ error: 'ORIGIN_NOT_ALLOWED' });
        }
        return undefined;
      },
    },
    (socket) => {
      const listed = app.deps.events.list({ limit: opts.helloEvents });
      const hello: HelloMessage = {
        type: 'hello',
        serverTime: new Date().toISOString(),
        agents: app.deps.agents.list(),
        events: listed.ok ? listed.events : [],
      };
      // snapshot and registration happen in one tick: ingest is synchronous, so nothing falls between
      opts.hub.add(socket, hello);
    },
  );
};
