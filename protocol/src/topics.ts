import type { z } from 'zod';
import { ID_PATTERN } from './ids.js';
import { agentConfigSchema, configStateSchema } from './schemas/config.js';
import { accessEventSchema, cameraEventSchema, movementEventSchema } from './schemas/events.js';
import { healthSchema } from './schemas/health.js';
import { statusSchema } from './schemas/status.js';
import { tracksSchema } from './schemas/tracks.js';
import { SYNC_MAX_CHUNKS, syncChunkSchema, syncManifestSchema, syncStateSchema } from './schemas/sync.js';
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
  syncState: {
    suffix: 'sync/state',
    schema: syncStateSchema,
    qos: 1,
    retain: true,
    publisher: 'agent',
    description: 'The site sync version the agent holds (templates, revocations, keys), or why the last one was rejected',
  },
  tracks: {
    suffix: 'tracks',
    schema: tracksSchema,
    qos: 0,
    retain: false,
    publisher: 'agent',
    description:
      'Recent anonymous trajectories of a tracking camera (foot-point polylines, rotating random ids) and its rules\' geometry, every few seconds; not stored',
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

/**
 * Agent ids that can never be used: `portail/v1/{site}/sync/...` holds the site's sync topics
 * (server → every agent of the site), so an agent named `sync` would collide with them.
 */
export const RESERVED_AGENT_IDS: readonly string[] = ['sync'];

export function isReservedAgentId(id: string): boolean {
  return RESERVED_AGENT_IDS.includes(id);
}

function assertId(kind: string, id: string): void {
  if (!ID_PATTERN.test(id)) {
    throw new TopicError(`invalid ${kind} id ${JSON.stringify(id)}: must match ${ID_PATTERN.source}`);
  }
  if (kind === 'agent' && isReservedAgentId(id)) {
    throw new TopicError(`agent id ${JSON.stringify(id)} is reserved for the site's sync topics`);
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
  if (!ID_PATTERN.test(site) || !ID_PATTERN.test(agent) || isReservedAgentId(agent)) return null;
  const key = SUFFIX_TO_KEY.get(rest.join('/'));
  return key ? { key, site, agent } : null;
}

/**
 * Site topics: published by the server for every agent of a site, below `portail/v1/{site}/sync/`
 * (the agent id `sync` is reserved, so they never look like an agent's topics). `{index}` is the
 * chunk number, 0..255.
 */
export interface SiteTopicSpec<S extends z.ZodType = z.ZodType> {
  /** path below `portail/v1/{site}/`; `{index}` stands for the chunk number */
  suffix: string;
  schema: S;
  qos: 0 | 1;
  retain: boolean;
  publisher: 'server';
  description: string;
}

export const SITE_TOPICS = {
  syncManifest: {
    suffix: 'sync/manifest',
    schema: syncManifestSchema,
    qos: 1,
    retain: true,
    publisher: 'server',
    description: 'Site sync version, site code, public keys, revocation list and the digests of the template chunks',
  },
  syncChunk: {
    suffix: 'sync/templates/{index}',
    schema: syncChunkSchema,
    qos: 1,
    retain: true,
    publisher: 'server',
    description: 'One chunk of the site\'s encrypted templates (at most ~192 KiB); an empty retained payload clears an unused chunk',
  },
} as const satisfies Record<string, SiteTopicSpec>;

export type SiteTopicKey = keyof typeof SITE_TOPICS;
export type SitePayloadOf<K extends SiteTopicKey> = z.infer<(typeof SITE_TOPICS)[K]['schema']>;
export const SITE_TOPIC_KEYS = Object.keys(SITE_TOPICS) as SiteTopicKey[];

/** Build a site topic; `index` is required for (and only for) `syncChunk`. */
export function buildSiteTopic(key: SiteTopicKey, site: string, index?: number): string {
  assertId('site', site);
  const suffix = SITE_TOPICS[key].suffix;
  if (suffix.includes('{index}')) {
    if (index === undefined || !Number.isInteger(index) || index < 0 || index >= SYNC_MAX_CHUNKS) {
      throw new TopicError(`${key} needs a chunk index 0..${SYNC_MAX_CHUNKS - 1}, got ${String(index)}`);
    }
    return `${TOPIC_ROOT}/${site}/${suffix.replace('{index}', String(index))}`;
  }
  if (index !== undefined) throw new TopicError(`${key} takes no index`);
  return `${TOPIC_ROOT}/${site}/${suffix}`;
}

/** Subscription filter for every sync topic of one site. */
export function siteSyncFilter(site: string): string {
  assertId('site', site);
  return `${TOPIC_ROOT}/${site}/sync/#`;
}

export interface ParsedSiteTopic {
  key: SiteTopicKey;
  site: string;
  /** chunk number (syncChunk only) */
  index?: number;
}

/** Parse a site topic; null when it is not one. */
export function parseSiteTopic(topic: string): ParsedSiteTopic | null {
  const prefix = `${TOPIC_ROOT}/`;
  if (!topic.startsWith(prefix)) return null;
  const parts = topic.slice(prefix.length).split('/');
  const [site, sync, ...rest] = parts;
  if (site === undefined || sync !== 'sync' || !ID_PATTERN.test(site)) return null;
  if (rest.length === 1 && rest[0] === 'manifest') return { key: 'syncManifest', site };
  if (rest.length === 2 && rest[0] === 'templates' && /^(0|[1-9]\d{0,2})$/.test(rest[1]!)) {
    const index = Number(rest[1]);
    return index < SYNC_MAX_CHUNKS ? { key: 'syncChunk', site, index } : null;
  }
  return null;
}
