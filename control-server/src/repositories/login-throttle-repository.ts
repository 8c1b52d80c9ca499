import type { Database } from 'better-sqlite3';

export interface LoginThrottleState {
  failures: number;
  lastFailureAt: string;
  lockedUntil: string | null;
}

/** Failed logins per username, kept in SQLite so that a restart does not lift a lockout. */
export interface LoginThrottleRepository {
  get(username: string): LoginThrottleState | null;
  set(username: string, state: LoginThrottleState): void;
  clear(username: string): void;
}

interface Row {
  failures: number;
  last_failure_at: string;
  locked_until: string | null;
}

export function createLoginThrottleRepository(db: Database): LoginThrottleRepository {
  const getStmt = db.prepare<[string], Row>(
    'SELECT failures, last_failure_at, locked_until FROM login_throttle WHERE username = ?',
  );
  const setStmt = db.prepare<[string, number, string, string | null]>(
    `INSERT INTO login_throttle (username, failures, last_failure_at, locked_until) VALUES (?, ?, ?, ?)
     ON CONFLICT (username) DO UPDATE SET
       failures = excluded.failures, last_failure_at = excluded.last_failure_at, locked_until = excluded.locked_until`,
  );
  const clearStmt = db.prepare<[string]>('DELETE FROM login_throttle WHERE username = ?');
  return {
    get(username) {
      const r = getStmt.get(username);
      return r ? { failures: r.failures, lastFailureAt: r.last_failure_at, lockedUntil: r.locked_until } : null;
    },
    set(username, s) {
      setStmt.run(username, s.failures, s.lastFailureAt, s.lockedUntil);
    },
    clear(username) {
      clearStmt.run(username);
    },
  };
}
