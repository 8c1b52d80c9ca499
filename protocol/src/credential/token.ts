import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

/**
 * Credential token, version 1: what a student's QR code carries. Binary, so that a token with a
 * 256-bit template key still fits a version-6 QR code at error correction M (106 bytes):
 *
 *   byte 0      bits 7-5 version (1), bit 4 has-template-key, bits 3-0 signing key id (rotation)
 *   bytes 1-5   credential id (40 random bits; pseudonymous, unique per deployment)
 *   bytes 6-7   site code (uint16 BE, assigned by the control server)
 *   bytes 8-9   last valid day (uint16 BE, days since 2024-01-01 UTC)
 *   [32 bytes   AES-256 template key, only for students enrolled in biometrics]
 *   64 bytes    Ed25519 signature over everything before it
 *
 * No name, class or date of birth: the token is useless to whoever photographs the card, except
 * to unlock that one student's encrypted template.
 */
export const TOKEN_VERSION = 1;
export const TOKEN_HEADER_BYTES = 10;
export const TEMPLATE_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const DAY_EPOCH_MS = Date.UTC(2024, 0, 1);

export interface CredentialClaims {
  /** 'c' + 8 base32 characters of the 40-bit id */
  credentialId: string;
  siteCode: number;
  /** last valid day, days since 2024-01-01 UTC */
  lastValidDay: number;
  keyId: number;
  /** present only for students enrolled in biometrics; callers must zero it after use */
  templateKey?: Uint8Array;
}

export type TokenErrorCode = 'MALFORMED' | 'BAD_VERSION' | 'UNKNOWN_KEY' | 'BAD_SIGNATURE';
export interface TokenError {
  code: TokenErrorCode;
  message: string;
}

const B32 = 'abcdefghijklmnopqrstuvwxyz234567';

export function credentialIdFromBytes(b: Uint8Array): string {
  if (b.length !== 5) throw new RangeError('credential id is 5 bytes');
  let bits = 0n;
  for (const x of b) bits = (bits << 8n) | BigInt(x);
  let s = '';
  for (let i = 7; i >= 0; i--) s += B32[Number((bits >> BigInt(i * 5)) & 31n)];
  return `c${s}`;
}

export function credentialIdToBytes(id: string): Uint8Array {
  if (!/^c[a-z2-7]{8}$/.test(id)) throw new RangeError(`invalid credential id ${JSON.stringify(id)}`);
  let bits = 0n;
  for (const ch of id.slice(1)) bits = (bits << 5n) | BigInt(B32.indexOf(ch));
  const out = new Uint8Array(5);
  for (let i = 4; i >= 0; i--) {
    out[i] = Number(bits & 0xffn);
    bits >>= 8n;
  }
  return out;
}

export function dayNumber(date: Date): number {
  return Math.floor((date.getTime() - DAY_EPOCH_MS) / 86_400_000);
}

export function dayToDate(day: number): Date {
  return new Date(DAY_EPOCH_MS + day * 86_400_000);
}

/** Sign claims into token bytes (server side). */
export function encodeCredentialToken(claims: CredentialClaims, privateKey: KeyObject): Uint8Array {
  if (!Number.isInteger(claims.keyId) || claims.keyId < 0 || claims.keyId > 15) throw new RangeError('keyId must be 0..15');
  if (!Number.isInteger(claims.siteCode) || claims.siteCode < 0 || claims.siteCode > 0xffff) throw new RangeError('siteCode must be 0..65535');
  if (!Number.isInteger(claims.lastValidDay) || claims.lastValidDay < 0 || claims.lastValidDay > 0xffff) throw new RangeError('lastValidDay out of range');
  if (claims.templateKey && claims.templateKey.length !== TEMPLATE_KEY_BYTES) throw new RangeError('template key must be 32 bytes');
  const body = new Uint8Array(TOKEN_HEADER_BYTES + (claims.templateKey ? TEMPLATE_KEY_BYTES : 0));
  body[0] = (TOKEN_VERSION << 5) | (claims.templateKey ? 0x10 : 0) | claims.keyId;
  body.set(credentialIdToBytes(claims.credentialId), 1);
  new DataView(body.buffer).setUint16(6, claims.siteCode);
  new DataView(body.buffer).setUint16(8, claims.lastValidDay);
  if (claims.templateKey) body.set(claims.templateKey, TOKEN_HEADER_BYTES);
  const sig = sign(null, body, privateKey);
  const out = new Uint8Array(body.length + SIGNATURE_BYTES);
  out.set(body);
  out.set(sig, body.length);
  body.fill(0);
  return out;
}

/** Parse and verify token bytes against the deployment's public keys (edge side). */
export function decodeCredentialToken(
  token: Uint8Array,
  publicKeys: ReadonlyMap<number, KeyObject>,
): { ok: true; value: CredentialClaims } | { ok: false; error: TokenError } {
  const fail = (code: TokenErrorCode, message: string) => ({ ok: false as const, error: { code, message } });
  if (token.length !== TOKEN_HEADER_BYTES + SIGNATURE_BYTES && token.length !== TOKEN_HEADER_BYTES + TEMPLATE_KEY_BYTES + SIGNATURE_BYTES) {
    return fail('MALFORMED', `token of ${token.length} bytes is not a Portail credential`);
  }
  const b0 = token[0]!;
  if (b0 >> 5 !== TOKEN_VERSION) return fail('BAD_VERSION', `token version ${b0 >> 5} is not supported`);
  const hasKey = (b0 & 0x10) !== 0;
  const expectedLen = TOKEN_HEADER_BYTES + (hasKey ? TEMPLATE_KEY_BYTES : 0) + SIGNATURE_BYTES;
  if (token.length !== expectedLen) return fail('MALFORMED', 'token length does not match its flags');
  const keyId = b0 & 0x0f;
  const pub = publicKeys.get(keyId);
  if (!pub) return fail('UNKNOWN_KEY', `no public key with id ${keyId}`);
  const bodyLen = token.length - SIGNATURE_BYTES;
  if (!verify(null, token.subarray(0, bodyLen), pub, token.subarray(bodyLen))) return fail('BAD_SIGNATURE', 'signature does not verify');
  const view = new DataView(token.buffer, token.byteOffset, token.byteLength);
  const claims: CredentialClaims = {
    credentialId: credentialIdFromBytes(token.subarray(1, 6)),
    siteCode: view.getUint16(6),
    lastValidDay: view.getUint16(8),
    keyId,
  };
  // a copy: the caller zeroes it after use without touching the token buffer
  if (hasKey) claims.templateKey = Uint8Array.from(token.subarray(TOKEN_HEADER_BYTES, TOKEN_HEADER_BYTES + TEMPLATE_KEY_BYTES));
  return { ok: true, value: claims };
}

/** Text form for line scanners and URLs: base64url without padding. */
export function tokenToText(token: Uint8Array): string {
  return Buffer.from(token).toString('base64url');
}

export function tokenFromText(text: string): Uint8Array | undefined {
  const t = text.trim();
  if (!/^[A-Za-z0-9_-]{90,160}$/.test(t)) return undefined;
  return new Uint8Array(Buffer.from(t, 'base64url'));
}

export interface SigningKeyPair {
  keyId: number;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function generateSigningKey(keyId: number): SigningKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { keyId, privateKey, publicKey };
}

export function publicKeyFromPem(pem: string): KeyObject {
  return createPublicKey(pem);
}

export function privateKeyFromPem(pem: string): KeyObject {
  return createPrivateKey(pem);
}
