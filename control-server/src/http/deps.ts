import type { AuditLog } from '../audit/audit-log.js';
import type { IngestStats } from '../ingest/ingest-stats.js';
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
}

declare module 'fastify' {
  interface FastifyInstance {
    deps: HttpDeps;
  }
}
