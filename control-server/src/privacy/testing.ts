import { randomBytes } from 'node:crypto';
import { encryptTemplate, newEventId, type AccessEvent, type MovementEvent, type CameraEvent } from '@portail/protocol';
import type { Database } from 'better-sqlite3';
import sharp from 'sharp';
import { issueStudentCredentialInTx } from '../people/credentials.js';
import { putIdPhotoRow, type IdPhotoKey } from '../people/id-photos.js';
import { getPeopleSite } from '../people/people-sites.js';
import { getStudent, insertTemplate } from '../people/people-store.js';
import { addDays, localDate } from '../people/school-calendar.js';
import type { SigningKeyStore } from '../people/signing-key-store.js';

/**
 * Builders for the privacy tests. `storeBiometricData` writes what enrolment stores (a biometric
 * credential, its encrypted template, optionally an encrypted ID photo) through the people
 * module's own row functions, without running the face models: the privacy tests are about
 * erasure and retention, and enrolment from real photos is tested in people/enrolment.int.test.ts.
 * The template is random bytes and the "photo" a generated grey gradient: no face, nothing written
 * outside the test's SQLite file.
 */
export async function storeBiometricData(
  db: Database,
  keys: SigningKeyStore,
  studentId: number,
  o: { now: Date; idPhotoKey?: IdPhotoKey; modelId?: string; modelSha256?: string },
): Promise<{ credentialId: string }> {
  const jpeg = o.idPhotoKey
    ? new Uint8Array(
        await sharp({ create: { width: 64, height: 80, channels: 3, background: { r: 128, g: 128, b: 128 } } })
          .jpeg()
          .toBuffer(),
      )
    : undefined;
  return db.transaction(() => {
    const student = getStudent(db, studentId)!;
    const at = o.now.toISOString();
    const issued = issueStudentCredentialInTx(db, keys, student, {
      actor: 'test',
      reason: 'enrolled',
      biometric: true,
      now: o.now,
    });
    const key = new Uint8Array(randomBytes(32));
    insertTemplate(
      db,
      encryptTemplate(new Uint8Array(randomBytes(512)), key, {
        credentialId: issued.record.id,
        modelId: o.modelId ?? 'sface-2021dec',
        modelSha256: o.modelSha256 ?? 'a'.repeat(64),
        encoding: 'f32',
      }),
      student.site,
      at,
    );
    key.fill(0);
    if (jpeg && o.idPhotoKey) {
      const settings = getPeopleSite(db, student.site)!.settings;
      putIdPhotoRow(db, o.idPhotoKey, {
        studentId,
        site: student.site,
        jpeg,
        at,
        retainUntil: addDays(localDate(o.now, settings.timeZone), settings.idPhotoRetentionDays),
      });
    }
    return { credentialId: issued.record.id };
  })();
}

const iso = (ms: number) => new Date(ms).toISOString();

export function accessEventAt(site: string, tsMs: number, over: Partial<AccessEvent> = {}): AccessEvent {
  return {
    id: newEventId(),
    v: 1,
    site,
    agent: 'gate-1',
    camera: 'entrance',
    ts: iso(tsMs),
    passageId: `p-${Math.random().toString(36).slice(2, 10)}`,
    credentialId: 'cAAAAAAAA',
    decision: 'accepted',
    biometric: false,
    timingsMs: { credential: 1.2 },
    ...over,
  };
}

export function movementEventAt(site: string, tsMs: number): MovementEvent {
  return {
    id: newEventId(),
    v: 1,
    site,
    agent: 'gate-1',
    camera: 'hall',
    ts: iso(tsMs),
    kind: 'line_crossing',
    rule: 'entry',
    trackId: 't1',
    direction: 'in',
  };
}

export function cameraEventAt(site: string, tsMs: number): CameraEvent {
  return {
    id: newEventId(),
    v: 1,
    site,
    agent: 'gate-1',
    camera: 'hall',
    ts: iso(tsMs),
    state: 'online',
    code: 'OK',
  };
}
