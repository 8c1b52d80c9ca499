import { z } from 'zod';
import { SITE_TOPICS, TOPICS, type SiteTopicKey, type TopicKey } from './topics.js';

/** JSON Schema (draft 2020-12) of a topic's payload (agent or site topic), generated from the zod source of truth. */
export function jsonSchemaOf(key: TopicKey | SiteTopicKey): Record<string, unknown> {
  const schema = key in SITE_TOPICS ? SITE_TOPICS[key as SiteTopicKey].schema : TOPICS[key as TopicKey].schema;
  return z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' });
}
