import type { Database } from 'better-sqlite3';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { buildServer } from './http/build-server.js';
import type { MqttStatus } from './http/deps.js';
import type { LiveHubStats } from './http/ws/live-hub.js';
import { createIngest } from './ingest/ingest-service.js';
import type { IngestStats } from './ingest/ingest-stats.js';
import { createLogger } from './infra/logger.js';
import { hostPort, localHostFor } from './infra/net-url.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './mqtt/embedded-broker.js';
import {
  redactUrl,
  resolveExternalCredentials,
  startMqttSubscriber,
  type MqttSubscriber,
} from './mqtt/mqtt-subscriber.js';
import { createAuditLog } from './audit/audit-log.js';
import { createSyncPublisher, type SyncPublisher } from './people/sync-publisher.js';
import { openSigningKeyStore } from './people/signing-key-store.js';
import { createAgentConfigObserver } from './privacy/agent-config-observer.js';
import { createPrivacyService } from './privacy/privacy-service.js';
import { createPurgeScheduler, DEFAULT_PURGE_INTERVAL_MS } from './privacy/purge-scheduler.js';
import { parseBootstrapAdmin, readSecret } from './auth/bootstrap.js';
import { ControlServerError } from './infra/errors.js';
import { createAgentRepository } from './repositories/agent-repository.js';
import { createEventRepository } from './repositories/event-repository.js';
import { createLoginThrottleRepository } from './repositories/login-throttle-repository.js';
import { createSessionRepository } from './repositories/session-repository.js';
import { createUserRepository } from './repositories/user-repository.js';
import { createAuthService } from './services/auth-service.js';
import { createLiveBus } from './services/live-bus.js';
import { openDatabase } from './store/database.js';

export type { Config, ConfigInput } from './config/schema.js';
export { configSchema, configJsonSchema } from './config/schema.js';
export { loadConfig, makeConfig } from './config/load.js';
export type { IngestStats, RejectReason } from './ingest/ingest-stats.js';
export type { LiveMessage } from './services/live-bus.js';
export type { HelloMessage } from './http/ws/live-socket.js';
export type { AgentRecord, AgentState } from './repositories/agent-repository.js';
export type { StoredEvent, EventKind } from './repositories/event-repository.js';
export { buildServer } from './http/build-server.js';
export type { Principal, Role, RoleGrant, Permission } from './auth/permissions.js';

export interface StartOptions {
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
  /** how long to wait for the first MQTT subscription before serving anyway */
  mqttStartupWaitMs?: number;
  /** how often the site sync looks for people changes made by another process (portail-admin); default 1 s */
  syncPollMs?: number;
}

export interface ServerStats {
  ingest: IngestStats;
  mqtt: MqttStatus;
  ws: LiveHubStats;
}

export interface ControlServer {
  /** e.g. http://127.0.0.1:8080 (the console is at /, the WebSocket at /ws) */
  httpUrl: string;
  /** where agents publish: the embedded broker, or the external URL without credentials */
  mqttUrl: string;
  httpPort: number;
  /** bound port of the embedded broker; null in external mode */
  mqttPort: number | null;
  stats(): ServerStats;
  /** stops the MQTT client, the broker, HTTP/WebSocket, then the database; safe to call twice */
  close(): Promise<void>;
}

/** Start everything; on a failure part-way, what was started is stopped again before rethrowing. */
export async function startControlServer(config: Config, opts: StartOptions = {}): Promise<ControlServer> {
  const logger = opts.logger ?? createLogger(config.log.level);
  const cleanups: Array<() => Promise<void> | void> = [];
  const runCleanups = async (): Promise<void> => {
    while (cleanups.length) {
      const fn = cleanups.pop()!;
      try {
        await fn();
      } catch (err) {
        // keep closing the rest: a half-closed server is worse than a logged error
        logger.error({ err }, 'error while stopping');
      }
    }
  };

  try {
    const db: Database = openDatabase({ dataDir: config.dataDir });
    cleanups.push(() => {
      db.close();
    });
    logger.info({ dataDir: config.dataDir }, 'database open');
    const agents = createAgentRepository(db);
    const events = createEventRepository(db);
    const bus = createLiveBus((err) => logger.error({ err }, 'live listener failed'));
    // the site sync publisher needs the MQTT client, made later; the ingest and the connect hook reach it here
    const late: { sync?: SyncPublisher } = {};
    const ingest = createIngest({
      agents,
      events,
      bus,
      logger: logger.child({ module: 'ingest' }),
      onSyncState: (state) => late.sync?.onAgentState(state),
    });
    const dbProbe = db.prepare('SELECT 1 AS one');
    const env = opts.env ?? process.env;
    const audit = createAuditLog(db);
    const users = createUserRepository(db);
    const auth = createAuthService({
      users,
      sessions: createSessionRepository(db),
      throttle: createLoginThrottleRepository(db),
      audit,
      policy: config.auth,
      logger: logger.child({ module: 'auth' }),
    });
    // the head is the anchor of the audit chain: a copy outside the database (this log) reveals a rewrite
    logger.info({ auditHead: audit.head() }, 'audit log head');
    const bootstrap = parseBootstrapAdmin(env.PORTAIL_BOOTSTRAP_ADMIN);
    if (bootstrap) {
      const created = await auth.bootstrapAdmin(bootstrap.username, bootstrap.password);
      if (!created.ok) {
        throw new ControlServerError('SERVER_ERR_BOOTSTRAP_ADMIN', `PORTAIL_BOOTSTRAP_ADMIN: ${created.error.message}`);
      }
    }
    if (config.auth.mode === 'required' && users.count() === 0) {
      logger.warn(
        'no operator account yet: create one with `portail-admin user add --username … --role regional_it --site "*"` or PORTAIL_BOOTSTRAP_ADMIN',
      );
    }
    const metricsToken = readSecret(
      { file: config.auth.metricsTokenFile, env: config.auth.metricsTokenEnv },
      env,
      'auth.metricsToken',
    );
    // retention, rights of the person, register, pilot, equal service (docs/privacy.md)
    const agentConfigs = createAgentConfigObserver();
    const privacy = createPrivacyService({
      db,
      audit,
      keys: openSigningKeyStore(config.dataDir),
      agents,
      agentConfigs,
      authMode: config.auth.mode,
      logger: logger.child({ module: 'privacy' }),
    });

    let broker: EmbeddedBroker | null = null;
    let subscriberUrl: string;
    let mqttUrl: string;
    let creds: ReturnType<typeof resolveExternalCredentials> = {};
    if (config.mqtt.mode === 'embedded') {
      broker = await startEmbeddedBroker({
        host: config.mqtt.host,
        port: config.mqtt.port,
        logger: logger.child({ module: 'broker' }),
      });
      const b = broker;
      cleanups.push(() => b.close());
      subscriberUrl = `mqtt://${hostPort(localHostFor(config.mqtt.host), broker.port)}`;
      mqttUrl = subscriberUrl;
    } else {
      creds = resolveExternalCredentials(config.mqtt, env);
      subscriberUrl = config.mqtt.url;
      mqttUrl = redactUrl(config.mqtt.url);
    }

    const subscriber: MqttSubscriber = await startMqttSubscriber({
      url: subscriberUrl,
      clientId: config.mqtt.clientId,
      ...creds,
      logger: logger.child({ module: 'mqtt' }),
      onMessage: (topic, payload) => {
        ingest.handle(topic, payload);
        // the retained configuration of each agent: cameras' location types for the register
        agentConfigs.observe(topic, payload);
      },
      // a broker back without our session may have lost the retained site sync too
      onConnect: (sessionPresent) => {
        if (!sessionPresent) late.sync?.republishAll();
      },
      ...(opts.mqttStartupWaitMs !== undefined ? { startupWaitMs: opts.mqttStartupWaitMs } : {}),
    });
    cleanups.push(() => subscriber.close());

    // templates, revocations and keys for the agents of each site, retained on portail/v1/{site}/sync/...
    const publisher = createSyncPublisher({
      db,
      dataDir: config.dataDir,
      publish: (topic, payload, o) => subscriber.publish(topic, payload, o),
      logger: logger.child({ module: 'sync' }),
      ...(opts.syncPollMs !== undefined ? { pollMs: opts.syncPollMs } : {}),
    });
    late.sync = publisher;
    publisher.start();
    cleanups.push(() => publisher.stop());

    const mqttStatus = (): MqttStatus => ({
      mode: config.mqtt.mode,
      connected: subscriber.connected,
      subscribed: subscriber.subscribed,
    });
    const { app, hub } = buildServer({
      deps: {
        agents,
        events,
        bus,
        ingestStats: () => ingest.stats(),
        mqttStatus,
        dbOk: () => {
          try {
            return dbProbe.get() !== undefined;
          } catch {
            // a failing probe is exactly the answer /healthz needs
            return false;
          }
        },
        auth,
        users,
        audit,
        privacy,
      },
      auth: {
        mode: config.auth.mode,
        idleTimeoutMs: config.auth.idleTimeoutMs,
        absoluteTimeoutMs: config.auth.absoluteTimeoutMs,
        cookieSecure: config.auth.cookieSecure,
        metricsToken,
      },
      logger: logger.child({ module: 'http' }),
      consoleDir: config.consoleDir,
      ws: config.ws,
      allowedOrigins: config.http.allowedOrigins,
    });
    cleanups.push(() => app.close());
    await app.listen({ host: config.http.host, port: config.http.port });
    // the retention purge: once now (not awaited: serving does not wait for it), then every hour
    const purgeScheduler = createPurgeScheduler({
      run: (trigger) => privacy.runPurge({ trigger }),
      intervalMs: DEFAULT_PURGE_INTERVAL_MS,
      logger: logger.child({ module: 'retention' }),
    });
    void purgeScheduler.start();
    cleanups.push(() => purgeScheduler.stop());
    const address = app.server.address();
    const httpPort = typeof address === 'object' && address ? address.port : config.http.port;
    const httpUrl = `http://${hostPort(localHostFor(config.http.host), httpPort)}`;
    logger.info({ httpUrl, mqttUrl }, 'control server ready');

    let closing: Promise<void> | null = null;
    return {
      httpUrl,
      mqttUrl,
      httpPort,
      mqttPort: broker?.port ?? null,
      stats: () => ({ ingest: ingest.stats(), mqtt: mqttStatus(), ws: hub.stats() }),
      close() {
        // cleanups run in reverse: HTTP, MQTT client, broker, database
        closing ??= runCleanups().then(() => logger.info('control server stopped'));
        return closing;
      },
    };
  } catch (err) {
    await runCleanups();
    throw err;
  }
}
