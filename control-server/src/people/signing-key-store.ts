import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ControlServerError } from '../infra/errors.js';

/**
 * The deployment's Ed25519 credential-signing keys, in the data directory:
 *
 *   <dataDir>/keys/credential-signing/keys.json     public keys (PEM), which one is current
 *   <dataDir>/keys/credential-signing/key-<id>.pem  private key (PKCS#8 PEM), mode 0600
 *
 * The token has 4 bits of key id, so at most 16 keys are listed at once. Rotation makes a new key
 * current and keeps the old ones listed (agents keep accepting the cards they signed) until
 * `retire`, which the credential service allows once no live credential uses the key.
 */
export interface SigningKeyInfo {
  keyId: number;
  createdAt: string;
  /** first 16 hex digits of the sha256 of the public key (SPKI DER) */
  fingerprint: string;
  publicKeyPem: string;
  current: boolean;
}

export interface SigningKeyStore {
  readonly dir: string;
  current(): SigningKeyInfo & { privateKey: KeyObject };
  /** the private key of a listed key, to sign tokens of credentials issued under it */
  privateKey(keyId: number): KeyObject | undefined;
  /** every listed public key, for verifying tokens and for the agents' configuration */
  publicKeys(): ReadonlyMap<number, KeyObject>;
  list(): SigningKeyInfo[];
  /** a new current key; the previous ones stay listed */
  rotate(now?: Date): SigningKeyInfo;
  /** delete a non-current key (private file and listing) */
  retire(keyId: number): void;
}

interface Manifest {
  version: 1;
  current: number;
  keys: { keyId: number; createdAt: string; publicKeyPem: string }[];
}

const MANIFEST = 'keys.json';
const MAX_KEYS = 16;

export function signingKeyDir(dataDir: string): string {
  return path.join(dataDir, 'keys', 'credential-signing');
}

function fingerprintOf(pub: KeyObject): string {
  return createHash('sha256')
    .update(pub.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

/**
 * The public keys listed in `<dataDir>/keys/credential-signing/keys.json`, read from the file each
 * time (the CLI rotates keys in another process), without touching private keys; null when the
 * deployment has no key yet. For the site sync, which sends them to the agents.
 */
export function readPublicSigningKeys(dataDir: string): { keyId: number; publicKeyPem: string }[] | null {
  const file = path.join(signingKeyDir(dataDir), MANIFEST);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const manifest = JSON.parse(text) as Manifest;
  if (manifest.version !== 1 || !Array.isArray(manifest.keys)) {
    throw new ControlServerError('SERVER_ERR_SIGNING_KEYS', `${file} is not a valid key list`);
  }
  return manifest.keys.map((k) => ({ keyId: k.keyId, publicKeyPem: k.publicKeyPem })).sort((a, b) => a.keyId - b.keyId);
}

/** Write then rename: a crash leaves the old file or the new one, never half of one. */
function writeAtomic(file: string, text: string, mode: number): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode, flag: 'w' });
  chmodSync(tmp, mode);
  renameSync(tmp, file);
}

/**
 * Open the key store in `dataDir`, creating the first key (id 1) when there is none. Refuses a
 * private key file readable by others, as ssh does, rather than using a key that may have leaked.
 */
export function openSigningKeyStore(dataDir: string, now: () => Date = () => new Date()): SigningKeyStore {
  const dir = signingKeyDir(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const manifestFile = path.join(dir, MANIFEST);
  const keyFile = (id: number) => path.join(dir, `key-${id}.pem`);

  const generate = (keyId: number, at: Date) => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    writeAtomic(keyFile(keyId), privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600);
    return {
      keyId,
      createdAt: at.toISOString(),
      publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    };
  };

  let manifest: Manifest;
  if (existsSync(manifestFile)) {
    manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest;
    if (manifest.version !== 1 || !manifest.keys.some((k) => k.keyId === manifest.current)) {
      throw new ControlServerError('SERVER_ERR_SIGNING_KEYS', `${manifestFile} is not a valid key list`);
    }
  } else {
    manifest = { version: 1, current: 1, keys: [generate(1, now())] };
    writeAtomic(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`, 0o600);
  }

  const privates = new Map<number, KeyObject>();
  const loadPrivate = (keyId: number): KeyObject | undefined => {
    const cached = privates.get(keyId);
    if (cached) return cached;
    const file = keyFile(keyId);
    if (!existsSync(file)) return undefined;
    const mode = statSync(file).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new ControlServerError(
        'SERVER_ERR_KEY_PERMISSIONS',
        `${file} is readable by others (mode ${mode.toString(8)}): chmod 600 it, and rotate the key if it may have leaked`,
      );
    }
    const key = createPrivateKey(readFileSync(file, 'utf8'));
    privates.set(keyId, key);
    return key;
  };
  const publics = () => new Map(manifest.keys.map((k) => [k.keyId, createPublicKey(k.publicKeyPem)]));
  const info = (k: Manifest['keys'][number]): SigningKeyInfo => ({
    ...k,
    fingerprint: fingerprintOf(createPublicKey(k.publicKeyPem)),
    current: k.keyId === manifest.current,
  });
  const save = () => writeAtomic(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`, 0o600);

  // fail at open, not at the first card, when the current key is unusable
  if (!loadPrivate(manifest.current)) {
    throw new ControlServerError(
      'SERVER_ERR_SIGNING_KEYS',
      `the current signing key ${keyFile(manifest.current)} is missing`,
    );
  }

  return {
    dir,
    current() {
      const k = manifest.keys.find((x) => x.keyId === manifest.current)!;
      return { ...info(k), privateKey: loadPrivate(k.keyId)! };
    },
    privateKey(keyId) {
      return manifest.keys.some((k) => k.keyId === keyId) ? loadPrivate(keyId) : undefined;
    },
    publicKeys: publics,
    list() {
      return manifest.keys.map(info);
    },
    rotate(at = now()) {
      if (manifest.keys.length >= MAX_KEYS) {
        throw new ControlServerError('SERVER_ERR_SIGNING_KEYS', `${MAX_KEYS} keys listed: retire an old one first`);
      }
      const used = new Set(manifest.keys.map((k) => k.keyId));
      let id = manifest.current;
      do id = (id + 1) % MAX_KEYS;
      while (used.has(id));
      const entry = generate(id, at);
      manifest = { ...manifest, current: id, keys: [...manifest.keys, entry] };
      save();
      return info(entry);
    },
    retire(keyId) {
      if (keyId === manifest.current) {
        throw new ControlServerError('SERVER_ERR_SIGNING_KEYS', 'the current key cannot be retired: rotate first');
      }
      if (!manifest.keys.some((k) => k.keyId === keyId)) {
        throw new ControlServerError('SERVER_ERR_SIGNING_KEYS', `no signing key ${keyId}`);
      }
      manifest = { ...manifest, keys: manifest.keys.filter((k) => k.keyId !== keyId) };
      save();
      privates.delete(keyId);
      rmSync(keyFile(keyId), { force: true });
    },
  };
}
