import { chmodSync, copyFileSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isReservedAgentId, isValidId } from '@portail/protocol';
import type { Database } from 'better-sqlite3';
import pino, { type Logger } from 'pino';
import { stringify as toYaml } from 'yaml';
import { createAuditLog, type AuditEntry } from '../audit/audit-log.js';
import { isLoopbackHost } from '../mqtt/embedded-broker.js';
import {
  agentUsername,
  DEFAULT_SERVER_USERNAME,
  mosquittoAclFile,
  mosquittoPasswordFile,
  SERVER_USERNAME_PATTERN,
} from '../mqtt/acl.js';
import { createMqttAccountStore, principalOf, type MqttAccount } from '../mqtt/acl-accounts.js';
import { hashMqttPassword, newMqttPassword } from '../mqtt/acl-password.js';
import { ensureMqttCa, issueCertificate, mqttCaDir, mqttTlsDir } from '../mqtt/acl-pki.js';
import { getPeopleSite } from '../people/people-sites.js';
import { readPublicSigningKeys } from '../people/signing-key-store.js';
import { openDatabase } from '../store/database.js';
import { cliActor, parseCommandLine, print, Refused, reportFailure, UsageError } from './cli-common.js';

/**
 * `portail-admin agent …` and `portail-admin mqtt …`: broker accounts of the edge agents
 * (provision, revoke, list), the files of an external Mosquitto (export), the control server's
 * own account on it, and the site broker's TLS certificate. Each prints one JSON object on stdout
 * (`{"ok":true,…}` exit 0, `{"ok":false,"error":…}` exit 1; usage errors exit 2) and is written to
 * the audit log as `cli:<os user>`. Passwords are written to 0600 files, never printed.
 */
export interface AgentCliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  /** base for relative paths */
  cwd: string;
}

export const AGENT_USAGE = `agent and broker commands (portail-admin [--data-dir DIR] agent|mqtt <command>):

  agent provision --site S --agent A --broker-url mqtts://HOST:8883 --out DIR
                  [--client-cert] [--ca-file FILE] [--camera ID=URL]... [--loop] [--replace]
                  [--agent-data-dir PATH]   (default /var/lib/portail-agent/A)
      a broker account for the agent and its bundle in DIR: agent.yaml, mqtt.password (0600),
      ca.crt, the credential public keys, and with --client-cert a client certificate (CN = S.A)
      signed by the deployment's MQTT CA. --ca-file: the CA of an external broker's certificate
      (default: the one made by mqtt tls-init). --replace re-provisions (the old password stops working).
  agent revoke --site S --agent A [--mosquitto-dir DIR]
      the account stops working at once on the embedded broker (connected agent cut within 1 s);
      --mosquitto-dir rewrites the Mosquitto files there (then reload Mosquitto: SIGHUP)
  agent list [--all]                 active accounts (--all: revoked ones too)
  mqtt export --out DIR              Mosquitto password_file (passwd) and acl_file (acl) of every active account
  mqtt server-account --password-out FILE [--username portail-server]
      the control server's account on an external broker (read all, write config and sync)
  mqtt tls-init --host NAME [--host NAME|IP]... [--days N]
      the deployment's MQTT CA (<data-dir>/keys/mqtt-ca) and the broker certificate
      (<data-dir>/keys/mqtt-tls/server.{crt,key}, ca.crt) for the names agents dial`;

const AGENT_COMMANDS = ['agent', 'mqtt'] as const;

/** `agent` or `mqtt` as the first positional argument (after `--data-dir DIR`). */
export function isAgentCommand(argv: readonly string[]): boolean {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--data-dir') {
      i += 1;
      continue;
    }
    if (a.startsWith('-')) continue;
    return (AGENT_COMMANDS as readonly string[]).includes(a);
  }
  return false;
}

/** Write then rename, owner-only by default: a reader never sees half a file. */
function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o600): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, file);
}

function accountView(a: MqttAccount): Record<string, unknown> {
  // never the hash: nothing printed can be used against the broker
  return {
    username: a.username,
    kind: a.kind,
    site: a.site,
    agent: a.agent,
    clientId: a.clientId,
    clientCert: a.certFingerprint !== null,
    createdAt: a.createdAt,
    createdBy: a.createdBy,
    revokedAt: a.revokedAt,
    revokedBy: a.revokedBy,
  };
}

/** Mosquitto's files from the active accounts; returns their paths. */
export function writeMosquittoFiles(
  db: Database,
  dir: string,
  now = new Date(),
): { passwordFile: string; aclFile: string; accounts: number } {
  const accounts = createMqttAccountStore(db).listActive();
  mkdirSync(dir, { recursive: true });
  const passwordFile = path.join(dir, 'passwd');
  const aclFile = path.join(dir, 'acl');
  const header = `Generated by portail-admin mqtt export at ${now.toISOString()} from the control server's accounts.\nDo not edit: revoke or provision with portail-admin, export again, then reload Mosquitto (SIGHUP).`;
  // 0640: Mosquitto reads them as its own user (chown root:mosquitto in deploy/, docs/deploy.md)
  writeFileAtomic(
    passwordFile,
    mosquittoPasswordFile(accounts.map((a) => ({ principal: principalOf(a), passwordHash: a.passwordHash }))),
    0o640,
  );
  writeFileAtomic(aclFile, mosquittoAclFile(accounts.map(principalOf), header), 0o640);
  return { passwordFile, aclFile, accounts: accounts.length };
}

function parseCamera(spec: string): { id: string; url: string } {
  const eq = spec.indexOf('=');
  const id = eq > 0 ? spec.slice(0, eq) : '';
  const url = eq > 0 ? spec.slice(eq + 1) : '';
  if (!isValidId(id) || !url)
    throw new UsageError(`--camera ${spec}: expected ID=URL with a camera id like "entrance"`);
  return { id, url };
}

export async function runAgentCli(
  argv: readonly string[],
  io: AgentCliIo,
  opts: { logger?: Logger; now?: () => Date } = {},
): Promise<number> {
  const logger = opts.logger ?? pino({ level: 'silent' });
  const cmd = parseCommandLine(
    argv,
    {
      'data-dir': { type: 'string' },
      site: { type: 'string' },
      agent: { type: 'string' },
      'broker-url': { type: 'string' },
      out: { type: 'string' },
      'client-cert': { type: 'boolean' },
      'ca-file': { type: 'string' },
      camera: { type: 'string', multiple: true },
      loop: { type: 'boolean' },
      replace: { type: 'boolean' },
      'mosquitto-dir': { type: 'string' },
      'agent-data-dir': { type: 'string' },
      all: { type: 'boolean' },
      'password-out': { type: 'string' },
      username: { type: 'string' },
      host: { type: 'string', multiple: true },
      days: { type: 'string' },
    },
    AGENT_USAGE,
    io,
  );
  if (typeof cmd === 'number') return cmd;
  const { values, positionals, str, need } = cmd;
  const [group, command] = positionals;
  const resolvePath = (p: string) => path.resolve(io.cwd, p);
  const dataDir = resolvePath(str('data-dir') ?? io.env.PORTAIL_SERVER_DATA_DIR ?? '.data/control-server');
  const actor = cliActor();
  const now = opts.now ?? (() => new Date());
  // mqtt.agent.provision | revoke | list, mqtt.export | server-account | tls-init
  const audit: Omit<AuditEntry, 'actor' | 'outcome'> = {
    action: group === 'mqtt' ? `mqtt.${command ?? 'none'}` : `mqtt.${group ?? 'none'}.${command ?? 'none'}`,
  };
  const siteAgent = (): { site: string; agent: string } => {
    const site = need('site');
    const agent = need('agent');
    if (!isValidId(site)) throw new UsageError(`--site ${site}: 1-64 chars of a-z, 0-9, "-" or "_"`);
    if (!isValidId(agent) || isReservedAgentId(agent))
      throw new UsageError(`--agent ${agent}: 1-64 chars of a-z, 0-9, "-" or "_", not "sync"`);
    audit.site = site;
    audit.target = `agent:${site}/${agent}`;
    return { site, agent };
  };

  const run = (db: Database): Record<string, unknown> => {
    const accounts = createMqttAccountStore(db);
    switch (`${group ?? ''} ${command ?? ''}`) {
      case 'agent provision':
        return provision(db);
      case 'agent revoke': {
        const { site, agent } = siteAgent();
        const r = accounts.revoke(agentUsername(site, agent), actor, now());
        if (!r.ok) throw new Refused(r.error);
        const mosquittoDir = str('mosquitto-dir');
        const files = mosquittoDir ? writeMosquittoFiles(db, resolvePath(mosquittoDir), now()) : null;
        audit.details = { mosquittoFiles: files !== null };
        return {
          revoked: accountView(r.value),
          ...(files ? { mosquitto: files } : {}),
          next: files
            ? 'reload Mosquitto so it drops the account: systemctl reload mosquitto (SIGHUP)'
            : 'embedded broker: cut within 1 s. External Mosquitto: portail-admin mqtt export --out DIR, then SIGHUP',
        };
      }
      case 'agent list': {
        audit.site = '*';
        const list = values.all ? accounts.listAll() : accounts.listActive();
        return { accounts: list.map(accountView) };
      }
      case 'mqtt export': {
        audit.site = '*';
        const files = writeMosquittoFiles(db, resolvePath(need('out')), now());
        audit.details = { accounts: files.accounts };
        return { mosquitto: files, next: 'reload Mosquitto: systemctl reload mosquitto (SIGHUP)' };
      }
      case 'mqtt server-account': {
        const username = str('username') ?? DEFAULT_SERVER_USERNAME;
        if (!SERVER_USERNAME_PATTERN.test(username))
          throw new UsageError('--username: 1-64 chars of a-z, 0-9, "-" or "_" (no ".")');
        const out = resolvePath(need('password-out'));
        const password = newMqttPassword();
        writeFileAtomic(out, `${password}\n`);
        const account = accounts.setServer({ username, passwordHash: hashMqttPassword(password), actor, now: now() });
        audit.site = '*';
        audit.target = `mqtt-server:${username}`;
        return { account: accountView(account), passwordFile: out };
      }
      case 'mqtt tls-init': {
        const hosts = (values.host as string[] | undefined) ?? [];
        if (hosts.length === 0) throw new UsageError('--host NAME (the name or address agents dial) is required');
        const days = str('days') ? Number(str('days')) : undefined;
        if (days !== undefined && !(Number.isInteger(days) && days > 0))
          throw new UsageError('--days: a whole number of days');
        const ca = ensureMqttCa(mqttCaDir(dataDir));
        const dir = mqttTlsDir(dataDir);
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        const certFile = path.join(dir, 'server.crt');
        const keyFile = path.join(dir, 'server.key');
        const { fingerprint } = issueCertificate({
          ca,
          commonName: hosts[0]!,
          kind: 'server',
          hosts,
          keyFile,
          certFile,
          ...(days ? { days } : {}),
        });
        const caFile = path.join(dir, 'ca.crt');
        copyFileSync(ca.certFile, caFile);
        audit.site = '*';
        audit.target = `mqtt-tls:${hosts[0]}`;
        audit.details = { hosts, caCreated: ca.created, fingerprint };
        return {
          caCreated: ca.created,
          certFile,
          keyFile,
          caFile,
          fingerprint,
          config: {
            mqtt: {
              mode: 'embedded',
              host: '0.0.0.0',
              port: 8883,
              auth: 'required',
              tls: { certFile, keyFile, caFile },
            },
          },
        };
      }
      default:
        throw new UsageError(`unknown command ${[group, command].filter(Boolean).join(' ')}`);
    }
  };

  const provision = (db: Database): Record<string, unknown> => {
    const { site, agent } = siteAgent();
    const brokerUrl = need('broker-url');
    let url: URL;
    try {
      url = new URL(brokerUrl);
    } catch {
      throw new UsageError(`--broker-url ${brokerUrl}: not a URL`);
    }
    if (url.username || url.password) throw new UsageError('--broker-url must not carry credentials');
    if (url.protocol !== 'mqtts:' && url.protocol !== 'mqtt:')
      throw new UsageError('--broker-url: mqtts://HOST:PORT (or mqtt:// on loopback)');
    const tls = url.protocol === 'mqtts:';
    if (!tls && !isLoopbackHost(url.hostname)) {
      throw new Refused({
        code: 'MQTT_ERR_PLAINTEXT',
        message: `${brokerUrl}: the agent password would cross the network in clear; use mqtts:// (portail-admin mqtt tls-init)`,
      });
    }
    const caSource = str('ca-file') ? resolvePath(str('ca-file')!) : path.join(mqttTlsDir(dataDir), 'ca.crt');
    if (tls && !existsSync(caSource)) {
      throw new Refused({
        code: 'MQTT_ERR_NO_CA',
        message: `no CA certificate at ${caSource}: run portail-admin mqtt tls-init --host NAME first, or give --ca-file`,
      });
    }
    const cameras = ((values.camera as string[] | undefined) ?? []).map(parseCamera);
    const out = resolvePath(need('out'));
    mkdirSync(out, { recursive: true, mode: 0o700 });
    const username = agentUsername(site, agent);

    const files: string[] = [];
    let certFingerprint: string | null = null;
    if (values['client-cert']) {
      const ca = ensureMqttCa(mqttCaDir(dataDir));
      const certFile = path.join(out, 'client.crt');
      const keyFile = path.join(out, 'client.key');
      certFingerprint = issueCertificate({ ca, commonName: username, kind: 'client', keyFile, certFile }).fingerprint;
      files.push(certFile, keyFile);
    }
    const password = newMqttPassword();
    const created = createMqttAccountStore(db).createAgent({
      site,
      agent,
      passwordHash: hashMqttPassword(password),
      certFingerprint,
      actor,
      now: now(),
      replace: values.replace === true,
    });
    if (!created.ok) throw new Refused(created.error);
    try {
      const passwordFile = path.join(out, 'mqtt.password');
      writeFileAtomic(passwordFile, `${password}\n`);
      files.push(passwordFile);
      if (tls) {
        copyFileSync(caSource, path.join(out, 'ca.crt'));
        files.push(path.join(out, 'ca.crt'));
      }
      // the credential public keys: a bootstrap until the site sync arrives (it brings them too)
      const keys = readPublicSigningKeys(dataDir) ?? [];
      const peopleSite = getPeopleSite(db, site);
      if (keys.length) mkdirSync(path.join(out, 'keys'), { recursive: true });
      const keyRefs = keys.map((k) => {
        const rel = path.join('keys', `credential-signing-${k.keyId}.pem`);
        writeFileAtomic(path.join(out, rel), k.publicKeyPem, 0o644);
        files.push(path.join(out, rel));
        // inline in agent.yaml: the agent reads pemFile relative to its working directory, not to the file
        return { keyId: k.keyId, pem: k.publicKeyPem };
      });
      const config = {
        configVersion: 1,
        site,
        agent,
        mqtt: {
          url: brokerUrl,
          username,
          passwordFile: 'mqtt.password',
          ...(tls ? { caFile: 'ca.crt' } : {}),
          ...(certFingerprint ? { certFile: 'client.crt', keyFile: 'client.key' } : {}),
        },
        // the StateDirectory of deploy/systemd/portail-agent@.service
        dataDir: str('agent-data-dir') ?? `/var/lib/portail-agent/${agent}`,
        credentials: peopleSite && keyRefs.length ? { siteCode: peopleSite.siteCode, publicKeys: keyRefs } : {},
        cameras: cameras.length
          ? cameras.map((c) => ({ id: c.id, url: c.url, role: 'gate', ...(values.loop ? { loop: true } : {}) }))
          : [{ id: 'entrance', urlEnv: 'PORTAIL_CAMERA_URL', role: 'gate' }],
      };
      const yaml = [
        `# Edge agent ${site}/${agent}, provisioned ${now().toISOString()} by portail-admin agent provision.`,
        '# Relative paths are from this file. Edit the cameras (edge-agent/src/config/schema.ts describes',
        '# every key); dataDir must be writable by the agent (StateDirectory= of portail-agent@.service).',
        toYaml(config).trimEnd(),
        '',
      ].join('\n');
      const configFile = path.join(out, 'agent.yaml');
      // may hold camera URLs with their passwords
      writeFileAtomic(configFile, yaml, 0o600);
      files.push(configFile);
      audit.details = {
        clientCert: certFingerprint !== null,
        replaced: created.value.replaced !== null,
        brokerUrl: `${url.protocol}//${url.host}`,
        publicKeys: keyRefs.length,
      };
      return {
        agent: accountView(created.value.account),
        bundle: { dir: out, files: files.map((f) => path.relative(out, f)).sort() },
        next: `copy ${out} to the box (e.g. /etc/portail/agent/${agent}), then: deploy/scripts/start-agent.sh ${agent}`,
      };
    } catch (err) {
      // an account without its bundle is useless: take it back
      createMqttAccountStore(db).revoke(username, actor, now());
      throw err;
    }
  };

  let db: Database | undefined;
  try {
    if (!group || !command) throw new UsageError('no command');
    db = openDatabase({ dataDir });
    const result = run(db);
    createAuditLog(db).append({ actor, outcome: 'ok', ...audit });
    print(io.stdout, JSON.stringify({ ok: true, ...result }, null, 2));
    return 0;
  } catch (err) {
    const opened = db;
    return reportFailure(err, {
      io,
      usage: AGENT_USAGE,
      logger,
      what: 'agent command failed',
      auditRefusal: opened
        ? (code) => createAuditLog(opened).append({ actor, outcome: 'failed', ...audit, details: { code } })
        : undefined,
    });
  } finally {
    db?.close();
  }
}
