import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { freePort } from '../helpers/free-port.js';
import { clip, REPO_ROOT } from '../helpers/paths.js';
import { randomPassword } from '../helpers/control-server.js';

/*
 * Issue #9, acceptance 5: the systemd-free path of docs/deploy.md on a fresh data tree, with the
 * scripts the units run (deploy/scripts/*.sh): TLS material and accounts from portail-admin, the
 * server from the template config, an agent from its provisioning bundle on a sample clip, and the
 * health checks, up to the agent seen online by the server (through /metrics and through the API
 * with the bootstrap admin). The tree stands for /etc/portail, /var/lib/portail and
 * /var/lib/portail-agent. Sources run through tsx (PORTAIL_FROM_SOURCE=1): a site runs the build.
 */

const SCRIPTS = join(REPO_ROOT, 'deploy', 'scripts');
const SITE = 'demo-lycee';
const AGENT = 'gate-1';

/** The keys of the templates this test fills in (the rest is kept as read). */
interface ServerYaml {
  dataDir: string;
  http: { port: number };
  mqtt: { host: string; port: number; tls: Record<string, unknown> };
  auth: { metricsTokenFile?: string };
}
interface AgentYaml {
  localHttp?: { port: number };
  healthIntervalS?: number;
  cameras: Array<{ maxFps?: number }>;
}

interface Proc {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function start(script: string, args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn('bash', [join(SCRIPTS, script), ...args], {
    cwd: tmpdir(),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

/**
 * A script that runs to completion (the CLI, a health check): exit code and output. Asynchronous, so
 * the server's and agent's output pipes keep draining while a health check waits.
 */
function run(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', [join(SCRIPTS, script), ...args], {
      cwd: tmpdir(),
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function stop(p: Proc | undefined): Promise<number | null> {
  if (!p) return null;
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
  const code = await p.exited;
  clearTimeout(timer);
  return code;
}

describe('fresh machine: provisioning + start scripts + health checks', () => {
  const root = mkdtempSync(join(tmpdir(), 'portail-deploy-'));
  const etc = join(root, 'etc', 'portail');
  const dataDir = join(root, 'var', 'lib', 'portail', 'server');
  const agentData = join(root, 'var', 'lib', 'portail-agent', AGENT);
  const env = { PORTAIL_FROM_SOURCE: '1', PORTAIL_LOG_LEVEL: 'info' };
  let server: Proc | undefined;
  let agent: Proc | undefined;

  afterAll(async () => {
    await stop(agent);
    await stop(server);
    rmSync(root, { recursive: true, force: true });
  });

  it('goes from an empty tree to an agent online at the server', async () => {
    const gateClip = clip('intel-face-demographics-walking.mp4');
    expect(existsSync(gateClip), `sample clip ${gateClip} (set PORTAIL_DATA_DIR)`).toBe(true);
    mkdirSync(etc, { recursive: true });
    mkdirSync(dataDir, { recursive: true });
    const [httpPort, mqttPort, agentHttpPort] = [await freePort(), await freePort(), await freePort()];

    // 1. the broker's CA and certificate for the names agents dial
    const tls = await run(
      'portail-admin.sh',
      ['--data-dir', dataDir, 'mqtt', 'tls-init', '--host', 'localhost', '--host', '127.0.0.1'],
      env,
    );
    expect(tls.code, tls.stderr).toBe(0);

    // 2. /etc/portail/server.yaml from the template, with this tree's paths and free ports
    const template = parseYaml(readFileSync(join(REPO_ROOT, 'deploy', 'config', 'server.yaml'), 'utf8')) as ServerYaml;
    const tlsDir = join(dataDir, 'keys', 'mqtt-tls');
    template.dataDir = dataDir;
    template.http.port = httpPort;
    template.mqtt.host = '127.0.0.1';
    template.mqtt.port = mqttPort;
    template.mqtt.tls = {
      ...template.mqtt.tls,
      certFile: join(tlsDir, 'server.crt'),
      keyFile: join(tlsDir, 'server.key'),
      caFile: join(tlsDir, 'ca.crt'),
    };
    template.auth.metricsTokenFile = join(etc, 'metrics.token');
    const serverConfig = join(etc, 'server.yaml');
    writeFileSync(serverConfig, toYaml(template));
    writeFileSync(join(etc, 'metrics.token'), `${randomPassword()}${randomPassword()}\n`, { mode: 0o600 });
    const adminPassword = randomPassword();
    writeFileSync(join(etc, 'bootstrap-admin.password'), `${adminPassword}\n`, { mode: 0o600 });

    // 3. the server (ExecStart of portail-server.service), then its health check (ExecStartPost)
    server = start('start-server.sh', [], {
      ...env,
      PORTAIL_SERVER_CONFIG: serverConfig,
      PORTAIL_BOOTSTRAP_ADMIN: `admin:${join(etc, 'bootstrap-admin.password')}`,
    });
    const httpUrl = `http://127.0.0.1:${httpPort}`;
    const serverUp = await run('health-check.sh', ['server', httpUrl, '--wait', '90'], env);
    expect(serverUp.code, `${serverUp.stdout}\n${server.output()}`).toBe(0);

    // 4. the agent's bundle, as copied to /etc/portail/agent/gate-1
    const bundle = join(etc, 'agent', AGENT);
    const prov = await run(
      'portail-admin.sh',
      [
        '--data-dir',
        dataDir,
        'agent',
        'provision',
        '--site',
        SITE,
        '--agent',
        AGENT,
        '--broker-url',
        `mqtts://localhost:${mqttPort}`,
        '--out',
        bundle,
        '--camera',
        `entrance=${gateClip}`,
        '--loop',
        '--agent-data-dir',
        agentData,
      ],
      env,
    );
    expect(prov.code, prov.stderr).toBe(0);
    expect(statSync(join(bundle, 'mqtt.password')).mode & 0o777).toBe(0o600);
    // the installer's edit: this box's local health port and a frame rate for a shared 2-core machine
    const agentYaml = parseYaml(readFileSync(join(bundle, 'agent.yaml'), 'utf8')) as AgentYaml;
    agentYaml.localHttp = { port: agentHttpPort };
    agentYaml.cameras[0]!.maxFps = 4;
    agentYaml.healthIntervalS = 2;
    writeFileSync(join(bundle, 'agent.yaml'), toYaml(agentYaml), { mode: 0o600 });
    chmodSync(join(bundle, 'agent.yaml'), 0o600);

    // 5. the agent (ExecStart of portail-agent@gate-1.service) and its health check: frames + MQTT over TLS
    agent = start('start-agent.sh', [AGENT], { ...env, PORTAIL_AGENT_ETC: join(etc, 'agent') });
    const agentUp = await run('health-check.sh', ['agent', `http://127.0.0.1:${agentHttpPort}`, '--wait', '150'], env);
    expect(agentUp.code, `${agentUp.stdout}\n${agent.output().slice(-3000)}`).toBe(0);

    // 6. the server sees it: /metrics with the scraper's token, then the API as the bootstrap admin
    const online = await run(
      'health-check.sh',
      ['agents-online', httpUrl, '--token-file', join(etc, 'metrics.token'), '--min', '1', '--wait', '30'],
      env,
    );
    expect(online.code, online.stdout).toBe(0);
    const login = await fetch(`${httpUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: adminPassword }),
    });
    expect(login.status).toBe(200);
    const cookie = /^(portail_session=[^;]+)/.exec(login.headers.get('set-cookie') ?? '')?.[1] ?? '';
    const res = await fetch(`${httpUrl}/api/agents?site=${SITE}`, { headers: { cookie } });
    const agents = ((await res.json()) as { agents: { site: string; agent: string; state: string }[] }).agents;
    expect(agents).toContainEqual(expect.objectContaining({ site: SITE, agent: AGENT, state: 'online' }));

    // 7. a clean stop (systemctl stop): both exit 0
    expect(await stop(agent)).toBe(0);
    expect(await stop(server)).toBe(0);
  }, 420_000);
});
