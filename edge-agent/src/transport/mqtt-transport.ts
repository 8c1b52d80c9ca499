import { join } from 'node:path';
import {
  buildTopic,
  encodePayload,
  parseSiteTopic,
  siteSyncFilter,
  EVENT_TOPIC_KEYS,
  TOPICS,
  type EventTopicKey,
  type PayloadOf,
  type Status,
  type TopicKey,
} from '@portail/protocol';
import mqtt, { type IConnackPacket, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { AGENT_DB_FILE } from '../store/edge-store.js';
import {
  OUTBOX_DEFAULTS,
  openSqliteOutbox,
  type Outbox,
  type OutboxEntry,
  type OutboxLimits,
  type OutboxStats,
} from './outbox.js';
import { ReplayFreeStore } from './replay-free-store.js';

export interface OutboxConfig extends OutboxLimits {
  /** events published and not yet acknowledged at most; the broker's receive maximum caps it too */
  maxInFlight: number;
}

export const OUTBOX_CONFIG_DEFAULTS: OutboxConfig = { ...OUTBOX_DEFAULTS, maxInFlight: 16 };

export interface MqttTransportOptions {
  url: string;
  site: string;
  agent: string;
  username?: string | undefined;
  password?: string | undefined;
  /** mqtts://: CA bundle to trust, and a client certificate + key when the broker asks for one */
  ca?: Buffer | undefined;
  cert?: Buffer | undefined;
  key?: Buffer | undefined;
  keepaliveS: number;
  logger: Logger;
  /** status re-published (retained) at every (re)connect, since the last will may have replaced it */
  onlineStatus: () => Status;
  /** the agent's data folder: the outbox lives in `<dataDir>/agent.sqlite`; without it, events queue in memory only */
  dataDir?: string | undefined;
  outbox?: Partial<OutboxConfig> | undefined;
  /**
   * 'auto' (default) speaks MQTT 5 when the broker does and falls back to 3.1.1 (aedes) otherwise.
   * MQTT 5 matters here: its PUBACK says when an event reached no subscriber, and the event is kept.
   */
  protocolVersion?: 'auto' | 4 | 5 | undefined;
  reconnectPeriodMs?: number | undefined;
  /** wait before sending again after "no matching subscribers", a transient refusal or an outbox read error */
  retryMs?: number | undefined;
  /** close(): how long pending events may take to go out before the connection is dropped anyway */
  closeTimeoutMs?: number | undefined;
  /** messages on this agent's retained `config` topic (subscribed at every connect) */
  onConfig?: ((payload: Uint8Array) => void) | undefined;
  /** messages on the site's retained sync topics `portail/v1/{site}/sync/#` (subscribed at every connect) */
  onSync?: ((topic: string, payload: Uint8Array) => void) | undefined;
}

export interface TransportStats {
  connected: boolean;
  protocolVersion: 4 | 5;
  /** QoS 1 events not yet acknowledged by the broker (outbox + memory fallback) */
  depth: number;
  inFlight: number;
  /** null when the agent runs without its outbox (no dataDir, or it could not be opened) */
  outbox: OutboxStats | null;
  /** event publishes handed to the broker, re-sends included */
  sent: number;
  /** event PUBACKs that meant "taken" */
  delivered: number;
  /** PUBACKs saying no subscriber matched (MQTT 5): the event stays queued */
  noSubscriber: number;
  /** events the broker refused for good (not authorised, too large): dropped, logged */
  rejected: number;
  /** events that bypassed the outbox because it could not be written */
  outboxBypassed: number;
  memoryQueued: number;
  /** events dropped from the memory fallback queue when it was full */
  memoryOverflow: number;
  /** delivered events sent again because the broker came back without our session */
  requeuedAfterSessionLoss: number;
}

export interface MqttTransport {
  readonly connected: boolean;
  /**
   * Events (QoS 1) resolve once stored in the outbox: delivery is the pump's job from there. Status
   * resolves at PUBACK (or at once when offline: it is re-published at connect); health is QoS 0 and
   * rejects when offline.
   */
  publish<K extends TopicKey>(key: K, payload: PayloadOf<K>): Promise<void>;
  /** events not yet acknowledged by the broker: a health figure */
  depth(): number;
  stats(): TransportStats;
  /** send what is pending (bounded by closeTimeoutMs), publish the retained offline status, disconnect */
  close(offline: Status): Promise<void>;
}

export class TransportError extends Error {
  constructor(
    readonly code: 'EDGE_ERR_TRANSPORT_CLOSED' | 'EDGE_ERR_MQTT_OFFLINE',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TransportError';
  }
}

/** MQTT 5 PUBACK reason: the broker took the message, but no subscription matched it */
const RC_NO_MATCHING_SUBSCRIBERS = 16;
/** refusals worth retrying: the broker is busy or over quota, not refusing this message for good */
const TRANSIENT_REFUSALS = new Set([0x80, 0x83, 0x89, 0x97]);
/** CONNACK refusals meaning "not MQTT 5": 1 (3.1.1 unacceptable protocol version), 132 (5.0 unsupported) */
const PROTOCOL_REFUSALS = new Set([1, 132]);
/** MQTT 5 session expiry: long enough to outlive any restart; only its loss matters, and a loss is safe */
const SESSION_EXPIRY_S = 7 * 86_400;
const MAX_MEMORY_EVENTS = 10_000;
const PRUNE_INTERVAL_MS = 60_000;
const OUTBOX_RETRY_MS = 1_000;

const EVENT_KEYS = new Set<TopicKey>(EVENT_TOPIC_KEYS);
const isEventKey = (k: TopicKey): k is EventTopicKey => EVENT_KEYS.has(k);

interface MemoryEvent {
  /** arrival order, to put events back where they were after a failed send */
  n: number;
  key: EventTopicKey;
  payload: string;
}
type InFlight = { kind: 'row'; entry: OutboxEntry } | { kind: 'memory'; event: MemoryEvent };

/**
 * MQTT transport of one agent. Every payload is validated by the protocol before it leaves.
 *
 * QoS 1 events go through a durable SQLite outbox: stored before they are published, sent by one
 * ordered pump (at most `maxInFlight` unacknowledged), marked delivered on PUBACK, sent again in
 * order after a reconnect or a restart. mqtt.js's own queue is disabled for them (a replay-free
 * store): two queues would duplicate each other and could reorder. Status and health bypass it.
 * The agent starts even when the broker is away: cameras run, events queue, status goes out on connect.
 *
 * What a PUBACK proves is only that the broker took the event. Two gaps are closed here:
 * - a broker that restarts without persistence loses what it held for an absent control server;
 *   the agent's persistent session tells (CONNACK without a session), and the events it had
 *   acknowledged in the last `keepDeliveredS` are sent again;
 * - a broker with no subscriber drops the event; MQTT 5 says so (PUBACK 0x10) and the event stays
 *   queued, sent one at a time until a subscriber is back, so the order holds.
 * Duplicates are expected (a crash between PUBACK and its record, replays): the server stores each
 * event id once. What stays open without an acknowledgement from the server itself: events a
 * broker drops for its own limits (max_queued_messages) or a subscriber other than the server.
 */
export function createMqttTransport(opts: MqttTransportOptions): MqttTransport {
  const { logger, site, agent } = opts;
  const cfg: OutboxConfig = { ...OUTBOX_CONFIG_DEFAULTS, ...opts.outbox };
  const retryMs = opts.retryMs ?? 2_000;
  const closeTimeoutMs = opts.closeTimeoutMs ?? 5_000;
  const statusTopic = buildTopic('status', site, agent);
  const configTopic = buildTopic('config', site, agent);
  const topics = new Map<EventTopicKey, string>(EVENT_TOPIC_KEYS.map((k) => [k, buildTopic(k, site, agent)]));
  const will: Status = { v: 1, site, agent, state: 'offline', reason: 'connection_lost', ts: new Date().toISOString() };
  const safeUrl = opts.url.replace(/\/\/[^@/]*@/, '//***@');

  const counters = {
    sent: 0,
    delivered: 0,
    noSubscriber: 0,
    rejected: 0,
    outboxBypassed: 0,
    memoryOverflow: 0,
    requeuedAfterSessionLoss: 0,
  };
  let outbox: Outbox | undefined;
  let openFailed = false;
  let outboxFailing = false;
  let outboxRetryAt = 0;
  const memory: MemoryEvent[] = [];
  let memorySeq = 0;

  // pump state, reset at every connection
  const inFlight = new Map<number, InFlight>();
  let epoch = 0;
  let ready = false;
  let cursor = 0;
  let probing = true;
  let windowSize = cfg.maxInFlight;
  let paused = false;
  let noSubscriberEpisode = false;
  let pumpScheduled = false;
  let retryTimer: NodeJS.Timeout | undefined;
  const pubackRc = new Map<number, number>();
  const acked: number[] = [];
  let ackFlushScheduled = false;
  let ackFailing = false;
  let ackRetryAt = 0;
  let ackRetryTimer: NodeJS.Timeout | undefined;
  let closing = false;
  let closed = false;

  function openOutbox(): void {
    if (!opts.dataDir || outbox) return;
    try {
      outbox = openSqliteOutbox({
        db: join(opts.dataDir, AGENT_DB_FILE),
        site,
        agent,
        logger: logger.child({ module: 'outbox' }),
        ...cfg,
      });
      if (openFailed) logger.warn('outbox open again');
      openFailed = false;
    } catch (err) {
      // the agent keeps running without durability rather than not at all; retried at each prune tick
      if (!openFailed)
        logger.error({ err: (err as Error).message }, 'outbox cannot be opened, events queue in memory only');
      openFailed = true;
    }
  }
  openOutbox();
  const pruneTimer = setInterval(() => {
    if (!outbox) return openOutbox();
    const r = outbox.prune();
    if (!r.ok) logger.warn({ code: r.error.code, err: r.error.message }, 'outbox prune failed');
  }, PRUNE_INTERVAL_MS);
  pruneTimer.unref();
  if (outbox) {
    const r = outbox.prune();
    if (!r.ok) logger.warn({ code: r.error.code, err: r.error.message }, 'outbox prune failed');
  }

  // ---- the mqtt.js client (replaced once if the broker refuses MQTT 5) ----
  let version: 4 | 5 = opts.protocolVersion === 4 ? 4 : 5;
  let store = new ReplayFreeStore();
  let client: MqttClient = makeClient(version);

  function makeClient(v: 4 | 5): MqttClient {
    store = new ReplayFreeStore();
    const c = mqtt.connect(opts.url, {
      clientId: `portail-agent-${site}-${agent}`,
      username: opts.username,
      password: opts.password,
      ...(opts.ca ? { ca: opts.ca } : {}),
      ...(opts.cert && opts.key ? { cert: opts.cert, key: opts.key } : {}),
      keepalive: opts.keepaliveS,
      reconnectPeriod: opts.reconnectPeriodMs ?? 2000,
      connectTimeout: 10_000,
      protocolVersion: v,
      // a persistent session, only so that a CONNACK without it says the broker lost its state
      // (restarted without persistence) and may have lost events it had acknowledged
      clean: false,
      ...(v === 5 ? { properties: { sessionExpiryInterval: SESSION_EXPIRY_S } } : {}),
      // stale health figures are worthless after an outage; events wait in the outbox instead
      queueQoSZero: false,
      outgoingStore: store,
      will: { topic: statusTopic, payload: Buffer.from(encodePayload('status', will)), qos: 1, retain: true },
    });
    c.on('connect', (connack) => c === client && onConnect(connack));
    c.on('close', () => c === client && onClose());
    c.on('message', (topic, payload) => {
      if (c !== client) return;
      if (topic === configTopic) opts.onConfig?.(payload);
      else if (opts.onSync && parseSiteTopic(topic)?.site === site) opts.onSync(topic, payload);
    });
    c.on('packetreceive', (p) => {
      if (c === client && p.cmd === 'puback' && p.messageId !== undefined) pubackRc.set(p.messageId, p.reasonCode ?? 0);
    });
    c.on('error', (err: Error & { code?: unknown }) => {
      if (c !== client) return;
      if (
        opts.protocolVersion !== 5 &&
        version === 5 &&
        typeof err.code === 'number' &&
        PROTOCOL_REFUSALS.has(err.code)
      ) {
        logger.info('broker speaks no MQTT 5, using 3.1.1 (events that reach no subscriber cannot be detected)');
        version = 4;
        client = makeClient(4);
        c.end(true);
        return;
      }
      logger.warn({ err: err.message }, 'mqtt error');
    });
    return c;
  }

  let wasConnected = false;
  function onConnect(connack: IConnackPacket): void {
    logger.info(
      { url: safeUrl, protocolVersion: version, sessionPresent: connack.sessionPresent },
      wasConnected ? 'mqtt reconnected' : 'mqtt connected',
    );
    wasConnected = true;
    ready = true;
    probing = true;
    cursor = 0;
    windowSize = Math.max(1, Math.min(cfg.maxInFlight, connack.properties?.receiveMaximum ?? cfg.maxInFlight));
    if (!connack.sessionPresent && outbox && cfg.keepDeliveredS > 0) {
      flushAcks();
      const r = outbox.requeueDelivered();
      if (r.ok && r.value > 0) {
        counters.requeuedAfterSessionLoss += r.value;
        logger.warn(
          { events: r.value },
          'broker has no session for this agent: sending again the events it acknowledged, it may have lost them',
        );
      } else if (!r.ok) {
        logger.error(
          { code: r.error.code, err: r.error.message },
          'outbox: delivered events could not be queued again',
        );
      }
    }
    client.publish(statusTopic, encodePayload('status', opts.onlineStatus()), { qos: 1, retain: true }, (err) => {
      if (err) logger.warn({ err: err.message }, 'online status not published');
    });
    if (opts.onConfig) {
      // the retained configuration arrives right after the subscription, at every (re)connect
      client.subscribe(configTopic, { qos: 1 }, (err) => {
        if (err) logger.warn({ err: err.message }, 'config topic not subscribed');
      });
    }
    if (opts.onSync) {
      // the site's retained manifest and template chunks arrive after it: a week offline is one full snapshot
      client.subscribe(siteSyncFilter(site), { qos: 1 }, (err) => {
        if (err) logger.warn({ err: err.message }, 'sync topics not subscribed');
      });
    }
    schedulePump();
  }

  function onClose(): void {
    if (ready) logger.warn('mqtt connection lost, reconnecting');
    ready = false;
    // whatever was in flight on that connection is still pending: rows in SQLite, memory events put back
    epoch++;
    for (const f of inFlight.values()) if (f.kind === 'memory') returnToMemory(f.event);
    inFlight.clear();
    pubackRc.clear();
    store.clear();
    // mqtt.js keeps the callbacks of unacknowledged publishes for its own replay, which is disabled:
    // nothing will answer them now (and a graceful end() would wait for them forever). Events ignore
    // the error (epoch changed); a status publish learns it was not delivered.
    for (const [id, pending] of Object.entries(client.outgoing)) {
      if (pending.cmd !== 'publish') continue;
      delete client.outgoing[Number(id)];
      pending.cb(new Error('connection lost before PUBACK'));
    }
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = undefined;
    paused = false;
    flushAcks();
  }

  // ---- the ordered pump ----
  function schedulePump(): void {
    if (pumpScheduled) return;
    pumpScheduled = true;
    setImmediate(() => {
      pumpScheduled = false;
      pump();
    });
  }

  function pauseThenRewind(): void {
    if (paused) return;
    paused = true;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      paused = false;
      cursor = 0;
      schedulePump();
    }, retryMs);
    retryTimer.unref();
  }

  function pump(): void {
    if (!ready || paused || closed) return;
    let room = (probing ? 1 : windowSize) - inFlight.size;
    if (room <= 0) return;
    let rowsExhausted = true;
    if (outbox) {
      flushAcks();
      const limit = room + inFlight.size;
      const r = outbox.pending(cursor, limit);
      if (!r.ok) {
        logger.error({ code: r.error.code, err: r.error.message }, 'outbox read failed, retrying');
        pauseThenRewind();
        return;
      }
      rowsExhausted = r.value.length < limit;
      for (const entry of r.value) {
        if (room <= 0) {
          rowsExhausted = false;
          break;
        }
        cursor = entry.seq;
        if (inFlight.has(entry.seq)) continue;
        send({ kind: 'row', entry }, entry.seq, entry.key, entry.payload);
        room--;
      }
    }
    // events that could not be stored go after the stored ones: the outbox stays in order
    while (rowsExhausted && room > 0 && memory.length > 0) {
      const event = memory.shift()!;
      send({ kind: 'memory', event }, -event.n, event.key, event.payload);
      room--;
    }
  }

  function send(item: InFlight, id: number, key: EventTopicKey, payload: string): void {
    const sentOn = epoch;
    inFlight.set(id, item);
    counters.sent++;
    client.publish(topics.get(key)!, payload, { qos: 1 }, (err, packet) => {
      // the connection it went out on is gone: onClose already put it back
      if (sentOn !== epoch) return;
      inFlight.delete(id);
      const messageId = packet?.messageId;
      const rc = err
        ? (err as Error & { code?: unknown }).code
        : messageId !== undefined
          ? (pubackRc.get(messageId) ?? 0)
          : 0;
      if (messageId !== undefined) pubackRc.delete(messageId);
      settle(item, err, rc);
      schedulePump();
    });
  }

  function settle(item: InFlight, err: Error | undefined, rc: unknown): void {
    if (err && typeof rc !== 'number') {
      // no reason code: a local failure (connection closing); it stays queued and goes again
      putBack(item);
      return;
    }
    if (rc === RC_NO_MATCHING_SUBSCRIBERS) {
      counters.noSubscriber++;
      if (!noSubscriberEpisode)
        logger.warn({ retryMs }, 'no subscriber for agent events (control server not subscribed): keeping them queued');
      noSubscriberEpisode = true;
      probing = true;
      putBack(item);
      pauseThenRewind();
      return;
    }
    if (err && typeof rc === 'number' && TRANSIENT_REFUSALS.has(rc)) {
      logger.warn({ rc, err: err.message }, 'broker refused an event for now, retrying');
      putBack(item);
      pauseThenRewind();
      return;
    }
    if (err) {
      counters.rejected++;
      logger.error(
        { rc, err: err.message, ...(item.kind === 'row' ? { eventId: item.entry.eventId, key: item.entry.key } : {}) },
        'broker rejected an event, dropped',
      );
      if (item.kind === 'row') outbox?.remove([item.entry.seq]);
      return;
    }
    counters.delivered++;
    probing = false;
    if (noSubscriberEpisode) logger.info('events reach a subscriber again');
    noSubscriberEpisode = false;
    if (item.kind === 'row') {
      acked.push(item.entry.seq);
      if (!ackFlushScheduled) {
        ackFlushScheduled = true;
        setImmediate(flushAcks);
      }
    }
  }

  function putBack(item: InFlight): void {
    // rows are still pending in SQLite: a rewind finds them; memory events go back in their place
    if (item.kind === 'memory') returnToMemory(item.event);
    else cursor = Math.min(cursor, item.entry.seq - 1);
  }

  function returnToMemory(e: MemoryEvent): void {
    memory.push(e);
    memory.sort((a, b) => a.n - b.n);
  }

  /** PUBACKs are written in batches: one transaction (and one fsync) per turn of the event loop */
  function flushAcks(): void {
    ackFlushScheduled = false;
    // while writes fail, each try may block for busyTimeoutMs: at most one try per OUTBOX_RETRY_MS
    if (acked.length === 0 || !outbox || (ackFailing && Date.now() < ackRetryAt)) return;
    const seqs = acked.splice(0);
    const r = outbox.markDelivered(seqs);
    if (r.ok) {
      if (ackFailing) logger.warn('outbox: acknowledgements recorded again');
      ackFailing = false;
      return;
    }
    // kept to be written at the next turn; if the agent stops first, the events go again at the
    // next start and the server ignores the copies
    acked.unshift(...seqs);
    ackRetryAt = Date.now() + OUTBOX_RETRY_MS;
    // the pump may have nothing left to do: try again by itself
    if (!ackRetryTimer) {
      ackRetryTimer = setTimeout(() => {
        ackRetryTimer = undefined;
        ackRetryAt = 0;
        flushAcks();
      }, OUTBOX_RETRY_MS);
      ackRetryTimer.unref();
    }
    if (!ackFailing)
      logger.error(
        { code: r.error.code, err: r.error.message, events: seqs.length },
        'outbox: acknowledgements cannot be recorded',
      );
    ackFailing = true;
  }

  function toMemory(key: EventTopicKey, payload: string): void {
    if (memory.length >= MAX_MEMORY_EVENTS) {
      memory.shift();
      counters.memoryOverflow++;
      logger.error({ memoryOverflow: counters.memoryOverflow }, 'memory event queue full: oldest event dropped');
    }
    memory.push({ n: ++memorySeq, key, payload });
  }

  function enqueue(key: EventTopicKey, payload: PayloadOf<EventTopicKey>, body: string): void {
    // a failing write may have waited busyTimeoutMs with the event loop blocked: after a failure the
    // outbox is tried again at most once per OUTBOX_RETRY_MS, events go straight to memory meanwhile
    if (outbox && (!outboxFailing || Date.now() >= outboxRetryAt)) {
      const r = outbox.enqueue({ key, eventId: payload.id, camera: payload.camera, payload: body });
      if (r.ok) {
        if (outboxFailing) logger.warn({ outboxBypassed: counters.outboxBypassed }, 'outbox writable again');
        outboxFailing = false;
        return;
      }
      if (!outboxFailing) {
        logger.error(
          { code: r.error.code, err: r.error.message },
          'outbox not writable: events sent without it (lost if the agent stops before they go out)',
        );
      }
      outboxFailing = true;
      outboxRetryAt = Date.now() + OUTBOX_RETRY_MS;
    }
    if (opts.dataDir) counters.outboxBypassed++;
    toMemory(key, body);
  }

  function publishDirect(topic: string, body: string, qos: 0 | 1, retain: boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      client.publish(topic, body, { qos, retain }, (err) => (err ? reject(err) : resolve()));
    });
  }

  const depth = () =>
    (outbox?.depth() ?? 0) + memory.length + [...inFlight.values()].filter((f) => f.kind === 'memory').length;

  return {
    get connected() {
      return client.connected;
    },
    publish(key, payload) {
      if (closed)
        return Promise.reject(new TransportError('EDGE_ERR_TRANSPORT_CLOSED', `${key} published after close`));
      let body: string;
      try {
        body = encodePayload(key, payload);
      } catch (err) {
        // an invalid payload is a bug of the caller: its promise says so, the agent keeps running
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
      if (isEventKey(key)) {
        enqueue(key, payload as PayloadOf<EventTopicKey>, body);
        schedulePump();
        return Promise.resolve();
      }
      const spec = TOPICS[key];
      if (key === 'status' && !ready) return Promise.resolve();
      return publishDirect(buildTopic(key, site, agent), body, spec.qos, spec.retain);
    },
    depth,
    stats() {
      return {
        connected: client.connected,
        protocolVersion: version,
        depth: depth(),
        inFlight: inFlight.size,
        outbox: outbox?.stats() ?? null,
        memoryQueued: memory.length,
        ...counters,
      };
    },
    async close(offline) {
      if (closing) return;
      closing = true;
      clearInterval(pruneTimer);
      const c = client;
      if (c.connected) {
        // what the agent said last (camera stopped…) goes out before the offline status, within a bound
        const deadline = Date.now() + closeTimeoutMs;
        while (ready && (depth() > 0 || inFlight.size > 0) && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 20));
        if (depth() > 0) logger.warn({ pending: depth() }, 'events still pending at stop: sent at the next start');
        await Promise.race([
          new Promise<void>((resolve) =>
            c.publish(statusTopic, encodePayload('status', offline), { qos: 1, retain: true }, () => resolve()),
          ),
          new Promise<void>((resolve) => setTimeout(resolve, Math.max(100, deadline - Date.now())).unref()),
        ]);
      }
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      if (ackRetryTimer) clearTimeout(ackRetryTimer);
      // graceful when nothing is left in flight; forced when the broker is gone or did not answer
      const force = !c.connected || Object.keys(c.outgoing).length > 0;
      await new Promise<void>((resolve) => c.end(force, {}, () => resolve()));
      flushAcks();
      outbox?.close();
    },
  };
}
