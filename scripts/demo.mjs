#!/usr/bin/env node
// `npm run demo`: the control server (embedded MQTT broker + SQLite in .data/demo) with accounts
// required, four demo accounts (one per role), one edge agent looping two sample clips, and the
// console URL with the accounts' usernames and passwords. Ctrl-C stops the agent first (it goes
// offline in the console), then the server.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

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

// Demo accounts on the demo site: `admin` (regional IT, made by the server itself through
// PORTAIL_BOOTSTRAP_ADMIN) and one account per site role, made with the portail-admin CLI. Each
// password is random, kept in .data/demo/<name>.password (0600) and reused by the next run, so the
// database and the files agree; a file that had to be made anew is pushed with `user passwd`.
const DEMO_SITE = 'demo-lycee';
const accounts = [
  { username: 'admin', role: 'regional_it', site: '*' },
  { username: 'accueil', role: 'reception', site: DEMO_SITE },
  { username: 'surveillance', role: 'supervisor', site: DEMO_SITE },
  { username: 'direction', role: 'site_admin', site: DEMO_SITE },
];
for (const a of accounts) {
  a.file = join(demoDir, `${a.username}.password`);
  a.password = existsSync(a.file) ? readFileSync(a.file, 'utf8').split(/\r?\n/)[0].trim() : '';
  a.fresh = a.password.length < 12;
  if (a.fresh) {
    a.password = randomBytes(12).toString('base64url');
    writeFileSync(a.file, `${a.password}\n`, { mode: 0o600 });
  }
  // also for a file left by hand with wider rights
  chmodSync(a.file, 0o600);
}
const admin = accounts[0];

/** The real CLI on the server's data dir while the server runs: SQLite in WAL mode lets both write. */
const adminCli = (args) =>
  new Promise((r) => {
    const child = spawn(tsNode[0], [...tsNode.slice(1), join(root, 'control-server/src/cli/portail-admin.ts'),
      '--data-dir', demoDir, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', (err) => r({ code: -1, out: err.message }));
    child.on('close', (code) => r({ code, out: out.trim() }));
  });

async function ensureAccount(a) {
  if (a !== admin) {
    const added = await adminCli(['user', 'add', '--username', a.username, '--role', a.role, '--site', a.site,
      '--password-file', a.file]);
    if (added.code === 0) return true;
    if (!/is taken/.test(added.out)) {
      say(`could not create ${a.username}: ${added.out}`);
      return false;
    }
  }
  // the account was there already: its password is the file's, unless the file was just made
  if (!a.fresh) return true;
  const changed = await adminCli(['user', 'passwd', '--username', a.username, '--password-file', a.file]);
  if (changed.code !== 0) say(`could not set the password of ${a.username}: ${changed.out}`);
  return changed.code === 0;
}

// children get their own process group (detached) so a terminal's Ctrl-C reaches only this
// script, which then stops the agent first (its offline status reaches the console), then the server
const logTo = (name) => createWriteStream(join(demoDir, `${name}.log`), { flags: 'a' });

let stopping = false;
/** set once started; Ctrl-C before that stops the server alone */
let agent = null;

// the demo's cameras are video files: the server may grab snapshots (faces pixelated) and previews
// from file sources, which a real site leaves off (cameras.allowFileUrls, docs/api.md)
const serverConfigFile = join(demoDir, 'server.yaml');
writeFileSync(serverConfigFile, stringifyYaml({ cameras: { allowFileUrls: true } }));

const serverLog = logTo('server');
const server = spawn(tsNode[0], [...tsNode.slice(1), join(root, 'control-server/src/main.ts'),
  '--config', serverConfigFile,
  '--data-dir', demoDir, '--http-port', String(httpPort), '--mqtt-port', String(mqttPort),
  // broker accounts and ACLs even on loopback: the agent below connects with its provisioned account
  '--mqtt-auth', 'required'], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'pipe'],
  detached: true,
  // the first regional IT account, created by the server at startup when it does not exist yet
  env: { ...process.env, PORTAIL_BOOTSTRAP_ADMIN: `${admin.username}:${admin.file}` },
});
server.stdout.pipe(serverLog);
server.stderr.pipe(serverLog);
server.on('exit', (code) => {
  if (!stopping) {
    say(`control server exited (${code}); see ${join(demoDir, 'server.log')}`);
    process.exit(1);
  }
});

// handled from here on: the server and the agent are in their own process groups and would
// outlive this script
const stop = async () => {
  if (stopping) return;
  stopping = true;
  say('stopping the agent, then the server…');
  const exited = (p) => (p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', r)));
  if (agent) {
    agent.kill('SIGTERM');
    await Promise.race([exited(agent), new Promise((r) => setTimeout(r, 8000))]);
    agent.kill('SIGKILL');
  }
  server.kill('SIGTERM');
  await Promise.race([exited(server), new Promise((r) => setTimeout(r, 8000))]);
  server.kill('SIGKILL');
  say('stopped');
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

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
    stopping = true;
    server.kill('SIGTERM');
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 200));
}

// The agent's broker account, as on a site (docs/deploy.md): `portail-admin agent provision` writes
// its bundle (password file, agent.yaml); the demo keeps its own cameras and takes the bundle's MQTT
// block. --replace: a new password at every run, the previous one stops working.
const bundleDir = join(demoDir, 'agent-gate-1');
const provisioned = await adminCli(['agent', 'provision', '--site', DEMO_SITE, '--agent', 'gate-1',
  '--broker-url', `mqtt://127.0.0.1:${mqttPort}`, '--out', bundleDir, '--replace']);
if (provisioned.code !== 0) {
  say(`could not provision the demo agent: ${provisioned.out}`);
  stopping = true;
  server.kill('SIGTERM');
  process.exit(1);
}
const bundleMqtt = parseYaml(readFileSync(join(bundleDir, 'agent.yaml'), 'utf8')).mqtt;
const demoAgentConfig = parseYaml(readFileSync(join(root, 'config', 'demo-agent.yaml'), 'utf8'));
demoAgentConfig.mqtt = { ...demoAgentConfig.mqtt, ...bundleMqtt, passwordFile: join(bundleDir, bundleMqtt.passwordFile) };
const agentConfigFile = join(demoDir, 'agent.yaml');
writeFileSync(agentConfigFile, stringifyYaml(demoAgentConfig), { mode: 0o600 });

const agentLog = logTo('agent');
agent = spawn(tsNode[0], [...tsNode.slice(1), join(root, 'edge-agent/src/main.ts'),
  '--config', agentConfigFile, '--mqtt-url', `mqtt://127.0.0.1:${mqttPort}`], {
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

// created while the server runs and the agent starts: the CLI waits for SQLite's lock if it must
const made = await Promise.all(accounts.map(ensureAccount));

// The site admin registers the two cameras (the same clips the agent plays) so that the console
// shows snapshots for the zone editor and the live view, and a preview for supervisors.
async function registerCameras() {
  const direction = accounts.find((a) => a.username === 'direction');
  const login = await fetch(`${consoleUrl}api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: direction.username, password: direction.password }),
  });
  if (!login.ok) return `login ${login.status}`;
  const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const { csrfToken } = await login.json();
  const cameras = [
    { id: 'entrance', name: 'Portail principal', role: 'gate', locationType: 'entrance', trackingEnabled: false, clip: gateClip },
    { id: 'hall', name: 'Hall d’entrée', role: 'tracking', locationType: 'circulation', trackingEnabled: true, clip: hallClip },
  ];
  for (const c of cameras) {
    const res = await fetch(`${consoleUrl}api/sites/${DEMO_SITE}/agents/gate-1/cameras/${c.id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrfToken },
      body: JSON.stringify({ name: c.name, role: c.role, locationType: c.locationType, trackingEnabled: c.trackingEnabled, rtspUrl: `file://${resolve(c.clip)}` }),
    });
    if (!res.ok) return `camera ${c.id}: ${res.status} ${await res.text()}`;
  }
  return null;
}
const cameraProblem = made[accounts.findIndex((a) => a.username === 'direction')]
  ? await registerCameras().catch((err) => String(err))
  : 'no site admin account';
if (cameraProblem) say(`cameras not registered (${cameraProblem}): no snapshots or preview in the console`);

say(`control server: MQTT mqtt://127.0.0.1:${mqttPort} (accounts required; the agent's: ${bundleDir}), data in ${demoDir}`);
say(`edge agent gate-1: cameras "entrance" (${gateClip.split('/').pop()}) and "hall" (${hallClip.split('/').pop()})`);
say(`logs: ${join(demoDir, 'server.log')}, ${join(demoDir, 'agent.log')}`);
say(`open the console: ${consoleUrl}   (Ctrl-C to stop)`);
say('demo accounts (passwords also in .data/demo/<name>.password):');
const width = Math.max(...accounts.map((a) => a.username.length));
accounts.forEach((a, i) => {
  const where = a.site === '*' ? 'every site' : a.site;
  say(`  ${a.username.padEnd(width)}  ${made[i] ? a.password : '(not created, see above)'}   ${a.role} @ ${where}`);
});
