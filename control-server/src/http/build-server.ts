import { existsSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Logger } from 'pino';
import type { HttpDeps } from './deps.js';
import { agentRoutes } from './routes/agent-routes.js';
import { eventRoutes } from './routes/event-routes.js';
import { healthRoutes } from './routes/health-routes.js';
import { metricsRoutes } from './routes/metrics-routes.js';
import { statsRoutes } from './routes/stats-routes.js';
import { createLiveHub, type LiveHub } from './ws/live-hub.js';
import { liveSocket } from './ws/live-socket.js';

export interface BuildServerOptions {
  deps: HttpDeps;
  logger: Logger;
  /** built console; when it has no index.html, / answers 503 with a hint */
  consoleDir: string;
  ws: { pingIntervalMs: number; maxBufferedBytes: number; helloEvents: number };
  allowedOrigins?: readonly string[];
}

export interface BuiltServer {
  app: FastifyInstance;
  hub: LiveHub;
}

const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  // 'self' covers same-origin ws: in CSP 3; React sets style attributes, hence unsafe-inline for styles only
  'content-security-policy':
    "default-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'",
};

/** Per-request lines at debug: a console polling the API must not fill the info log. */
class QuietRequestLogs extends LogController {
  override incomingRequest(request: Parameters<LogController['incomingRequest']>[0]): void {
    request.log.debug({ method: request.method, url: request.url }, 'incoming request');
  }
  override requestCompleted(
    error: Error | null | undefined,
    request: Parameters<LogController['requestCompleted']>[1],
    reply: Parameters<LogController['requestCompleted']>[2],
  ): void {
    if (error) super.requestCompleted(error, request, reply);
    else reply.log.debug({ statusCode: reply.statusCode, responseTimeMs: reply.elapsedTime }, 'request completed');
  }
}

/** Fastify app with every route registered, not listening: tests can `inject()` into it. */
export function buildServer(opts: BuildServerOptions): BuiltServer {
  // widened on purpose: routes see Fastify's logger type, not pino's richer one
  const httpLogger: FastifyBaseLogger = opts.logger;
  const app: FastifyInstance = Fastify({
    loggerInstance: httpLogger,
    logController: new QuietRequestLogs(),
    // the API is read-only for now: nothing legitimate posts large bodies
    bodyLimit: 64 * 1024,
  });
  const hub = createLiveHub({
    pingIntervalMs: opts.ws.pingIntervalMs,
    maxBufferedBytes: opts.ws.maxBufferedBytes,
    logger: opts.logger.child({ module: 'ws' }),
  });
  const unsubscribe = opts.deps.bus.subscribe((msg) => hub.broadcast(msg));

  void app.register(
    fp(
      async (root) => {
        root.decorate('deps', opts.deps);
      },
      { name: 'portail-deps' },
    ),
  );
  app.addHook('onSend', async (_req, reply, payload) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
    return payload;
  });
  app.addHook('onClose', async () => {
    unsubscribe();
    hub.close();
  });

  void app.register(fastifyWebsocket, { options: { maxPayload: 4 * 1024 } });
  void app.register(healthRoutes);
  void app.register(agentRoutes);
  void app.register(eventRoutes);
  void app.register(statsRoutes, { wsStats: () => hub.stats() });
  void app.register(metricsRoutes, { wsStats: () => hub.stats() });
  void app.register(liveSocket, {
    hub,
    helloEvents: opts.ws.helloEvents,
    allowedOrigins: opts.allowedOrigins ?? [],
  });

  if (existsSync(path.join(opts.consoleDir, 'index.html'))) {
    void app.register(fastifyStatic, { root: opts.consoleDir, prefix: '/', index: 'index.html', wildcard: true });
  } else {
    opts.logger.warn({ consoleDir: opts.consoleDir }, 'console not built: / will answer 503');
    app.get('/', async (_req, reply) =>
      reply.code(503).type('text/plain; charset=utf-8').send('console not built: run `npm run build -w console`\n'),
    );
  }
  return { app, hub };
}
