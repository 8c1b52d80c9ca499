import type { FastifyPluginAsync } from 'fastify';

/** GET /api/agents: every agent known from its status or health, sorted by site then agent. */
export const agentRoutes: FastifyPluginAsync = async (app) => {
  app.get('/api/agents', async () => ({ agents: app.deps.agents.list() }));
};
