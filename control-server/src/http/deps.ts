import type { AlertService } from '../alerts/alert-service.js';
import type { SiteStats } from '../alerts/site-stats.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { OidcLogin } from '../auth/oidc-login.js';
import type { CameraServices } from '../cameras/camera-services.js';
import type { FleetQueries } from '../cameras/fleet-queries.js';
import type { GateService } from '../gate/gate-service.js';
import type { AgentConfigService } from '../agent-config/agent-config-service.js';
import type { SiteDirectory } from '../agent-config/site-directory.js';
import type { IngestStats } from '../ingest/ingest-stats.js';
import type { PeopleApi } from '../people/people-api.js';
import type { PrivacyService } from '../privacy/privacy-service.js';
import type { AgentRepository } from '../repositories/agent-repository.js';
import type { EventRepository } from '../repositories/event-repository.js';
import type { UserRepository } from '../repositories/user-repository.js';
import type { AuthService } from '../services/auth-service.js';
import type { LiveBus } from '../services/live-bus.js';

export interface MqttStatus {
  mode: 'embedded' | 'external';
  connected: boolean;
  subscribed: boolean;
}

/** Everything the HTTP layer reaches, injected: routes never open a database or a socket themselves. */
export interface HttpDeps {
  agents: AgentRepository;
  events: EventRepository;
  bus: LiveBus;
  ingestStats(): IngestStats;
  mqttStatus(): MqttStatus;
  /** cheap liveness probe of the database */
  dbOk(): boolean;
  /** accounts and sessions */
  auth: AuthService;
  users: UserRepository;
  /** hash-chained audit log of personal-data reads and admin actions */
  audit: AuditLog;
  /** retention, a person's export and erasure, register, pilot, equal service; routes answer 503 without it */
  privacy?: PrivacyService;
  /** the gate view: who is behind a passage, acknowledgements, overrides, visitors; routes answer 503 without it */
  gate?: GateService;
  /** versioned agent configurations published retained to the agents; routes answer 503 without it */
  agentConfig?: AgentConfigService;
  /** declared sites and the list each account sees; routes answer 503 without it */
  sites?: SiteDirectory;
  /** the supervisors' alert queue and its acknowledgements; the alert routes answer 503 without it */
  alerts?: AlertService;
  /** aggregates for the live view's charts (counts only); the site statistics routes answer 503 without it */
  siteStats?: SiteStats;
  /** students, registry imports, consent, enrolment, credentials, site sync state; routes answer 503 without it */
  people?: PeopleApi;
  /** camera registry, snapshots, live preview relay, enrolment capture; the camera routes answer 503 without it */
  cameras?: CameraServices;
  /** alert counts and published sync versions for GET /api/fleet (without it: agents only) */
  fleet?: FleetQueries;
  /** OpenID Connect login (auth.oidc); without it the OIDC routes answer 404 */
  oidc?: OidcLogin;
}

declare module 'fastify' {
  interface FastifyInstance {
    deps: HttpDeps;
  }
}
