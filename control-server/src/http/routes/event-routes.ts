import type { FastifyPluginAsync } from 'fastify';
import { EVENT_KINDS, type EventKind, type StoredEvent } from '../../repositories/event-repository.js';
import { auditRequest } from '../auth/auth-plugin.js';
import { ANY_EVENT_READ, eventScopeOf } from '../auth/scope.js';

export const MAX_EVENTS_PAGE = 500;

interface EventsQuery {
  limit: number;
  kind?: EventKind;
  before?: string;
  site?: string;
}

/**
 * Access events carry a (pseudonymous) credential id: personal data. Each read that returns some is
 * written to the audit log, one row per site, with the event ids.
 */
export function auditAccessEventReads(
  events: readonly StoredEvent[],
  write: (site: string, ids: string[]) => void,
): void {
  const bySite = new Map<string, string[]>();
  for (const e of events) {
    if (e.kind !== 'access') continue;
    const ids = bySite.get(e.site) ?? [];
    ids.push(e.id);
    bySite.set(e.site, ids);
  }
  for (const [site, ids] of bySite) write(site, ids);
}

/**
 * GET /api/events?limit=&kind=&before=&site=: newest first by edge time (then id), only the kinds
 * and sites the caller may read. `before` is the id of an event (the `nextBefore` of the previous
 * page): the page holds only events older than it.
 */
export const eventRoutes: FastifyPluginAsync = async (app) => {
  app.get<{ Querystring: EventsQuery }>(
    '/api/events',
    {
      config: { permission: ANY_EVENT_READ },
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: MAX_EVENTS_PAGE, default: 50 },
            kind: { type: 'string', enum: [...EVENT_KINDS] },
            before: { type: 'string', minLength: 1, maxLength: 64 },
            site: { type: 'string', minLength: 1, maxLength: 64 },
          },
        },
      },
    },
    async (req, reply) => {
      const { limit, kind, before, site } = req.query;
      const scope = eventScopeOf(req.principal!, site);
      const res = app.deps.events.list({
        limit,
        ...(kind ? { kind } : {}),
        ...(before ? { before } : {}),
        ...(scope ? { scope } : {}),
      });
      if (!res.ok) {
        return reply.code(400).send({ error: res.error, message: `no event with id ${before}` });
      }
      auditAccessEventReads(res.events, (s, ids) =>
        auditRequest(app.deps.audit, req, {
          action: 'events.read',
          outcome: 'ok',
          site: s,
          target: `events:${ids.length}`,
          details: { kind: 'access', ids },
        }),
      );
      const last = res.events.at(-1);
      return { events: res.events, nextBefore: res.events.length === limit && last ? last.id : null };
    },
  );
};
