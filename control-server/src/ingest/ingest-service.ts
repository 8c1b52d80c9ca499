import {
  decodePayload,
  parseSiteTopic,
  parseTopic,
  type DecodeErrorCode,
  type EventTopicKey,
  type ParsedTopic,
  type PayloadOf,
  type SyncState,
} from '@portail/protocol';
import type { Logger } from 'pino';
import type { AgentRepository } from '../repositories/agent-repository.js';
import type { EventRepository } from '../repositories/event-repository.js';
import type { LiveBus } from '../services/live-bus.js';
import { cloneIngestStats, createIngestStats, type IngestStats, type RejectReason } from './ingest-stats.js';

export type IngestOutcome =
  | { kind: 'rejected'; reason: RejectReason }
  | { kind: 'stored'; id: string }
  | { kind: 'duplicate'; id: string }
  | { kind: 'status' }
  | { kind: 'health' }
  | { kind: 'ignored' }
  | { kind: 'store_error' };

export interface IngestDeps {
  events: EventRepository;
  agents: AgentRepository;
  bus: LiveBus;
  logger: Logger;
  now?: () => Date;
  /** reject logs per reason per window, so a flood of bad messages cannot flood the log */
  rejectLogLimit?: number;
  rejectLogWindowMs?: number;
  /** an agent acknowledged (or refused) a site sync version; called after it is stored */
  onSyncState?: (state: SyncState) => void;
}

export interface Ingest {
  /** Handle one MQTT message synchronously: when it returns, a valid message is in SQLite. */
  handle(topic: string, payload: Uint8Array): IngestOutcome;
  stats(): IngestStats;
}

const DECODE_REASON: Record<DecodeErrorCode, RejectReason> = {
  TOO_LARGE: 'too_large',
  INVALID_JSON: 'invalid_json',
  INVALID_SCHEMA: 'invalid_schema',
  TOPIC_MISMATCH: 'topic_mismatch',
};

const MAX_LOGGED_MESSAGES = 3;
const MAX_LOGGED_TOPIC_CHARS = 256;

export function createIngest(deps: IngestDeps): Ingest {
  const { events, agents, bus } = deps;
  const log = deps.logger;
  const now = deps.now ?? (() => new Date());
  const limit = deps.rejectLogLimit ?? 20;
  const windowMs = deps.rejectLogWindowMs ?? 60_000;
  const stats = createIngestStats();
  const throttle = new Map<RejectReason, { start: number; logged: number; suppressed: number }>();

  function reject(reason: RejectReason, topic: string, bytes: number, messages: string[]): IngestOutcome {
    stats.rejected[reason] += 1;
    const t = now().getTime();
    let w = throttle.get(reason);
    if (!w || t - w.start >= windowMs) {
      if (w && w.suppressed > 0)
        log.warn({ reason, suppressed: w.suppressed }, 'ingest rejects not logged in the last window');
      w = { start: t, logged: 0, suppressed: 0 };
      throttle.set(reason, w);
    }
    if (w.logged < limit) {
      w.logged += 1;
      // the payload itself is never logged: it may be large, hostile, or carry what should not be in a log
      log.warn(
        {
          topic: topic.slice(0, MAX_LOGGED_TOPIC_CHARS),
          reason,
          bytes,
          messages: messages.slice(0, MAX_LOGGED_MESSAGES),
        },
        'ingest rejected a message',
      );
    } else {
      w.suppressed += 1;
    }
    return { kind: 'rejected', reason };
  }

  function mismatch(parsed: ParsedTopic, payload: { site: string; agent: string }): string[] | null {
    const out: string[] = [];
    if (payload.site !== parsed.site) out.push(`site: topic says ${parsed.site}, payload says ${payload.site}`);
    if (payload.agent !== parsed.agent) out.push(`agent: topic says ${parsed.agent}, payload says ${payload.agent}`);
    return out.length ? out : null;
  }

  function storeEvent<K extends EventTopicKey>(key: K, value: PayloadOf<K>, receivedAt: string): IngestOutcome {
    const { inserted, event } = events.insert(key, value, receivedAt);
    agents.touch(value.site, value.agent, receivedAt);
    if (!inserted) {
      stats.duplicates += 1;
      log.debug({ id: value.id, kind: key }, 'duplicate event ignored');
      return { kind: 'duplicate', id: value.id };
    }
    stats.stored += 1;
    bus.publish({ type: 'event', kind: key, event });
    return { kind: 'stored', id: value.id };
  }

  function handle(topic: string, payload: Uint8Array): IngestOutcome {
    stats.received += 1;
    const receivedAt = now().toISOString();
    stats.lastMessageAt = receivedAt;
    // the server's own site sync publications come back through the wildcard subscription
    if (parseSiteTopic(topic)) {
      stats.ignored += 1;
      return { kind: 'ignored' };
    }
    const parsed = parseTopic(topic);
    if (!parsed) return reject('unknown_topic', topic, payload.byteLength, ['topic is not part of the protocol']);
    // the server's own publications come back through the wildcard subscription
    if (parsed.key === 'config') {
      stats.ignored += 1;
      return { kind: 'ignored' };
    }
    const decoded = decodePayload(parsed.key, payload);
    if (!decoded.ok)
      return reject(DECODE_REASON[decoded.error.code], topic, payload.byteLength, decoded.error.messages);
    const value = decoded.value as PayloadOf<Exclude<typeof parsed.key, 'config'>>;
    const wrong = mismatch(parsed, value);
    if (wrong) return reject('topic_mismatch', topic, payload.byteLength, wrong);

    try {
      switch (parsed.key) {
        case 'status': {
          const v = value as PayloadOf<'status'>;
          const before = agents.get(v.site, v.agent);
          const agent = agents.applyStatus(v, receivedAt);
          stats.statusUpdates += 1;
          if (before?.state !== agent.state) {
            log.info({ site: v.site, agent: v.agent, state: agent.state, reason: v.reason }, 'agent state changed');
          }
          bus.publish({ type: 'agent', agent });
          return { kind: 'status' };
        }
        case 'health': {
          const v = value as PayloadOf<'health'>;
          const { agent, created } = agents.applyHealth(v, receivedAt);
          stats.healthUpdates += 1;
          if (created) bus.publish({ type: 'agent', agent });
          bus.publish({ type: 'health', site: v.site, agent: v.agent, health: v });
          return { kind: 'health' };
        }
        case 'access':
          return storeEvent('access', value as PayloadOf<'access'>, receivedAt);
        case 'movement':
          return storeEvent('movement', value as PayloadOf<'movement'>, receivedAt);
        case 'camera':
          return storeEvent('camera', value as PayloadOf<'camera'>, receivedAt);
        case 'configState': {
          const v = value as PayloadOf<'configState'>;
          const agent = agents.applyConfigState(v, receivedAt);
          if (v.result === 'rejected') log.warn({ site: v.site, agent: v.agent, version: v.receivedVersion, errors: v.errors }, 'agent rejected its configuration');
          bus.publish({ type: 'agent', agent });
          return { kind: 'status' };
        }
        case 'syncState': {
          const v = value as PayloadOf<'syncState'>;
          const agent = agents.applySyncState(v, receivedAt);
          if (v.result === 'rejected') log.warn({ site: v.site, agent: v.agent, version: v.receivedVersion, held: v.appliedVersion, errors: v.errors }, 'agent rejected a site sync version');
          bus.publish({ type: 'agent', agent });
          deps.onSyncState?.(v);
          return { kind: 'status' };
        }
      }
    } catch (err) {
      // a database failure is ours, not the sender's: count it, log it, keep serving
      stats.storeErrors += 1;
      log.error({ err, topic, kind: parsed.key }, 'ingest could not store a valid message');
      return { kind: 'store_error' };
    }
  }

  return { handle, stats: () => cloneIngestStats(stats) };
}
