#!/usr/bin/env node
// `npm run demo`: the control server (embedded MQTT broker + SQLite in .data/demo), one edge agent
// looping two sample clips, and the console URL. Ctrl-C stops the agent first (it goes offline in
// the console), then the server.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dataDir = resolve(process.env.PORTAIL_DATA_DIR ?? join(root, '..', 'shared', 'data'));
const demoDir = join(root, '.data', 'demo');
const gateClip = process.env.PORTAIL_DEMO_GATE_CLIP ?? join(dataDir, 'clips', 'intel-face-demographics-walking-and-pause.mp4');
const hallClip = process.env.PORTAIL_DEMO_HALL_CLIP ?? join(dataDir, 'clips', 'intel-one-by-one-person-detection.mp4');
const say = (m) => process.stdout.write(`[demo] ${m}\n`);

for (const f of [gateClip, hallClip]) {
  if (!existsSync(f)) {
    say(`sample clip not found: ${f}\n       set PORTAIL_DATA_DIR to the folder holding clips/, or PORTAIL_DEMO_GATE_CLIP / PORTAIL_DEMO_HALL_CLIP`);
    process.exit(2);
  }
}
if (spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status !== 0) {
  say('ffmpeg is not installed (Debian: apt-get install ffmpeg)');
  process.exit(2);
}
if (!existsSync(join(root, 'console', 'dist', 'index.html'))) {
  say('building the console…');
  if (spawnSync('npm', ['run', '--silent', 'build', '-w', 'console'], { cwd: root, stdio: 'inherit' }).status !== 0) process.exit(1);
}

const portFree = (port) =>
  new Promise((r) => {
    const s = createServer().once('error', () => r(false)).listen(port, '127.0.0.1', () => s.close(() => r(true)));
  });
const pickPort = async (wanted) => {
  if (await portFree(wanted)) return wanted;
  const s = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const p = s.address().port;
  await new Promise((r) => s.close(r));
  say(`port ${wanted} is busy, using ${p}`);
  return p;
};
const httpPort = await pickPort(Number(process.env.PORTAIL_DEMO_HTTP_PORT ?? 8080));
const mqttPort = await pickPort(Number(process.env.PORTAIL_DEMO_MQTT_PORT ?? 1883));

mkdirSync(demoDir, { recursive: true });
const tsNode = [process.execPath, '--conditions=portail-src', '--import', 'tsx'];
// children get their own process group (detached) so a terminal's Ctrl-C reaches only this
// script, which then stops the agent first (its offline status reaches the console), then the server
const logTo = (name) => createWriteStream(join(demoDir, `${name}.log`), { flags: 'a' });

const serverLog = logTo('server');
const server = spawn(tsNode[0], [...tsNode.slice(1), join(root, 'control-server/src/main.ts'),
  '--data-dir', demoDir, '--http-port', String(httpPort), '--mqtt-port', String(mqttPort),
  // the console has no login page yet: the demo runs the server without accounts, on loopback only
  '--auth-mode', 'disabled'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
server.stdout.pipe(serverLog);
server.stderr.pipe(serverLog);
server.on('exit', (code) => {
  if (!stopping) {
    say(`control server exited (${code}); see ${join(demoDir, 'server.log')}`);
    process.exit(1);
  }
});

const consoleUrl = `http://127.0.0.1:${httpPort}/`;
const t0 = Date.now();
for (;;) {
  try {
    if ((await fetch(`${consoleUrl}healthz`)).ok) break;
  } catch {
    // not listening yet
  }
  if (Date.now() - t0 > 30_000) {
    say(`control server did not answer within 30 s; see ${join(demoDir, 'server.log')}`);
    server.kill('SIGTERM');
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 200));
}

const agentLog = logTo('agent');
const agent = spawn(tsNode[0], [...tsNode.slice(1), join(root, 'edge-agent/src/main.ts'),
  '--config', join(root, 'config', 'demo-agent.yaml'), '--mqtt-url', `mqtt://127.0.0.1:${mqttPort}`], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'pipe'],
  // own process group: Ctrl-C reaches only this script, which stops the agent before the server
  detached: true,
  env: { ...process.env, PORTAIL_DEMO_GATE_CLIP: gateClip, PORTAIL_DEMO_HALL_CLIP: hallClip },
});
agent.stdout.pipe(agentLog);
agent.stderr.pipe(agentLog);
agent.on('exit', (code) => {
  if (!stopping) say(`edge agent exited (${code}); see ${join(demoDir, 'agent.log')} — the server keeps running`);
});

say(`control server: MQTT mqtt://127.0.0.1:${mqttPort}, data in ${demoDir}`);
say(`edge agent gate-1: cameras "entrance" (${gateClip.split('/').pop()}) and "hall" (${hallClip.split('/').pop()})`);
say(`logs: ${join(demoDir, 'server.log')}, ${join(demoDir, 'agent.log')}`);
say(`open the console: ${consoleUrl}   (Ctrl-C to stop)`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  say('stopping the agent, then the server…');
  const exited = (p) => (p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', r)));
  agent.kill('SIGTERM');
  await Promise.race([exited(agent), new Promise((r) => setTimeout(r, 8000))]);
  agent.kill('SIGKILL');
  server.kill('SIGTERM');
  await Promise.race([exited(server), new Promise((r) => setTimeout(r, 8000))]);
  server.kill('SIGKILL');
  say('stopped');
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
