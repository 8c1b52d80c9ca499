import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { SITE_ID_PATTERN } from '../../auth/permissions.js';
import type { PrivacyService } from '../../privacy/privacy-service.js';
import { SITE_RETENTION_KEYS, SITE_RETENTION_LIMITS } from '../../privacy/retention-policy.js';
import { auditActor, auditRequest } from '../auth/auth-plugin.js';

/**
 * Privacy routes of a site (privacy/): retention policy and purge, register, pilot, equal-service
 * figures (`register:read` / `retention:write`, no personal data), and a student's export and
 * erasure (`people:export` / `people:erase`, site admins). Every write and every export is
 * audited; a denied request is audited by the auth plugin.
 */

const siteParam = {
  type: 'object',
  required: ['site'],
  additionalProperties: false,
  properties: { site: { type: 'string', pattern: SITE_ID_PATTERN.source } },
} as const;

const studentParams = {
  type: 'object',
  required: ['site', 'studentId'],
  additionalProperties: false,
  properties: {
    site: { type: 'string', pattern: SITE_ID_PATTERN.source },
    studentId: { type: 'integer', minimum: 1 },
  },
} as const;

/** ISO 8601 date or UTC date-time; checked again by Date.parse. */
const isoTime = { type: 'string', minLength: 10, maxLength: 30 } as const;

const retentionBody = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: Object.fromEntries(
    SITE_RETENTION_KEYS.map((k) => [
      k,
      { type: 'integer', minimum: SITE_RETENTION_LIMITS[k].minDays, maximum: SITE_RETENTION_LIMITS[k].maxDays },
    ]),
  ),
} as const;

const DAY_MS = 86_400_000;
const MAX_EQUAL_SERVICE_DAYS = 400;
const DEFAULT_EQUAL_SERVICE_DAYS = 30;

type SiteReq = FastifyRequest<{ Params: { site: string } }>;

function service(app: { deps: { privacy?: PrivacyService } }, reply: FastifyReply): PrivacyService | null {
  if (app.deps.privacy) return app.deps.privacy;
  void reply
    .code(503)
    .send({ error: 'PRIVACY_UNAVAILABLE', message: 'the privacy service is not configured on this server' });
  return null;
}

/** A `from`/`to` query value as an ISO time (a bare date is the start of that day, UTC), or null. */
function parseTime(v: string): string | null {
  const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00.000Z` : v);
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

export const privacyRoutes: FastifyPluginAsync = async (app) => {
  app.get<{ Params: { site: string } }>(
    '/api/sites/:site/privacy/retention',
    { config: { permission: 'register:read' }, schema: { params: siteParam } },
    async (req, reply) => {
      const p = service(app, reply);
      if (!p) return reply;
      return { retention: p.retention(req.params.site) };
    },
  );

  app.put<{ Params: { site: string }; Body: Record<string, number> }>(
    '/api/sites/:site/privacy/retention',
    { config: { permission: 'retention:write' }, schema: { params: siteParam, body: retentionBody } },
    async (req, reply) => {
      const p = service(app, reply);
      if (!p) return reply;
      const site = req.params.site;
      const r = p.setRetention(site, req.body, auditActor(req.principal));
      if (!r.ok) return reply.code(400).send({ error: r.error.code, message: r.error.message });
      auditRequest(app.deps.audit, req, {
        action: 'retention.set',
        outcome: 'ok',
        site,
        target: `site:${site}`,
        details: { before: r.value.before, after: r.value.after },
      });
      return { retention: p.retention(site) };
    },
  );

  app.post<{ Params: { site: string } }>(
    '/api/sites/:site/privacy/purge',
    { config: { permission: 'retention:write' }, schema: { params: siteParam } },
    async (req: SiteReq, reply) => {
      const p = service(app, reply);
      if (!p) return reply;
      const site = req.params.site;
      auditRequest(app.deps.audit, req, {
        action: 'retention.purge.request',
        outcome: 'ok',
        site,
        target: `site:${site}`,
      });
      const report = await p.runPurge({ trigger: 'manual', actor: auditActor(req.principal), sites: [site] });
      // only this site's figures: the people purges behind it may have touched other sites too
      return { at: report.at, site: report.sites.find((s) => s.site === site) ?? null };
    },
  );

  app.get<{ Params: { site: string }; Querystring: { format?: 'md' | 'json' } }>(
    '/api/sites/:site/privacy/register',
    {
      config: { permission: 'register:read' },
      schema: {
        params: siteParam,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { format: { type: 'string', enum: ['md', 'json'] } },
        },
      },
    },
    async (req, reply) => {
      const p = service(app, reply);
      if (!p) return reply;
      const site = req.params.site;
      const { inputs, markdown } = p.register(site);
      auditRequest(app.deps.audit, req, {
        action: 'register.export',
        outcome: 'ok',
        site,
        target: `site:${site}`,
        details: { format: req.query.format ?? 'md' },
      });
      if (req.query.format === 'json') return { register: inputs };
      return reply
        .type('text/markdown; charset=utf-8')
        .header('content-disposition', `attachment; filename="registre-${site}.md"`)
        .send(markdown);
    },
  );

  app.put<{ Params: { site: string }; Body: Record<string, unknown> }>(
    '/api/sites/:site/privacy/register-info',
    {
      config: { permission: 'retention:write' },
      schema: { params: siteParam, body: { type: 'object', minProperties: 1, maxProperties: 8 } },
    },
    async (req, reply) => {
      const p = service(app, reply);
      if (!p) return reply;
      const site = req.params.site;
      const r = p.setRegisterInfo(site, req.body, auditActor(req.principal));
      if (!r.ok) return reply.code(400).send({ error: r.error.code, message: r.error.message });
      auditRequest(app.deps.audit, req, {
        action: 'register.info.set',
        outcome: 'ok',
        site,
        target: `site:${site}`,
        details: { fields: Object.keys(req.body).sort() },
      });
      return { registerInfo: r.value };
    },
  );

  app.get<{ Params: { site: string } }>(
    '/api/sites/:site/privacy/pilot',
    { config: { permission: 'register:read' }, schema: { params: siteParam } },
    async (req, reply) => {
      const p = service(app, reply);
      if (!p) return reply;
      return p.pilot(req.params.site);
    },
  );

  app.put<{ Params: { site: string }; Body: Record<string, unknown> }>(
    '/api/sites/:site/privacy/pilot',
    {
      config: { permission: 'retention:write' },
      schema: { params: siteParam, body: { type: 'object', required: ['endsOn'], maxProperties: 3 } },
    },
    async (req, reply) => {
      const p = service(app, reply);
      if (!p) return reply;
      const site = req.params.site;
      const r = p.declarePilot(site, req.body, auditActor(req.principal));
      if (!r.ok) return reply.code(400).send({ error: r.error.code, message: r.error.message });
      const { pilot, created, before } = r.value;
      auditRequest(app.deps.audit, req, {
        action: created ? 'pilot.declare' : 'pilot.update',
        outcome: 'ok',
        site,
        target: `pilot:${pilot.id}`,
        details: {
          startsOn: pilot.startsOn,
          endsOn: pilot.endsOn,
          criteria: pilot.criteria,
          ...(before ? { before: { startsOn: before.startsOn, endsOn: before.endsOn } } : {}),
        },
      });
      return reply.code(created ? 201 : 200).send(p.pilot(site));
    },
  );

  app.get<{ Params: { site: string }; Querystring: { from?: string; to?: string } }>(
    '/api/sites/:site/equal-service',
    {
      config: { permission: 'register:read' },
      schema: {
        params: siteParam,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { from: isoTime, to: isoTime },
        },
      },
    },
    async (req, reply) => {
      const p = service(app, reply);
      if (!p) return reply;
      const to = req.query.to === undefined ? p.now().toISOString() : parseTime(req.query.to);
      const from =
        req.query.from === undefined
          ? to && new Date(Date.parse(to) - DEFAULT_EQUAL_SERVICE_DAYS * DAY_MS).toISOString()
          : parseTime(req.query.from);
      if (!from || !to)
        return reply.code(400).send({ error: 'INVALID_PERIOD', message: 'from and to: ISO 8601 dates or times' });
      if (from >= to) return reply.code(400).send({ error: 'INVALID_PERIOD', message: 'from must be before to' });
      if (Date.parse(to) - Date.parse(from) > MAX_EQUAL_SERVICE_DAYS * DAY_MS) {
        return reply
          .code(400)
          .send({ error: 'INVALID_PERIOD', message: `at most ${MAX_EQUAL_SERVICE_DAYS} days per request` });
      }
      return p.equalService(req.params.site, from, to);
    },
  );

  app.get<{ Params: { site: string; studentId: number }; Querystring: { format?: 'json' | 'md' } }>(
    '/api/sites/:site/privacy/students/:studentId/export',
    {
      config: { permission: 'people:export' },
      schema: {
        params: studentParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { format: { type: 'string', enum: ['json', 'md'] } },
        },
      },
    },
    async (req, reply) => {
      const p = service(app, reply);
      if (!p) return reply;
      const { site, studentId } = req.params;
      const r = p.exportStudent(site, studentId);
      auditRequest(app.deps.audit, req, {
        action: 'people.export',
        outcome: r.ok ? 'ok' : 'failed',
        site,
        target: `student:${studentId}`,
        details: r.ok
          ? {
              format: req.query.format ?? 'json',
              credentials: r.value.export.credentials.length,
              accessEvents: r.value.export.accessEvents.length,
            }
          : { code: r.error.code },
      });
      if (!r.ok) return reply.code(404).send({ error: r.error.code, message: r.error.message });
      reply.header('cache-control', 'no-store');
      if (req.query.format === 'md') {
        return reply
          .type('text/markdown; charset=utf-8')
          .header('content-disposition', `attachment; filename="donnees-eleve-${studentId}.md"`)
          .send(r.value.markdown);
      }
      return { export: r.value.export, summary: r.value.markdown };
    },
  );

  // the body is optional (a bare POST erases with the events), so it is checked here, not by a schema
  app.post<{ Params: { site: string; studentId: number }; Body: unknown }>(
    '/api/sites/:site/privacy/students/:studentId/erase',
    { config: { permission: 'people:erase' }, schema: { params: studentParams } },
    async (req, reply) => {
      const p = service(app, reply);
      if (!p) return reply;
      const { site, studentId } = req.params;
      const body = req.body ?? {};
      const bodyOk =
        typeof body === 'object' &&
        body !== null &&
        Object.entries(body).every(([k, v]) => k === 'keepEvents' && typeof v === 'boolean');
      if (!bodyOk) return reply.code(400).send({ error: 'INVALID_BODY', message: 'body: { keepEvents?: boolean }' });
      const keepEvents = (body as { keepEvents?: boolean }).keepEvents === true;
      const r = p.eraseStudent(site, studentId, { actor: auditActor(req.principal), keepEvents });
      auditRequest(app.deps.audit, req, {
        action: 'people.erase',
        outcome: r.ok ? 'ok' : 'failed',
        site,
        target: `student:${studentId}`,
        details: r.ok
          ? {
              reason: 'erasure-request',
              credentialsRevoked: r.value.withdrawal.credentialsRevoked,
              templatesDeleted: r.value.withdrawal.templatesDeleted,
              idPhotoDeleted: r.value.withdrawal.idPhotoDeleted,
              accessEventsDeleted: r.value.accessEventsDeleted,
              keepEvents,
              receiptId: r.value.withdrawal.receipt?.id ?? null,
            }
          : { code: r.error.code },
      });
      if (!r.ok) return reply.code(404).send({ error: r.error.code, message: r.error.message });
      const w = r.value.withdrawal;
      return {
        studentId,
        credentialsRevoked: w.credentialsRevoked,
        templatesDeleted: w.templatesDeleted,
        idPhotoDeleted: w.idPhotoDeleted,
        accessEventsDeleted: r.value.accessEventsDeleted,
        receipt: w.receipt,
      };
    },
  );
};
