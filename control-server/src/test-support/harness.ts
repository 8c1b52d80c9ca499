import { buildTopic, encodePayload, type PayloadOf, type TopicKey } from '@portail/protocol';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import pino from 'pino';
import WebSocket from 'ws';
import { makeConfig } from '../config/load.js';
import { startControlServer, type ControlServer } from '../server.js';
import { makeTempDir, waitFor } from './fixtures.js';

export interface Harness {
  server: ControlServer;
  dataDir: string;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  /** `disabled` by default: the ingest tests are about ingest; auth tests pass `required` */
  authMode?: 'required' | 'disabled';
  env?: NodeJS.ProcessEnv;
  /** extra config, merged over the harness defaults (top-level keys replace) */
  config?: Record<string, unknown>;
}

/** A real control server: embedded aedes on port 0, HTTP on port 0, SQLite in a temp dir. */
export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const tmp = makeTempDir();
  const config = makeConfig({
    dataDir: tmp.dir,
    http: { host: '127.0.0.1', port: 0 },
    mqtt: { mode: 'embedded', host: '127.0.0.1', port: 0 },
    consoleDir: tmp.dir, // no index.html: the console is not under test here
    log: { level: 'silent' },
    auth: { mode: opts.authMode ?? 'disabled' },
    ...opts.config,
  });
  const server = await startControlServer(config, {
    logger: pino({ level: 'silent' }),
    ...(opts.env ? { env: opts.env } : {}),
  });
  return {
    server,
    dataDir: tmp.dir,
    async stop() {
      await server.close();
      tmp.remove();
    },
  };
}

export async function connectAgentClient(mqttUrl: string, opts: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(mqttUrl, { reconnectPeriod: 0, protocolVersion: 4, ...opts });
}

/** Publish a schema-checked payload on its protocol topic, with the registry's qos/retain. */
export async function publishValid<K extends TopicKey>(
  client: MqttClient,
  key: K,
  value: PayloadOf<K> & { site: string; agent: string },
  retain?: boolean,
): Promise<void> {
  await client.publishAsync(buildTopic(key, value.site, value.agent), encodePayload(key, value), {
    qos: 1,
    ...(retain !== undefined ? { retain } : {}),
  });
}

/** A `ws` client that records every JSON message it receives. */
export interface WsRecorder {
  messages: Array<Record<string, unknown>>;
  socket: WebSocket;
  waitFor(pred: (m: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function openWs(httpUrl: string, headers: Record<string, string> = {}): Promise<WsRecorder> {
  const socket = new WebSocket(`${httpUrl.replace(/^http/, 'ws')}/ws`, { headers });
  const messages: Array<Record<string, unknown>> = [];
  socket.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString('utf8')) as Record<string, unknown>));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return {
    messages,
    socket,
    waitFor: (pred, what) => waitFor(() => messages.find(pred), what),
    close: () =>
      new Promise<void>((resolve) => {
        if (socket.readyState === WebSocket.CLOSED) return resolve();
        socket.once('close', () => resolve());
        socket.close();
      }),
  };
}

export async function getJson<T = Record<string, unknown>>(
  httpUrl: string,
  path: string,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${httpUrl}${path}`);
  return { status: res.status, body: (await res.json()) as T };
}
