import { decodePayload, parseTopic } from '@portail/protocol';
import mqtt from 'mqtt';

export interface RecordedMessage {
  topic: string;
  payload: string;
  /** null when the payload is valid against its topic's schema, else the reasons */
  invalid: string[] | null;
}

/** Subscribes to everything and checks each payload against the protocol, as a third party would. */
export async function recordMqtt(url: string, filter = 'portail/#'): Promise<{ messages: RecordedMessage[]; close(): Promise<void> }> {
  const client = mqtt.connect(url, { protocolVersion: 4, clientId: `portail-recorder-${Math.random().toString(16).slice(2)}` });
  const messages: RecordedMessage[] = [];
  client.on('message', (topic, buf) => {
    const parsed = parseTopic(topic);
    const r = parsed ? decodePayload(parsed.key, buf) : { ok: false as const, error: { messages: ['unknown topic'] } };
    messages.push({ topic, payload: buf.toString('utf8'), invalid: r.ok ? null : r.error.messages });
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => client.subscribe(filter, { qos: 1 }, (err) => (err ? reject(err) : resolve())));
    client.once('error', reject);
  });
  return { messages, close: () => client.endAsync().then(() => undefined) };
}
