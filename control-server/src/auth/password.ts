import { hash, verify } from '@node-rs/argon2';

/**
 * Password hashing with argon2id (RFC 9106) through @node-rs/argon2: its native binary ships inside
 * a platform package of the npm registry (no install script, nothing downloaded at install time).
 * Parameters are OWASP's first argon2id setting (19 MiB, 2 passes, 1 lane): ~20 ms on one core
 * here, slow enough for an offline attacker, cheap enough for a login burst at 8 am. They are in
 * the PHC string, so raising them later only affects new hashes.
 */
export const ARGON2_PARAMS = {
  // Algorithm.Argon2id: the package declares a `const enum` whose runtime object is empty, so the value is spelt out
  algorithm: 2,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

export const MIN_PASSWORD_LENGTH = 12;
/** a bound on the work an anonymous login can ask for */
export const MAX_PASSWORD_LENGTH = 256;

export type PasswordProblem = 'TOO_SHORT' | 'TOO_LONG' | 'SAME_AS_USERNAME';

/** Length is what matters (NIST SP 800-63B §5.1.1.2): no composition rules, no forced rotation. */
export function checkPasswordPolicy(password: string, username: string): PasswordProblem | null {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) return 'TOO_SHORT';
  if (length > MAX_PASSWORD_LENGTH) return 'TOO_LONG';
  if (password.toLowerCase() === username.toLowerCase()) return 'SAME_AS_USERNAME';
  return null;
}

/** A PHC string `$argon2id$v=19$m=…,t=…,p=…$salt$hash` with a fresh random 16-byte salt. */
export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_PARAMS);
}

/** Constant-time comparison inside argon2's verify; a malformed stored hash is a mismatch, not a crash. */
export async function verifyPassword(phc: string, password: string): Promise<boolean> {
  if (password.length > MAX_PASSWORD_LENGTH * 4) return false;
  try {
    return await verify(phc, password);
  } catch {
    // an unparsable hash (e.g. a disabled account's placeholder) can never match
    return false;
  }
}

let dummyHash: Promise<string> | null = null;

/**
 * Verify against a throw-away hash so that a login for an unknown username costs the same time as
 * one for a known username with a wrong password (no user enumeration by timing).
 */
export async function burnVerifyTime(password: string): Promise<void> {
  dummyHash ??= hashPassword('portail-dummy-password-for-timing');
  await verifyPassword(await dummyHash, password);
}
