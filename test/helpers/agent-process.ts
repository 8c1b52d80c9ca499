import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.js';

export interface AgentProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs the real edge agent (its TypeScript sources through tsx) as a child process. */
export function spawnAgent(config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): AgentProcess {
  const dir = mkdtempSync(join(tmpdir(), 'portail-agent-'));
  const cfgPath = join(dir, 'agent.json');
  // parallel test agents must not fight over the default local endpoint port
  // and each gets its own data dir (outbox, templates) unless the test names one
  writeFileSync(cfgPath, JSON.stringify({ localHttp: { port: 0 }, dataDir: join(dir, 'data'), ...config }));
  const child = spawn(
    process.execPath,
    ['--conditions=portail-src', '--import', 'tsx', join(REPO_ROOT, 'edge-agent/src/main.ts'), '--config', cfgPath],
    { cwd: REPO_ROOT, env: { ...process.env, PORTAIL_LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
