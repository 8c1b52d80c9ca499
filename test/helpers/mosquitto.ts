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
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'portail-mosquitto-'));
  const conf = join(dir, 'mosquitto.conf');
  // `user root`: started as root, mosquitto would otherwise drop to a user that cannot read dir
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'user root', extraConfig, ''].join('\n'));
  let child: ChildProcess | undefined;
  const launch = async () => {
    child = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    await waitUntil(() => portOpen(port), `mosquitto on port ${port} (${err.trim()})`, 10_000, 50);
  };
  await launch();
  const inst: MosquittoInstance = {
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
    async stop() {
      await inst.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return inst;
}
