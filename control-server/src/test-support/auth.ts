import type { Database } from 'better-sqlite3';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import pino, { type Logger } from 'pino';
import { createSiteStats } from '../alerts/site-stats.js';
import { createAlertService } from '../alerts/alert-service.js';
import { createAuditLog, type AuditLog } from '../audit/audit-log.js';
import { createCameraServices, type CameraServices, type CameraSettings } from '../cameras/camera-services.js';
import { createFleetQueries } from '../cameras/fleet-queries.js';
import { createAgentConfigService, type AgentConfigService } from '../agent-config/agent-config-service.js';
import { createSiteDirectory } from '../agent-config/site-directory.js';
import { createAuthStore, type AuthStore } from '../auth/auth-store.js';
import type { OidcLogin } from '../auth/oidc-login.js';
import type { RoleGrant } from '../auth/permissions.js';
import { buildServer, type BuiltServer } from '../http/build-server.js';
import { CSRF_HEADER, SESSION_COOKIE } from '../http/auth/auth-plugin.js';
import { createIngestStats } from '../ingest/ingest-stats.js';
import { openSigningKeyStore } from '../people/signing-key-store.js';
import { createGateService } from '../gate/gate-service.js';
import { createPeopleApi, type PeopleApi } from '../people/people-api.js';
import { createPrivacyService, type PrivacyService } from '../privacy/privacy-service.js';
import { createAgentRepository, type AgentRepository } from '../repositories/agent-repository.js';
import { createEventRepository, type EventRepository } from '../repositories/event-repository.js';
import { createLoginThrottleRepository } from '../repositories/login-throttle-repository.js';
import { createSessionRepository, type SessionRepository } from '../repositories/session-repository.js';
import { createUserRepository, type UserRepository } from '../repositories/user-repository.js';
import { createAuthService, type AuthPolicy, type AuthService } from '../services/auth-service.js';
import { createLiveBus, type LiveBus } from '../services/live-bus.js';
import { openDatabase } from '../store/database.js';
import { makeTempDir } from './fixtures.js';

export const DEFAULT_POLICY: AuthPolicy = {
  idleTimeoutMs: 30 * 60_000,
  absoluteTimeoutMs: 12 * 3_600_000,
  maxFailedLogins: 5,
  lockoutMs: 15 * 60_000,
  loginAttemptsPerIp: 1_000,
  loginWindowMs: 5 * 60_000,
};

export const TEST_PASSWORD = 'correct horse battery staple';

export interface AuthTestApp {
  app: FastifyInstance;
  built: BuiltServer;
  db: Database;
  users: UserRepository;
  sessions: SessionRepository;
  events: EventRepository;
  agents: AgentRepository;
  bus: LiveBus;
  audit: AuditLog;
  auth: AuthService;
  /** recovery codes, e-mail, OIDC identities of the accounts */
  authStore: AuthStore;
  privacy: PrivacyService;
  /** agent configurations; what it publishes is recorded in `configPublished` (no broker here) */
  agentConfig: AgentConfigService;
  configPublished: Array<{ topic: string; payload: string }>;
  /** people routes' services (enrolment models opened on first use); sites nudged for sync in `syncNotified` */
  people: PeopleApi;
  /** camera registry, snapshots, preview relay, capture */
  cameras: CameraServices;
  syncNotified: string[];
  /** the server's data directory (temp) */
  dataDir: string;
  clock: { nowMs: number };
  addUser(username: string, roles: RoleGrant[], password?: string): Promise<void>;
  close(): Promise<void>;
}

/** buildServer on a real SQLite temp file, auth required, with a settable clock; not listening. */
export async function buildAuthTestApp(
  opts: {
    policy?: Partial<AuthPolicy>;
    logger?: Logger;
    metricsToken?: string | null;
    mode?: 'required' | 'disabled';
    /** runs before ready(), e.g. to register an extra route */
    beforeReady?: (app: FastifyInstance) => void;
    /** camera settings (file sources are allowed here) */
    cameraSettings?: Partial<CameraSettings>;
    /** an OpenID Connect login, built on the app's users and auth store */
    oidc?: (d: { users: UserRepository; store: AuthStore }) => OidcLogin;
  } = {},
): Promise<AuthTestApp> {
  const tmp = makeTempDir();
  const db = openDatabase({ dataDir: tmp.dir });
  const clock = { nowMs: Date.parse('2026-03-02T07:30:00.000Z') };
  const now = () => clock.nowMs;
  const users = createUserRepository(db);
  const sessions = createSessionRepository(db);
  const audit = createAuditLog(db, { now });
  const logger = opts.logger ?? pino({ level: 'silent' });
  const policy = { ...DEFAULT_POLICY, ...opts.policy };
  const authStore = createAuthStore(db);
  const auth = createAuthService({
    store: authStore,
    users,
    sessions,
    throttle: createLoginThrottleRepository(db),
    audit,
    policy,
    logger,
    now,
  });
  const agents = createAgentRepository(db);
  const events = createEventRepository(db);
  const bus = createLiveBus();
  // file sources allowed: camera tests register generated clips
  const cameras = createCameraServices({
    db,
    dataDir: tmp.dir,
    keys: openSigningKeyStore(tmp.dir),
    settings: { allowFileUrls: true, ...opts.cameraSettings },
    logger,
  });
  const privacy = createPrivacyService({
    db,
    audit,
    keys: openSigningKeyStore(tmp.dir),
    agents,
    cameraRegistry: cameras.registry,
    now: () => new Date(clock.nowMs),
    authMode: opts.mode ?? 'required',
  });
  const configPublished: Array<{ topic: string; payload: string }> = [];
  const agentConfig = createAgentConfigService({
    db,
    publish: async (topic, payload) => {
      configPublished.push({ topic, payload });
    },
    logger,
    now: () => new Date(clock.nowMs),
  });
  const syncNotified: string[] = [];
  const people = createPeopleApi({
    db,
    dataDir: tmp.dir,
    keys: openSigningKeyStore(tmp.dir),
    agents,
    notify: (site) => syncNotified.push(site),
    publishImport: (job) => bus.publish({ type: 'people_import', site: job.site, job }),
    now: () => new Date(clock.nowMs),
  });
  const built = buildServer({
    deps: {
      ...(opts.oidc ? { oidc: opts.oidc({ users, store: authStore }) } : {}),
      agents,
      events,
      bus,
      ingestStats: createIngestStats,
      mqttStatus: () => ({ mode: 'embedded', connected: true, subscribed: true }),
      dbOk: () => true,
      auth,
      users,
      audit,
      privacy,
      gate: createGateService({
        db,
        dataDir: tmp.dir,
        keys: openSigningKeyStore(tmp.dir),
        now: () => new Date(clock.nowMs),
      }),
      agentConfig,
      sites: createSiteDirectory(db, { now: () => new Date(clock.nowMs) }),
      alerts: createAlertService({ db, agents, now: () => new Date(clock.nowMs) }),
      siteStats: createSiteStats(db),
      people,
      cameras,
      fleet: createFleetQueries(db),
    },
    logger,
    consoleDir: tmp.dir,
    ws: { pingIntervalMs: 30_000, maxBufferedBytes: 1 << 20, helloEvents: 50 },
    auth: {
      mode: opts.mode ?? 'required',
      idleTimeoutMs: policy.idleTimeoutMs,
      absoluteTimeoutMs: policy.absoluteTimeoutMs,
      cookieSecure: 'auto',
      metricsToken: opts.metricsToken ?? null,
    },
  });
  opts.beforeReady?.(built.app);
  try {
    await built.app.ready();
  } catch (err) {
    await built.app.close().catch(() => undefined);
    db.close();
    tmp.remove();
    throw err;
  }
  return {
    app: built.app,
    built,
    db,
    users,
    sessions,
    events,
    agents,
    bus,
    audit,
    auth,
    authStore,
    privacy,
    agentConfig,
    configPublished,
    people,
    cameras,
    syncNotified,
    dataDir: tmp.dir,
    clock,
    async addUser(username, roles, password = TEST_PASSWORD) {
      const res = await auth.createUser(
        { userId: null, username: 'test-setup', grants: [], authDisabled: true },
        { username, password, roles },
        null,
      );
      if (!res.ok) throw new Error(`addUser ${username}: ${res.error.message}`);
    },
    async close() {
      agentConfig.stop();
      await built.app.close();
      await cameras.close();
      await people.imports.idle();
      await people.close();
      db.close();
      tmp.remove();
    },
  };
}

export interface LoggedIn {
  cookie: string;
  csrf: string;
  /** headers for a request of this session (cookie, CSRF token, same-origin Origin) */
  headers: Record<string, string>;
}

export function sessionCookieOf(res: LightMyRequestResponse): string | undefined {
  return res.cookies.find((c) => c.name === SESSION_COOKIE)?.value;
}

export async function login(app: FastifyInstance, username: string, password = TEST_PASSWORD): Promise<LoggedIn> {
  const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password } });
  if (res.statusCode !== 200) throw new Error(`login ${username}: ${res.statusCode} ${res.body}`);
  const cookie = sessionCookieOf(res);
  if (!cookie) throw new Error('login set no session cookie');
  const csrf = res.json<{ csrfToken: string }>().csrfToken;
  return { cookie, csrf, headers: { cookie: `${SESSION_COOKIE}=${cookie}`, [CSRF_HEADER]: csrf } };
}
