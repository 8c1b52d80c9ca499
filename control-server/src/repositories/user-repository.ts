import type { Database } from 'better-sqlite3';
import { normaliseGrants, type Role, type RoleGrant } from '../auth/permissions.js';

export interface UserRecord {
  id: number;
  username: string;
  disabled: boolean;
  /** a second factor is enrolled */
  totpEnabled: boolean;
  roles: RoleGrant[];
  createdAt: string;
  updatedAt: string;
}

/** What login needs on top of the public record; never leaves the server. */
export interface UserCredentials {
  user: UserRecord;
  passwordHash: string;
  totpSecret: string | null;
}

export type CreateUserResult = { ok: true; user: UserRecord } | { ok: false; error: 'USERNAME_TAKEN' };

export interface UserRepository {
  create(
    input: { username: string; passwordHash: string; roles: readonly RoleGrant[] },
    nowIso: string,
  ): CreateUserResult;
  get(id: number): UserRecord | null;
  getByUsername(username: string): UserRecord | null;
  credentials(username: string): UserCredentials | null;
  list(): UserRecord[];
  /** users holding at least one role at one of `sites` */
  listAtSites(sites: ReadonlySet<string>): UserRecord[];
  /** replace every grant of the user */
  setRoles(id: number, roles: readonly RoleGrant[], nowIso: string): UserRecord | null;
  setDisabled(id: number, disabled: boolean, nowIso: string): UserRecord | null;
  setPasswordHash(id: number, passwordHash: string, nowIso: string): void;
  setTotpSecret(id: number, secret: string | null, nowIso: string): void;
  count(): number;
}

interface UserRow {
  id: number;
  username: string;
  password_hash: string;
  disabled: number;
  totp_secret: string | null;
  created_at: string;
  updated_at: string;
}

export function createUserRepository(db: Database): UserRepository {
  const insertUser = db.prepare<[string, string, string, string], { id: number }>(
    `INSERT INTO users (username, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (username) DO NOTHING RETURNING id`,
  );
  const insertRole = db.prepare<[number, string, string]>(
    'INSERT INTO user_roles (user_id, role, site) VALUES (?, ?, ?)',
  );
  const deleteRoles = db.prepare<[number]>('DELETE FROM user_roles WHERE user_id = ?');
  const byId = db.prepare<[number], UserRow>('SELECT * FROM users WHERE id = ?');
  const byName = db.prepare<[string], UserRow>('SELECT * FROM users WHERE username = ?');
  const all = db.prepare<[], UserRow>('SELECT * FROM users ORDER BY username');
  const rolesOf = db.prepare<[number], { role: Role; site: string }>(
    'SELECT role, site FROM user_roles WHERE user_id = ? ORDER BY site, role',
  );
  const allRoles = db.prepare<[], { user_id: number; role: Role; site: string }>(
    'SELECT user_id, role, site FROM user_roles ORDER BY site, role',
  );
  const touch = db.prepare<[string, number]>('UPDATE users SET updated_at = ? WHERE id = ?');
  const disable = db.prepare<[number, string, number]>('UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?');
  const setHash = db.prepare<[string, string, number]>(
    'UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?',
  );
  const setTotp = db.prepare<[string | null, string, number]>(
    'UPDATE users SET totp_secret = ?, updated_at = ? WHERE id = ?',
  );
  const countStmt = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM users');

  const toUser = (row: UserRow, roles: RoleGrant[]): UserRecord => ({
    id: row.id,
    username: row.username,
    disabled: row.disabled === 1,
    totpEnabled: row.totp_secret !== null,
    roles,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  });
  const withRoles = (row: UserRow): UserRecord => toUser(row, rolesOf.all(row.id));

  const createTx = db.transaction(
    (input: { username: string; passwordHash: string; roles: readonly RoleGrant[] }, nowIso: string) => {
      const row = insertUser.get(input.username, input.passwordHash, nowIso, nowIso);
      if (!row) return null;
      for (const g of normaliseGrants(input.roles)) insertRole.run(row.id, g.role, g.site);
      return row.id;
    },
  );
  const setRolesTx = db.transaction((id: number, roles: readonly RoleGrant[], nowIso: string) => {
    deleteRoles.run(id);
    for (const g of normaliseGrants(roles)) insertRole.run(id, g.role, g.site);
    touch.run(nowIso, id);
  });

  function listAll(): UserRecord[] {
    const grants = new Map<number, RoleGrant[]>();
    for (const r of allRoles.all()) {
      const list = grants.get(r.user_id) ?? [];
      list.push({ role: r.role, site: r.site });
      grants.set(r.user_id, list);
    }
    return all.all().map((row) => toUser(row, grants.get(row.id) ?? []));
  }

  return {
    create(input, nowIso) {
      const id = createTx(input, nowIso);
      if (id === null) return { ok: false, error: 'USERNAME_TAKEN' };
      return { ok: true, user: withRoles(byId.get(id)!) };
    },
    get(id) {
      const row = byId.get(id);
      return row ? withRoles(row) : null;
    },
    getByUsername(username) {
      const row = byName.get(username);
      return row ? withRoles(row) : null;
    },
    credentials(username) {
      const row = byName.get(username);
      if (!row) return null;
      return { user: withRoles(row), passwordHash: row.password_hash, totpSecret: row.totp_secret };
    },
    list: listAll,
    listAtSites(sites) {
      return listAll().filter((u) => u.roles.some((g) => sites.has(g.site)));
    },
    setRoles(id, roles, nowIso) {
      setRolesTx(id, roles, nowIso);
      const row = byId.get(id);
      return row ? withRoles(row) : null;
    },
    setDisabled(id, disabled, nowIso) {
      disable.run(disabled ? 1 : 0, nowIso, id);
      const row = byId.get(id);
      return row ? withRoles(row) : null;
    },
    setPasswordHash(id, passwordHash, nowIso) {
      setHash.run(passwordHash, nowIso, id);
    },
    setTotpSecret(id, secret, nowIso) {
      setTotp.run(secret, nowIso, id);
    },
    count() {
      return countStmt.get()!.n;
    },
  };
}
