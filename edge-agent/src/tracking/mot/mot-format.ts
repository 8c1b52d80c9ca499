/**
 * MOTChallenge text formats: one box per line, comma separated (spaces tolerated), 1-based frames,
 * pixel boxes as left, top, width, height.
 *   gt.txt             frame, id, left, top, width, height, flag, [class, visibility] | [x, y, z]
 *   det.txt            frame, -1, left, top, width, height, score, x, y, z
 *   tracker output     frame, id, left, top, width, height, conf, x, y, z
 */
import type { Box } from '@portail/vision/types.js';

export interface MotRow {
  frame: number;
  id: number;
  box: Box;
  /** gt: the "consider" flag (0 = ignore); det: the detector score; tracker output: a confidence */
  score: number;
}

export interface SeqInfo {
  name: string;
  frameRate: number;
  seqLength: number;
  imWidth: number;
  imHeight: number;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** Parses any of the three row formats; columns after the seventh are ignored. */
export function parseMotRows(text: string, source = 'input'): ParseResult<MotRow[]> {
  const rows: MotRow[] = [];
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const cols = line.split(/\s*,\s*|\s+/).map(Number);
    if (cols.length < 6 || cols.slice(0, 6).some((v) => !Number.isFinite(v))) {
      return { ok: false, error: `${source}:${n + 1}: expected at least 6 numeric columns, got "${line}"` };
    }
    const [frame, id, x, y, w, h] = cols as [number, number, number, number, number, number];
    if (!Number.isInteger(frame) || frame < 1) {
      return { ok: false, error: `${source}:${n + 1}: frame must be an integer ≥ 1, got ${frame}` };
    }
    const score = cols.length > 6 && Number.isFinite(cols[6]) ? cols[6]! : 1;
    rows.push({ frame, id, box: { x, y, w, h }, score });
  }
  return { ok: true, value: rows };
}

/** Ground truth rows to evaluate: MOT15 marks every row 1; later sets use 0 for "ignore". */
export function parseGroundTruth(text: string, source = 'gt.txt'): ParseResult<MotRow[]> {
  const parsed = parseMotRows(text, source);
  if (!parsed.ok) return parsed;
  return { ok: true, value: parsed.value.filter((r) => r.score !== 0) };
}

export const parseDetections = (text: string, source = 'det.txt') => parseMotRows(text, source);
export const parseTrackerOutput = (text: string, source = 'tracker output') => parseMotRows(text, source);

/** Groups rows by frame: index f holds the rows of frame f (index 0 unused). */
export function rowsByFrame(rows: readonly MotRow[], frameCount?: number): MotRow[][] {
  let last = frameCount ?? 0;
  for (const r of rows) last = Math.max(last, r.frame);
  const out: MotRow[][] = Array.from({ length: last + 1 }, () => []);
  for (const r of rows) out[r.frame]!.push(r);
  return out;
}

/** Reads the [Sequence] section of seqinfo.ini. */
export function parseSeqInfo(text: string): ParseResult<SeqInfo> {
  const values = new Map<string, string>();
  let inSequence = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      inSequence = section[1]!.trim().toLowerCase() === 'sequence';
      continue;
    }
    const eq = line.indexOf('=');
    if (inSequence && eq > 0) values.set(line.slice(0, eq).trim().toLowerCase(), line.slice(eq + 1).trim());
  }
  const num = (k: string) => Number(values.get(k.toLowerCase()));
  const info: SeqInfo = {
    name: values.get('name') ?? '',
    frameRate: num('frameRate'),
    seqLength: num('seqLength'),
    imWidth: num('imWidth'),
    imHeight: num('imHeight'),
  };
  const bad = (['frameRate', 'seqLength', 'imWidth', 'imHeight'] as const).filter(
    (k) => !(Number.isFinite(info[k]) && info[k] > 0),
  );
  if (info.name === '' || bad.length > 0) {
    return {
      ok: false,
      error: `seqinfo.ini: missing or invalid ${[info.name === '' ? 'name' : '', ...bad].filter(Boolean).join(', ')}`,
    };
  }
  return { ok: true, value: info };
}

/** Tracker output lines (`frame,id,left,top,width,height,conf,-1,-1,-1`). */
export function formatMotRows(rows: readonly MotRow[]): string {
  const r2 = (v: number) => Math.round(v * 100) / 100;
  return rows
    .map((r) => [r.frame, r.id, r2(r.box.x), r2(r.box.y), r2(r.box.w), r2(r.box.h), r2(r.score), -1, -1, -1].join(','))
    .join('\n')
    .concat(rows.length > 0 ? '\n' : '');
}
