import { timingSafeEqual, X509Certificate, createHash } from 'node:crypto';
import { createServer, isIP, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type PeerCertificate, type TLSSocket } from 'node:tls';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { Logger } from 'pino';
import { ControlServerError } from '../infra/errors.js';
import { canPublish, canRead, canSubscribe, clientIdAllowed, type MqttPrincipal } from './acl.js';
import { verifyMqttPassword } from './acl-password.js';
import { createPacketSizeGuard } from './packet-size-guard.js';

/** An account the broker may let in (from `mqtt_accounts`, looked up at every CONNECT). */
export interface BrokerAccount {
  principal: MqttPrincipal;
  passwordHash: string;
  /** sha256 (hex, lower case) of the client certificate issued with the account, when one was */
  certFingerprint?: string | null;
}

export interface EmbeddedBrokerAuth {
  /** the active account of a username, read fresh (a CLI revocation applies at the next CONNECT) */
  findAccount(username: string): BrokerAccount | undefined;
  /** the control server's own connection: a secret made at each start, never written anywhere */
  server: { username: string; password: string };
  /** how often connected agents are checked against their accounts (revocation cut-off); default 1 s */
  recheckMs?: number;
}

export interface EmbeddedBrokerTls {
  cert: Buffer;
  key: Buffer;
  /** CA bundle: verifies client certificates, and the broker's own chain for the server's connection */
  ca?: Buffer;
  /** agents must present a certificate issued by `ca` whose CN is their username */
  requireClientCert?: boolean;
}

export interface EmbeddedBrokerOptions {
  host: string;
  /** 0 picks a free port; the bound one is in `port` after start */
  port: number;
  logger: Logger;
  /** absent: anyone who reaches the port may publish and subscribe anything (loopback development) */
  auth?: EmbeddedBrokerAuth;
  /** present: the listener speaks TLS only (no plaintext listener is opened) */
  tls?: EmbeddedBrokerTls;
  /** packets announcing more than this many bytes after the fixed header drop the connection */
  maxPacketBytes?: number;
}

/** What the server's own MQTT client needs to reach a TLS broker on loopback. */
export interface LocalClientTls {
  ca: Buffer;
  /** pins the broker's certificate instead of checking the host name (the client dials 127.0.0.1) */
  checkServerIdentity: (host: string, cert: PeerCertificate) => Error | undefined;
}

export interface EmbeddedBroker {
  readonly host: string;
  readonly port: number;
  /** `mqtts://` or `mqtt://` */
  readonly protocol: 'mqtt' | 'mqtts';
  readonly localClientTls: LocalClientTls | null;
  readonly connectedClients: number;
  /** check every connected agent against its account now; returns how many were disconnected */
  recheck(): number;
  /**
   * In-process subscription (the ingest fast path, docs/performance.md): messages matching `filter`
   * are handed over as they are routed, with no MQTT encoding, socket or client session in between.
   * Not subject to the ACL: only the server itself can call it. aedes reads nothing more from the
   * publisher's socket until `done` is called (the ingest calls it once the message is committed):
   * when the database falls behind, the agents' outboxes hold the rest, not this process's memory.
   * (aedes sends a QoS 1 PUBACK before routing the message, so this does not delay the PUBACK.)
   */
  subscribeLocal(filter: string, onMessage: (topic: string, payload: Buffer, done: () => void) => void): Promise<void>;
  close(): Promise<void>;
}

/**
 * A memory bound, not the protocol limit: payloads are at most 256 KiB (docs/mqtt.md), which the
 * ingest checks and counts as `too_large`; a bigger packet is still delivered to it so the
 * rejection is visible in /api/stats, up to this size where the connection is simply dropped.
 */
export const DEFAULT_MAX_PACKET_BYTES = 1024 * 1024;

/** Messages the local subscribers may hold unacknowledged at once (aedes' emitter concurrency). */
const LOCAL_IN_FLIGHT_MESSAGES = 65_536;

/** A well-formed hash of nothing anyone knows, checked for unknown usernames. */
const DUMMY_HASH = '$7$101$AAAAAAAAAAAAAAAA$' + Buffer.alloc(64).toString('base64');

/** 127.0.0.0/8, ::1 and `localhost`: the only hosts where the broker may run without accounts. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

function authError(returnCode: 4 | 5, message: string): AuthenticateError {
  const err: AuthenticateError = Object.assign(new Error(message), { returnCode });
  return err;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Check the TLS material once at start, with messages naming the config keys. */
function localTlsFor(tls: EmbeddedBrokerTls): LocalClientTls {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(tls.cert);
  } catch (err) {
    throw new ControlServerError('SERVER_ERR_MQTT_TLS', 'mqtt.tls.certFile is not a PEM certificate', { cause: err });
  }
  if (tls.requireClientCert && !tls.ca) {
    throw new ControlServerError(
      'SERVER_ERR_MQTT_TLS',
      'mqtt.tls.requireClientCert needs mqtt.tls.caFile (the CA that issues agent certificates)',
    );
  }
  if (!tls.ca && !cert.checkIssued(cert)) {
    throw new ControlServerError(
      'SERVER_ERR_MQTT_TLS',
      'mqtt.tls.certFile is not self-signed: give mqtt.tls.caFile (its issuing CA) so the server can verify its own broker',
    );
  }
  const pinned = cert.fingerprint256;
  return {
    ca: tls.ca ?? tls.cert,
    checkServerIdentity: (_host, peer) =>
      peer.fingerprint256 === pinned ? undefined : new Error('the embedded broker presented an unexpected certificate'),
  };
}

/**
 * aedes over TCP or TLS: the single-machine default. Retained messages and QoS 1 sessions live in
 * aedes' in-memory persistence, so they are lost when the server stops; agents republish their
 * retained status on reconnect and replay their outbox, so nothing durable depends on it.
 *
 * With `auth`, every CONNECT needs an account (mqtt/acl-accounts.ts) or the server's in-process
 * secret, and publish / subscribe / delivery go through the rules of mqtt/acl.ts: the same ones
 * `portail-admin mqtt export` writes for Mosquitto.
 */
export async function startEmbeddedBroker(opts: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const log = opts.logger;
  const auth = opts.auth;
  if (!auth && !isLoopbackHost(opts.host)) {
    throw new ControlServerError(
      'SERVER_ERR_MQTT_AUTH_NONE',
      `mqtt.auth is "none" but the embedded broker would listen on ${opts.host}: anyone on the network could publish events and read the site sync. Set mqtt.auth: required (and provision agents with portail-admin agent provision), or bind it to 127.0.0.1`,
    );
  }
  const localClientTls = opts.tls ? localTlsFor(opts.tls) : null;
  const maxPacketBytes = opts.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES;

  /** who each connected client is, and the hash it logged in with (a re-provisioned account changes it) */
  const sessions = new WeakMap<Client, { principal: MqttPrincipal; passwordHash: string | null }>();

  const aedes = await Aedes.createBroker({
    // Messages handed to a local subscriber stay "in flight" in aedes' emitter until the ingest has
    // committed them (subscribeLocal): up to every agent's whole QoS 1 window at once. With aedes'
    // default of 100, the rest would queue behind them and each commit would take at most 100.
    concurrency: LOCAL_IN_FLIGHT_MESSAGES,
    ...(auth
      ? {
          authenticate: (client, username, password, done) => {
            try {
              const r = authenticate(client, username, password);
              if (!r.ok) {
                log.warn(
                  { clientId: client.id, username: username ?? null, reason: r.reason },
                  'mqtt connection refused',
                );
                done(authError(r.returnCode, r.reason), false);
                return;
              }
              sessions.set(client, { principal: r.principal, passwordHash: r.passwordHash });
              done(null, true);
            } catch (err) {
              // a failing account lookup (database closed) refuses rather than lets in
              log.error({ err }, 'mqtt authentication failed');
              done(authError(5, 'authentication unavailable'), false);
            }
          },
          authorizePublish: (client, packet, done) => {
            // client null: a publish made by the broker itself (none today) is trusted
            if (!client) return done(null);
            const s = sessions.get(client);
            if (s && canPublish(s.principal, packet.topic)) return done(null);
            log.warn(
              { clientId: client.id, username: s?.principal.username ?? null, topic: packet.topic },
              'mqtt publish refused by ACL',
            );
            // MQTT 3.1.1 has no negative PUBACK: aedes drops the connection
            done(new Error(`not authorized to publish on ${packet.topic}`));
          },
          authorizeSubscribe: (client, sub, done) => {
            const s = sessions.get(client);
            if (s && canSubscribe(s.principal, sub.topic)) return done(null, sub);
            log.warn(
              { clientId: client.id, username: s?.principal.username ?? null, filter: sub.topic },
              'mqtt subscription refused by ACL',
            );
            // null: SUBACK return code 0x80 for this filter, the connection stays
            done(null, null);
          },
          // second lock at delivery (retained messages included): nothing reaches an account that may not read it
          authorizeForward: (client, packet) => {
            const s = sessions.get(client);
            return s && canRead(s.principal, packet.topic) ? packet : null;
          },
        }
      : {}),
  });

  function authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
  ):
    | { ok: true; principal: MqttPrincipal; passwordHash: string | null }
    | { ok: false; returnCode: 4 | 5; reason: string } {
    if (!username || !password) return { ok: false, returnCode: 5, reason: 'no username or password' };
    const secret = password.toString('utf8');
    if (username === auth!.server.username) {
      if (!sameSecret(secret, auth!.server.password)) return { ok: false, returnCode: 4, reason: 'bad password' };
      const principal: MqttPrincipal = { kind: 'server', username };
      if (!clientIdAllowed(principal, client.id)) return { ok: false, returnCode: 5, reason: 'client id not allowed' };
      return { ok: true, principal, passwordHash: null };
    }
    const account = auth!.findAccount(username);
    // the same work for an unknown username, so timing says nothing about which accounts exist
    const ok = verifyMqttPassword(secret, account?.passwordHash ?? DUMMY_HASH);
    if (!account || !ok) return { ok: false, returnCode: 4, reason: account ? 'bad password' : 'unknown account' };
    if (!clientIdAllowed(account.principal, client.id)) {
      return { ok: false, returnCode: 5, reason: `client id ${client.id} is not this account's` };
    }
    const certCheck = checkClientCert(client, account);
    if (certCheck) return { ok: false, returnCode: 5, reason: certCheck };
    return { ok: true, principal: account.principal, passwordHash: account.passwordHash };
  }

  /** null when the TLS client certificate (if any is needed or given) fits the account */
  function checkClientCert(client: Client, account: BrokerAccount): string | null {
    if (!opts.tls) return null;
    const socket = (client as unknown as { conn: unknown }).conn as TLSSocket | undefined;
    const peer = socket && typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined;
    const presented = peer !== undefined && Object.keys(peer).length > 0;
    if (!presented) return opts.tls.requireClientCert ? 'no client certificate' : null;
    if (!socket!.authorized) return `client certificate not trusted (${String(socket!.authorizationError)})`;
    if (peer.subject?.CN !== account.principal.username) return 'client certificate issued to another account';
    if (account.certFingerprint) {
      const fp = createHash('sha256').update(peer.raw).digest('hex');
      if (fp !== account.certFingerprint) return 'client certificate replaced or revoked';
    }
    return null;
  }

  aedes.on('clientError', (client, err) => log.debug({ clientId: client.id, err: err.message }, 'mqtt client error'));
  aedes.on('connectionError', (_client, err) => log.debug({ err: err.message }, 'mqtt connection error'));
  aedes.on('client', (client) => log.debug({ clientId: client.id }, 'mqtt client connected'));
  aedes.on('clientDisconnect', (client) => log.debug({ clientId: client.id }, 'mqtt client disconnected'));

  const sockets = new Set<Socket>();
  const onSocket = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const guard = createPacketSizeGuard(maxPacketBytes);
    // a 'data' listener sees every chunk aedes reads, before its parser buffers the packet
    socket.on('data', (chunk: Buffer) => {
      if (!guard.feed(chunk)) {
        log.warn({ remoteAddress: socket.remoteAddress, maxPacketBytes }, 'mqtt packet too large: connection dropped');
        socket.destroy();
      }
    });
    aedes.handle(socket);
  };
  const server: Server = opts.tls
    ? createTlsServer(
        {
          cert: opts.tls.cert,
          key: opts.tls.key,
          ...(opts.tls.ca ? { ca: opts.tls.ca } : {}),
          // asked for, never enforced at the handshake: the in-process server account has no
          // certificate, so agents are checked in authenticate (checkClientCert)
          requestCert: Boolean(opts.tls.ca),
          rejectUnauthorized: false,
          minVersion: 'TLSv1.2',
        },
        onSocket,
      )
    : createServer(onSocket);
  if (opts.tls) {
    // a plaintext client or a failed handshake: counted in the debug log, nothing else to do
    server.on('tlsClientError', (err: Error) => log.debug({ err: err.message }, 'mqtt tls handshake failed'));
  }
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    throw err;
  }
  server.on('error', (err) => log.error({ err }, 'embedded broker socket error'));
  const port = (server.address() as AddressInfo).port;
  log.info(
    { host: opts.host, port, tls: Boolean(opts.tls), auth: auth ? 'required' : 'none', maxPacketBytes },
    'embedded mqtt broker listening',
  );
  if (!auth) log.warn('embedded mqtt broker without accounts (mqtt.auth: none): loopback development only');

  const clients = (): Client[] => Object.values((aedes as unknown as { clients: Record<string, Client> }).clients);
  const recheck = (): number => {
    if (!auth) return 0;
    let cut = 0;
    for (const client of clients()) {
      const s = sessions.get(client);
      if (!s || s.principal.kind !== 'agent') continue;
      let account: BrokerAccount | undefined;
      try {
        account = auth.findAccount(s.principal.username);
      } catch (err) {
        // keep the connection: a lookup failure is not a revocation; the next pass retries
        log.error({ err }, 'mqtt account recheck failed');
        continue;
      }
      if (!account || account.passwordHash !== s.passwordHash) {
        log.warn({ clientId: client.id, username: s.principal.username }, 'mqtt account revoked: client disconnected');
        client.close();
        cut += 1;
      }
    }
    return cut;
  };
  const timer = auth ? setInterval(recheck, auth.recheckMs ?? 1_000) : null;
  timer?.unref();

  let closing: Promise<void> | null = null;
  return {
    host: opts.host,
    port,
    protocol: opts.tls ? 'mqtts' : 'mqtt',
    localClientTls,
    get connectedClients() {
      return aedes.connectedClients;
    },
    recheck,
    subscribeLocal(filter, onMessage) {
      return new Promise<void>((resolve, reject) => {
        aedes.subscribe(
          filter,
          (packet: { topic: string; payload: Buffer | string }, cb: () => void) => {
            onMessage(
              packet.topic,
              typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload,
              cb,
            );
          },
          (err?: Error) => (err ? reject(err) : resolve()),
        );
      });
    },
    close() {
      closing ??= (async () => {
        if (timer) clearInterval(timer);
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        await new Promise<void>((resolve) => aedes.close(() => resolve()));
        // aedes closes the clients it knows; a socket still mid-CONNECT is not one of them yet
        for (const s of sockets) s.destroy();
        await serverClosed;
        log.info('embedded mqtt broker closed');
      })();
      return closing;
    },
  };
}
