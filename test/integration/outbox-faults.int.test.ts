import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeConfig, startControlServer, type ControlServer } from '@portail/control-server';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createMqttTransport, type MqttTransport } from '../../edge-agent/src/transport/mqtt-transport.js';
import { startTestServer } from '../helpers/control-server.js';
import { startMosquitto, type MosquittoInstance } from '../helpers/mosquitto.js';
import {
  burstEvent,
  BURST_CAMERAS,
  countOutboxPending,
  countStored,
  onlineStatus,
  readStoredBurst,
  type StoredBurstEvent,
} from '../helpers/outbox-burst.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { waitUntil } from '../helpers/wait.js';

/*
 * Fault injection on the agent's outbox, with a private Mosquitto (no persistence, like the helper's
 * default) and the real control server in external-broker mode. Each burst event carries its index
 * in its edge time, so the server's SQLite file tells what arrived, once each, in which order.
 *
 * The agent side runs in-process for the broker and server faults (the real transport + outbox,
 * nothing else of the agent: cameras and models add minutes and nothing to what is tested), and as
 * a child process (test/helpers/outbox-burst-agent.ts) for the agent crash, which needs a process
 * to SIGKILL.
 *
 * "In order" with QoS 1: the broker forwards one client's messages in the order it received them,
 * and the pump publishes in outbox order, so first receipts arrive in edge order. A re-sent event is
 * a duplicate the server ignores, so it does not disturb that order. The one exception is an event
 * refused with "no matching subscribers" while later ones in flight get through; the pump sends one
 * event at a time until a subscriber answers, so that does not happen in these scenarios either.
 */

const N = 1000;
const log = pino({ level: process.env.PORTAIL_TEST_LOG ?? 'silent' });

interface Server {
  server: ControlServer;
  dbPath: string;
}

/** The real control server on `dataDir`; a fixed client id, so a restart resumes its persistent session. */
async function startServer(mqttUrl: string, dataDir: string, clientId: string): Promise<Server> {
  const config = makeConfig({
    dataDir,
    http: { host: '127.0.0.1', port: 0 },
    mqtt: { mode: 'external', url: mqttUrl, clientId },
    consoleDir: join(REPO_ROOT, 'console', 'dist'),
    log: { level: process.env.PORTAIL_TEST_LOG ?? 'silent' },
  });
  const server = await startControlServer(config);
  await waitUntil(() => server.stats().mqtt.subscribed, 'server subscribed', 15_000, 20);
  return { server, dbPath: join(dataDir, 'portail.sqlite') };
}

function openTransport(url: string, dataDir: string, site: string, keepDeliveredS?: number): MqttTransport {
  return createMqttTransport({
    url,
    site,
    agent: 'burst',
    keepaliveS: 5,
    logger: log.child({ module: 'mqtt', site }),
    onlineStatus: () => onlineStatus(site, 'burst'),
    dataDir,
    ...(keepDeliveredS !== undefined ? { outbox: { keepDeliveredS } } : {}),
    reconnectPeriodMs: 300,
    retryMs: 300,
  });
}

async function publishRange(t: MqttTransport, site: string, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    const e = burstEvent(site, 'burst', i);
    await t.publish(e.key, e.payload);
  }
}

/** waitUntil, with the state at the time of the timeout in the error (not the state when the wait began). */
async function waitFor<T>(
  check: () => T | Promise<T>,
  what: string,
  state: () => unknown,
  timeoutMs = 60_000,
  everyMs = 50,
): Promise<NonNullable<T>> {
  try {
    return await waitUntil(check, what, timeoutMs, everyMs);
  } catch (err) {
    throw new Error(`${(err as Error).message}; state then: ${JSON.stringify(state())}`, { cause: err });
  }
}

/** Every index 0..n-1 stored exactly once, and first received in edge order on each camera. */
function expectExactlyOnceInOrder(rows: StoredBurstEvent[], n: number): void {
  expect(rows).toHaveLength(n);
  expect(new Set(rows.map((r) => r.id)).size).toBe(n);
  expect(rows.map((r) => r.index).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
  for (const camera of BURST_CAMERAS) {
    const received = rows.filter((r) => r.camera === camera).map((r) => r.index);
    expect(received.length).toBeGreaterThan(0);
    expect(received).toEqual([...received].sort((a, b) => a - b));
  }
}

describe('agent outbox under faults: Mosquitto + real control server (external mode)', () => {
  const cleanups: Array<() => Promise<unknown> | void> = [];
  const dirs: string[] = [];
  const tmp = (prefix: string) => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const offline = (site: string) => ({
    ...onlineStatus(site, 'burst'),
    state: 'offline' as const,
    reason: 'stopped' as const,
  });

  it('a. Mosquitto SIGKILLed and restarted mid-burst: 1000 events stored exactly once, in order per camera', async () => {
    const site = 'fault-broker';
    const mosq: MosquittoInstance = await startMosquitto();
    cleanups.push(() => mosq.stop());
    const s = await startServer(mosq.url, tmp('portail-server-'), `portail-server-${site}`);
    cleanups.push(() => s.server.close());
    const t = openTransport(mosq.url, tmp('portail-agent-'), site);
    cleanups.push(() => t.close(offline(site)));
    await waitUntil(() => t.connected, 'agent connected');

    await publishRange(t, site, 0, 600);
    await waitUntil(() => t.stats().delivered >= 100, 'first acknowledgements', 30_000, 1);
    await mosq.kill('SIGKILL');
    // the kill landed mid-burst: events were still waiting or in flight
    expect(t.depth()).toBeGreaterThan(0);
    await publishRange(t, site, 600, 800);
    await mosq.restart();
    await publishRange(t, site, 800, N);

    await waitFor(
      () => countStored(s.dbPath, site) === N && t.depth() === 0,
      `${N} events stored`,
      () => ({ stored: countStored(s.dbPath, site), agent: t.stats() }),
    );
    expectExactlyOnceInOrder(readStoredBurst(s.dbPath, site), N);
    const stats = t.stats();
    expect(stats.outbox).toMatchObject({ overflow: 0, writeErrors: 0 });
    expect(stats.rejected).toBe(0);
    // the new Mosquitto had no session for the agent: it re-sent what the old one had acknowledged
    expect(stats.requeuedAfterSessionLoss).toBeGreaterThan(0);
  }, 120_000);

  it('b. control server restarted mid-burst on the same data dir: nothing lost, nothing duplicated', async () => {
    const site = 'fault-server';
    const mosq = await startMosquitto();
    cleanups.push(() => mosq.stop());
    const serverDir = tmp('portail-server-');
    const clientId = `portail-server-${site}`;
    let s = await startServer(mosq.url, serverDir, clientId);
    cleanups.push(() => s.server.close());
    const t = openTransport(mosq.url, tmp('portail-agent-'), site);
    cleanups.push(() => t.close(offline(site)));
    await waitUntil(() => t.connected, 'agent connected');

    await publishRange(t, site, 0, 600);
    await waitUntil(() => countStored(s.dbPath, site) >= 100, 'first events stored', 30_000, 1);
    await s.server.close();
    await publishRange(t, site, 600, 800);
    // the broker acknowledges all of it while the server is away: it holds them for the server's session
    await waitUntil(() => t.depth() === 0, 'everything acknowledged by the broker', 30_000, 20);
    s = await startServer(mosq.url, serverDir, clientId);
    await publishRange(t, site, 800, N);

    await waitFor(
      () => countStored(s.dbPath, site) === N && t.depth() === 0,
      `${N} events stored`,
      () => ({ stored: countStored(s.dbPath, site), agent: t.stats() }),
    );
    expectExactlyOnceInOrder(readStoredBurst(s.dbPath, site), N);
    expect(t.stats().outbox).toMatchObject({ overflow: 0 });
  }, 120_000);

  it('c. agent process SIGKILLed mid-burst and restarted on the same data dir: the rest is replayed, once', async () => {
    const site = 'fault-agent';
    const mosq = await startMosquitto();
    cleanups.push(() => mosq.stop());
    const s = await startServer(mosq.url, tmp('portail-server-'), `portail-server-${site}`);
    cleanups.push(() => s.server.close());
    const agentDir = tmp('portail-agent-');

    const first = spawnBurstAgent({
      BURST_URL: mosq.url,
      BURST_DATA_DIR: agentDir,
      BURST_SITE: site,
      BURST_FROM: '0',
      BURST_TO: String(N),
      BURST_PROGRESS_AT: '200',
    });
    cleanups.push(() => first.stop());
    await waitFor(
      () => first.lines().some((l) => l.type === 'progress'),
      'burst under way',
      () => first.output(),
      60_000,
      5,
    );
    first.child.kill('SIGKILL');
    expect(await first.exited).toBeNull();
    // the crash left events the broker never acknowledged in the outbox file
    const leftPending = countOutboxPending(join(agentDir, 'agent.sqlite'));
    expect(leftPending).toBeGreaterThan(0);
    expect(countStored(s.dbPath, site)).toBeLessThan(N);

    const second = spawnBurstAgent({ BURST_URL: mosq.url, BURST_DATA_DIR: agentDir, BURST_SITE: site });
    cleanups.push(() => second.stop());
    const started = await waitFor(
      () => second.lines().find((l) => l.type === 'started'),
      'restarted agent',
      () => second.output(),
      60_000,
      20,
    );
    expect(started.pending).toBe(leftPending);
    expect(await second.exited).toBe(0);
    expect(second.lines().some((l) => l.type === 'drained')).toBe(true);

    await waitFor(
      () => countStored(s.dbPath, site) === N,
      `${N} events stored`,
      () => ({ stored: countStored(s.dbPath, site), agent: second.output() }),
      30_000,
    );
    expectExactlyOnceInOrder(readStoredBurst(s.dbPath, site), N);
    expect(countOutboxPending(join(agentDir, 'agent.sqlite'))).toBe(0);
  }, 120_000);

  it('d. control server down and Mosquitto restarted meanwhile: what the broker held is lost there, the outbox still has it', async () => {
    const site = 'fault-both';
    const mosq = await startMosquitto();
    cleanups.push(() => mosq.stop());
    const serverDir = tmp('portail-server-');
    const clientId = `portail-server-${site}`;
    let s = await startServer(mosq.url, serverDir, clientId);
    cleanups.push(() => s.server.close());
    const t = openTransport(mosq.url, tmp('portail-agent-'), site);
    cleanups.push(() => t.close(offline(site)));
    await waitUntil(() => t.connected, 'agent connected');

    await publishRange(t, site, 0, 300);
    await waitUntil(() => countStored(s.dbPath, site) === 300, 'first events stored', 30_000, 5);
    await s.server.close();
    await publishRange(t, site, 300, 600);
    await waitUntil(() => t.depth() === 0, 'acknowledged by the broker, held for the absent server', 30_000, 20);
    await mosq.kill('SIGKILL');
    await mosq.restart();
    // the new broker knows no subscriber: the agent re-sends, hears "no matching subscribers", keeps them
    await waitUntil(() => t.stats().noSubscriber > 0, 'no-subscriber PUBACK', 30_000, 20);
    expect(t.depth()).toBeGreaterThan(0);
    await publishRange(t, site, 600, 800);
    s = await startServer(mosq.url, serverDir, clientId);
    await publishRange(t, site, 800, N);

    await waitFor(
      () => countStored(s.dbPath, site) === N && t.depth() === 0,
      `${N} events stored`,
      () => ({ stored: countStored(s.dbPath, site), agent: t.stats() }),
    );
    expectExactlyOnceInOrder(readStoredBurst(s.dbPath, site), N);
    expect(t.stats().protocolVersion).toBe(5);
  }, 120_000);

  it('d′. the same with delete-on-PUBACK (keepDeliveredS 0): a broker acknowledgement alone loses what the broker held', async () => {
    const site = 'fault-ack-only';
    const mosq = await startMosquitto();
    cleanups.push(() => mosq.stop());
    const serverDir = tmp('portail-server-');
    const clientId = `portail-server-${site}`;
    let s = await startServer(mosq.url, serverDir, clientId);
    cleanups.push(() => s.server.close());
    const t = openTransport(mosq.url, tmp('portail-agent-'), site, 0);
    cleanups.push(() => t.close(offline(site)));
    await waitUntil(() => t.connected, 'agent connected');

    await publishRange(t, site, 0, 100);
    await waitUntil(() => countStored(s.dbPath, site) === 100, 'first events stored', 30_000, 5);
    await s.server.close();
    await publishRange(t, site, 100, 200);
    await waitUntil(() => t.depth() === 0, 'acknowledged by the broker, held for the absent server', 30_000, 20);
    await mosq.kill('SIGKILL');
    await mosq.restart();
    await waitUntil(() => t.connected, 'agent reconnected', 30_000, 20);
    s = await startServer(mosq.url, serverDir, clientId);
    await publishRange(t, site, 200, 300);
    await waitUntil(
      () => t.depth() === 0 && readStoredBurst(s.dbPath, site).some((r) => r.index === 299),
      'last event stored',
      30_000,
      20,
    );

    const stored = new Set(readStoredBurst(s.dbPath, site).map((r) => r.index));
    const missing = Array.from({ length: 300 }, (_, i) => i).filter((i) => !stored.has(i));
    // exactly the events the broker acknowledged while the server was away
    expect(missing).toEqual(Array.from({ length: 100 }, (_, i) => 100 + i));
  }, 120_000);

  it('e. agent database locked (what a full disk looks like): events bypass the outbox, PUBACKs are recorded late; all arrive once, in order', async () => {
    const site = 'fault-locked';
    const mosq = await startMosquitto();
    cleanups.push(() => mosq.stop());
    const s = await startServer(mosq.url, tmp('portail-server-'), `portail-server-${site}`);
    cleanups.push(() => s.server.close());
    const agentDir = tmp('portail-agent-');
    const t = openTransport(mosq.url, agentDir, site);
    cleanups.push(() => t.close(offline(site)));
    await waitUntil(() => t.connected, 'agent connected');

    await publishRange(t, site, 0, 100);
    await waitFor(
      () => countStored(s.dbPath, site) === 100 && t.depth() === 0,
      'first events stored',
      () => t.stats(),
    );
    // another process holds the write lock on agent.sqlite (what a full disk looks like to the agent: writes fail)
    const other = new Database(join(agentDir, 'agent.sqlite'));
    other.exec('BEGIN EXCLUSIVE');
    try {
      await publishRange(t, site, 100, 200);
      await waitFor(
        () => countStored(s.dbPath, site) === 200,
        'events sent without the outbox',
        () => t.stats(),
      );
      expect(t.stats().outboxBypassed).toBe(100);
      expect(t.stats().outbox?.writeErrors).toBeGreaterThan(0);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    let i = 200;
    await waitFor(
      async () => {
        const before = t.stats().outboxBypassed;
        await publishRange(t, site, i, i + 1);
        i++;
        return t.stats().outboxBypassed === before;
      },
      'outbox written again',
      () => t.stats(),
      30_000,
      100,
    );
    await publishRange(t, site, i, 300);
    await waitFor(
      () => countStored(s.dbPath, site) === 300 && t.depth() === 0,
      '300 events stored',
      () => t.stats(),
    );

    // stored, then locked before the pump runs: events go out, their PUBACKs cannot be recorded
    await publishRange(t, site, 300, 400);
    const locker = new Database(join(agentDir, 'agent.sqlite'));
    locker.exec('BEGIN EXCLUSIVE');
    try {
      await waitFor(
        () => countStored(s.dbPath, site) === 400,
        'events sent from the locked outbox',
        () => t.stats(),
      );
      // acknowledged but not yet recorded: still pending in the file
      expect(t.depth()).toBeGreaterThan(0);
    } finally {
      locker.exec('ROLLBACK');
      locker.close();
    }
    await waitFor(
      () => t.depth() === 0,
      'acknowledgements recorded once the lock is gone',
      () => t.stats(),
    );
    expectExactlyOnceInOrder(readStoredBurst(s.dbPath, site), 400);
    // recorded late, not sent twice
    expect(t.stats().sent).toBe(400);
  }, 120_000);

  it('f. embedded broker (aedes, no MQTT 5): the transport falls back to 3.1.1 and delivers through the outbox', async () => {
    const site = 'fault-embedded';
    const t0 = await startTestServer();
    cleanups.push(() => t0.server.close());
    const t = openTransport(t0.server.mqttUrl, tmp('portail-agent-'), site);
    cleanups.push(() => t.close(offline(site)));
    await publishRange(t, site, 0, 200);
    await waitFor(
      () => countStored(t0.dbPath, site) === 200 && t.depth() === 0,
      '200 events stored',
      () => t.stats(),
    );
    expectExactlyOnceInOrder(readStoredBurst(t0.dbPath, site), 200);
    expect(t.stats()).toMatchObject({ protocolVersion: 4, outboxBypassed: 0, rejected: 0 });
    expect(t.stats().outbox?.delivered).toBe(200);
  }, 60_000);

  it('g. without a data dir (no outbox): events queue in memory and go through the same ordered pump', async () => {
    const site = 'fault-memory';
    const t0 = await startTestServer();
    cleanups.push(() => t0.server.close());
    const t = createMqttTransport({
      url: t0.server.mqttUrl,
      site,
      agent: 'burst',
      keepaliveS: 5,
      logger: log.child({ module: 'mqtt', site }),
      onlineStatus: () => onlineStatus(site, 'burst'),
    });
    cleanups.push(() => t.close(offline(site)));
    await publishRange(t, site, 0, 200);
    await waitFor(
      () => countStored(t0.dbPath, site) === 200 && t.depth() === 0,
      '200 events stored',
      () => t.stats(),
    );
    expectExactlyOnceInOrder(readStoredBurst(t0.dbPath, site), 200);
    expect(t.stats()).toMatchObject({ outbox: null, outboxBypassed: 0, memoryOverflow: 0 });
  }, 60_000);
});

interface BurstAgent {
  child: ChildProcess;
  exited: Promise<number | null>;
  output(): string;
  lines(): Array<Record<string, unknown> & { type?: string; pending?: number }>;
  stop(): Promise<number | null>;
}

function spawnBurstAgent(env: Record<string, string>): BurstAgent {
  const child = spawn(
    process.execPath,
    ['--conditions=portail-src', '--import', 'tsx', join(REPO_ROOT, 'test/helpers/outbox-burst-agent.ts')],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, BURST_AGENT: 'burst', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    output: () => `${out}${err}`.slice(-2000),
    lines: () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown> & { type?: string }),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    },
  };
}
