import type { FastifyPluginAsync } from 'fastify';

/**
 * GET /healthz: public, so it tells only up or down (200 `{ ok: true }` / 503 `{ ok: false }`);
 * the MQTT and database detail is in /api/stats, behind a login.
 */
export const healthRoutes: FastifyPluginAsync = async (app) => {
  app.get('/healthz', { config: { permission: 'public' } }, async (_req, reply) => {
    const mqtt = app.deps.mqttStatus();
    const ok = mqtt.connected && mqtt.subscribed && app.deps.dbOk();
    return reply.code(ok ? 200 : 503).send({ ok });
  });
};
