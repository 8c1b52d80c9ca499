import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { buildSiteTopic, buildTopic, encodePayload } from '@portail/protocol';
import { makeConfig, startControlServer, type ControlServer } from '@portail/control-server';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAgentCli } from '../../control-server/src/cli/agent-cli.js';
import { agentClientId } from '../../control-server/src/mqtt/acl.js';
import { ensurePeopleSite } from '../../control-server/src/people/people-sites.js';
import { openSigningKeyStore } from '../../control-server/src/people/signing-key-store.js';
import { openDatabase } from '../../control-server/src/store/database.js';
import { startMosquittoWith } from '../helpers/mosquitto.js';
import { onlineStatus } from '../helpers/outbox-burst.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { waitUntil } from '../helpers/wait.js';

/** An MQTT 5 acknowledgement's reason code (mqtt.js types `publishAsync`'s answer as any packet). */
const reasonCodeOf = (packet: unknown): number | undefined =>
  (packet as { reasonCode?: number } | undefined)?.reasonCode;

/*
 * Issue #9, acceptance 1: the broker rules of control-server/src/mqtt/acl.ts, enforced by the
 * embedded broker (aedes hooks) and by a private Mosquitto 2 fed the files `portail-admin mqtt
 * export` writes. Both run TLS only, with the CA and broker certificate made by `mqtt tls-init`,
 * and agent accounts made by `agent provision` (run in-process on the server's data dir).
 * Keys in temp dirs are not personal data; nothing here touches a face.
 */

const SITE_A = 'lycee-a';
const SITE_B = 'lycee-b';

interface Cli {
  code: number;
  out: Record<string, unknown>;
}

async function cli(dataDir: string, args: string[]): Promise<Cli> {
  let out = '';
  let err = '';
  const sink = (f: (s: string) => void) =>
    new Writable({
      write(chunk, _enc, cb) {
        f(String(chunk));
        cb();
      },
    });
  const code = await runAgentCli(['--data-dir', dataDir, ...args], {
    stdout: sink((s) => (out += s)),
    stderr: sink((s) => (err += s)),
    env: {},
    cwd: dataDir,
  });
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(out) as Record<string, unknown>;
  } catch {
    // not JSON: a usage error, reported through code and stderr
    parsed = { raw: out, stderr: err };
  }
  return { code, out: parsed };
}

interface Bundle {
  username: string;
  password: string;
  clientId: string;
}

async function provision(dataDir: string, site: string, agent: string, extra: string[] = []): Promise<Bundle> {
  const out = join(dataDir, 'bundles', `${site}.${agent}`);
  const r = await cli(dataDir, [
    'agent',
    'provision',
    '--site',
    site,
    '--agent',
    agent,
    '--broker-url',
    'mqtts://127.0.0.1:8883',
    '--out',
    out,
    ...extra,
  ]);
  expect(r.code, JSON.stringify(r.out)).toBe(0);
  return {
    username: `${site}.${agent}`,
    password: readFileSync(join(out, 'mqtt.password'), 'utf8').trim(),
    clientId: agentClientId(site, agent),
  };
}

type ConnectResult = { ok: true; client: MqttClient } | { ok: false; code: number | undefined; message: string };

/** One connection attempt, no reconnect: connected, or the broker's refusal (CONNACK code) / a socket error. */
function tryConnect(url: string, opts: IClientOptions): Promise<ConnectResult> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, {
      reconnectPeriod: 0,
      connectTimeout: 5_000,
      protocolVersion: 4,
      clean: true,
      ...opts,
    });
    const done = (r: ConnectResult) => {
      client.removeAllListeners('connect');
      client.removeAllListeners('error');
      client.removeAllListeners('close');
      if (!r.ok) client.end(true);
      else client.on('error', () => undefined);
      resolve(r);
    };
    client.once('connect', () => done({ ok: true, client }));
    client.once('error', (err: Error & { code?: unknown }) =>
      done({ ok: false, code: typeof err.code === 'number' ? err.code : undefined, message: err.message }),
    );
    client.once('close', () => done({ ok: false, code: undefined, message: 'connection closed' }));
  });
}

async function connectOk(url: string, opts: IClientOptions): Promise<MqttClient> {
  const r = await tryConnect(url, opts);
  if (!r.ok) throw new Error(`connect refused: ${r.message}`);
  return r.client;
}

/** Messages received on a client, by topic. */
function collect(client: MqttClient): Map<string, Buffer[]> {
  const got = new Map<string, Buffer[]>();
  client.on('message', (topic, payload) => got.set(topic, [...(got.get(topic) ?? []), payload]));
  return got;
}

/** The QoS the broker granted for one filter (128 = refused); mqtt.js reports a refusal as an error. */
function grantedQos(client: MqttClient, filter: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    client.subscribe(filter, { qos: 1 }, (err, granted) => {
      const fromErr = (err as { packet?: { granted?: (number | { qos: number })[] } } | null)?.packet?.granted?.[0];
      // on a refusal mqtt.js passes the requested subscriptions as `granted`: the SUBACK is in the error
      if (err) resolve(typeof fromErr === 'number' ? fromErr : fromErr?.qos);
      else resolve(granted?.[0]?.qos);
    });
  });
}

const statusBody = (site: string, agent: string) => encodePayload('status', onlineStatus(site, agent));
const closed = (c: MqttClient) =>
  new Promise<void>((r) => (c.disconnected || !c.connected ? r() : c.once('close', () => r())));

/** Data dir with two people sites (so the server publishes a sync manifest for each) and a signing key. */
function prepareDataDir(): string {
  const dataDir = mkdtempSync(join(tmpdir(), 'portail-acl-'));
  const db = openDatabase({ dataDir });
  ensurePeopleSite(db, SITE_A);
  ensurePeopleSite(db, SITE_B);
  db.close();
  openSigningKeyStore(dataDir).current();
  return dataDir;
}

describe('embedded broker: accounts, ACL and TLS', () => {
  let dataDir: string;
  let server: ControlServer;
  let url: string;
  let ca: Buffer;
  let a1: Bundle;
  let b1: Bundle;
  const opened: MqttClient[] = [];

  const agentOpts = (b: Bundle): IClientOptions => ({
    username: b.username,
    password: b.password,
    clientId: b.clientId,
    ca,
  });

  beforeAll(async () => {
    dataDir = prepareDataDir();
    const tls = await cli(dataDir, ['mqtt', 'tls-init', '--host', 'localhost', '--host', '127.0.0.1']);
    expect(tls.code, JSON.stringify(tls.out)).toBe(0);
    a1 = await provision(dataDir, SITE_A, 'gate-1');
    await provision(dataDir, SITE_A, 'gate-2');
    b1 = await provision(dataDir, SITE_B, 'gate-1');
    const tlsDir = join(dataDir, 'keys', 'mqtt-tls');
    ca = readFileSync(join(tlsDir, 'ca.crt'));
    server = await startControlServer(
      makeConfig({
        dataDir,
        http: { host: '127.0.0.1', port: 0 },
        mqtt: {
          mode: 'embedded',
          host: '127.0.0.1',
          port: 0,
          auth: 'required',
          tls: {
            certFile: join(tlsDir, 'server.crt'),
            keyFile: join(tlsDir, 'server.key'),
            caFile: join(tlsDir, 'ca.crt'),
          },
        },
        consoleDir: join(REPO_ROOT, 'console', 'dist'),
        log: { level: process.env.PORTAIL_TEST_LOG ?? 'silent' },
        auth: { mode: 'disabled' },
      }),
      { syncPollMs: 200 },
    );
    url = server.mqttUrl;
    // the server's own account (in-process secret over pinned TLS) subscribed and may publish the sync
    await waitUntil(() => server.stats().mqtt.subscribed, 'server subscribed', 15_000, 50);
  }, 60_000);

  afterAll(async () => {
    for (const c of opened) c.end(true);
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('listens with TLS only: a plaintext client gets no CONNACK', async () => {
    expect(url).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    const plain = await tryConnect(url.replace('mqtts://', 'mqtt://'), { ...agentOpts(a1), connectTimeout: 3_000 });
    expect(plain.ok).toBe(false);
  });

  it('refuses a client without credentials, a wrong password, and a stolen client id', async () => {
    const anon = await tryConnect(url, { ca, clientId: 'anonymous-1' });
    expect(anon).toMatchObject({ ok: false, code: 5 });
    const bad = await tryConnect(url, { ...agentOpts(a1), password: 'not-the-password' });
    expect(bad).toMatchObject({ ok: false, code: 4 });
    // A's own credentials with B's client id: taking over B's session is refused
    const stolen = await tryConnect(url, { ...agentOpts(a1), clientId: b1.clientId });
    expect(stolen).toMatchObject({ ok: false, code: 5 });
    // and A's password is not B's
    const swapped = await tryConnect(url, { ...agentOpts(b1), password: a1.password });
    expect(swapped).toMatchObject({ ok: false, code: 4 });
  });

  it("agent A reads its site sync but not another site's", async () => {
    const c = await connectOk(url, agentOpts(a1));
    opened.push(c);
    const got = collect(c);
    expect(await grantedQos(c, `portail/v1/${SITE_A}/sync/#`)).toBe(1);
    expect(await grantedQos(c, `portail/v1/${SITE_B}/sync/#`)).toBe(128);
    expect(await grantedQos(c, 'portail/v1/+/sync/#')).toBe(128);
    expect(await grantedQos(c, buildTopic('config', SITE_A, 'gate-2'))).toBe(128);
    // positive control: its own site's retained manifest arrives
    await waitUntil(() => got.get(buildSiteTopic('syncManifest', SITE_A)), 'site A manifest', 10_000, 50);
    // and site B's manifest exists (B's agent gets it) but never reached A
    const cb = await connectOk(url, agentOpts(b1));
    opened.push(cb);
    const gotB = collect(cb);
    await cb.subscribeAsync(`portail/v1/${SITE_B}/sync/#`, { qos: 1 });
    await waitUntil(() => gotB.get(buildSiteTopic('syncManifest', SITE_B)), 'site B manifest for agent B', 10_000, 50);
    expect([...got.keys()].filter((t) => t.includes(`/${SITE_B}/`))).toEqual([]);
    cb.end(true);
  });

  it('agent A cannot publish as agent B: its connection is dropped and the server never sees B', async () => {
    const c = await connectOk(url, agentOpts(a1));
    opened.push(c);
    await c.publishAsync(buildTopic('status', SITE_A, 'gate-1'), statusBody(SITE_A, 'gate-1'), {
      qos: 1,
      retain: true,
    });
    const agents = async () =>
      ((await (await fetch(`${server.httpUrl}/api/agents`)).json()) as { agents: { site: string; agent: string }[] })
        .agents;
    await waitUntil(
      async () => (await agents()).some((a) => a.site === SITE_A && a.agent === 'gate-1'),
      'A online at the server',
      10_000,
      50,
    );

    const wasClosed = closed(c);
    c.publish(buildTopic('status', SITE_A, 'gate-2'), statusBody(SITE_A, 'gate-2'), { qos: 1, retain: true });
    await wasClosed;
    // nor its own configuration (a server topic)
    const c2 = await connectOk(url, agentOpts(a1));
    opened.push(c2);
    const closed2 = closed(c2);
    c2.publish(buildTopic('config', SITE_A, 'gate-1'), '{}', { qos: 1, retain: true });
    await closed2;
    await new Promise((r) => setTimeout(r, 300));
    const list = await agents();
    expect(list.some((a) => a.agent === 'gate-2')).toBe(false);
  });

  it('a revoked agent is cut off at once and cannot come back', async () => {
    const c = await connectOk(url, agentOpts(b1));
    opened.push(c);
    const wasClosed = closed(c);
    const r = await cli(dataDir, ['agent', 'revoke', '--site', SITE_B, '--agent', 'gate-1']);
    expect(r.code).toBe(0);
    await wasClosed;
    const again = await tryConnect(url, agentOpts(b1));
    expect(again).toMatchObject({ ok: false, code: 4 });
    // every provisioning command is in the audit log, with the agent as target and no secret
    const db = openDatabase({ dataDir });
    try {
      const rows = db
        .prepare("SELECT action, site, target, outcome, details FROM audit_log WHERE action LIKE 'mqtt.%' ORDER BY seq")
        .all() as { action: string; site: string; target: string | null; outcome: string; details: string }[];
      expect(rows.map((r) => r.action)).toEqual([
        'mqtt.tls-init',
        'mqtt.agent.provision',
        'mqtt.agent.provision',
        'mqtt.agent.provision',
        'mqtt.agent.revoke',
      ]);
      expect(rows.at(-1)).toMatchObject({ site: SITE_B, target: `agent:${SITE_B}/gate-1`, outcome: 'ok' });
      expect(JSON.stringify(rows)).not.toContain(b1.password);
    } finally {
      db.close();
    }
  });
});

describe('embedded broker: client certificates, packet size, refusal to run open', () => {
  let dataDir: string;
  let server: ControlServer;
  let ca: Buffer;
  const opened: MqttClient[] = [];

  beforeAll(async () => {
    dataDir = prepareDataDir();
    expect((await cli(dataDir, ['mqtt', 'tls-init', '--host', '127.0.0.1'])).code).toBe(0);
    const tlsDir = join(dataDir, 'keys', 'mqtt-tls');
    ca = readFileSync(join(tlsDir, 'ca.crt'));
    server = await startControlServer(
      makeConfig({
        dataDir,
        http: { host: '127.0.0.1', port: 0 },
        mqtt: {
          mode: 'embedded',
          host: '127.0.0.1',
          port: 0,
          auth: 'required',
          maxPacketBytes: 64 * 1024,
          tls: {
            certFile: join(tlsDir, 'server.crt'),
            keyFile: join(tlsDir, 'server.key'),
            caFile: join(tlsDir, 'ca.crt'),
            requireClientCert: true,
          },
        },
        consoleDir: join(REPO_ROOT, 'console', 'dist'),
        log: { level: process.env.PORTAIL_TEST_LOG ?? 'silent' },
        auth: { mode: 'disabled' },
      }),
    );
    await waitUntil(
      () => server.stats().mqtt.subscribed,
      'server subscribed (no certificate: in-process account)',
      15_000,
      50,
    );
  }, 60_000);

  afterAll(async () => {
    for (const c of opened) c.end(true);
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('needs the certificate issued with the account, on top of the password', async () => {
    const withCert = await provision(dataDir, SITE_A, 'gate-1', ['--client-cert']);
    const noCert = await provision(dataDir, SITE_A, 'gate-2');
    const certDir = join(dataDir, 'bundles', `${SITE_A}.gate-1`);
    const cert = readFileSync(join(certDir, 'client.crt'));
    const key = readFileSync(join(certDir, 'client.key'));
    const base = (b: Bundle): IClientOptions => ({
      username: b.username,
      password: b.password,
      clientId: b.clientId,
      ca,
    });
    const ok = await connectOk(server.mqttUrl, { ...base(withCert), cert, key });
    opened.push(ok);
    expect(await tryConnect(server.mqttUrl, base(withCert))).toMatchObject({ ok: false, code: 5 });
    expect(await tryConnect(server.mqttUrl, base(noCert))).toMatchObject({ ok: false, code: 5 });
    // gate-1's certificate does not open gate-2's account
    expect(await tryConnect(server.mqttUrl, { ...base(noCert), cert, key })).toMatchObject({ ok: false, code: 5 });
  });

  it('drops a client announcing a packet above mqtt.maxPacketBytes', async () => {
    const b = await provision(dataDir, SITE_A, 'gate-3', ['--client-cert']);
    const dir = join(dataDir, 'bundles', `${SITE_A}.gate-3`);
    const c = await connectOk(server.mqttUrl, {
      username: b.username,
      password: b.password,
      clientId: b.clientId,
      ca,
      cert: readFileSync(join(dir, 'client.crt')),
      key: readFileSync(join(dir, 'client.key')),
    });
    opened.push(c);
    const wasClosed = closed(c);
    c.publish(buildTopic('health', SITE_A, 'gate-3'), Buffer.alloc(100 * 1024, 0x20), { qos: 0 });
    await wasClosed;
  });

  it('refuses to start without accounts on a non-loopback interface', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portail-acl-open-'));
    try {
      await expect(
        startControlServer(
          makeConfig({
            dataDir: dir,
            http: { host: '127.0.0.1', port: 0 },
            mqtt: { mode: 'embedded', host: '0.0.0.0', port: 0, auth: 'none' },
            consoleDir: join(REPO_ROOT, 'console', 'dist'),
            log: { level: 'silent' },
            auth: { mode: 'disabled' },
          }),
        ),
      ).rejects.toMatchObject({ code: 'SERVER_ERR_MQTT_AUTH_NONE' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('private Mosquitto 2 with the exported files', () => {
  let dataDir: string;
  let mosq: Awaited<ReturnType<typeof startMosquittoWith>>;
  let url: string;
  let ca: Buffer;
  let a1: Bundle;
  let b1: Bundle;
  let serverPassword: string;
  const mosqDir = () => join(dataDir, 'mosquitto');
  const opened: MqttClient[] = [];
  const v5 = (b: Bundle): IClientOptions => ({
    username: b.username,
    password: b.password,
    clientId: b.clientId,
    ca,
    protocolVersion: 5,
  });
  const serverOpts = (): IClientOptions => ({
    username: 'portail-server',
    password: serverPassword,
    clientId: 'portail-server',
    ca,
    protocolVersion: 5,
  });

  beforeAll(async () => {
    dataDir = prepareDataDir();
    expect((await cli(dataDir, ['mqtt', 'tls-init', '--host', 'localhost', '--host', '127.0.0.1'])).code).toBe(0);
    a1 = await provision(dataDir, SITE_A, 'gate-1');
    b1 = await provision(dataDir, SITE_B, 'gate-1');
    const pwFile = join(dataDir, 'server.password');
    expect((await cli(dataDir, ['mqtt', 'server-account', '--password-out', pwFile])).code).toBe(0);
    serverPassword = readFileSync(pwFile, 'utf8').trim();
    expect((await cli(dataDir, ['mqtt', 'export', '--out', mosqDir()])).code).toBe(0);
    const tlsDir = join(dataDir, 'keys', 'mqtt-tls');
    ca = readFileSync(join(tlsDir, 'ca.crt'));
    // the essentials of deploy/mosquitto/mosquitto.conf, on a free loopback port
    mosq = await startMosquittoWith((port) =>
      [
        'per_listener_settings false',
        'allow_anonymous false',
        `password_file ${join(mosqDir(), 'passwd')}`,
        `acl_file ${join(mosqDir(), 'acl')}`,
        'persistence false',
        'user root',
        `listener ${port} 127.0.0.1`,
        `cafile ${join(tlsDir, 'ca.crt')}`,
        `certfile ${join(tlsDir, 'server.crt')}`,
        `keyfile ${join(tlsDir, 'server.key')}`,
        'tls_version tlsv1.2',
        'require_certificate false',
        'use_username_as_clientid true',
        '',
      ].join('\n'),
    );
    url = `mqtts://127.0.0.1:${mosq.port}`;
  }, 60_000);

  afterAll(async () => {
    for (const c of opened) c.end(true);
    await mosq?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses plaintext, anonymous clients and wrong passwords', async () => {
    expect((await tryConnect(url.replace('mqtts://', 'mqtt://'), { ...v5(a1), connectTimeout: 3_000 })).ok).toBe(false);
    const anon = await tryConnect(url, { ca, clientId: 'anon', protocolVersion: 5 });
    expect(anon.ok).toBe(false);
    expect([134, 135]).toContain((anon as { code?: number }).code);
    const bad = await tryConnect(url, { ...v5(a1), password: 'nope' });
    expect(bad.ok).toBe(false);
    expect([134, 135]).toContain((bad as { code?: number }).code);
  });

  it('agent A publishes as itself; as agent B the broker answers "not authorized" and nothing is delivered', async () => {
    const srv = await connectOk(url, serverOpts());
    opened.push(srv);
    const seen = collect(srv);
    await srv.subscribeAsync('portail/v1/+/+/#', { qos: 1 });
    const a = await connectOk(url, v5(a1));
    opened.push(a);
    const ownAck = await a.publishAsync(buildTopic('status', SITE_A, 'gate-1'), statusBody(SITE_A, 'gate-1'), {
      qos: 1,
    });
    expect(reasonCodeOf(ownAck) ?? 0).toBe(0);
    await waitUntil(
      () => seen.get(buildTopic('status', SITE_A, 'gate-1')),
      'own status at the server account',
      5_000,
      50,
    );
    let refusedCode: number | undefined;
    try {
      const ack = await a.publishAsync(buildTopic('status', SITE_A, 'gate-2'), statusBody(SITE_A, 'gate-2'), {
        qos: 1,
      });
      refusedCode = reasonCodeOf(ack);
    } catch (err) {
      refusedCode = (err as { code?: number }).code;
    }
    expect(refusedCode).toBe(135);
    await new Promise((r) => setTimeout(r, 300));
    expect(seen.has(buildTopic('status', SITE_A, 'gate-2'))).toBe(false);
  });

  it("agent A never receives another site's sync, the server account writes both", async () => {
    const srv = await connectOk(url, { ...serverOpts(), clientId: 'portail-server-pub' });
    opened.push(srv);
    for (const site of [SITE_A, SITE_B]) {
      const ack = await srv.publishAsync(buildSiteTopic('syncManifest', site), '{"v":1}', { qos: 1, retain: true });
      expect(reasonCodeOf(ack) ?? 0).toBe(0);
    }
    const a = await connectOk(url, v5(a1));
    opened.push(a);
    const got = collect(a);
    await a.subscribeAsync(`portail/v1/${SITE_A}/sync/#`, { qos: 1 });
    // Mosquitto accepts a subscription outside the ACL and filters what it delivers
    await a.subscribeAsync(`portail/v1/${SITE_B}/sync/#`, { qos: 1 });
    await a.subscribeAsync('portail/v1/#', { qos: 1 });
    await waitUntil(() => got.get(buildSiteTopic('syncManifest', SITE_A)), 'site A manifest', 5_000, 50);
    await srv.publishAsync(buildSiteTopic('syncManifest', SITE_B), '{"v":1,"again":true}', { qos: 1, retain: true });
    await new Promise((r) => setTimeout(r, 300));
    expect([...got.keys()].filter((t) => t.includes(`/${SITE_B}/`))).toEqual([]);
  });

  it('revoke + export + SIGHUP cuts the agent off', async () => {
    const b = await connectOk(url, v5(b1));
    opened.push(b);
    const wasClosed = closed(b);
    const r = await cli(dataDir, [
      'agent',
      'revoke',
      '--site',
      SITE_B,
      '--agent',
      'gate-1',
      '--mosquitto-dir',
      mosqDir(),
    ]);
    expect(r.code).toBe(0);
    mosq.sighup();
    await wasClosed;
    const again = await tryConnect(url, v5(b1));
    expect(again.ok).toBe(false);
  });
});
