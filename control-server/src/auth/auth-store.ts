import type { Database } from 'better-sqlite3';
import { createRecoveryCodeStore, type RecoveryCodeStore } from './recovery-codes.js';

/**
 * What accounts carry besides the user repository's record (migration 70): recovery codes, the
 * last TOTP step accepted (replay guard), the e-mail an identity provider may assert, and the
 * OpenID Connect identities (issuer + subject) linked to an account.
 */
export interface AuthStore {
  recoveryCodes: RecoveryCodeStore;
  /** the last TOTP time step accepted for the user, or null */
  totpLastStep(userId: number): number | null;
  setTotpLastStep(userId: number, step: number | null): void;
  emailOf(userId: number): string | null;
  /** false when another account has that address */
  setEmail(userId: number, email: string | null): boolean;
  userIdByEmail(email: string): number | null;
  userIdByIdentity(issuer: string, subject: string): number | null;
  linkIdentity(issuer: string, subject: string, userId: number, nowIso: string): void;
  touchIdentity(issuer: string, subject: string, nowIso: string): void;
  identitiesOf(userId: number): Array<{ issuer: string; subject: string; lastLoginAt: string | null }>;
}

export function createAuthStore(db: Database): AuthStore {
  const getStep = db.prepare<[number], { s: number | null }>('SELECT totp_last_step AS s FROM users WHERE id = ?');
  const setStep = db.prepare<[number | null, number]>('UPDATE users SET totp_last_step = ? WHERE id = ?');
  const getEmail = db.prepare<[number], { e: string | null }>('SELECT email AS e FROM users WHERE id = ?');
  const setEmailStmt = db.prepare<[string | null, number]>('UPDATE users SET email = ? WHERE id = ?');
  const byEmail = db.prepare<[string], { id: number }>('SELECT id FROM users WHERE email = ?');
  const byIdentity = db.prepare<[string, string], { user_id: number }>(
    'SELECT user_id FROM user_identities WHERE issuer = ? AND subject = ?',
  );
  const link = db.prepare<[string, string, number, string, string]>(
    `INSERT INTO user_identities (issuer, subject, user_id, created_at, last_login_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (issuer, subject) DO UPDATE SET user_id = excluded.user_id, last_login_at = excluded.last_login_at`,
  );
  const touch = db.prepare<[string, string, string]>(
    'UPDATE user_identities SET last_login_at = ? WHERE issuer = ? AND subject = ?',
  );
  const ofUser = db.prepare<[number], { issuer: string; subject: string; last_login_at: string | null }>(
    'SELECT issuer, subject, last_login_at FROM user_identities WHERE user_id = ? ORDER BY issuer, subject',
  );
  return {
    recoveryCodes: createRecoveryCodeStore(db),
    totpLastStep: (id) => getStep.get(id)?.s ?? null,
    setTotpLastStep: (id, step) => void setStep.run(step, id),
    emailOf: (id) => getEmail.get(id)?.e ?? null,
    setEmail(id, email) {
      try {
        setEmailStmt.run(email, id);
        return true;
      } catch (err) {
        // the unique index on e-mail: another account holds it
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') return false;
        throw err;
      }
    },
    userIdByEmail: (email) => byEmail.get(email)?.id ?? null,
    userIdByIdentity: (issuer, subject) => byIdentity.get(issuer, subject)?.user_id ?? null,
    linkIdentity: (issuer, subject, userId, nowIso) => void link.run(issuer, subject, userId, nowIso, nowIso),
    touchIdentity: (issuer, subject, nowIso) => void touch.run(nowIso, issuer, subject),
    identitiesOf: (id) =>
      ofUser.all(id).map((r) => ({ issuer: r.issuer, subject: r.subject, lastLoginAt: r.last_login_at })),
  };
}
