import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { waitUntil } from './wait.js';

export interface MosquittoInstance {
  port: number;
  url: string;
  pid: number;
  /** kill -9 (a crash) or SIGTERM (a clean stop) and wait for the exit */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** start again on the same port (after kill) */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const MOSQUITTO = process.env.MOSQUITTO_PATH ?? '/usr/sbin/mosquitto';

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** A private Mosquitto on a free loopback port with a temp config; stopped by PID. */
export async function startMosquitto(extraConfig = ''): Promise<MosquittoInstance> {
  // `user root`: started as root, mosquitto would otherwise drop to a user that cannot read dir
  return startMosquittoWith((port) =>
    [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'user root', extraConfig, ''].join('\n'),
  );
}

/**
 * A private Mosquitto whose whole configuration the caller writes (TLS listener, password and ACL
 * files…) for the free port it is given; `sighup()` makes it reload its password and ACL files.
 */
export async function startMosquittoWith(
  makeConfig: (port: number) => string,
): Promise<MosquittoInstance & { sighup(): void; stderr(): string }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'portail-mosquitto-'));
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, makeConfig(port));
  let errText = '';
  let child: ChildProcess | undefined;
  const launch = async () => {
    child = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (d: Buffer) => (errText += d.toString()));
    await waitUntil(() => portOpen(port), `mosquitto on port ${port}`, 10_000, 50).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}: ${errText.trim()}`);
    });
  };
  await launch();
  const inst: MosquittoInstance & { sighup(): void; stderr(): string } = {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    get pid() {
      return child?.pid ?? -1;
    },
    async kill(signal = 'SIGKILL') {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill(signal);
      await exited;
    },
    async restart() {
      await launch();
    },
    sighup() {
      child?.kill('SIGHUP');
    },
    stderr: () => errText,
    async stop() {
      await inst.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return inst;
}

export interface BridgeOptions {
  /** connection name, unique per broker pair */
  name: string;
  /** the remote (regional) broker */
  remotePort: number;
  /** topic patterns sent to the remote broker, `[pattern, qos]` */
  out: Array<[string, 0 | 1]>;
  /** topic patterns taken from the remote broker */
  in: Array<[string, 0 | 1]>;
}

/**
 * A Mosquitto bridge section (`connection` … `topic … out|in`), for a site broker forwarding to a
 * regional one: agents' messages out, the server's configuration and site sync in. The bridge keeps
 * a persistent session (`cleansession false`) and retries every second.
 */
export function mosquittoBridgeConfig(b: BridgeOptions): string {
  return [
    `connection ${b.name}`,
    `address 127.0.0.1:${b.remotePort}`,
    `remote_clientid ${b.name}`,
    'bridge_protocol_version mqttv311',
    'cleansession false',
    'try_private true',
    'notifications false',
    'restart_timeout 1',
    'start_type automatic',
    ...b.out.map(([t, q]) => `topic ${t} out ${q}`),
    ...b.in.map(([t, q]) => `topic ${t} in ${q}`),
    '',
  ].join('\n');
}
