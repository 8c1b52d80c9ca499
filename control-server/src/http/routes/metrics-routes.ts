import type { FastifyPluginAsync } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { LiveHubStats } from '../ws/live-hub.js';

/**
 * GET /metrics: Prometheus text. The ingest and WebSocket counters already exist in memory; they
 * are copied into the registry at scrape time rather than counted twice.
 */
export const metricsRoutes: FastifyPluginAsync<{ wsStats: () => LiveHubStats }> = async (app, opts) => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'portail_server_' });
  const counter = (name: string, help: string, value: () => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(value());
      },
    });
  const ingest = () => app.deps.ingestStats();
  counter('portail_server_messages_received_total', 'MQTT messages handed to ingest', () => ingest().received);
  counter('portail_server_events_stored_total', 'events stored for the first time', () => ingest().stored);
  counter(
    'portail_server_events_duplicate_total',
    'events whose id was already stored (replays)',
    () => ingest().duplicates,
  );
  counter(
    'portail_server_store_errors_total',
    'database failures while storing a valid message',
    () => ingest().storeErrors,
  );
  new Counter({
    name: 'portail_server_messages_rejected_total',
    help: 'messages rejected by ingest, by reason',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(ingest().rejected)) this.inc({ reason }, n);
    },
  });
  new Gauge({
    name: 'portail_server_mqtt_subscribed',
    help: '1 when the ingest subscription is active',
    registers: [registry],
    collect() {
      this.set(app.deps.mqttStatus().subscribed ? 1 : 0);
    },
  });
  new Gauge({
    name: 'portail_server_agents',
    help: 'known agents by state',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.reset();
      const counts = { online: 0, offline: 0, unknown: 0 };
      for (const a of app.deps.agents.list()) counts[a.state]++;
      for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'portail_server_ws_clients',
    help: 'connected console WebSocket clients',
    registers: [registry],
    collect() {
      this.set(opts.wsStats().clients);
    },
  });
  // a logged-in regional IT operator, or a scraper with the bearer token of auth.metricsTokenFile/Env
  app.get('/metrics', { config: { permission: 'metrics:read' } }, async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
};
