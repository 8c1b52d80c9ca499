import type { FastifyPluginAsync } from 'fastify';

/** GET /healthz: 200 when MQTT is subscribed and the database answers, else 503 with the same body. */
export const healthRoutes: FastifyPluginAsync = async (app) => {
  app.get('/healthz', async (_req, reply) => {
    const mqtt = app.deps.mqttStatus();
    const db = { ok: app.deps.dbOk() };
    const ok = mqtt.connected && mqtt.subscribed && db.ok;
    return reply.code(ok ? 200 : 503).send({ ok, mqtt, db });
  });
};
