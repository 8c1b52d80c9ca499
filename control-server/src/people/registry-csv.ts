import { parse } from 'csv-parse/sync';

/**
 * The school's student list, as exported by its information system (SIECLE and the like): UTF-8
 * or Windows-1252, `;` or `,` separated, French headers in many spellings. Parsing is pure: bytes
 * in, records and a line-by-line report out; nothing is written until the whole file is known.
 */
export interface StudentRecord {
  /** the school's own pupil id (identifiant élève / INE): the key of idempotent re-imports */
  externalId: string;
  lastName: string;
  firstName: string;
  className: string;
  /** ISO date YYYY-MM-DD */
  birthDate: string;
  /** 1-based line of the file, for reports */
  line: number;
}

export interface RowError {
  line: number;
  column: string | null;
  reason: string;
  /** the row's pupil id when readable: an import must not mark that student departed */
  externalId?: string;
}

export type RegistryField = 'externalId' | 'lastName' | 'firstName' | 'className' | 'birthDate';

/** Header spellings per field, compared after normalisation (lower case, no accents, single spaces). */
export const DEFAULT_COLUMN_ALIASES: Readonly<Record<RegistryField, readonly string[]>> = {
  externalId: ['identifiant eleve', 'id eleve', 'identifiant', 'ine', 'numero eleve', 'elenoet', 'eleve id', 'id'],
  lastName: ['nom', 'nom de famille', 'nom eleve', 'nom d usage'],
  firstName: ['prenom', 'prenom 1', 'prenom eleve', 'premier prenom'],
  className: ['classe', 'division', 'div', 'classe eleve'],
  birthDate: ['date de naissance', 'date naissance', 'date naiss', 'ne le', 'nee le', 'ne e le', 'naissance'],
};

export interface ParseOptions {
  /** extra or replacement header spellings per field (site configuration) */
  columns?: Partial<Record<RegistryField, readonly string[]>>;
  /** refuse files above this many data rows */
  maxRows?: number;
}

export type ParseResult =
  | { ok: true; encoding: 'utf-8' | 'windows-1252'; delimiter: ';' | ','; records: StudentRecord[]; errors: RowError[] }
  | {
      ok: false;
      error: {
        code:
          | 'REGISTRY_ERR_EMPTY'
          | 'REGISTRY_ERR_COLUMNS'
          | 'REGISTRY_ERR_FORMAT'
          | 'REGISTRY_ERR_ENCODING'
          | 'REGISTRY_ERR_TOO_LARGE';
        message: string;
      };
    };

export function normaliseHeader(h: string): string {
  return h
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

/** UTF-8 when the bytes are valid UTF-8 (with or without BOM), else Windows-1252 (what Excel writes in France). */
export function decodeRegistryBytes(bytes: Uint8Array): { text: string; encoding: 'utf-8' | 'windows-1252' } {
  try {
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
    return { text, encoding: 'utf-8' };
  } catch {
    // not valid UTF-8: the other encoding these exports come in
    return { text: new TextDecoder('windows-1252').decode(bytes), encoding: 'windows-1252' };
  }
}

function detectDelimiter(headerLine: string): ';' | ',' {
  return (headerLine.match(/;/g)?.length ?? 0) >= (headerLine.match(/,/g)?.length ?? 0) ? ';' : ',';
}

const DATE_FR = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/;
const DATE_ISO = /^(\d{4})-(\d{2})-(\d{2})$/;

export function parseBirthDate(s: string): string | null {
  const t = s.trim();
  let y: number, m: number, d: number;
  const fr = DATE_FR.exec(t);
  const iso = DATE_ISO.exec(t);
  if (fr) [d, m, y] = [Number(fr[1]), Number(fr[2]), Number(fr[3])];
  else if (iso) [y, m, d] = [Number(iso[1]), Number(iso[2]), Number(iso[3])];
  else return null;
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return null;
  if (y < 1900 || date.getTime() > Date.now()) return null;
  return date.toISOString().slice(0, 10);
}

const FIELD_LABEL: Record<RegistryField, string> = {
  externalId: 'identifiant élève',
  lastName: 'nom',
  firstName: 'prénom',
  className: 'classe',
  birthDate: 'date de naissance',
};

/**
 * Files that are not a text CSV in one of the two encodings, recognised before decoding (a
 * Windows-1252 decoder accepts any bytes, so a UTF-16 or binary file would otherwise surface as
 * "missing columns" with garbled names).
 */
export function sniffRegistryBytes(
  bytes: Uint8Array,
): { code: 'REGISTRY_ERR_FORMAT' | 'REGISTRY_ERR_ENCODING'; message: string } | null {
  const starts = (...sig: number[]) => sig.every((b, i) => bytes[i] === b);
  if (starts(0x50, 0x4b, 0x03, 0x04)) {
    return {
      code: 'REGISTRY_ERR_FORMAT',
      message: 'this is an Excel workbook (.xlsx), not a CSV file: save it as "CSV (semicolon)" or "CSV UTF-8"',
    };
  }
  if (starts(0xd0, 0xcf, 0x11, 0xe0)) {
    return {
      code: 'REGISTRY_ERR_FORMAT',
      message: 'this is an Excel 97 workbook (.xls), not a CSV file: save it as "CSV (semicolon)" or "CSV UTF-8"',
    };
  }
  if (starts(0xff, 0xfe) || starts(0xfe, 0xff) || bytes.subarray(0, 4096).includes(0)) {
    return {
      code: 'REGISTRY_ERR_ENCODING',
      message: 'the file is UTF-16 ("Unicode text") or binary: export it as "CSV UTF-8" or "CSV (semicolon)"',
    };
  }
  return null;
}

/** Control characters no registry export contains: the decoded text is not what was written. */
const FOREIGN_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

export function parseRegistryCsv(bytes: Uint8Array, opts: ParseOptions = {}): ParseResult {
  const sniffed = sniffRegistryBytes(bytes);
  if (sniffed) return { ok: false, error: sniffed };
  const { text, encoding } = decodeRegistryBytes(bytes);
  const bad = FOREIGN_CONTROL.exec(text);
  if (bad) {
    const line = text.slice(0, bad.index).split('\n').length;
    return {
      ok: false,
      error: {
        code: 'REGISTRY_ERR_ENCODING',
        message: `line ${line}: byte sequence that is neither UTF-8 nor Windows-1252 text (character U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()}): export the file as "CSV UTF-8"`,
      },
    };
  }
  const body = text.replace(/^\uFEFF/, '');
  const firstLine = body.split(/\r?\n/, 1)[0] ?? '';
  if (!firstLine.trim()) return { ok: false, error: { code: 'REGISTRY_ERR_EMPTY', message: 'the file is empty' } };
  const delimiter = detectDelimiter(firstLine);
  let parsed: { record: string[]; info: { lines: number } }[];
  try {
    parsed = parse(body, {
      delimiter,
      relax_column_count: true,
      skip_empty_lines: true,
      trim: true,
      bom: true,
      // the line of each record, for reports (blank lines are skipped, so the index is not enough)
      info: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (err) {
    return {
      ok: false,
      error: { code: 'REGISTRY_ERR_FORMAT', message: `not a readable CSV file: ${(err as Error).message}` },
    };
  }
  const header = parsed[0]?.record;
  const data = parsed.slice(1);
  if (!header) return { ok: false, error: { code: 'REGISTRY_ERR_EMPTY', message: 'the file is empty' } };
  if (opts.maxRows !== undefined && data.length > opts.maxRows) {
    return {
      ok: false,
      error: { code: 'REGISTRY_ERR_TOO_LARGE', message: `${data.length} rows, at most ${opts.maxRows} per import` },
    };
  }

  const normalised = header.map(normaliseHeader);
  const index = {} as Record<RegistryField, number>;
  const missing: string[] = [];
  for (const field of Object.keys(DEFAULT_COLUMN_ALIASES) as RegistryField[]) {
    const aliases = [...(opts.columns?.[field] ?? []), ...DEFAULT_COLUMN_ALIASES[field]].map(normaliseHeader);
    const i = normalised.findIndex((h) => aliases.includes(h));
    if (i < 0) missing.push(FIELD_LABEL[field]);
    else index[field] = i;
  }
  if (missing.length) {
    return {
      ok: false,
      error: {
        code: 'REGISTRY_ERR_COLUMNS',
        message: `missing column(s): ${missing.join(', ')} (found: ${header.join(', ')}); map them in the site's registry column settings`,
      },
    };
  }

  const records: StudentRecord[] = [];
  const errors: RowError[] = [];
  const seen = new Map<string, number>();
  data.forEach(({ record: row, info }) => {
    const line = info.lines;
    const cell = (f: RegistryField) => (row[index[f]] ?? '').trim();
    const rowErrors: RowError[] = [];
    for (const f of ['externalId', 'lastName', 'firstName', 'className'] as const) {
      if (!cell(f)) rowErrors.push({ line, column: FIELD_LABEL[f], reason: 'empty' });
      else if (cell(f).length > 100)
        rowErrors.push({ line, column: FIELD_LABEL[f], reason: 'longer than 100 characters' });
    }
    const birthDate = parseBirthDate(cell('birthDate'));
    if (!birthDate)
      rowErrors.push({
        line,
        column: FIELD_LABEL.birthDate,
        reason: `not a date (dd/mm/yyyy): "${cell('birthDate').slice(0, 20)}"`,
      });
    const id = cell('externalId');
    if (id && seen.has(id))
      rowErrors.push({ line, column: FIELD_LABEL.externalId, reason: `same id as line ${seen.get(id)}` });
    if (rowErrors.length) {
      errors.push(...(id ? rowErrors.map((e) => ({ ...e, externalId: id })) : rowErrors));
      return;
    }
    seen.set(id, line);
    records.push({
      externalId: id,
      lastName: cell('lastName'),
      firstName: cell('firstName'),
      className: cell('className'),
      birthDate: birthDate!,
      line,
    });
  });
  return { ok: true, encoding, delimiter, records, errors };
}
