import type { FastifyPluginAsync } from 'fastify';
import { siteAllowed, sitesWith } from '../../auth/permissions.js';

/**
 * GET /api/agents?site=: agents known from their status or health, sorted by site then agent,
 * only at the sites where the caller holds `agents:read`.
 */
export const agentRoutes: FastifyPluginAsync = async (app) => {
  app.get<{ Querystring: { site?: string } }>(
    '/api/agents',
    {
      config: { permission: 'agents:read' },
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { site: { type: 'string', minLength: 1, maxLength: 64 } },
        },
      },
    },
    async (req) => {
      const sites = sitesWith(req.principal!, 'agents:read');
      const site = req.query.site;
      return {
        agents: app.deps.agents
          .list()
          .filter((a) => siteAllowed(sites, a.site) && (site === undefined || a.site === site)),
      };
    },
  );
};
