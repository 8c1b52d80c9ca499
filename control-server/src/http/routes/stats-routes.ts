import type { FastifyPluginAsync } from 'fastify';
import type { LiveHubStats } from '../ws/live-hub.js';

/** GET /api/stats: server-wide ingest counters since start, MQTT, database and WebSocket state. */
export const statsRoutes: FastifyPluginAsync<{ wsStats: () => LiveHubStats }> = async (app, opts) => {
  app.get('/api/stats', { config: { permission: 'stats:read' } }, async () => ({
    ingest: app.deps.ingestStats(),
    mqtt: app.deps.mqttStatus(),
    db: { ok: app.deps.dbOk() },
    ws: opts.wsStats(),
  }));
};
