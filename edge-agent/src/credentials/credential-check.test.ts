import { randomBytes } from 'node:crypto';
import { credentialIdFromBytes, dayNumber, encodeCredentialToken, generateSigningKey } from '@portail/protocol';
import { describe, expect, it } from 'vitest';
import { checkCredential, type CredentialContext } from './credential-check.js';

const key = generateSigningKey(3);
const other = generateSigningKey(3);
const now = new Date('2026-11-23T07:55:00Z');
const ctx: CredentialContext = { publicKeys: new Map([[3, key.publicKey]]), siteCode: 12, revoked: new Set(['crevokedd']), now };
const token = (o: { id?: string; site?: number; lastDay?: number; withKey?: boolean; signer?: typeof key } = {}) =>
  encodeCredentialToken(
    {
      credentialId: o.id ?? credentialIdFromBytes(randomBytes(5)),
      siteCode: o.site ?? 12,
      lastValidDay: o.lastDay ?? dayNumber(now) + 30,
      keyId: 3,
      ...(o.withKey ? { templateKey: new Uint8Array(randomBytes(32)) } : {}),
    },
    (o.signer ?? key).privateKey,
  );

describe('checkCredential', () => {
  it('accepts a valid token and hands over its template key', () => {
    const v = checkCredential(token({ withKey: true }), ctx);
    expect(v.kind).toBe('valid');
    expect(v.kind === 'valid' && v.claims.templateKey?.length).toBe(32);
  });

  it('is valid through its last day and expired the day after', () => {
    expect(checkCredential(token({ lastDay: dayNumber(now) }), ctx).kind).toBe('valid');
    expect(checkCredential(token({ lastDay: dayNumber(now) - 1 }), ctx)).toMatchObject({ kind: 'expired' });
  });

  it('reports revoked before expired', () => {
    const t = token({ id: 'crevokedd', lastDay: 10, withKey: true });
    expect(checkCredential(t, ctx)).toEqual({ kind: 'revoked', credentialId: 'crevokedd' });
  });

  it('refuses a token of another site, a forged one, and garbage from a QR code', () => {
    expect(checkCredential(token({ site: 13 }), ctx)).toMatchObject({ kind: 'unknown_credential', reason: 'other_site' });
    expect(checkCredential(token({ signer: other }), ctx)).toMatchObject({ kind: 'unknown_credential', reason: 'bad_signature' });
    expect(checkCredential(new TextEncoder().encode('WIFI:S:lycee;T:WPA;P:secret;;'), ctx)).toMatchObject({
      kind: 'unknown_credential',
      reason: 'not_a_token',
    });
  });
});
