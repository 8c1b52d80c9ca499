import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from 'better-sqlite3';
import { openDatabase } from '../store/database.js';
import { openSigningKeyStore, type SigningKeyStore } from './signing-key-store.js';

/** Builders for the people tests: generated registry files, a temp data dir with the real schema. */

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Shared test data (faces-dev, liveness-samples), read in place and never copied. */
export const PEOPLE_TEST_DATA_DIR = process.env.PORTAIL_DATA_DIR ?? path.resolve(REPO_ROOT, '..', 'shared', 'data');

export const facePhoto = (p: string) => path.join(PEOPLE_TEST_DATA_DIR, 'faces-dev', 'images', p);
export const livenessPhoto = (name: string) => path.join(PEOPLE_TEST_DATA_DIR, 'liveness-samples', name);

export interface GeneratedStudent {
  externalId: string;
  lastName: string;
  firstName: string;
  className: string;
  /** dd/mm/yyyy as the registry writes it */
  birthDate: string;
}

const LAST = [
  'Martin',
  'Bernard',
  'Dubois',
  'Thomas',
  'Robert',
  'Richard',
  'Petit',
  'Durand',
  'Lévêque',
  'Moreau',
  'Laurent',
  'Simon',
  'Michel',
  'Lefèvre',
  'Leroy',
  'Roux',
  'David',
  'Bertrand',
  'Morel',
  'Fournier',
  "N'Diaye",
  'Girard',
  'Bonnet',
  'Dupont',
  'Lambert',
  'Fontaine',
  'Rousseau',
  'Vincent',
  'Müller',
  'Garçon',
];
const FIRST = [
  'Léa',
  'Hugo',
  'Chloé',
  'Lucas',
  'Emma',
  'Louis',
  'Inès',
  'Nathan',
  'Zoé',
  'Théo',
  'Anaïs',
  'Raphaël',
  'Manon',
  'Noé',
  'Jade',
  'Adam',
  'Maëlys',
  'Gabriel',
  'Sarah',
  'Yanis',
  'Océane',
  'Arthur',
  'Lina',
  'Enzo',
  'Camille',
];
const CLASSES = ['2NDE1', '2NDE2', '2NDE3', '2NDE4', '1G1', '1G2', '1G3', '1STMG', 'TG1', 'TG2', 'TG3', 'TSTMG'];

/** Deterministic students: the same `n` and `seed` always give the same list. */
export function generateStudents(n: number, seed = 1): GeneratedStudent[] {
  let x = seed >>> 0 || 1;
  const rnd = () => {
    // xorshift32: reproducible without a dependency
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
  const pick = <T>(a: readonly T[]) => a[Math.floor(rnd() * a.length)]!;
  return Array.from({ length: n }, (_, i) => {
    const day = 1 + Math.floor(rnd() * 28);
    const month = 1 + Math.floor(rnd() * 12);
    const year = 2007 + Math.floor(rnd() * 4);
    return {
      externalId: `E${String(100000 + i)}`,
      lastName: pick(LAST),
      firstName: pick(FIRST),
      className: pick(CLASSES),
      birthDate: `${String(day).padStart(2, '0')}/${String(month).padStart(2, '0')}/${year}`,
    };
  });
}

export const REGISTRY_HEADER = 'Identifiant élève;Nom;Prénom;Division;Date de naissance';

export function registryLine(s: GeneratedStudent): string {
  return [s.externalId, s.lastName, s.firstName, s.className, s.birthDate].join(';');
}

/** The CSV text (header + one line per student, CRLF as Excel writes it). */
export function registryCsv(students: readonly GeneratedStudent[], extraLines: readonly string[] = []): string {
  return [REGISTRY_HEADER, ...students.map(registryLine), ...extraLines].join('\r\n') + '\r\n';
}

/** Windows-1252 bytes of text in the Latin-1 range (what a French Excel export holds). */
export function toWindows1252(text: string): Uint8Array {
  return Uint8Array.from(
    [...text].map((c) => {
      const code = c.charCodeAt(0);
      if (code > 0xff) throw new RangeError(`not Latin-1: ${c}`);
      return code;
    }),
  );
}

export interface PeopleTestEnv {
  dataDir: string;
  db: Database;
  keys: SigningKeyStore;
  close(): void;
}

/** A temp data dir with the server's migrated SQLite file and a signing key store. */
export function openPeopleTestEnv(prefix = 'portail-people-'): PeopleTestEnv {
  const dataDir = mkdtempSync(path.join(tmpdir(), prefix));
  const db = openDatabase({ dataDir });
  const keys = openSigningKeyStore(dataDir);
  return {
    dataDir,
    db,
    keys,
    close() {
      db.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A multipart/form-data body with one file part, for `app.inject` (what a browser's FormData sends). */
export function multipartBody(
  bytes: Uint8Array,
  o: { field?: string; filename?: string; contentType?: string } = {},
): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----portail-test-${Math.random().toString(36).slice(2)}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="${o.field ?? 'file'}"; filename="${o.filename ?? 'upload.bin'}"\r\n` +
      `Content-Type: ${o.contentType ?? 'application/octet-stream'}\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return {
    payload: Buffer.concat([head, Buffer.from(bytes), tail]),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}
