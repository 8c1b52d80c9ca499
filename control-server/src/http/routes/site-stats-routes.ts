import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { SiteStats, TimeRange } from '../../alerts/site-stats.js';
import { SITE_ID_PATTERN } from '../../auth/permissions.js';

/**
 * Aggregates of a site for the live view's charts: passages per gate per bucket, the
 * time-to-verdict distribution (badge-only vs biometric, same definition as the equal-service
 * figures), line crossings per line per bucket. Counts only, no personal data: not audited.
 */

const siteParam = {
  type: 'object',
  required: ['site'],
  additionalProperties: false,
  properties: { site: { type: 'string', pattern: SITE_ID_PATTERN.source } },
} as const;

export const BUCKETS: Readonly<Record<string, number>> = {
  '1m': 60_000,
  '5m': 300_000,
  '15m': 900_000,
  '1h': 3_600_000,
};

const rangeQuery = (defaultBucket: string) =>
  ({
    type: 'object',
    additionalProperties: false,
    properties: {
      bucket: { type: 'string', enum: Object.keys(BUCKETS), default: defaultBucket },
      from: { type: 'string', minLength: 10, maxLength: 30 },
      to: { type: 'string', minLength: 10, maxLength: 30 },
    },
  }) as const;

const MAX_RANGE_MS = 8 * 86_400_000;
/** defaults: the last 3 hours for passages, the last 24 hours for decision times and line counts */
const DEFAULT_RANGE_MS: Record<'passages' | 'decisionTimes' | 'lineCounts', number> = {
  passages: 3 * 3_600_000,
  decisionTimes: 24 * 3_600_000,
  lineCounts: 24 * 3_600_000,
};

type RangeQuery = { bucket?: string; from?: string; to?: string };

/** A `from`/`to` pair as ISO times (a bare date is the start of that day, UTC), or why not. */
export function parseRange(
  q: RangeQuery,
  defaultMs: number,
  nowMs = Date.now(),
): { ok: true; value: TimeRange } | { ok: false; message: string } {
  const parse = (v: string): number => Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00.000Z` : v);
  const to = q.to !== undefined ? parse(q.to) : nowMs;
  const from = q.from !== undefined ? parse(q.from) : to - defaultMs;
  if (Number.isNaN(from) || Number.isNaN(to)) return { ok: false, message: 'from/to must be ISO 8601 dates or times' };
  if (from >= to) return { ok: false, message: 'from must be before to' };
  if (to - from > MAX_RANGE_MS) return { ok: false, message: 'at most 8 days at once' };
  return { ok: true, value: { fromIso: new Date(from).toISOString(), toIso: new Date(to).toISOString() } };
}

function service(stats: SiteStats | undefined, reply: FastifyReply): SiteStats | null {
  if (stats) return stats;
  void reply.code(503).send({ error: 'STATS_UNAVAILABLE', message: 'site statistics are not configured' });
  return null;
}

function badRange(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(400).send({ error: 'BAD_RANGE', message });
}

export const siteStatsRoutes: FastifyPluginAsync = async (app) => {
  app.get<{ Params: { site: string }; Querystring: RangeQuery }>(
    '/api/sites/:site/stats/passages',
    { config: { permission: 'events.access:read' }, schema: { params: siteParam, querystring: rangeQuery('5m') } },
    async (req, reply) => {
      const stats = service(app.deps.siteStats, reply);
      if (!stats) return reply;
      const range = parseRange(req.query, DEFAULT_RANGE_MS.passages);
      if (!range.ok) return badRange(reply, range.message);
      const bucketMs = BUCKETS[req.query.bucket ?? '5m']!;
      return {
        site: req.params.site,
        from: range.value.fromIso,
        to: range.value.toIso,
        ...stats.passages(req.params.site, range.value, bucketMs),
      };
    },
  );

  app.get<{ Params: { site: string }; Querystring: RangeQuery }>(
    '/api/sites/:site/stats/decision-times',
    { config: { permission: 'events.access:read' }, schema: { params: siteParam, querystring: rangeQuery('1h') } },
    async (req, reply) => {
      const stats = service(app.deps.siteStats, reply);
      if (!stats) return reply;
      const range = parseRange(req.query, DEFAULT_RANGE_MS.decisionTimes);
      if (!range.ok) return badRange(reply, range.message);
      return {
        site: req.params.site,
        from: range.value.fromIso,
        to: range.value.toIso,
        ...stats.decisionTimes(req.params.site, range.value),
      };
    },
  );

  app.get<{ Params: { site: string }; Querystring: RangeQuery }>(
    '/api/sites/:site/stats/line-counts',
    {
      config: { permission: 'events.movement:read' },
      schema: { params: siteParam, querystring: rangeQuery('1h') },
    },
    async (req, reply) => {
      const stats = service(app.deps.siteStats, reply);
      if (!stats) return reply;
      const range = parseRange(req.query, DEFAULT_RANGE_MS.lineCounts);
      if (!range.ok) return badRange(reply, range.message);
      const bucketMs = BUCKETS[req.query.bucket ?? '1h']!;
      return {
        site: req.params.site,
        from: range.value.fromIso,
        to: range.value.toIso,
        ...stats.lineCrossings(req.params.site, range.value, bucketMs),
      };
    },
  );
};
