/**
 * Precompiled accept-check of the hot ingest topics (access, movement, camera events), from the
 * JSON Schemas the protocol generates from its zod source of truth.
 *
 * Why: zod's `safeParse` of every event was ~7 µs of the control server's ~100 µs per event at
 * 10 000 events/s; an ajv-compiled function answers the same question in a fraction of that.
 *
 * The zod schema stays the oracle. The compiled check is only used to *accept*: whatever it rejects
 * goes through zod, which gives the verdict and the messages, so a reject (and its wording) is zod's
 * by construction. The one way the two could differ, the compiled check accepting what zod would
 * refuse, is what `fast-validate.test.ts` hunts. It may refuse more (the test found one: a
 * `timingsMs` key of 17 emoji, which zod lets through): zod then decides, so the verdict is zod's. with fast-check on valid and mutated payloads. Only
 * topics whose zod schema has no refinement, transform or default are listed: for those the JSON
 * Schema says everything zod checks, and the accepted value is the parsed JSON itself (strict
 * objects: no unknown key to strip).
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { z } from 'zod';
import { jsonSchemaOf } from './json-schema.js';
import type { TopicKey } from './topics.js';

export type FastCheck = (value: unknown) => boolean;

/** Topics with a compiled check; the others use zod alone. */
export const FAST_TOPICS: ReadonlySet<TopicKey> = new Set<TopicKey>(['access', 'movement', 'camera']);

/**
 * The ajv options of the compiled checks. Exported for the control server's event writer thread,
 * which compiles the same schemas (`jsonSchemaOf`) with the same options to accept events off the
 * main thread: one definition, so both accept exactly the same payloads.
 */
export const FAST_CHECK_AJV_OPTIONS = {
  strict: false,
  // zod refuses Infinity and NaN, which JSON.parse makes of a number too large (1e400); without this,
  // `strict: false` let the compiled check accept them where a schema has no bound (timingsMs, box)
  strictNumbers: true,
  // zod's `.max()` counts UTF-16 code units (`string.length`), not code points
  unicode: false,
  // zod's regexes have no `u` flag; the generated patterns are zod's own
  unicodeRegExp: false,
  // the `format`s zod emits (uuid, date-time) come with the `pattern` zod actually checks
  validateFormats: false,
  allErrors: false,
  messages: false,
  // ajv warns that `unicode` is deprecated but still honours it (limitLength); nothing else to log
  logger: false,
} as const;

let ajv: Ajv2020 | null = null;
const compiled = new Map<TopicKey, FastCheck>();

/** The compiled check of a topic, made on first use (so importing the protocol costs nothing). */
export function fastCheckOf(key: TopicKey): FastCheck | null {
  if (!FAST_TOPICS.has(key)) return null;
  let check = compiled.get(key);
  if (!check) {
    ajv ??= new Ajv2020(FAST_CHECK_AJV_OPTIONS);
    const fn = ajv.compile(jsonSchemaOf(key));
    check = (value: unknown): boolean => fn(value) === true;
    compiled.set(key, check);
  }
  return check;
}

/** zod's verdict, for the property test that compares both. */
export function zodAccepts(schema: z.ZodType, value: unknown): boolean {
  return schema.safeParse(value).success;
}
