import type { Database } from 'better-sqlite3';
import { agentClientId, agentUsername, type MqttPrincipal } from './acl.js';

/** One broker account (table `mqtt_accounts`, migration 110). */
export interface MqttAccount {
  id: number;
  username: string;
  kind: 'agent' | 'server';
  site: string | null;
  agent: string | null;
  clientId: string | null;
  passwordHash: string;
  certFingerprint: string | null;
  createdAt: string;
  createdBy: string;
  revokedAt: string | null;
  revokedBy: string | null;
}

export type AccountError =
  | { code: 'MQTT_ERR_ACCOUNT_EXISTS'; message: string }
  | { code: 'MQTT_ERR_CLIENT_ID_TAKEN'; message: string }
  | { code: 'MQTT_ERR_NO_ACCOUNT'; message: string };

type Result<T> = { ok: true; value: T } | { ok: false; error: AccountError };

export interface NewAgentAccount {
  site: string;
  agent: string;
  passwordHash: string;
  certFingerprint?: string | null;
  actor: string;
  now?: Date;
  /** revoke the agent's active account in the same transaction (re-provisioning a box) */
  replace?: boolean;
}

export interface MqttAccountStore {
  /** the active account of a username; what the embedded broker checks at every CONNECT */
  findActive(username: string): MqttAccount | undefined;
  listActive(): MqttAccount[];
  /** every row, revoked ones included, newest first */
  listAll(): MqttAccount[];
  createAgent(a: NewAgentAccount): Result<{ account: MqttAccount; replaced: MqttAccount | null }>;
  /** a server account (the control server's connection to an external broker); replaces an active one */
  setServer(a: { username: string; passwordHash: string; actor: string; now?: Date }): MqttAccount;
  revoke(username: string, actor: string, now?: Date): Result<MqttAccount>;
}

interface Row {
  id: number;
  username: string;
  kind: 'agent' | 'server';
  site: string | null;
  agent: string | null;
  client_id: string | null;
  password_hash: string;
  cert_fingerprint: string | null;
  created_at: string;
  created_by: string;
  revoked_at: string | null;
  revoked_by: string | null;
}

const toAccount = (r: Row): MqttAccount => ({
  id: r.id,
  username: r.username,
  kind: r.kind,
  site: r.site,
  agent: r.agent,
  clientId: r.client_id,
  passwordHash: r.password_hash,
  certFingerprint: r.cert_fingerprint,
  createdAt: r.created_at,
  createdBy: r.created_by,
  revokedAt: r.revoked_at,
  revokedBy: r.revoked_by,
});

/** The ACL principal of an account. */
export function principalOf(a: MqttAccount): MqttPrincipal {
  return a.kind === 'agent'
    ? { kind: 'agent', username: a.username, site: a.site!, agent: a.agent! }
    : { kind: 'server', username: a.username };
}

export function createMqttAccountStore(db: Database): MqttAccountStore {
  const findActive = db.prepare<[string], Row>('SELECT * FROM mqtt_accounts WHERE username = ? AND revoked_at IS NULL');
  const activeByClientId = db.prepare<[string], Row>(
    'SELECT * FROM mqtt_accounts WHERE client_id = ? AND revoked_at IS NULL',
  );
  const listActive = db.prepare<[], Row>('SELECT * FROM mqtt_accounts WHERE revoked_at IS NULL ORDER BY username');
  const listAll = db.prepare<[], Row>('SELECT * FROM mqtt_accounts ORDER BY id DESC');
  const byId = db.prepare<[number], Row>('SELECT * FROM mqtt_accounts WHERE id = ?');
  const insert = db.prepare(
    `INSERT INTO mqtt_accounts (username, kind, site, agent, client_id, password_hash, cert_fingerprint, created_at, created_by)
     VALUES (@username, @kind, @site, @agent, @clientId, @passwordHash, @certFingerprint, @createdAt, @createdBy)`,
  );
  const revoke = db.prepare(
    'UPDATE mqtt_accounts SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL',
  );

  const createAgent = db.transaction(
    (a: NewAgentAccount): Result<{ account: MqttAccount; replaced: MqttAccount | null }> => {
      const username = agentUsername(a.site, a.agent);
      const clientId = agentClientId(a.site, a.agent);
      const now = (a.now ?? new Date()).toISOString();
      const existing = findActive.get(username);
      if (existing && !a.replace) {
        return {
          ok: false,
          error: {
            code: 'MQTT_ERR_ACCOUNT_EXISTS',
            message: `agent ${a.site}/${a.agent} already has broker credentials: revoke them first, or provision again with --replace`,
          },
        };
      }
      const clash = activeByClientId.get(clientId);
      if (clash && clash.username !== username) {
        return {
          ok: false,
          error: {
            code: 'MQTT_ERR_CLIENT_ID_TAKEN',
            message: `agent ${a.site}/${a.agent} would use the MQTT client id ${clientId}, already used by ${clash.username}: choose another agent id`,
          },
        };
      }
      if (existing) revoke.run(now, a.actor, existing.id);
      const info = insert.run({
        username,
        kind: 'agent',
        site: a.site,
        agent: a.agent,
        clientId,
        passwordHash: a.passwordHash,
        certFingerprint: a.certFingerprint ?? null,
        createdAt: now,
        createdBy: a.actor,
      });
      return {
        ok: true,
        value: {
          account: toAccount(byId.get(Number(info.lastInsertRowid))!),
          replaced: existing ? toAccount(byId.get(existing.id)!) : null,
        },
      };
    },
  );

  const setServer = db.transaction((a: { username: string; passwordHash: string; actor: string; now?: Date }) => {
    const now = (a.now ?? new Date()).toISOString();
    const existing = findActive.get(a.username);
    if (existing) revoke.run(now, a.actor, existing.id);
    const info = insert.run({
      username: a.username,
      kind: 'server',
      site: null,
      agent: null,
      clientId: null,
      passwordHash: a.passwordHash,
      certFingerprint: null,
      createdAt: now,
      createdBy: a.actor,
    });
    return toAccount(byId.get(Number(info.lastInsertRowid))!);
  });

  return {
    findActive: (username) => {
      const r = findActive.get(username);
      return r ? toAccount(r) : undefined;
    },
    listActive: () => listActive.all().map(toAccount),
    listAll: () => listAll.all().map(toAccount),
    createAgent: (a) => createAgent.immediate(a),
    setServer: (a) => setServer.immediate(a),
    revoke(username, actor, now = new Date()) {
      const r = findActive.get(username);
      if (!r)
        return { ok: false, error: { code: 'MQTT_ERR_NO_ACCOUNT', message: `no active broker account ${username}` } };
      revoke.run(now.toISOString(), actor, r.id);
      return { ok: true, value: toAccount(byId.get(r.id)!) };
    },
  };
}
