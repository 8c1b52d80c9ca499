import type { ConfigState, Health, Status, SyncState } from '@portail/protocol';
import type { Database } from 'better-sqlite3';

export type AgentState = 'online' | 'offline' | 'unknown';

export interface AgentRecord {
  site: string;
  agent: string;
  /** from the retained status (its last will sets offline); `unknown` until a status arrives */
  state: AgentState;
  status: Status | null;
  health: Health | null;
  /** the agent's answer to its retained configuration (version in force, or why it was rejected) */
  configState: ConfigState | null;
  /** the agent's answer to its site's sync: the version it holds (templates, revocations, keys) */
  syncState: SyncState | null;
  /** server time of the last message the agent itself sent; its last will does not count */
  lastSeen: string | null;
  updatedAt: string;
}

export interface AgentRepository {
  applyStatus(status: Status, receivedAt: string): AgentRecord;
  /** `created` when this health is the first thing heard from the agent */
  applyHealth(health: Health, receivedAt: string): { agent: AgentRecord; created: boolean };
  /** the agent's retained answer to its configuration */
  applyConfigState(state: ConfigState, receivedAt: string): AgentRecord;
  /** the agent's retained answer to its site's sync */
  applySyncState(state: SyncState, receivedAt: string): AgentRecord;
  /** an event from a known agent proves it alive; unknown agents are not created by events */
  touch(site: string, agent: string, receivedAt: string): void;
  get(site: string, agent: string): AgentRecord | null;
  list(): AgentRecord[];
}

interface AgentRow {
  site: string;
  agent: string;
  state: AgentState;
  status: string | null;
  health: string | null;
  config_state: string | null;
  sync_state: string | null;
  last_seen: string | null;
  updated_at: string;
}

function toAgent(row: AgentRow): AgentRecord {
  return {
    site: row.site,
    agent: row.agent,
    state: row.state,
    status: row.status === null ? null : (JSON.parse(row.status) as Status),
    health: row.health === null ? null : (JSON.parse(row.health) as Health),
    configState: row.config_state === null ? null : (JSON.parse(row.config_state) as ConfigState),
    syncState: row.sync_state === null ? null : (JSON.parse(row.sync_state) as SyncState),
    lastSeen: row.last_seen,
    updatedAt: row.updated_at,
  };
}

/** `last_seen` of an agent (parameters: receivedAt, site, agent); also run by the event writer worker. */
export const TOUCH_AGENT_SQL = 'UPDATE agents SET last_seen = ? WHERE site = ? AND agent = ?';

export function createAgentRepository(db: Database): AgentRepository {
  // arrival order decides, not the payload ts: a last will carries the ts of the connection it guards
  const statusStmt = db.prepare<[string, string, string, string, string | null, string], AgentRow>(
    `INSERT INTO agents (site, agent, state, status, last_seen, updated_at)
     VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (site, agent) DO UPDATE SET
       state = excluded.state,
       status = excluded.status,
       last_seen = coalesce(excluded.last_seen, agents.last_seen),
       updated_at = excluded.updated_at
     RETURNING *`,
  );
  const existsStmt = db.prepare<[string, string], { one: number }>(
    'SELECT 1 AS one FROM agents WHERE site = ? AND agent = ?',
  );
  const healthStmt = db.prepare<[string, string, string, string, string], AgentRow>(
    `INSERT INTO agents (site, agent, state, health, last_seen, updated_at)
     VALUES (?, ?, 'unknown', ?, ?, ?)
     ON CONFLICT (site, agent) DO UPDATE SET
       health = excluded.health,
       last_seen = excluded.last_seen,
       updated_at = excluded.updated_at
     RETURNING *`,
  );
  const configStateStmt = db.prepare<[string, string, string, string, string], AgentRow>(
    `INSERT INTO agents (site, agent, state, config_state, last_seen, updated_at)
     VALUES (?, ?, 'unknown', ?, ?, ?)
     ON CONFLICT (site, agent) DO UPDATE SET
       config_state = excluded.config_state,
       last_seen = excluded.last_seen,
       updated_at = excluded.updated_at
     RETURNING *`,
  );
  const syncStateStmt = db.prepare<[string, string, string, string, string], AgentRow>(
    `INSERT INTO agents (site, agent, state, sync_state, last_seen, updated_at)
     VALUES (?, ?, 'unknown', ?, ?, ?)
     ON CONFLICT (site, agent) DO UPDATE SET
       sync_state = excluded.sync_state,
       last_seen = excluded.last_seen,
       updated_at = excluded.updated_at
     RETURNING *`,
  );
  const touchStmt = db.prepare<[string, string, string]>(TOUCH_AGENT_SQL);
  const getStmt = db.prepare<[string, string], AgentRow>('SELECT * FROM agents WHERE site = ? AND agent = ?');
  const listStmt = db.prepare<[], AgentRow>('SELECT * FROM agents ORDER BY site, agent');
  const applyHealthTx = db.transaction((health: Health, receivedAt: string) => {
    const created = existsStmt.get(health.site, health.agent) === undefined;
    const row = healthStmt.get(health.site, health.agent, JSON.stringify(health), receivedAt, receivedAt)!;
    return { agent: toAgent(row), created };
  });

  return {
    applyStatus(status, receivedAt) {
      const lastSeen = status.state === 'online' ? receivedAt : null;
      const row = statusStmt.get(
        status.site,
        status.agent,
        status.state,
        JSON.stringify(status),
        lastSeen,
        receivedAt,
      )!;
      return toAgent(row);
    },
    applyHealth(health, receivedAt) {
      return applyHealthTx(health, receivedAt);
    },
    applyConfigState(state, receivedAt) {
      return toAgent(configStateStmt.get(state.site, state.agent, JSON.stringify(state), receivedAt, receivedAt)!);
    },
    applySyncState(state, receivedAt) {
      return toAgent(syncStateStmt.get(state.site, state.agent, JSON.stringify(state), receivedAt, receivedAt)!);
    },
    touch(site, agent, receivedAt) {
      touchStmt.run(receivedAt, site, agent);
    },
    get(site, agent) {
      const row = getStmt.get(site, agent);
      return row ? toAgent(row) : null;
    },
    list() {
      return listStmt.all().map(toAgent);
    },
  };
}
