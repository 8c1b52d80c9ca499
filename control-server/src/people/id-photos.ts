import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import sharp from 'sharp';
import { ControlServerError } from '../infra/errors.js';

/**
 * ID photos for the reception screen, kept only where a site opts in (`keepIdPhotos`). They are
 * re-encoded small (no EXIF, no GPS), encrypted at rest with a server key (AES-256-GCM, the
 * student id as associated data so a row cannot be swapped onto another student), and purged at
 * their own retention date, at departure, on withdrawal and on erasure.
 */
export interface IdPhotoKey {
  /** first 16 hex digits of sha256(key): which key encrypted a row */
  keyId: string;
  key: Uint8Array;
}

export const ID_PHOTO_MAX_SIDE_PX = 480;

/** `<dataDir>/keys/id-photo.key`: 32 random bytes, mode 0600, created on first use. */
export function openIdPhotoKey(dataDir: string): IdPhotoKey {
  const dir = path.join(dataDir, 'keys');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, 'id-photo.key');
  if (!existsSync(file)) writeFileSync(file, randomBytes(32), { mode: 0o600, flag: 'wx' });
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new ControlServerError(
      'SERVER_ERR_KEY_PERMISSIONS',
      `${file} is readable by others (mode ${mode.toString(8)}): chmod 600 it`,
    );
  }
  chmodSync(file, 0o600);
  const key = new Uint8Array(readFileSync(file));
  if (key.length !== 32) throw new ControlServerError('SERVER_ERR_KEY_FILE', `${file} is not a 32-byte key`);
  return { keyId: createHash('sha256').update(key).digest('hex').slice(0, 16), key };
}

const aad = (studentId: number) => Buffer.from(`portail-id-photo-v1|${studentId}`, 'utf8');

/** A small JPEG of the photo without metadata: what the reception screen needs, nothing more. */
export async function reencodeIdPhoto(photo: Uint8Array): Promise<Buffer> {
  return sharp(photo)
    .rotate()
    .resize(ID_PHOTO_MAX_SIDE_PX, ID_PHOTO_MAX_SIDE_PX, { fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality: 85 })
    .toBuffer();
}

/** Inside the caller's transaction: replace the student's kept photo. Zeroes `jpeg`. */
export function putIdPhotoRow(
  db: Database,
  key: IdPhotoKey,
  row: { studentId: number; site: string; jpeg: Uint8Array; at: string; retainUntil: string },
): void {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key.key, iv);
  cipher.setAAD(aad(row.studentId));
  const ciphertext = Buffer.concat([cipher.update(row.jpeg), cipher.final()]);
  row.jpeg.fill(0);
  db.prepare(
    `INSERT INTO id_photos (student_id, site, key_id, iv, ciphertext, tag, created_at, retain_until)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (student_id) DO UPDATE SET site = excluded.site, key_id = excluded.key_id, iv = excluded.iv,
       ciphertext = excluded.ciphertext, tag = excluded.tag, created_at = excluded.created_at,
       retain_until = excluded.retain_until`,
  ).run(row.studentId, row.site, key.keyId, iv, ciphertext, cipher.getAuthTag(), row.at, row.retainUntil);
}

/** The kept photo (JPEG) for the reception screen; the caller zeroes it after sending. */
export function readIdPhoto(db: Database, key: IdPhotoKey, studentId: number): Uint8Array | undefined {
  const r = db
    .prepare<[number], { key_id: string; iv: Buffer; ciphertext: Buffer; tag: Buffer }>(
      'SELECT key_id, iv, ciphertext, tag FROM id_photos WHERE student_id = ?',
    )
    .get(studentId);
  if (!r) return undefined;
  if (r.key_id !== key.keyId) {
    throw new ControlServerError(
      'SERVER_ERR_KEY_FILE',
      `ID photo of student ${studentId} was encrypted with another server key`,
    );
  }
  const d = createDecipheriv('aes-256-gcm', key.key, r.iv);
  d.setAAD(aad(studentId));
  d.setAuthTag(r.tag);
  return new Uint8Array(Buffer.concat([d.update(r.ciphertext), d.final()]));
}

export function deleteIdPhotoRow(db: Database, studentId: number): boolean {
  return db.prepare('DELETE FROM id_photos WHERE student_id = ?').run(studentId).changes > 0;
}
