import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * TOTP (RFC 6238) over HOTP (RFC 4226), written from the RFCs with node:crypto: HMAC-SHA-1, 30 s
 * steps from the Unix epoch, 6 digits, the parameters every authenticator app uses by default.
 */

export const TOTP_STEP_S = 30;
export const TOTP_DIGITS = 6;
/** steps accepted either side of now, for clock drift and typing time (RFC 6238 §5.2) */
export const TOTP_WINDOW_STEPS = 1;

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding, the form authenticator apps expect in otpauth:// URIs. */
export function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

export function base32Decode(text: string): Buffer {
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of clean) {
    const idx = BASE32.indexOf(ch);
    if (idx < 0) throw new RangeError(`not a base32 character: ${ch}`);
    value = (value << 5) | idx;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** HOTP(K, C) = Truncate(HMAC-SHA-1(K, C)) mod 10^digits, C as an 8-byte big-endian counter. */
export function hotp(
  key: Uint8Array,
  counter: number,
  digits = TOTP_DIGITS,
  algorithm: 'sha1' | 'sha256' | 'sha512' = 'sha1',
): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac(algorithm, key).update(msg).digest();
  // dynamic truncation (RFC 4226 §5.3)
  const offset = mac[mac.length - 1]! & 0x0f;
  const code = ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!;
  return String(code % 10 ** digits).padStart(digits, '0');
}

export function totpAt(
  key: Uint8Array,
  nowMs: number,
  opts: { digits?: number; algorithm?: 'sha1' | 'sha256' | 'sha512' } = {},
): string {
  return hotp(key, Math.floor(nowMs / 1000 / TOTP_STEP_S), opts.digits ?? TOTP_DIGITS, opts.algorithm ?? 'sha1');
}

/** A fresh 160-bit secret (RFC 4226 §4 recommends 160 bits), base32. */
export function newTotpSecret(): string {
  return base32Encode(randomBytes(20));
}

/** Check a 6-digit code against the secret at `nowMs`, ±1 step; constant-time per candidate. */
export function verifyTotp(secretBase32: string, code: string, nowMs: number): boolean {
  return matchTotpStep(secretBase32, code, nowMs) !== null;
}

/**
 * The time step a code belongs to (now ±1 step), or null. A caller that remembers the last step
 * accepted refuses a step at or before it: a code seen over a shoulder cannot be replayed.
 */
export function matchTotpStep(secretBase32: string, code: string, nowMs: number): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  let key: Buffer;
  try {
    key = base32Decode(secretBase32);
  } catch {
    // a corrupt stored secret can never match
    return null;
  }
  const step = Math.floor(nowMs / 1000 / TOTP_STEP_S);
  let matched: number | null = null;
  for (let d = -TOTP_WINDOW_STEPS; d <= TOTP_WINDOW_STEPS; d++) {
    const expected = hotp(key, step + d);
    // no early exit: every candidate is compared
    if (timingSafeEqual(Buffer.from(expected), Buffer.from(code))) matched = step + d;
  }
  return matched;
}

/** otpauth:// URI for authenticator apps (Key Uri Format), to show as a QR code or type in. */
export function totpUri(secretBase32: string, account: string, issuer = 'Portail'): string {
  const label = encodeURIComponent(`${issuer}:${account}`);
  const params = new URLSearchParams({ secret: secretBase32, issuer, algorithm: 'SHA1', digits: '6', period: '30' });
  return `otpauth://totp/${label}?${params.toString()}`;
}
