import { spawnSync } from 'node:child_process';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { ControlServerError } from '../infra/errors.js';

/**
 * The site broker's small certificate authority, made with the system `openssl` (Node's crypto
 * cannot sign X.509): one CA per deployment, the broker's server certificate, and optional agent
 * client certificates (CN = the agent's MQTT username). ECDSA P-256, SHA-256.
 *
 *   <dataDir>/keys/mqtt-ca/ca.key, ca.crt      (ca.key 0600, the folder 0700)
 *   <dataDir>/keys/mqtt-tls/server.key, server.crt, ca.crt
 */
export const OPENSSL = process.env.PORTAIL_OPENSSL_PATH ?? 'openssl';

export function mqttCaDir(dataDir: string): string {
  return path.join(dataDir, 'keys', 'mqtt-ca');
}
export function mqttTlsDir(dataDir: string): string {
  return path.join(dataDir, 'keys', 'mqtt-tls');
}

function openssl(args: string[], what: string): void {
  const r = spawnSync(OPENSSL, args, { encoding: 'utf8' });
  if (r.error) {
    throw new ControlServerError(
      'SERVER_ERR_OPENSSL',
      `${what}: cannot run ${OPENSSL} (${r.error.message}); install openssl`,
      {
        cause: r.error,
      },
    );
  }
  if (r.status !== 0) {
    throw new ControlServerError(
      'SERVER_ERR_OPENSSL',
      `${what}: openssl exited ${String(r.status)}: ${r.stderr.trim()}`,
    );
  }
}

const KEY_ARGS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export interface CaFiles {
  keyFile: string;
  certFile: string;
}

/** The deployment's MQTT CA, created on first use (10 years). */
export function ensureMqttCa(caDir: string, opts: { days?: number } = {}): CaFiles & { created: boolean } {
  const keyFile = path.join(caDir, 'ca.key');
  const certFile = path.join(caDir, 'ca.crt');
  if (existsSync(keyFile) && existsSync(certFile)) return { keyFile, certFile, created: false };
  mkdirSync(caDir, { recursive: true, mode: 0o700 });
  openssl(
    [
      'req',
      '-x509',
      ...KEY_ARGS,
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      String(opts.days ?? 3650),
      '-subj',
      '/O=Portail/CN=Portail site MQTT CA',
      '-sha256',
      '-addext',
      'basicConstraints=critical,CA:TRUE,pathlen:0',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    'creating the MQTT CA',
  );
  chmodSync(keyFile, 0o600);
  return { keyFile, certFile, created: true };
}

export interface IssueOptions {
  ca: CaFiles;
  commonName: string;
  kind: 'server' | 'client';
  /** server: host names and addresses the agents dial */
  hosts?: readonly string[];
  keyFile: string;
  certFile: string;
  days?: number;
}

/** Issue a certificate signed by the CA; returns the sha256 (hex) of its DER, as the broker compares it. */
export function issueCertificate(o: IssueOptions): { fingerprint: string } {
  const work = mkdtempSync(path.join(path.dirname(o.certFile), '.issue-'));
  try {
    const csr = path.join(work, 'req.csr');
    const ext = path.join(work, 'ext.cnf');
    const san = (o.hosts ?? []).map((h) => (isIP(h) ? `IP:${h}` : `DNS:${h}`));
    const lines = [
      'basicConstraints=critical,CA:FALSE',
      o.kind === 'server' ? 'keyUsage=critical,digitalSignature,keyEncipherment' : 'keyUsage=critical,digitalSignature',
      `extendedKeyUsage=${o.kind === 'server' ? 'serverAuth' : 'clientAuth'}`,
      ...(san.length ? [`subjectAltName=${san.join(',')}`] : []),
    ];
    writeFileSync(ext, `${lines.join('\n')}\n`);
    openssl(
      ['req', '-new', ...KEY_ARGS, '-keyout', o.keyFile, '-out', csr, '-subj', `/O=Portail/CN=${o.commonName}`],
      'making the key',
    );
    chmodSync(o.keyFile, 0o600);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        o.ca.certFile,
        '-CAkey',
        o.ca.keyFile,
        '-set_serial',
        `0x${randomBytes(15).toString('hex')}`,
        '-days',
        String(o.days ?? (o.kind === 'server' ? 825 : 1825)),
        '-sha256',
        '-extfile',
        ext,
        '-out',
        o.certFile,
      ],
      'signing the certificate',
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return { fingerprint: certFingerprint(readFileSync(o.certFile)) };
}

/** sha256 (hex, lower case) of a PEM certificate's DER: what mqtt_accounts.cert_fingerprint holds. */
export function certFingerprint(pem: Buffer | string): string {
  return createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');
}
