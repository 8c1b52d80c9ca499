import { z } from 'zod';
import { TOPICS, type TopicKey } from './topics.js';

/** JSON Schema (draft 2020-12) of a topic's payload, generated from the zod source of truth. */
export function jsonSchemaOf(key: TopicKey): Record<string, unknown> {
  return z.toJSONSchema(TOPICS[key].schema, { target: 'draft-2020-12', io: 'input' });
}
