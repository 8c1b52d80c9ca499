import type { AccessEvent } from '@portail/protocol';
import type { Database } from 'better-sqlite3';
import sharp from 'sharp';
import { openIdPhotoKey, putIdPhotoRow } from '../people/id-photos.js';
import { updatePeopleSiteSettings } from '../people/people-sites.js';
import { insertCredential } from '../people/people-store.js';
import type { EventRepository } from '../repositories/event-repository.js';
import { makeAccessEvent } from './fixtures.js';

/**
 * Test fixtures of the gate view: a student's credential, optionally a kept "ID photo" and an access
 * event that names the credential. The photo is a synthetic image (flat colours, no face): tests never
 * store a face.
 */
export async function syntheticIdPhoto(): Promise<Buffer> {
  return sharp({ create: { width: 96, height: 120, channels: 3, background: { r: 40, g: 90, b: 160 } } })
    .composite([
      {
        input: await sharp({ create: { width: 48, height: 48, channels: 3, background: { r: 230, g: 200, b: 80 } } })
          .png()
          .toBuffer(),
        left: 24,
        top: 20,
      },
    ])
    .jpeg()
    .toBuffer();
}

export interface SeedPassageOptions {
  site: string;
  studentId: number;
  decision?: AccessEvent['decision'];
  /** keep a synthetic ID photo for the student (and turn `keepIdPhotos` on at the site) */
  photo?: boolean;
  ts?: string;
}

export async function seedPassage(
  env: { db: Database; dataDir: string; events: EventRepository },
  o: SeedPassageOptions,
): Promise<{ eventId: string; credentialId: string }> {
  const at = new Date().toISOString();
  const cred = insertCredential(env.db, {
    site: o.site,
    holderKind: 'student',
    studentId: o.studentId,
    biometric: false,
    keyId: 1,
    lastValidDay: 30_000,
    validUntil: '2099-08-31',
    issuedAt: at,
    issuedBy: 'test',
  });
  if (o.photo) {
    const r = updatePeopleSiteSettings(env.db, o.site, { keepIdPhotos: true });
    if (!r.ok) throw new Error(r.error.message);
    putIdPhotoRow(env.db, openIdPhotoKey(env.dataDir), {
      studentId: o.studentId,
      site: o.site,
      jpeg: new Uint8Array(await syntheticIdPhoto()),
      at,
      retainUntil: '2099-01-01',
    });
  }
  const event = makeAccessEvent(o.site, 'gate-1', {
    credentialId: cred.id,
    decision: o.decision ?? 'confirmed',
    ...(o.ts ? { ts: o.ts } : {}),
  });
  env.events.insert('access', event, at);
  return { eventId: event.id, credentialId: cred.id };
}
