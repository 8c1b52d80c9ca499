import { existsSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Logger } from 'pino';
import {
  authPlugin,
  trackRoutePermissions,
  type AuthMode,
  type AuthPluginOptions,
  type RouteInfo,
} from './auth/auth-plugin.js';
import type { HttpDeps } from './deps.js';
import { authRoutes } from './routes/auth-routes.js';
import { auditRoutes } from './routes/audit-routes.js';
import { cameraRoutes } from './routes/camera-routes.js';
import { fleetRoutes } from './routes/fleet-routes.js';
import { agentRoutes } from './routes/agent-routes.js';
import { agentConfigRoutes } from './routes/agent-config-routes.js';
import { siteRoutes } from './routes/site-routes.js';
import { eventRoutes } from './routes/event-routes.js';
import { healthRoutes } from './routes/health-routes.js';
import { metricsRoutes } from './routes/metrics-routes.js';
import { peopleRoutes } from './routes/people-routes.js';
import { privacyRoutes } from './routes/privacy-routes.js';
import { gateRoutes } from './routes/gate-routes.js';
import { alertRoutes } from './routes/alert-routes.js';
import { siteStatsRoutes } from './routes/site-stats-routes.js';
import { statsRoutes } from './routes/stats-routes.js';
import { userRoutes } from './routes/user-routes.js';
import { createLiveHub, type LiveHub } from './ws/live-hub.js';
import { liveSocket } from './ws/live-socket.js';

export interface BuildServerOptions {
  deps: HttpDeps;
  logger: Logger;
  /** built console; when it has no index.html, / answers 503 with a hint */
  consoleDir: string;
  ws: { pingIntervalMs: number; maxBufferedBytes: number; helloEvents: number };
  allowedOrigins?: readonly string[];
  auth: {
    mode: AuthMode;
    idleTimeoutMs: number;
    absoluteTimeoutMs: number;
    cookieSecure: 'auto' | 'always' | 'never';
    /** bearer token accepted on /metrics, null for sessions only */
    metricsToken: string | null;
  };
}

export interface BuiltServer {
  app: FastifyInstance;
  hub: LiveHub;
  /** every registered route with its declared permission; filled when the app is ready */
  routes: readonly RouteInfo[];
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
    // logins and user records are small: nothing legitimate posts large bodies
    bodyLimit: 64 * 1024,
  });
  const required = opts.auth.mode === 'required';
  if (!required) {
    opts.logger.warn(
      'AUTH DISABLED (auth.mode: disabled): every route and the live feed are open to anyone who can reach this port; use only for development',
    );
  }
  const hub = createLiveHub({
    pingIntervalMs: opts.ws.pingIntervalMs,
    maxBufferedBytes: opts.ws.maxBufferedBytes,
    logger: opts.logger.child({ module: 'ws' }),
    ...(required ? { revalidate: (key: string) => opts.deps.auth.revalidate(key) } : {}),
  });
  // first of all: every route from here on must declare who may call it
  const routes: RouteInfo[] = trackRoutePermissions(app);
  const authOptions: AuthPluginOptions = {
    mode: opts.auth.mode,
    service: opts.deps.auth,
    audit: opts.deps.audit,
    cookieSecure: opts.auth.cookieSecure,
    cookieMaxAgeS: Math.floor(opts.auth.absoluteTimeoutMs / 1000),
    allowedOrigins: opts.allowedOrigins ?? [],
    metricsToken: opts.auth.metricsToken,
  };
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

  // websocket first: its onRequest hook marks upgrade requests, so that a 401/403 answered by the
  // auth hooks still destroys the upgraded socket (otherwise it stays open and close() waits forever)
  void app.register(fastifyWebsocket, { options: { maxPayload: 4 * 1024 } });
  // before any route: its request hooks apply to all of them
  void app.register(authPlugin, authOptions);
  void app.register(healthRoutes);
  void app.register(authRoutes, {
    plugin: authOptions,
    idleTimeoutMs: opts.auth.idleTimeoutMs,
    onLogout: (key) => hub.closeSession(key),
  });
  void app.register(userRoutes);
  void app.register(auditRoutes);
  void app.register(agentRoutes);
  void app.register(eventRoutes);
  void app.register(statsRoutes, { wsStats: () => hub.stats() });
  void app.register(metricsRoutes, { wsStats: () => hub.stats() });
  void app.register(privacyRoutes);
  void app.register(peopleRoutes);
  void app.register(gateRoutes);
  void app.register(agentConfigRoutes);
  void app.register(siteRoutes);
  void app.register(alertRoutes);
  void app.register(siteStatsRoutes);
  void app.register(cameraRoutes, { allowedOrigins: opts.allowedOrigins ?? [] });
  void app.register(fleetRoutes);
  void app.register(liveSocket, {
    hub,
    helloEvents: opts.ws.helloEvents,
    allowedOrigins: opts.allowedOrigins ?? [],
  });

  // the console's files hold no data (the page logs in through the API): public
  void app.register(async (consoleScope) => {
    consoleScope.addHook('onRoute', (route) => {
      // mutated in place: the auth plugin's onRoute (run before this one) keeps a reference to it
      route.config ??= {};
      route.config.permission = 'public';
    });
    if (existsSync(path.join(opts.consoleDir, 'index.html'))) {
      await consoleScope.register(fastifyStatic, {
        root: opts.consoleDir,
        prefix: '/',
        index: 'index.html',
        wildcard: true,
      });
    } else {
      opts.logger.warn({ consoleDir: opts.consoleDir }, 'console not built: / will answer 503');
      consoleScope.get('/', async (_req, reply) =>
        reply.code(503).type('text/plain; charset=utf-8').send('console not built: run `npm run build -w console`\n'),
      );
    }
  });
  return { app, hub, routes };
}
