import type { FastifyPluginAsync } from 'fastify';
import type { LiveHubStats } from '../ws/live-hub.js';

/** GET /api/stats: ingest counters since start, MQTT and WebSocket state. */
export const statsRoutes: FastifyPluginAsync<{ wsStats: () => LiveHubStats }> = async (app, opts) => {
  app.get('/api/stats', async () => ({
    ingest: app.deps.ingestStats(),
    mqtt: app.deps.mqttStatus(),
    ws: opts.wsStats(),
  }));
};
