import type { FastifyPluginAsync } from 'fastify';
import type { AgentRecord } from '../../repositories/agent-repository.js';
import type { StoredEvent } from '../../repositories/event-repository.js';
import { ALL_SITES, sitesWith } from '../../auth/permissions.js';
import { auditRequest, isOriginAllowed } from '../auth/auth-plugin.js';
import { eventScopeOf, liveFilterOf } from '../auth/scope.js';
import type { LiveHub } from './live-hub.js';

export interface HelloMessage {
  type: 'hello';
  serverTime: string;
  agents: AgentRecord[];
  /** latest events, newest first; on a resume (`resumed`), only those stored after the client's cursor */
  events: StoredEvent[];
  /**
   * Resume cursor: the id of the last event stored (receipt order) among those this client may see,
   * null when there is none. The client keeps it, moves it to each pushed event's id, and reconnects
   * with `/ws?after=<cursor>`.
   */
  cursor: string | null;
  /** true when `?after=` was known: `events` holds only what was stored after it (nothing twice) */
  resumed: boolean;
  /** resumed, but more events than `ws.helloEvents` were stored meanwhile: only the newest are here */
  truncated?: boolean;
}

/** An event id as the edge makes them (UUIDv7 or ULID); anything else in `after` is ignored. */
const CURSOR_PATTERN = /^[0-9A-Za-z-]{1,64}$/;

export interface LiveSocketOptions {
  hub: LiveHub;
  helloEvents: number;
  /** origins allowed besides the page's own (a browser always sends Origin on a WebSocket) */
  allowedOrigins: readonly string[];
}

/**
 * GET /ws (`?batch=1` for batch frames, see LiveBatchFrame; `?after=<cursor>` to resume, see HelloMessage.cursor):
 * hello snapshot, then every live message from the bus, both limited to the agents and
 * events of the sites the session may see. Client messages are ignored. The connection closes when
 * its session ends (logout, expiry, account disabled).
 */
export const liveSocket: FastifyPluginAsync<LiveSocketOptions> = async (app, opts) => {
  app.get(
    '/ws',
    {
      websocket: true,
      config: { permission: 'live:subscribe' },
      preValidation: async (req, reply) => {
        // cross-site WebSocket hijacking guard: a WebSocket is a GET, which the auth plugin's Origin
        // check of state-changing requests does not cover, and a tab on another site must not read the feed
        if (!isOriginAllowed(req, opts.allowedOrigins)) {
          req.log.warn({ origin: req.headers.origin }, 'websocket origin refused');
          return reply.code(403).send({ error: 'ORIGIN_NOT_ALLOWED' });
        }
        return undefined;
      },
    },
    (socket, req) => {
      const principal = req.principal!;
      const scope = eventScopeOf(principal);
      const query = (req.query as Record<string, unknown> | undefined) ?? {};
      // resume (`?after=<cursor>`): only what was stored after the client's last event, so a console
      // that reconnects (server restart, network) gets no event twice; an unknown cursor (another
      // database, purged) falls back to the full snapshot
      const after = typeof query.after === 'string' && CURSOR_PATTERN.test(query.after) ? query.after : null;
      const resume = after
        ? app.deps.events.listAfter(after, { limit: opts.helloEvents, ...(scope ? { scope } : {}) })
        : null;
      const listed = resume?.ok
        ? resume
        : app.deps.events.list({ limit: opts.helloEvents, ...(scope ? { scope } : {}) });
      const agentSites = sitesWith(principal, 'agents:read');
      const hello: HelloMessage = {
        type: 'hello',
        serverTime: new Date().toISOString(),
        agents: app.deps.agents.list().filter((a) => agentSites === ALL_SITES || agentSites.has(a.site)),
        events: listed.ok ? listed.events : [],
        cursor: app.deps.events.latestReceivedId(scope),
        resumed: resume?.ok === true,
        ...(resume?.ok && resume.truncated ? { truncated: true } : {}),
      };
      // snapshot and registration happen in one tick: ingest is synchronous, so nothing falls between
      // `?batch=1`: the client takes `{type:'batch', messages}` frames (one per tick) instead of one frame per message
      const batch = query.batch === '1';
      opts.hub.add(socket, hello, {
        filter: liveFilterOf(principal),
        sessionKey: req.authSession?.idHash ?? null,
        batch,
      });
      // the live feed carries access events as they happen: its opening is a read of personal data
      const liveSites = sitesWith(principal, 'live:subscribe');
      for (const site of liveSites === ALL_SITES ? [ALL_SITES] : [...liveSites].sort()) {
        auditRequest(app.deps.audit, req, {
          action: 'live.subscribe',
          outcome: 'ok',
          site,
          target: null,
          details: {
            helloEvents: hello.events.filter((e) => site === ALL_SITES || e.site === site).length,
            ...(after ? { resumed: hello.resumed } : {}),
          },
        });
      }
    },
  );
};
