import { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import type { AuditQuery, AuditRow } from '../../audit/audit-log.js';
import { ALL_SITES, can, SITE_ID_PATTERN, sitesWith, type Principal } from '../../auth/permissions.js';
import { auditRequest } from '../auth/auth-plugin.js';

/**
 * Reading the audit log: GET /api/audit (filtered pages, newest first), GET /api/audit/verify (the
 * chain check) and GET /api/audit/export (JSON lines, chain order). All need `audit:read`.
 *
 * Scope: a reader sees the rows of the sites where it holds `audit:read`; the server-wide rows
 * (site `*` or none: logins, accounts on several sites) only with a global grant. Rows about
 * personal data keep their action, time, actor, outcome and target (pseudonymous ids by contract:
 * `event:…`, `student:42`, never a name) for everyone, but their `details` are shown only to a
 * reader who may read the people of that site (`people:read`): regional IT sees that a site admin
 * exported student 42, not what the export held. Every read, check and export is itself audited.
 */

/**
 * Actions whose details never hold personal data of students or visitors (operators, the chain
 * itself, retention settings and receipts, the register, fleet administration). Anything else is
 * treated as personal: an action added later is withheld until it is listed here.
 */
const NON_PERSONAL_ACTIONS = [
  'auth',
  'user',
  'users',
  'audit',
  'access.denied',
  'retention',
  'register',
  'pilot',
  'mqtt',
  'agent',
  'agents',
  'site',
  'sites',
  'camera',
  'cameras',
  'zone',
  'zones',
  'model',
  'models',
] as const;

export function isNonPersonalAction(action: string): boolean {
  return NON_PERSONAL_ACTIONS.some((p) => action === p || action.startsWith(`${p}.`));
}

export interface AuditEntryView {
  seq: number;
  ts: string;
  actor: string;
  role: string | null;
  site: string | null;
  action: string;
  target: string | null;
  outcome: AuditRow['outcome'];
  ip: string | null;
  /** null when withheld (see `detailsWithheld`) */
  details: Record<string, unknown> | null;
  detailsWithheld: boolean;
  prevHash: string;
  hash: string;
}

/** What `p` sees of one row it is allowed to list. */
export function viewAuditRow(p: Principal, r: AuditRow): AuditEntryView {
  const shown =
    p.authDisabled ||
    isNonPersonalAction(r.action) ||
    (r.site !== null && r.site !== ALL_SITES && can(p, 'people:read', r.site));
  return { ...r, details: shown ? r.details : null, detailsWithheld: !shown };
}

interface AuditQueryString {
  site?: string;
  from?: string;
  to?: string;
  actor?: string;
  action?: string;
  limit?: number;
  cursor?: string;
}

const filterProperties = {
  site: { type: 'string', minLength: 1, maxLength: 64 },
  from: { type: 'string', minLength: 10, maxLength: 40 },
  to: { type: 'string', minLength: 10, maxLength: 40 },
  actor: { type: 'string', minLength: 1, maxLength: 128 },
  action: { type: 'string', minLength: 1, maxLength: 64 },
} as const;

const ACTION_PATTERN = /^[a-z0-9_]+(?:\.[a-z0-9_]+)*$/i;

type Parsed = { ok: true; query: Omit<AuditQuery, 'limit'> } | { ok: false; message: string };

function isoOf(text: string): string | null {
  // a date (YYYY-MM-DD, midnight UTC) or a full ISO time; anything else is refused, not guessed
  if (!/^\d{4}-\d{2}-\d{2}(?:T[\d:.]+(?:Z|[+-]\d{2}:\d{2}))?$/.test(text)) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

function parseFilters(p: Principal, q: AuditQueryString): Parsed {
  const scope = sitesWith(p, 'audit:read');
  const out: Omit<AuditQuery, 'limit'> = { sites: scope === ALL_SITES ? '*' : [...scope].sort() };
  if (q.site !== undefined) {
    if (q.site !== ALL_SITES && !SITE_ID_PATTERN.test(q.site)) return { ok: false, message: 'site: not a site id' };
    out.site = q.site;
  }
  for (const key of ['from', 'to'] as const) {
    const v = q[key];
    if (v === undefined) continue;
    const iso = isoOf(v);
    if (iso === null) return { ok: false, message: `${key}: an ISO date (2026-03-02) or time (2026-03-02T07:30:00Z)` };
    out[key] = iso;
  }
  if (q.actor !== undefined) out.actor = q.actor;
  if (q.action !== undefined) {
    if (!ACTION_PATTERN.test(q.action)) return { ok: false, message: 'action: dotted words, e.g. auth or auth.login' };
    out.action = q.action;
  }
  if (q.cursor !== undefined) {
    if (!/^[1-9]\d{0,15}$/.test(q.cursor)) return { ok: false, message: 'cursor: the nextCursor of a previous page' };
    out.beforeSeq = Number(q.cursor);
  }
  return { ok: true, query: out };
}

/** The filters as recorded in the audit row of the read itself. */
function filtersOf(q: Omit<AuditQuery, 'limit'>): Record<string, unknown> {
  const { sites: _sites, ...rest } = q;
  return rest;
}

function auditSiteOf(q: Omit<AuditQuery, 'limit'>): string | null {
  if (q.site !== undefined) return q.site;
  if (q.sites === '*') return ALL_SITES;
  return q.sites.length === 1 ? q.sites[0]! : null;
}

export const auditRoutes: FastifyPluginAsync = async (app) => {
  app.get<{ Querystring: AuditQueryString }>(
    '/api/audit',
    {
      config: { permission: 'audit:read' },
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ...filterProperties,
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
            cursor: { type: 'string', minLength: 1, maxLength: 20 },
          },
        },
      },
    },
    async (req, reply) => {
      const p = req.principal!;
      const parsed = parseFilters(p, req.query);
      if (!parsed.ok) return reply.code(400).send({ error: 'BAD_QUERY', message: parsed.message });
      const limit = req.query.limit ?? 100;
      const rows = app.deps.audit.query({ ...parsed.query, limit });
      auditRequest(app.deps.audit, req, {
        action: 'audit.read',
        outcome: 'ok',
        site: auditSiteOf(parsed.query),
        target: rows.length > 0 ? `audit:${rows.at(-1)!.seq}-${rows[0]!.seq}` : null,
        details: { filters: filtersOf(parsed.query), rows: rows.length },
      });
      return {
        entries: rows.map((r) => viewAuditRow(p, r)),
        nextCursor: rows.length === limit ? String(rows.at(-1)!.seq) : null,
        scope: parsed.query.sites,
      };
    },
  );

  app.get('/api/audit/verify', { config: { permission: 'audit:read' } }, async (req) => {
    const result = app.deps.audit.verify();
    auditRequest(app.deps.audit, req, {
      action: 'audit.verify',
      outcome: result.ok ? 'ok' : 'failed',
      site: ALL_SITES,
      target: result.ok ? `audit:${result.head.seq}` : `audit:${result.seq}`,
      details: result.ok ? { rows: result.rows } : { rows: result.rows, reason: result.reason },
    });
    return { ...result, checkedAt: new Date().toISOString() };
  });

  app.get<{ Querystring: AuditQueryString }>(
    '/api/audit/export',
    {
      config: { permission: 'audit:read' },
      schema: {
        querystring: { type: 'object', additionalProperties: false, properties: filterProperties },
      },
    },
    async (req, reply) => {
      const p = req.principal!;
      const parsed = parseFilters(p, req.query);
      if (!parsed.ok) return reply.code(400).send({ error: 'BAD_QUERY', message: parsed.message });
      const site = auditSiteOf(parsed.query);
      // recorded first, so the export holds its own trace (as `portail-admin audit export` does)
      auditRequest(app.deps.audit, req, {
        action: 'audit.export',
        outcome: 'ok',
        site,
        target: null,
        details: { filters: filtersOf(parsed.query), head: app.deps.audit.head().seq },
      });
      const rows = app.deps.audit.iterateQuery(parsed.query);
      const lines = (function* () {
        for (const r of rows) yield `${JSON.stringify(viewAuditRow(p, r))}\n`;
      })();
      const day = new Date().toISOString().slice(0, 10);
      const name = `portail-audit-${site === null || site === ALL_SITES ? 'all' : site}-${day}.jsonl`;
      return reply
        .header('content-type', 'application/x-ndjson; charset=utf-8')
        .header('content-disposition', `attachment; filename="${name}"`)
        .header('cache-control', 'no-store')
        .send(Readable.from(lines));
    },
  );
};
