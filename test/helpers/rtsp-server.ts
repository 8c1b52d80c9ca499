import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { waitUntil } from './wait.js';

export interface RtspServerOptions {
  /** video file looped forever (decoded in memory by the server); a moving test pattern when absent */
  clip?: string;
  /** mount path, default `/cam` */
  path?: string;
  width?: number;
  height?: number;
  fps?: number;
  /** basic-auth credentials the server requires; none when absent */
  user?: string;
  password?: string;
  /** how long start()/restart() wait for a working DESCRIBE */
  readyTimeoutMs?: number;
}

export interface RtspServer {
  readonly port: number;
  /** `rtsp://127.0.0.1:<port><path>`, without credentials */
  readonly url: string;
  /** the URL with `user:password@` (percent-encoded), right or wrong ones */
  urlWith(user: string, password: string): string;
  readonly pid: number;
  /** crash: SIGKILL by PID, resolves once it has exited */
  kill(): Promise<void>;
  /** freeze without closing anything (SIGSTOP): connections stay open, no byte flows */
  pause(): void;
  /** SIGCONT after pause() */
  resume(): void;
  /** start again on the same port (after kill/stop), resolves once DESCRIBE answers */
  restart(): Promise<void>;
  /** clean stop (SIGTERM, then SIGKILL) */
  stop(): Promise<void>;
}

const PYTHON = process.env.PORTAIL_PYTHON ?? '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./rtsp_server.py', import.meta.url));

/**
 * One RTSP DESCRIBE over a fresh TCP connection; resolves with the status code (200, 401, 404...)
 * or 0 when nothing sensible came back in time. Proves the server listens and builds the media.
 */
export function rtspDescribe(
  url: string,
  auth?: { user: string; password: string },
  timeoutMs = 3000,
): Promise<number> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const sock = connect(Number(u.port || 554), u.hostname);
    let got = '';
    const done = (status: number) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(status);
    };
    const timer = setTimeout(() => done(0), timeoutMs);
    sock.setEncoding('latin1');
    sock.once('connect', () => {
      const lines = [`DESCRIBE ${u.protocol}//${u.host}${u.pathname} RTSP/1.0`, 'CSeq: 1', 'Accept: application/sdp'];
      if (auth) lines.push(`Authorization: Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`);
      sock.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
    sock.on('data', (s: string) => {
      got += s;
      const m = /^RTSP\/1\.0 (\d{3})/.exec(got);
      if (m) done(Number(m[1]));
    });
    sock.once('error', () => done(0));
    sock.once('close', () => done(0));
  });
}

/**
 * A private GStreamer RTSP server (test/helpers/rtsp_server.py) on a free loopback port, for fault
 * injection: crash it, freeze it, bring it back on the same port. The Python process dies with the
 * test process (stdin pipe + PR_SET_PDEATHSIG), so a crashed run leaves nothing behind.
 */
export async function startRtspServer(opts: RtspServerOptions = {}): Promise<RtspServer> {
  const path = opts.path ?? '/cam';
  const readyTimeoutMs = opts.readyTimeoutMs ?? 20_000;
  const auth = opts.user !== undefined ? { user: opts.user, password: opts.password ?? '' } : undefined;
  let port = 0;
  let child: ChildProcessWithoutNullStreams | undefined;
  let exited: Promise<void> = Promise.resolve();

  const launch = async (): Promise<void> => {
    const args = [SCRIPT, '--port', String(port), '--path', path, '--parent-pid', String(process.pid)];
    if (opts.clip) args.push('--clip', opts.clip);
    if (opts.width) args.push('--width', String(opts.width));
    if (opts.height) args.push('--height', String(opts.height));
    if (opts.fps) args.push('--fps', String(opts.fps));
    if (auth) args.push('--user', auth.user);
    const env = auth ? { ...process.env, RTSP_PASSWORD: auth.password } : process.env;
    const c = spawn(PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
    child = c;
    exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    let out = '';
    let err = '';
    c.stdout.setEncoding('utf8');
    c.stderr.setEncoding('utf8');
    c.stdout.on('data', (s: string) => (out += s));
    c.stderr.on('data', (s: string) => (err = (err + s).slice(-4000)));
    // the open stdin pipe is the server's lifeline; it must not keep the test process alive
    for (const s of [c.stdin, c.stdout, c.stderr]) (s as unknown as { unref?: () => void }).unref?.();
    c.unref();
    const bound = await waitUntil(
      () => {
        if (c.exitCode !== null || c.signalCode !== null)
          throw new Error(`rtsp server exited (${c.exitCode ?? c.signalCode}): ${err.trim()}`);
        return /READY (\d+)/.exec(out)?.[1];
      },
      'rtsp server READY line',
      readyTimeoutMs,
      50,
    ).catch((e: unknown) => {
      c.kill('SIGKILL');
      throw e;
    });
    port = Number(bound);
    // listening is not enough: DESCRIBE makes the server build the media (encoder included)
    await waitUntil(
      async () => (await rtspDescribe(`rtsp://127.0.0.1:${port}${path}`, auth)) === 200,
      `RTSP DESCRIBE 200 on port ${port} (${err.trim()})`,
      readyTimeoutMs,
      100,
    );
  };

  const signal = (sig: NodeJS.Signals): boolean => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return false;
    c.kill(sig);
    return true;
  };

  const kill = async (): Promise<void> => {
    if (signal('SIGKILL')) await exited;
  };

  await launch();
  return {
    get port() {
      return port;
    },
    get url() {
      return `rtsp://127.0.0.1:${port}${path}`;
    },
    urlWith(user: string, password: string) {
      return `rtsp://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}${path}`;
    },
    get pid() {
      return child?.pid ?? -1;
    },
    kill,
    pause() {
      signal('SIGSTOP');
    },
    resume() {
      signal('SIGCONT');
    },
    async restart() {
      await kill();
      await launch();
    },
    async stop() {
      signal('SIGCONT');
      if (!signal('SIGTERM')) return;
      const t = setTimeout(() => signal('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}
