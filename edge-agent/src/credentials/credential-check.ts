import {
  dayNumber,
  decodeCredentialToken,
  type CredentialClaims,
} from '@portail/protocol';
import type { KeyObject } from 'node:crypto';

/** What the edge knows to judge a credential: the deployment's keys, its site, the revocations. */
export interface CredentialContext {
  publicKeys: ReadonlyMap<number, KeyObject>;
  siteCode: number;
  revoked: ReadonlySet<string>;
  now: Date;
}

export type CredentialVerdict =
  | { kind: 'valid'; claims: CredentialClaims }
  | { kind: 'revoked'; credentialId: string }
  | { kind: 'expired'; credentialId: string; lastValidDay: number }
  | { kind: 'unknown_credential'; reason: 'not_a_token' | 'bad_signature' | 'unknown_key' | 'other_site'; credentialId?: string };

/**
 * Judge raw token bytes (from the gate camera's QR or a scanner line). A token is trusted only if
 * its signature verifies; then site, revocation and expiry are checked, in that order, so a
 * revoked card is reported as revoked even after it expired.
 */
export function checkCredential(token: Uint8Array, ctx: CredentialContext): CredentialVerdict {
  const decoded = decodeCredentialToken(token, ctx.publicKeys);
  if (!decoded.ok) {
    const reason = decoded.error.code === 'BAD_SIGNATURE' ? 'bad_signature' : decoded.error.code === 'UNKNOWN_KEY' ? 'unknown_key' : 'not_a_token';
    return { kind: 'unknown_credential', reason };
  }
  const c = decoded.value;
  const dropKey = () => c.templateKey?.fill(0);
  if (c.siteCode !== ctx.siteCode) {
    dropKey();
    return { kind: 'unknown_credential', reason: 'other_site', credentialId: c.credentialId };
  }
  if (ctx.revoked.has(c.credentialId)) {
    dropKey();
    return { kind: 'revoked', credentialId: c.credentialId };
  }
  if (dayNumber(ctx.now) > c.lastValidDay) {
    dropKey();
    return { kind: 'expired', credentialId: c.credentialId, lastValidDay: c.lastValidDay };
  }
  return { kind: 'valid', claims: c };
}
