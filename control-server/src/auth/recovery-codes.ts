import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { base32Encode } from './totp.js';

/**
 * Recovery codes of the second factor: 10 single-use codes shown once when TOTP is enrolled (or
 * regenerated), for a lost or reset phone. Each code is 80 random bits written as 16 base32
 * characters in groups of four (`ABCD-EFGH-IJKL-MNOP`). Only a SHA-256 of each is stored: with 80
 * bits of entropy a fast hash is enough (nobody can enumerate 2^80 candidates), unlike a password,
 * and a login with a code still counts towards the lockout like a wrong TOTP code.
 */

export const RECOVERY_CODE_COUNT = 10;
const CODE_BYTES = 10;

/** A fresh code, e.g. `K7Q2-M4XD-WPLA-ZT3C` (base32 has no 0, 1, 8 or 9: an O or an I is always a letter). */
export function newRecoveryCode(): string {
  const text = base32Encode(randomBytes(CODE_BYTES));
  return text.match(/.{4}/g)!.join('-');
}

/** Case, spaces and dashes do not matter: what a person reads off paper and types back. */
export function normaliseRecoveryCode(code: string): string | null {
  const clean = code.replace(/[\s-]/g, '').toUpperCase();
  return /^[A-Z2-7]{16}$/.test(clean) ? clean : null;
}

export function hashRecoveryCode(normalised: string): string {
  return createHash('sha256').update(`portail-recovery-code:${normalised}`, 'utf8').digest('hex');
}

export interface RecoveryCodeStore {
  /** replace every code of the user by `count` new ones; returns them in clear (shown once) */
  regenerate(userId: number, nowIso: string, count?: number): string[];
  /** marks the matching unused code used; false when none matches */
  consume(userId: number, code: string, nowIso: string): boolean;
  /** unused codes left */
  remaining(userId: number): number;
  clear(userId: number): void;
}

export function createRecoveryCodeStore(db: Database): RecoveryCodeStore {
  const del = db.prepare<[number]>('DELETE FROM user_recovery_codes WHERE user_id = ?');
  const ins = db.prepare<[number, string, string]>(
    'INSERT INTO user_recovery_codes (user_id, code_hash, created_at) VALUES (?, ?, ?)',
  );
  const unused = db.prepare<[number], { id: number; code_hash: string }>(
    'SELECT id, code_hash FROM user_recovery_codes WHERE user_id = ? AND used_at IS NULL',
  );
  const use = db.prepare<[string, number]>(
    'UPDATE user_recovery_codes SET used_at = ? WHERE id = ? AND used_at IS NULL',
  );
  const count = db.prepare<[number], { n: number }>(
    'SELECT count(*) AS n FROM user_recovery_codes WHERE user_id = ? AND used_at IS NULL',
  );
  const regenerateTx = db.transaction((userId: number, nowIso: string, n: number): string[] => {
    del.run(userId);
    const codes = Array.from({ length: n }, newRecoveryCode);
    for (const c of codes) ins.run(userId, hashRecoveryCode(normaliseRecoveryCode(c)!), nowIso);
    return codes;
  });
  return {
    regenerate: (userId, nowIso, n = RECOVERY_CODE_COUNT) => regenerateTx(userId, nowIso, n),
    consume(userId, code, nowIso) {
      const norm = normaliseRecoveryCode(code);
      if (norm === null) return false;
      const wanted = Buffer.from(hashRecoveryCode(norm), 'hex');
      let match: number | null = null;
      // every stored hash is compared, in constant time each
      for (const r of unused.all(userId)) {
        if (timingSafeEqual(Buffer.from(r.code_hash, 'hex'), wanted)) match = r.id;
      }
      return match !== null && use.run(nowIso, match).changes === 1;
    },
    remaining: (userId) => count.get(userId)!.n,
    clear: (userId) => void del.run(userId),
  };
}
