import type { FastifyPluginAsync } from 'fastify';
import { EVENT_KINDS, type EventKind } from '../../repositories/event-repository.js';

export const MAX_EVENTS_PAGE = 500;

interface EventsQuery {
  limit: number;
  kind?: EventKind;
  before?: string;
}

/**
 * GET /api/events?limit=&kind=&before=: newest first by edge time (then id). `before` is the id of an
 * event (the `nextBefore` of the previous page): the page holds only events older than it.
 */
export const eventRoutes: FastifyPluginAsync = async (app) => {
  app.get<{ Querystring: EventsQuery }>(
    '/api/events',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: MAX_EVENTS_PAGE, default: 50 },
            kind: { type: 'string', enum: [...EVENT_KINDS] },
            before: { type: 'string', minLength: 1, maxLength: 64 },
          },
        },
      },
    },
    async (req, reply) => {
      const { limit, kind, before } = req.query;
      const res = app.deps.events.list({ limit, ...(kind ? { kind } : {}), ...(before ? { before } : {}) });
      if (!res.ok) {
        return reply.code(400).send({ error: res.error, message: `no event with id ${before}` });
      }
      const last = res.events.at(-1);
      return { events: res.events, nextBefore: res.events.length === limit && last ? last.id : null };
    },
  );
};
