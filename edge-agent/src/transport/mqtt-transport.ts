import { buildTopic, encodePayload, TOPICS, type PayloadOf, type Status, type TopicKey } from '@portail/protocol';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';

export interface MqttTransportOptions {
  url: string;
  site: string;
  agent: string;
  username?: string | undefined;
  password?: string | undefined;
  keepaliveS: number;
  logger: Logger;
  /** status re-published (retained) at every (re)connect, since the last will may have replaced it */
  onlineStatus: () => Status;
}

export interface MqttTransport {
  readonly connected: boolean;
  publish<K extends TopicKey>(key: K, payload: PayloadOf<K>): Promise<void>;
  /** publish the retained offline status, then disconnect cleanly */
  close(offline: Status): Promise<void>;
}

/**
 * MQTT transport of one agent. Every payload is validated by the protocol before it leaves.
 * QoS 1 messages published while disconnected wait in mqtt.js's in-memory queue; a durable
 * SQLite outbox replaces it with the edge-resilience work.
 */
/** The agent starts even when the broker is away: cameras run, events queue, status goes out on connect. */
export function createMqttTransport(opts: MqttTransportOptions): MqttTransport {
  const { logger, site, agent } = opts;
  const statusTopic = buildTopic('status', site, agent);
  const will: Status = { v: 1, site, agent, state: 'offline', reason: 'connection_lost', ts: new Date().toISOString() };
  const client: MqttClient = mqtt.connect(opts.url, {
    clientId: `portail-agent-${site}-${agent}`,
    username: opts.username,
    password: opts.password,
    keepalive: opts.keepaliveS,
    reconnectPeriod: 2000,
    connectTimeout: 10_000,
    // MQTT 3.1.1: the embedded broker (aedes) speaks no MQTT 5, and nothing here needs it
    protocolVersion: 4,
    clean: true,
    // stale health figures are worthless after an outage; QoS 1 events still queue
    queueQoSZero: false,
    will: { topic: statusTopic, payload: Buffer.from(encodePayload('status', will)), qos: 1, retain: true },
  });

  let wasConnected = false;
  client.on('connect', () => {
    logger.info({ url: opts.url.replace(/\/\/[^@/]*@/, '//***@') }, wasConnected ? 'mqtt reconnected' : 'mqtt connected');
    wasConnected = true;
    client.publish(statusTopic, encodePayload('status', opts.onlineStatus()), { qos: 1, retain: true }, (err) => {
      if (err) logger.warn({ err: err.message }, 'online status not published');
    });
  });
  client.on('offline', () => logger.warn('mqtt offline, reconnecting'));
  client.on('error', (err) => logger.warn({ err: err.message }, 'mqtt error'));

  const transport: MqttTransport = {
    get connected() {
      return client.connected;
    },
    publish(key, payload) {
      const spec = TOPICS[key];
      const topic = buildTopic(key, site, agent);
      const body = encodePayload(key, payload);
      return new Promise((resolve, reject) => {
        client.publish(topic, body, { qos: spec.qos, retain: spec.retain }, (err) => (err ? reject(err) : resolve()));
      });
    },
    async close(offline) {
      if (client.connected) {
        await new Promise<void>((resolve) => {
          client.publish(statusTopic, encodePayload('status', offline), { qos: 1, retain: true }, () => resolve());
        });
      }
      // graceful when connected (in-flight QoS 1 completes); forced when the broker is gone, or
      // mqtt.js would keep trying to reconnect before giving up
      await new Promise<void>((resolve) => client.end(!client.connected, {}, () => resolve()));
    },
  };

  return transport;
}
