import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { agentFileConfigSchema, type AgentFileConfig } from './schema.js';

export class ConfigError extends Error {
  readonly code = 'EDGE_ERR_CONFIG';
}

export interface ConfigOverrides {
  site?: string | undefined;
  agent?: string | undefined;
  mqttUrl?: string | undefined;
  /** replaces the URL of the first camera (demo and quick checks) */
  video?: string | undefined;
  loop?: boolean | undefined;
}

/** Parse and validate a config object; every problem is reported with its path. */
export function parseAgentConfig(raw: unknown, overrides: ConfigOverrides = {}, env = process.env): AgentFileConfig {
  const obj = structuredClone(raw ?? {}) as Record<string, unknown>;
  if (overrides.site) obj.site = overrides.site;
  if (overrides.agent) obj.agent = overrides.agent;
  const mqttUrl = overrides.mqttUrl ?? env.PORTAIL_MQTT_URL;
  if (mqttUrl) obj.mqtt = { ...((obj.mqtt) ?? {}), url: mqttUrl };
  if (overrides.video) {
    const cams = Array.isArray(obj.cameras) ? (obj.cameras as Record<string, unknown>[]) : [];
    const first: Record<string, unknown> = { id: 'cam1', ...(cams[0] ?? {}), url: overrides.video };
    delete first.urlEnv;
    if (overrides.loop !== undefined) first.loop = overrides.loop;
    obj.cameras = [first, ...cams.slice(1)];
  }
  const parsed = agentFileConfigSchema.safeParse(obj);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  - ${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid agent configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

export function loadAgentConfig(path: string | undefined, overrides: ConfigOverrides = {}): AgentFileConfig {
  let raw: unknown = {};
  if (path) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read agent configuration ${path}: ${(err as Error).message}`);
    }
    try {
      raw = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
    } catch (err) {
      throw new ConfigError(`cannot parse agent configuration ${path}: ${(err as Error).message}`);
    }
  }
  return parseAgentConfig(raw, overrides);
}

/** The camera URL, from the file or from the named environment variable. */
export function cameraUrl(cam: { url?: string | undefined; urlEnv?: string | undefined; id: string }, env = process.env): string {
  if (cam.url) return cam.url;
  const v = cam.urlEnv ? env[cam.urlEnv] : undefined;
  if (!v) throw new ConfigError(`camera ${cam.id}: environment variable ${cam.urlEnv} is not set`);
  return v;
}

/**
 * The MQTT password and TLS material named by the config (files relative to the config file's
 * folder, so a provisioning bundle works wherever it is copied). Read once at start.
 */
export function readMqttSecrets(
  mqtt: AgentFileConfig['mqtt'],
  configPath: string | undefined,
  env = process.env,
): { password?: string; ca?: Buffer; cert?: Buffer; key?: Buffer } {
  const base = configPath ? dirname(resolve(configPath)) : process.cwd();
  const read = (key: string, file: string): Buffer => {
    try {
      return readFileSync(resolve(base, file));
    } catch (err) {
      throw new ConfigError(`mqtt.${key} ${file}: ${(err as Error).message}`);
    }
  };
  const out: { password?: string; ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
  if (mqtt.passwordEnv) {
    const v = env[mqtt.passwordEnv];
    if (v === undefined) throw new ConfigError(`mqtt.passwordEnv: environment variable ${mqtt.passwordEnv} is not set`);
    out.password = v;
  }
  if (mqtt.passwordFile) {
    const first = read('passwordFile', mqtt.passwordFile).toString('utf8').split(/\r?\n/)[0]!.trim();
    if (!first) throw new ConfigError(`mqtt.passwordFile ${mqtt.passwordFile} is empty`);
    out.password = first;
  }
  if (mqtt.caFile) out.ca = read('caFile', mqtt.caFile);
  if (mqtt.certFile && mqtt.keyFile) {
    out.cert = read('certFile', mqtt.certFile);
    out.key = read('keyFile', mqtt.keyFile);
  }
  return out;
}
