import type { z } from 'zod';
import { SITE_TOPICS, TOPICS, type PayloadOf, type SitePayloadOf, type SiteTopicKey, type TopicKey } from './topics.js';
import { MAX_PAYLOAD_BYTES } from './version.js';
import { fastCheckOf, type FastCheck } from './fast-validate.js';

export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E };

export type DecodeErrorCode = 'TOO_LARGE' | 'INVALID_JSON' | 'INVALID_SCHEMA' | 'TOPIC_MISMATCH';
export interface DecodeError {
  code: DecodeErrorCode;
  /** readable messages, one per problem, each prefixed by its JSON path */
  messages: string[];
}

function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((i) => `${i.path.length ? i.path.map(String).join('.') : '(root)'}: ${i.message}`);
}

function validateWith<T>(schema: z.ZodType, value: unknown): Result<T, DecodeError> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data as T };
  return { ok: false, error: { code: 'INVALID_SCHEMA', messages: formatIssues(parsed.error.issues) } };
}

/** Validate an already-parsed value against the schema of a topic. */
export function validate<K extends TopicKey>(key: K, value: unknown): Result<PayloadOf<K>, DecodeError> {
  return validateWith<PayloadOf<K>>(TOPICS[key].schema, value);
}

/** Size check, JSON parse and schema validation of a raw MQTT payload, in that order. */
export function decodePayload<K extends TopicKey>(key: K, raw: Uint8Array | string): Result<PayloadOf<K>, DecodeError> {
  return decodeWith<PayloadOf<K>>(TOPICS[key].schema, raw, fastCheckOf(key));
}

/** `decodePayload` for a site topic (server → every agent of a site). */
export function decodeSitePayload<K extends SiteTopicKey>(key: K, raw: Uint8Array | string): Result<SitePayloadOf<K>, DecodeError> {
  return decodeWith<SitePayloadOf<K>>(SITE_TOPICS[key].schema, raw);
}

/** `encodePayload` for a site topic. */
export function encodeSitePayload<K extends SiteTopicKey>(key: K, value: SitePayloadOf<K>): string {
  return encodeWith(key, SITE_TOPICS[key].schema, value);
}

function decodeWith<T>(schema: z.ZodType, raw: Uint8Array | string, fast: FastCheck | null = null): Result<T, DecodeError> {
  const bytes = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.byteLength;
  if (bytes > MAX_PAYLOAD_BYTES) {
    return { ok: false, error: { code: 'TOO_LARGE', messages: [`payload of ${bytes} B exceeds ${MAX_PAYLOAD_BYTES} B`] } };
  }
  let value: unknown;
  try {
    // a Buffer (what MQTT clients hand over) is decoded in place; `Buffer.from(buffer)` would copy it
    const text =
      typeof raw === 'string'
        ? raw
        : (Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)).toString('utf8');
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: { code: 'INVALID_JSON', messages: [(err as Error).message] } };
  }
  // the compiled check only accepts (strict schema, no transform: the value is the parsed JSON);
  // anything it refuses gets zod's verdict and messages (see fast-validate.ts)
  if (fast !== null && fast(value)) return { ok: true, value: value as T };
  return validateWith<T>(schema, value);
}

/** Serialize after validating, so an agent can never publish what the server would reject. */
export function encodePayload<K extends TopicKey>(key: K, value: PayloadOf<K>): string {
  return encodeWith(key, TOPICS[key].schema, value);
}

function encodeWith(key: string, schema: z.ZodType, value: unknown): string {
  const checked = validateWith<unknown>(schema, value);
  if (!checked.ok) {
    throw new Error(`refusing to encode an invalid ${key} payload: ${checked.error.messages.join('; ')}`);
  }
  const json = JSON.stringify(checked.value);
  if (Buffer.byteLength(json) > MAX_PAYLOAD_BYTES) throw new Error(`${key} payload exceeds ${MAX_PAYLOAD_BYTES} B`);
  return json;
}
