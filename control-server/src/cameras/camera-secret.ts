import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ControlServerError } from '../infra/errors.js';

/**
 * Camera URLs at rest: AES-256-GCM under a server key file (`<dataDir>/keys/camera-url.key`, 32
 * random bytes, mode 0600, made on first use), as people/id-photos.ts does for ID photos. The
 * camera's identity (site, agent, camera) is the associated data, so a ciphertext copied onto
 * another camera's row does not decrypt. A database dump without the key file reveals no password.
 */
export interface CameraSecretKey {
  /** first 16 hex digits of sha256(key): which key sealed a row */
  keyId: string;
  key: Uint8Array;
}

export interface SealedSecret {
  keyId: string;
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

export function openCameraSecretKey(dataDir: string): CameraSecretKey {
  const dir = path.join(dataDir, 'keys');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, 'camera-url.key');
  if (!existsSync(file)) {
    try {
      writeFileSync(file, randomBytes(32), { mode: 0o600, flag: 'wx' });
    } catch (err) {
      // another process (portail-admin) made it between the check and the write: use theirs
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new ControlServerError(
      'SERVER_ERR_KEY_PERMISSIONS',
      `${file} is readable by others (mode ${mode.toString(8)}): chmod 600 it`,
    );
  }
  const key = new Uint8Array(readFileSync(file));
  if (key.length !== 32) throw new ControlServerError('SERVER_ERR_KEY_FILE', `${file} is not a 32-byte key`);
  return { keyId: createHash('sha256').update(key).digest('hex').slice(0, 16), key };
}

export interface CameraRef {
  site: string;
  agent: string;
  camera: string;
}

const aad = (ref: CameraRef) => Buffer.from(`portail-camera-url-v1|${ref.site}|${ref.agent}|${ref.camera}`, 'utf8');

export function sealCameraUrl(key: CameraSecretKey, ref: CameraRef, url: string): SealedSecret {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key.key, iv);
  cipher.setAAD(aad(ref));
  const plain = Buffer.from(url, 'utf8');
  try {
    const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
    return { keyId: key.keyId, iv, ciphertext, tag: cipher.getAuthTag() };
  } finally {
    plain.fill(0);
  }
}

export function openSealedCameraUrl(key: CameraSecretKey, ref: CameraRef, sealed: SealedSecret): string {
  if (sealed.keyId !== key.keyId) {
    throw new ControlServerError(
      'SERVER_ERR_KEY_FILE',
      `the URL of camera ${ref.site}/${ref.agent}/${ref.camera} was encrypted with another server key: register it again`,
    );
  }
  const d = createDecipheriv('aes-256-gcm', key.key, sealed.iv);
  d.setAAD(aad(ref));
  d.setAuthTag(sealed.tag);
  return Buffer.concat([d.update(sealed.ciphertext), d.final()]).toString('utf8');
}
