import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Database } from 'better-sqlite3';
import type { Logger } from 'pino';
import type { MqttConfig } from '../config/schema.js';
import { ControlServerError } from '../infra/errors.js';
import { hostPort, localHostFor } from '../infra/net-url.js';
import { DEFAULT_SERVER_USERNAME } from './acl.js';
import { createMqttAccountStore, principalOf } from './acl-accounts.js';
import { isLoopbackHost, startEmbeddedBroker, type EmbeddedBroker, type EmbeddedBrokerTls } from './embedded-broker.js';
import type { MqttSubscriberOptions } from './mqtt-subscriber.js';

export type EmbeddedMqttConfig = Extract<MqttConfig, { mode: 'embedded' }>;

export interface SiteBroker {
  broker: EmbeddedBroker;
  /** how the server's own subscriber reaches it: URL, in-process account, pinned TLS */
  client: Pick<MqttSubscriberOptions, 'url' | 'username' | 'password' | 'ca' | 'tls'>;
  auth: 'none' | 'required';
}

/** `mqtt.auth` when not set: none on loopback (development, the tests, `npm run demo`), required otherwise. */
export function effectiveMqttAuth(cfg: Pick<EmbeddedMqttConfig, 'auth' | 'host'>): 'none' | 'required' {
  return cfg.auth ?? (isLoopbackHost(cfg.host) ? 'none' : 'required');
}

function readPem(file: string, key: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ControlServerError('SERVER_ERR_MQTT_TLS', `cannot read mqtt.tls.${key} ${file}`, { cause: err });
  }
}

/**
 * The embedded broker as the config asks: accounts from `mqtt_accounts` (read at every CONNECT, so
 * `portail-admin agent revoke` in another process applies at once, and connected agents are cut
 * within a second), TLS only when `mqtt.tls` is set, and an in-process secret for the server's own
 * connection (made at each start, never written down).
 */
export async function startSiteBroker(
  cfg: EmbeddedMqttConfig,
  deps: { db: Database; logger: Logger },
): Promise<SiteBroker> {
  const auth = effectiveMqttAuth(cfg);
  const accounts = createMqttAccountStore(deps.db);
  const server = { username: DEFAULT_SERVER_USERNAME, password: randomBytes(32).toString('base64url') };
  const tls: EmbeddedBrokerTls | undefined = cfg.tls
    ? {
        cert: readPem(cfg.tls.certFile, 'certFile'),
        key: readPem(cfg.tls.keyFile, 'keyFile'),
        ...(cfg.tls.caFile ? { ca: readPem(cfg.tls.caFile, 'caFile') } : {}),
        requireClientCert: cfg.tls.requireClientCert,
      }
    : undefined;
  const broker = await startEmbeddedBroker({
    host: cfg.host,
    port: cfg.port,
    logger: deps.logger,
    maxPacketBytes: cfg.maxPacketBytes,
    ...(tls ? { tls } : {}),
    ...(auth === 'required'
      ? {
          auth: {
            server,
            findAccount: (username: string) => {
              const a = accounts.findActive(username);
              return a
                ? { principal: principalOf(a), passwordHash: a.passwordHash, certFingerprint: a.certFingerprint }
                : undefined;
            },
          },
        }
      : {}),
  });
  const url = `${broker.protocol}://${hostPort(localHostFor(cfg.host), broker.port)}`;
  const client: SiteBroker['client'] = { url };
  if (auth === 'required') {
    client.username = server.username;
    client.password = server.password;
  }
  if (broker.localClientTls) {
    client.ca = broker.localClientTls.ca;
    client.tls = { checkServerIdentity: broker.localClientTls.checkServerIdentity };
  }
  return { broker, client, auth };
}
