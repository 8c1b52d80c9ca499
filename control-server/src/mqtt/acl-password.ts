import { pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * MQTT account passwords, hashed in Mosquitto 2's own format: `$7$<iterations>$<salt b64>$<hash b64>`,
 * PBKDF2-HMAC-SHA512, 12-byte salt, 64-byte key, 101 iterations (what `mosquitto_passwd` writes).
 *
 * Why not argon2id as for operators: the same stored hash has to be checked by the embedded broker
 * AND written into Mosquitto's `password_file` at any later time (`portail-admin mqtt export`, after
 * every revocation), without the plaintext. A slow hash protects guessable passwords; agent
 * passwords are 256 random bits made by `agent provision`, which no hash speed makes guessable, so
 * Mosquitto's format costs nothing in strength and gives one source of truth.
 */
export const MQTT_PASSWORD_ITERATIONS = 101;
const SALT_BYTES = 12;
const KEY_BYTES = 64;

/** A new agent / server MQTT password: 32 random bytes, base64url (43 characters, no padding). */
export function newMqttPassword(): string {
  return randomBytes(32).toString('base64url');
}

export function hashMqttPassword(password: string, opts: { salt?: Buffer; iterations?: number } = {}): string {
  const salt = opts.salt ?? randomBytes(SALT_BYTES);
  const iterations = opts.iterations ?? MQTT_PASSWORD_ITERATIONS;
  const key = pbkdf2Sync(password, salt, iterations, KEY_BYTES, 'sha512');
  return `$7$${iterations}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Constant-time check; a malformed stored hash is simply a failed check. */
export function verifyMqttPassword(password: string, stored: string): boolean {
  const m = /^\$7\$(\d{1,7})\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored);
  if (!m) return false;
  const iterations = Number(m[1]);
  if (iterations < 1) return false;
  const salt = Buffer.from(m[2]!, 'base64');
  const expected = Buffer.from(m[3]!, 'base64');
  if (expected.length === 0) return false;
  const key = pbkdf2Sync(password, salt, iterations, expected.length, 'sha512');
  return timingSafeEqual(key, expected);
}
