import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { agentTopicsFilter } from '@portail/protocol';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { ExternalMqttConfig } from '../config/schema.js';
import { ControlServerError } from '../infra/errors.js';

export interface MqttSubscriberOptions {
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  ca?: Buffer;
  /** extra TLS options, e.g. the embedded broker's pinned certificate (its checkServerIdentity) */
  tls?: Pick<ConnectionOptions, 'checkServerIdentity' | 'cert' | 'key'>;
  logger: Logger;
  /** called synchronously for every message; the PUBACK is sent only after it returns */
  onMessage: (topic: string, payload: Buffer) => void;
  /**
   * Batched ingest: when given, the messages of one socket read go to one batch (one transaction),
   * and their PUBACKs are held in the corked socket until `commit` returns true. A false commit
   * (nothing stored) drops the connection instead: the PUBACKs are never sent and the broker
   * delivers the messages again on the persistent session. `onMessage` is then unused.
   */
  batch?: { begin(): SubscriberBatch };
  /**
   * Subscription filters; default the wildcard over every agent topic. Scale-out passes one filter
   * per owned site, prefixed `$share/{group}/` for a broker with shared subscriptions.
   */
  filters?: readonly string[];
  /** how long start() waits for the first subscription before returning anyway (and retrying) */
  startupWaitMs?: number;
  reconnectPeriodMs?: number;
  /** after every (re)connect; `sessionPresent` false means the broker may have lost retained messages too */
  onConnect?: (sessionPresent: boolean) => void;
}

export interface SubscriberBatch {
  handle(topic: string, payload: Buffer): void;
  /** true when everything handled is durably stored (or rejected): the PUBACKs may go */
  commit(): boolean;
}

/** `$share/{group}/{filter}` when a group is set (MQTT 5 and Mosquitto's v3.1.1 shared subscriptions). */
export function sharedFilter(filter: string, group?: string): string {
  return group ? `$share/${group}/${filter}` : filter;
}

export interface MqttSubscriber {
  readonly connected: boolean;
  /** true once the wildcard subscription has been granted on the current connection */
  readonly subscribed: boolean;
  /**
   * Publish on the same connection (the server's own topics: retained site sync). Resolves at the
   * broker's PUBACK for QoS 1; while disconnected, mqtt.js holds the message until it reconnects.
   */
  publish(topic: string, payload: string | Buffer, opts: { qos: 0 | 1; retain: boolean }): Promise<void>;
  close(): Promise<void>;
}

/** Credentials of an external broker, read from a file or the environment: never from the config itself. */
export function resolveExternalCredentials(
  cfg: ExternalMqttConfig,
  env: NodeJS.ProcessEnv = process.env,
): { username?: string; password?: string; ca?: Buffer } {
  const out: { username?: string; password?: string; ca?: Buffer } = {};
  if (cfg.username) out.username = cfg.username;
  if (cfg.passwordFile) {
    try {
      out.password = readFileSync(cfg.passwordFile, 'utf8').trim();
    } catch (err) {
      throw new ControlServerError(
        'SERVER_ERR_MQTT_PASSWORD_FILE',
        `cannot read mqtt.passwordFile ${cfg.passwordFile}`,
        {
          cause: err,
        },
      );
    }
  }
  if (cfg.passwordEnv) {
    const v = env[cfg.passwordEnv];
    if (v === undefined) {
      throw new ControlServerError(
        'SERVER_ERR_MQTT_PASSWORD_ENV',
        `environment variable ${cfg.passwordEnv} is not set`,
      );
    }
    out.password = v;
  }
  if (cfg.caFile) {
    try {
      out.ca = readFileSync(cfg.caFile);
    } catch (err) {
      throw new ControlServerError('SERVER_ERR_MQTT_CA_FILE', `cannot read mqtt.caFile ${cfg.caFile}`, { cause: err });
    }
  }
  return out;
}

/** Strip any userinfo from a URL before it is logged or reported. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//');
}

/**
 * The server's ingest connection, the same in embedded and external mode: a normal MQTT client with a
 * persistent session subscribed to every agent topic at QoS 1.
 */
export async function startMqttSubscriber(opts: MqttSubscriberOptions): Promise<MqttSubscriber> {
  const log = opts.logger;
  const filters = opts.filters?.length ? [...opts.filters] : [agentTopicsFilter()];
  const clientOpts: IClientOptions = {
    clientId: opts.clientId,
    // persistent session: an external broker keeps QoS 1 messages for us while we restart
    clean: false,
    reconnectPeriod: opts.reconnectPeriodMs ?? 1_000,
    connectTimeout: 10_000,
    // we subscribe on every connect ourselves, so a broker that lost the session is covered too
    resubscribe: false,
    protocolVersion: 4,
  };
  if (opts.username !== undefined) clientOpts.username = opts.username;
  if (opts.password !== undefined) clientOpts.password = opts.password;
  if (opts.ca !== undefined) clientOpts.ca = opts.ca;
  // mqtt.js hands its options to tls.connect as they are
  if (opts.tls !== undefined) Object.assign(clientOpts, opts.tls);

  const client: MqttClient = mqtt.connect(opts.url, clientOpts);
  let subscribed = false;
  let wasConnected = false;
  let stopping = false;

  // Storing inside handleMessage makes mqtt.js send the PUBACK only once the message is in SQLite.
  type Corkable = NodeJS.WritableStream & { cork(): void; uncork(): void; destroy(): void };
  let open: { batch: SubscriberBatch; stream: Corkable } | null = null as { batch: SubscriberBatch; stream: Corkable } | null;
  const flush = (): void => {
    const o = open;
    open = null;
    if (!o) return;
    let ok = false;
    try {
      ok = o.batch.commit();
    } catch (err) {
      // commit is meant never to throw; treat it as a failed commit: nothing acknowledged
      log.error({ err }, 'ingest batch commit threw');
    }
    if (ok) {
      o.stream.uncork();
      return;
    }
    // the PUBACKs sit in the corked socket: destroying it discards them, and the persistent session
    // makes the broker deliver every unacknowledged message again after the reconnect
    log.error('ingest batch not stored: dropping the broker connection so its messages are delivered again');
    o.stream.destroy();
  };
  client.handleMessage = (packet, done) => {
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    if (opts.batch) {
      if (!open) {
        // mqtt.js handles the packets of one socket read on process.nextTick: a setImmediate runs after them all
        const stream = client.stream as unknown as Corkable;
        stream.cork();
        open = { batch: opts.batch.begin(), stream };
        setImmediate(flush);
      }
      try {
        open.batch.handle(packet.topic, payload);
      } catch (err) {
        // handle is meant never to throw; if it does, the commit decides for the batch
        log.error({ err, topic: packet.topic }, 'ingest handler threw');
      }
      done();
      return;
    }
    try {
      opts.onMessage(packet.topic, payload);
    } catch (err) {
      // onMessage is meant never to throw; if it does, ack anyway so one message cannot wedge the session
      log.error({ err, topic: packet.topic }, 'ingest handler threw');
    }
    done();
  };

  let resolveFirst: (() => void) | null = null;
  const firstSubscription = new Promise<void>((resolve) => {
    resolveFirst = resolve;
  });

  client.on('connect', (connack) => {
    wasConnected = true;
    log.info({ url: redactUrl(opts.url), sessionPresent: connack.sessionPresent }, 'mqtt connected');
    try {
      opts.onConnect?.(connack.sessionPresent);
    } catch (err) {
      // a failing hook must not keep the ingest from subscribing
      log.error({ err }, 'mqtt connect hook threw');
    }
    client.subscribe(filters, { qos: 1 }, (err, granted) => {
      if (err) {
        log.error({ err, filters }, 'mqtt subscribe failed');
        return;
      }
      const refused = granted?.filter((g) => g.qos === 128).map((g) => g.topic) ?? [];
      if (refused.length > 0) {
        log.error({ refused }, 'mqtt subscription refused by the broker (ACL? shared subscriptions unsupported?)');
        return;
      }
      subscribed = true;
      log.debug({ filters }, 'mqtt subscribed');
      resolveFirst?.();
      resolveFirst = null;
    });
  });
  client.on('close', () => {
    subscribed = false;
    if (wasConnected && !stopping) log.warn({ url: redactUrl(opts.url) }, 'mqtt connection lost, reconnecting');
    wasConnected = false;
  });
  client.on('error', (err) => log.warn({ err: err.message }, 'mqtt client error'));

  const waitMs = opts.startupWaitMs ?? 10_000;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    firstSubscription.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), waitMs);
    }),
  ]);
  clearTimeout(timer);
  if (timedOut) log.warn({ url: redactUrl(opts.url), waitMs }, 'mqtt not subscribed yet, serving anyway and retrying');

  let closing: Promise<void> | null = null;
  return {
    get connected() {
      return client.connected;
    },
    get subscribed() {
      return subscribed;
    },
    publish(topic, payload, o) {
      return new Promise<void>((resolve, reject) => {
        client.publish(topic, payload, { qos: o.qos, retain: o.retain }, (err) => (err ? reject(err) : resolve()));
      });
    },
    close() {
      // force when offline: there is nothing in flight to wait for, and a graceful end would wait for a broker that is gone
      stopping = true;
      // the open batch first: ending the connection flushes the corked socket, and with it the
      // PUBACKs of messages not yet stored
      if (!closing) flush();
      closing ??= client.endAsync(!client.connected).then(() => undefined);
      return closing;
    },
  };
}
