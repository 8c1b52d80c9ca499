import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { SITE_ID_PATTERN } from '../../auth/permissions.js';
import type { SiteDirectory } from '../../agent-config/site-directory.js';
import { auditActor, auditRequest } from '../auth/auth-plugin.js';

/**
 * Sites: the list an account sees (its sites, every known one for a global grant) with agent
 * counts, and people counts only where it holds `people:read`; declaring and changing a site
 * (name, time zone, settings) needs `sites:write` and is audited.
 */

const siteParam = {
  type: 'object',
  required: ['site'],
  additionalProperties: false,
  properties: { site: { type: 'string', pattern: SITE_ID_PATTERN.source } },
} as const;

const siteBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', maxLength: 200 },
    timeZone: { type: 'string', maxLength: 64 },
    settings: { type: 'object' },
  },
} as const;

function directory(app: { deps: { sites?: SiteDirectory } }, reply: FastifyReply): SiteDirectory | null {
  if (app.deps.sites) return app.deps.sites;
  void reply.code(503).send({ error: 'SITES_UNAVAILABLE', message: 'the site directory is not configured on this server' });
  return null;
}

export const siteRoutes: FastifyPluginAsync = async (app) => {
  app.get('/api/sites', { config: { permission: 'agents:read' } }, async (req, reply) => {
    const dir = directory(app, reply);
    if (!dir) return reply;
    return { sites: dir.listFor(req.principal!) };
  });

  const write = (mode: 'create' | 'upsert') => async (req: FastifyRequest<{ Params: { site: string }; Body: Record<string, unknown> }>, reply: FastifyReply) => {
    const dir = directory(app, reply);
    if (!dir) return reply;
    const site = req.params.site;
    const r = dir.write(site, req.body, auditActor(req.principal), mode);
    if (!r.ok) return reply.code(r.error.code === 'SITE_EXISTS' ? 409 : 400).send(r.error);
    auditRequest(app.deps.audit, req, {
      action: mode === 'create' ? 'site.create' : 'site.update',
      outcome: 'ok',
      site,
      target: `site:${site}`,
      details: {
        before: r.value.before ? { name: r.value.before.name, timeZone: r.value.before.timeZone } : null,
        after: { name: r.value.site.name, timeZone: r.value.site.timeZone },
      },
    });
    return reply.code(mode === 'create' ? 201 : 200).send({ site: r.value.site });
  };

  app.post<{ Params: { site: string }; Body: Record<string, unknown> }>(
    '/api/sites/:site',
    { config: { permission: 'sites:write' }, schema: { params: siteParam, body: siteBody } },
    write('create'),
  );
  app.put<{ Params: { site: string }; Body: Record<string, unknown> }>(
    '/api/sites/:site',
    { config: { permission: 'sites:write' }, schema: { params: siteParam, body: siteBody } },
    write('upsert'),
  );
};
