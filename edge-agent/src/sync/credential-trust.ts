import { createPublicKey, type KeyObject } from 'node:crypto';
import type { HeldSync, SyncPublicKey } from '../store/edge-store.js';

/** What the gate checks a token against: the signing public keys and the site code. */
export interface CredentialTrust {
  publicKeys: ReadonlyMap<number, KeyObject>;
  /** null before the site is known: every token is then refused as unknown */
  siteCode: number | null;
  /** `server`: the sync snapshot in force; `local`: the agent's file (bootstrap); `none`: neither yet */
  source: 'server' | 'local' | 'none';
  /** sync version it came with (server only) */
  version: number | null;
}

/**
 * The trust in force, replaced as a whole when a sync snapshot is applied: the gate reads it at
 * every token, so a rotation or a new site code takes effect on the next card, without a restart.
 * The server's keys replace the local ones rather than adding to them, so a retired key stops
 * being accepted.
 */
export interface CredentialTrustHolder {
  current(): CredentialTrust;
  /** the keys (checked with `keyMap` before the snapshot was applied) and site code of a snapshot just applied */
  fromServer(s: { version: number; siteCode: number }, publicKeys: ReadonlyMap<number, KeyObject>): CredentialTrust;
}

export class CredentialKeyError extends Error {
  readonly code = 'EDGE_ERR_SYNC_KEY';
}

/** Parse the PEM public keys of a snapshot; throws CredentialKeyError unless each is an Ed25519 key. */
export function keyMap(keys: readonly SyncPublicKey[]): Map<number, KeyObject> {
  return new Map(
    keys.map((k) => {
      let key: KeyObject;
      try {
        key = createPublicKey(k.pem);
      } catch (err) {
        throw new CredentialKeyError(`publicKeys: key ${k.keyId} is not a readable public key (${(err as Error).message})`);
      }
      if (key.asymmetricKeyType !== 'ed25519') {
        throw new CredentialKeyError(`publicKeys: key ${k.keyId} is ${key.asymmetricKeyType ?? 'unknown'}, not Ed25519`);
      }
      return [k.keyId, key];
    }),
  );
}

/**
 * The trust at startup: the last snapshot the agent applied (it is in agent.sqlite) when there is
 * one, else the local file's `credentials` (siteCode + publicKeys), else none.
 */
export function createCredentialTrust(
  held: HeldSync | undefined,
  local: { siteCode: number; publicKeys: ReadonlyMap<number, KeyObject> } | undefined,
): CredentialTrustHolder {
  let heldKeys: Map<number, KeyObject> | undefined;
  try {
    heldKeys = held ? keyMap(held.publicKeys) : undefined;
  } catch (err) {
    // checked before they were stored, so only a damaged file gets here: the local file, until the next snapshot
    if (!(err instanceof CredentialKeyError)) throw err;
    heldKeys = undefined;
  }
  let trust: CredentialTrust = held && heldKeys
    ? { publicKeys: heldKeys, siteCode: held.siteCode, source: 'server', version: held.version }
    : local
      ? { publicKeys: local.publicKeys, siteCode: local.siteCode, source: 'local', version: null }
      : { publicKeys: new Map(), siteCode: null, source: 'none', version: null };
  return {
    current: () => trust,
    fromServer(s, publicKeys) {
      trust = { publicKeys, siteCode: s.siteCode, source: 'server', version: s.version };
      return trust;
    },
  };
}
