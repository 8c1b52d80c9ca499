import { decodePayload, decodeSitePayload, parseSiteTopic, parseTopic } from '@portail/protocol';
import mqtt from 'mqtt';

export interface RecordedMessage {
  topic: string;
  payload: string;
  /** the payload bytes as received (binary signatures are lost in the UTF-8 text) */
  bytes: Buffer;
  /** null when the payload is valid against its topic's schema, else the reasons */
  invalid: string[] | null;
}

/** Subscribes to everything and checks each payload against the protocol, as a third party would. */
export async function recordMqtt(url: string, filter = 'portail/#'): Promise<{ messages: RecordedMessage[]; close(): Promise<void> }> {
  const client = mqtt.connect(url, { protocolVersion: 4, clientId: `portail-recorder-${Math.random().toString(16).slice(2)}` });
  const messages: RecordedMessage[] = [];
  client.on('message', (topic, buf) => {
    const parsed = parseTopic(topic);
    const site = parseSiteTopic(topic);
    const r = parsed
      ? decodePayload(parsed.key, buf)
      : site
        ? // an empty retained payload is how the server clears a sync chunk
          buf.byteLength === 0
          ? { ok: true as const }
          : decodeSitePayload(site.key, buf)
        : { ok: false as const, error: { messages: ['unknown topic'] } };
    messages.push({ topic, payload: buf.toString('utf8'), bytes: Buffer.from(buf), invalid: r.ok ? null : r.error.messages });
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => client.subscribe(filter, { qos: 1 }, (err) => (err ? reject(err) : resolve())));
    client.once('error', reject);
  });
  return { messages, close: () => client.endAsync().then(() => undefined) };
}
