import { randomBytes } from 'node:crypto';
import QRCode from 'qrcode';
import { describe, expect, it } from 'vitest';
import {
  credentialIdFromBytes,
  credentialIdToBytes,
  dayNumber,
  decodeCredentialToken,
  encodeCredentialToken,
  generateSigningKey,
  tokenFromText,
  tokenToText,
  type CredentialClaims,
} from './token.js';

const k1 = generateSigningKey(1);
const k2 = generateSigningKey(2);
const keys = new Map([[1, k1.publicKey]]);
const claims = (withKey: boolean): CredentialClaims => ({
  credentialId: credentialIdFromBytes(randomBytes(5)),
  siteCode: 4242,
  lastValidDay: dayNumber(new Date('2027-07-05T00:00:00Z')),
  keyId: 1,
  ...(withKey ? { templateKey: new Uint8Array(randomBytes(32)) } : {}),
});

describe('credential token', () => {
  it('round-trips claims, with and without a template key', () => {
    for (const withKey of [false, true]) {
      const c = claims(withKey);
      const tok = encodeCredentialToken(c, k1.privateKey);
      expect(tok.length).toBe(withKey ? 106 : 74);
      const r = decodeCredentialToken(tok, keys);
      expect(r).toEqual({ ok: true, value: c });
    }
  });

  it('fits a version ≤ 6 QR code at error correction M, even with a template key', () => {
    const tok = encodeCredentialToken(claims(true), k1.privateKey);
    const qr = QRCode.create([{ data: tok, mode: 'byte' }], { errorCorrectionLevel: 'M' });
    expect(qr.version).toBeLessThanOrEqual(6);
  });

  it('rejects any single flipped bit (signature), and a wrong or unknown signing key', () => {
    const tok = encodeCredentialToken(claims(true), k1.privateKey);
    for (let bit = 0; bit < tok.length * 8; bit += 7) {
      const bad = Uint8Array.from(tok);
      bad[bit >> 3]! ^= 1 << (bit & 7);
      const r = decodeCredentialToken(bad, keys);
      expect(r.ok, `bit ${bit}`).toBe(false);
    }
    const forged = encodeCredentialToken({ ...claims(false), keyId: 1 }, k2.privateKey);
    expect(decodeCredentialToken(forged, keys)).toMatchObject({ ok: false, error: { code: 'BAD_SIGNATURE' } });
    const unknownKey = encodeCredentialToken({ ...claims(false), keyId: 2 }, k2.privateKey);
    expect(decodeCredentialToken(unknownKey, keys)).toMatchObject({ ok: false, error: { code: 'UNKNOWN_KEY' } });
  });

  it('rejects garbage and truncated tokens with a clear code', () => {
    expect(decodeCredentialToken(new Uint8Array(0), keys)).toMatchObject({ ok: false, error: { code: 'MALFORMED' } });
    expect(decodeCredentialToken(new TextEncoder().encode('https://example.org/not-a-token'), keys)).toMatchObject({ ok: false });
    const tok = encodeCredentialToken(claims(true), k1.privateKey);
    expect(decodeCredentialToken(tok.subarray(0, 80), keys)).toMatchObject({ ok: false, error: { code: 'MALFORMED' } });
    const v2 = Uint8Array.from(tok);
    v2[0] = (2 << 5) | (v2[0]! & 0x1f);
    expect(decodeCredentialToken(v2, keys)).toMatchObject({ ok: false, error: { code: 'BAD_VERSION' } });
  });

  it('has a text form for line scanners', () => {
    const tok = encodeCredentialToken(claims(true), k1.privateKey);
    expect(tokenFromText(`${tokenToText(tok)}\r`)).toEqual(tok);
    expect(tokenFromText('hello world')).toBeUndefined();
  });

  it('credential ids are 8 base32 characters that round-trip', () => {
    const b = new Uint8Array([0xff, 0, 0x12, 0x34, 0x56]);
    const id = credentialIdFromBytes(b);
    expect(id).toMatch(/^c[a-z2-7]{8}$/);
    expect(credentialIdToBytes(id)).toEqual(b);
    expect(() => credentialIdToBytes('Alice')).toThrow(RangeError);
  });
});
