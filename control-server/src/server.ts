import { agentTopicsFilter, TOPICS } from '@portail/protocol';
import type { Database } from 'better-sqlite3';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { buildServer } from './http/build-server.js';
import type { MqttStatus } from './http/deps.js';
import type { LiveHubStats } from './http/ws/live-hub.js';
import { createIngest } from './ingest/ingest-service.js';
import { createTickBatcher, type TickBatcher } from './ingest/tick-batcher.js';
import { startWalCheckpointer } from './ingest/wal-checkpointer.js';
import { startEventWriter } from './ingest/event-writer.js';
import type { IngestStats } from './ingest/ingest-stats.js';
import { createLogger } from './infra/logger.js';
import { hostPort, localHostFor } from './infra/net-url.js';
import type { EmbeddedBroker } from './mqtt/embedded-broker.js';
import { startSiteBroker } from './mqtt/embedded-broker-setup.js';
import {
  redactUrl,
  resolveExternalCredentials,
  sharedFilter,
  startMqttSubscriber,
  type MqttSubscriber,
  type MqttSubscriberOptions,
} from './mqtt/mqtt-subscriber.js';
import { createSiteStats } from './alerts/site-stats.js';
import { createAlertService } from './alerts/alert-service.js';
import { createAuditLog } from './audit/audit-log.js';
import { createCameraServices } from './cameras/camera-services.js';
import { createFleetQueries } from './cameras/fleet-queries.js';
import { createAgentConfigService } from './agent-config/agent-config-service.js';
import { createSiteDirectory } from './agent-config/site-directory.js';
import { createPeopleApi } from './people/people-api.js';
import { createSyncPublisher, type SyncPublisher } from './people/sync-publisher.js';
import { openSigningKeyStore } from './people/signing-key-store.js';
import { createGateService } from './gate/gate-service.js';
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
import { createAuthStore } from './auth/auth-store.js';
import { createOidcLogin } from './auth/oidc-login.js';
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
    // WAL checkpoints (copy into the main file + fsync) in a worker thread, not on the event loop
    // that ingests (docs/performance.md); closed before the database
    const checkpointer = await startWalCheckpointer({ db, logger: logger.child({ module: 'store' }) });
    cleanups.push(() => checkpointer.close());
    // the events of the embedded broker's batches are inserted by a worker thread (docs/performance.md);
    // closed after the batchers (cleanups run in reverse), before the checkpointer and the database
    const eventWriter =
      config.ingest.eventWriter === 'worker' && config.mqtt.mode === 'embedded'
        ? await startEventWriter({ db, logger: logger.child({ module: 'ingest' }) })
        : undefined;
    if (eventWriter) cleanups.push(() => eventWriter.close());
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
      // one transaction per batch of messages (scale: docs/performance.md)
      db,
      ...(eventWriter ? { eventWriter } : {}),
      ...(config.sites ? { sites: config.sites } : {}),
    });
    const dbProbe = db.prepare('SELECT 1 AS one');
    const env = opts.env ?? process.env;
    const audit = createAuditLog(db);
    const users = createUserRepository(db);
    const authStore = createAuthStore(db);
    const auth = createAuthService({
      store: authStore,
      users,
      sessions: createSessionRepository(db),
      throttle: createLoginThrottleRepository(db),
      audit,
      policy: config.auth,
      logger: logger.child({ module: 'auth' }),
    });
    // OpenID Connect login (auth.oidc): the provider is discovered at the first login, not here
    const oidcConfig = config.auth.oidc;
    const oidc = oidcConfig
      ? createOidcLogin({
          settings: {
            issuer: oidcConfig.issuer,
            clientId: oidcConfig.clientId,
            clientSecret: readSecret({ file: oidcConfig.clientSecretFile }, env, 'auth.oidc.clientSecretFile'),
            redirectUrl: oidcConfig.redirectUrl,
            scopes: oidcConfig.scopes,
            label: oidcConfig.label,
            mapping: oidcConfig.mapping,
          },
          users,
          store: authStore,
          logger: logger.child({ module: 'oidc' }),
        })
      : null;
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
    // the camera registry (source URLs encrypted), snapshots, preview relay, enrolment capture (docs/api.md)
    const cameras = createCameraServices({
      db,
      dataDir: config.dataDir,
      keys: openSigningKeyStore(config.dataDir),
      settings: config.cameras,
      logger: logger.child({ module: 'cameras' }),
    });
    // after the HTTP server (cleanups run in reverse): its sockets close first, then ffmpeg and the models
    cleanups.push(() => cameras.close());
    const agentConfigs = createAgentConfigObserver();
    const privacy = createPrivacyService({
      db,
      audit,
      keys: openSigningKeyStore(config.dataDir),
      agents,
      agentConfigs,
      cameraRegistry: cameras.registry,
      authMode: config.auth.mode,
      logger: logger.child({ module: 'privacy' }),
    });
    // versioned agent configurations, published retained through the MQTT client made below
    const configMqtt: { client?: MqttSubscriber } = {};
    const agentConfig = createAgentConfigService({
      db,
      publish: async (topic, payload, o) => {
        if (!configMqtt.client) throw new ControlServerError('SERVER_ERR_MQTT_NOT_STARTED', 'MQTT client not started yet');
        return configMqtt.client.publish(topic, payload, o);
      },
      logger: logger.child({ module: 'agent-config' }),
      ...(config.sites ? { sites: config.sites } : {}),
    });

    let broker: EmbeddedBroker | null = null;
    let subscriberUrl: string;
    let mqttUrl: string;
    let creds: ReturnType<typeof resolveExternalCredentials> & Pick<MqttSubscriberOptions, 'tls'> = {};
    if (config.mqtt.mode === 'embedded') {
      // accounts + ACL (mqtt/acl.ts) unless auth is none on loopback; TLS when mqtt.tls is set
      const site = await startSiteBroker(config.mqtt, { db, logger: logger.child({ module: 'broker' }) });
      broker = site.broker;
      const b = broker;
      cleanups.push(() => b.close());
      const { url, ...siteCreds } = site.client;
      subscriberUrl = url;
      creds = siteCreds;
      mqttUrl = subscriberUrl;
    } else {
      creds = resolveExternalCredentials(config.mqtt, env);
      subscriberUrl = config.mqtt.url;
      mqttUrl = redactUrl(config.mqtt.url);
    }

    // Embedded broker: the agents' messages reach the ingest in-process (no MQTT encoding, socket or
    // client session in between: docs/performance.md), one transaction per event-loop turn. The MQTT
    // client below then subscribes to the retained `config` topics only (what the observers need).
    const ownedSites = config.sites ?? ['+'];
    let batcher: TickBatcher | null = null;
    if (broker) {
      const b = createTickBatcher({ ingest, logger: logger.child({ module: 'ingest' }) });
      batcher = b;
      cleanups.push(() => b.close());
      for (const site of ownedSites) await broker.subscribeLocal(agentTopicsFilter(site), (topic, payload, done) => b.handle(topic, payload, done));
    }
    const fastPath = batcher !== null;
    const subscriber: MqttSubscriber = await startMqttSubscriber({
      url: subscriberUrl,
      clientId: config.mqtt.clientId,
      ...creds,
      logger: logger.child({ module: 'mqtt' }),
      onMessage: (topic, payload) => {
        if (!fastPath) ingest.handle(topic, payload);
        // the retained configuration of each agent: cameras' location types for the register
        agentConfigs.observe(topic, payload);
        agentConfig.observe(topic, payload);
      },
      // the messages of one socket read in one transaction; their PUBACKs leave after its commit
      batch: {
        begin: () => {
          // with the fast path only `config` topics come this way: nothing for the ingest
          const b = fastPath ? null : ingest.begin();
          return {
            handle: (topic, payload) => {
              b?.handle(topic, payload);
              agentConfigs.observe(topic, payload);
              agentConfig.observe(topic, payload);
            },
            commit: () => b?.commit().ok ?? true,
          };
        },
      },
      // scale-out: only the owned sites, shared among the instances of a group when the broker can
      filters: ownedSites.map((site) =>
        fastPath
          ? agentTopicsFilter(site).replace(/#$/, TOPICS.config.suffix)
          : sharedFilter(agentTopicsFilter(site), config.mqtt.mode === 'external' ? config.mqtt.sharedGroup : undefined),
      ),
      // a broker back without our session may have lost the retained site sync too
      onConnect: (sessionPresent) => {
        if (!sessionPresent) late.sync?.republishAll();
        // the broker re-delivers the retained configurations at every subscription: publish what it lacks once they settled
        agentConfig.onConnect();
      },
      ...(opts.mqttStartupWaitMs !== undefined ? { startupWaitMs: opts.mqttStartupWaitMs } : {}),
    });
    cleanups.push(() => subscriber.close());
    configMqtt.client = subscriber;
    cleanups.push(() => agentConfig.stop());

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
    // students, imports, consent, enrolment (models opened on first use), credentials, for the HTTP routes
    const people = createPeopleApi({
      db,
      dataDir: config.dataDir,
      keys: openSigningKeyStore(config.dataDir),
      agents,
      notify: (site) => publisher.notify(site),
      published: (site) => publisher.published(site),
      publishImport: (job) => bus.publish({ type: 'people_import', site: job.site, job }),
      logger: logger.child({ module: 'people' }),
    });
    cleanups.push(() => people.close());

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
        ...(oidc ? { oidc } : {}),
        // the gate view (reception): who is behind a passage, acknowledgements, overrides, visitors
        gate: createGateService({ db, dataDir: config.dataDir, keys: openSigningKeyStore(config.dataDir) }),
        agentConfig,
        sites: createSiteDirectory(db),
        // the supervisors' alert queue: acknowledgements of events and offline states
        alerts: createAlertService({ db, agents }),
        siteStats: createSiteStats(db),
        people,
        cameras,
        fleet: createFleetQueries(db),
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
