import type { z } from 'zod';
import { ID_PATTERN } from './ids.js';
import { agentConfigSchema, configStateSchema } from './schemas/config.js';
import { accessEventSchema, cameraEventSchema, movementEventSchema } from './schemas/events.js';
import { healthSchema } from './schemas/health.js';
import { statusSchema } from './schemas/status.js';
import { TOPIC_ROOT } from './version.js';

export interface TopicSpec<S extends z.ZodType = z.ZodType> {
  /** path below `portail/v1/{site}/{agent}/` */
  suffix: string;
  schema: S;
  qos: 0 | 1;
  retain: boolean;
  publisher: 'agent' | 'server';
  description: string;
}

/** The only place topic shapes are defined. Nothing else concatenates topic strings. */
export const TOPICS = {
  status: {
    suffix: 'status',
    schema: statusSchema,
    qos: 1,
    retain: true,
    publisher: 'agent',
    description: 'Agent availability; set offline by the last will when the agent dies',
  },
  health: {
    suffix: 'health',
    schema: healthSchema,
    qos: 0,
    retain: false,
    publisher: 'agent',
    description: 'Periodic live figures: fps, per-stage latency, drops, detections, provider',
  },
  access: {
    suffix: 'events/access',
    schema: accessEventSchema,
    qos: 1,
    retain: false,
    publisher: 'agent',
    description: 'One verdict per passage at a gate',
  },
  movement: {
    suffix: 'events/movement',
    schema: movementEventSchema,
    qos: 1,
    retain: false,
    publisher: 'agent',
    description: 'Anonymous movement alerts and line counts',
  },
  camera: {
    suffix: 'events/camera',
    schema: cameraEventSchema,
    qos: 1,
    retain: false,
    publisher: 'agent',
    description: 'Camera online / offline / stalled',
  },
  config: {
    suffix: 'config',
    schema: agentConfigSchema,
    qos: 1,
    retain: true,
    publisher: 'server',
    description: 'Declared rules and thresholds for the agent',
  },
  configState: {
    suffix: 'config/state',
    schema: configStateSchema,
    qos: 1,
    retain: true,
    publisher: 'agent',
    description: 'The configuration version in force on the agent, or why the last one was rejected',
  },
} as const satisfies Record<string, TopicSpec>;

export type TopicKey = keyof typeof TOPICS;
export type PayloadOf<K extends TopicKey> = z.infer<(typeof TOPICS)[K]['schema']>;
export const TOPIC_KEYS = Object.keys(TOPICS) as TopicKey[];
export const EVENT_TOPIC_KEYS = ['access', 'movement', 'camera'] as const satisfies readonly TopicKey[];
export type EventTopicKey = (typeof EVENT_TOPIC_KEYS)[number];

const SUFFIX_TO_KEY = new Map<string, TopicKey>(TOPIC_KEYS.map((k) => [TOPICS[k].suffix, k]));

export class TopicError extends Error {
  readonly code = 'PROTOCOL_ERR_TOPIC';
}

function assertId(kind: string, id: string): void {
  if (!ID_PATTERN.test(id)) {
    throw new TopicError(`invalid ${kind} id ${JSON.stringify(id)}: must match ${ID_PATTERN.source}`);
  }
}

/** Build a concrete topic; refuses wildcards and malformed ids, so nothing is published to `+`/`#`. */
export function buildTopic(key: TopicKey, site: string, agent: string): string {
  assertId('site', site);
  assertId('agent', agent);
  return `${TOPIC_ROOT}/${site}/${agent}/${TOPICS[key].suffix}`;
}

/** Subscription filter for every agent topic of one site (or all sites with `+`). */
/** `site` and `agent` are ids, or '+' for any. */
export function agentTopicsFilter(site = '+', agent = '+'): string {
  if (site !== '+') assertId('site', site);
  if (agent !== '+') assertId('agent', agent);
  return `${TOPIC_ROOT}/${site}/${agent}/#`;
}

export interface ParsedTopic {
  key: TopicKey;
  site: string;
  agent: string;
}

/** Parse a concrete topic; null when it is not part of the contract. */
export function parseTopic(topic: string): ParsedTopic | null {
  const prefix = `${TOPIC_ROOT}/`;
  if (!topic.startsWith(prefix)) return null;
  const parts = topic.slice(prefix.length).split('/');
  if (parts.length < 3) return null;
  const [site, agent, ...rest] = parts as [string, string, ...string[]];
  if (!ID_PATTERN.test(site) || !ID_PATTERN.test(agent)) return null;
  const key = SUFFIX_TO_KEY.get(rest.join('/'));
  return key ? { key, site, agent } : null;
}
