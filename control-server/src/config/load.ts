import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { ControlServerError } from '../infra/errors.js';
import { configSchema, type Config } from './schema.js';

export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E };

export interface ConfigError {
  /** one line per problem, each prefixed by its path in the config (or the source that failed) */
  messages: string[];
}

export interface LoadConfigOptions {
  argv?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** base for relative paths in the result */
  cwd?: string;
}

export interface LoadedConfig {
  config: Config;
  /** config file read, if any */
  file: string | null;
  help: boolean;
}

/** Environment variables, each mapped to a config path. Secrets are not in here: see mqtt.passwordEnv. */
const ENV_MAP: Record<string, { path: string[]; type: 'string' | 'number' }> = {
  PORTAIL_SERVER_DATA_DIR: { path: ['dataDir'], type: 'string' },
  PORTAIL_SERVER_HTTP_HOST: { path: ['http', 'host'], type: 'string' },
  PORTAIL_SERVER_HTTP_PORT: { path: ['http', 'port'], type: 'number' },
  PORTAIL_SERVER_MQTT_MODE: { path: ['mqtt', 'mode'], type: 'string' },
  PORTAIL_SERVER_MQTT_HOST: { path: ['mqtt', 'host'], type: 'string' },
  PORTAIL_SERVER_MQTT_PORT: { path: ['mqtt', 'port'], type: 'number' },
  PORTAIL_SERVER_MQTT_URL: { path: ['mqtt', 'url'], type: 'string' },
  PORTAIL_SERVER_MQTT_USERNAME: { path: ['mqtt', 'username'], type: 'string' },
  PORTAIL_SERVER_MQTT_PASSWORD_FILE: { path: ['mqtt', 'passwordFile'], type: 'string' },
  PORTAIL_SERVER_MQTT_AUTH: { path: ['mqtt', 'auth'], type: 'string' },
  PORTAIL_SERVER_CONSOLE_DIR: { path: ['consoleDir'], type: 'string' },
  PORTAIL_SERVER_LOG_LEVEL: { path: ['log', 'level'], type: 'string' },
  PORTAIL_SERVER_AUTH_MODE: { path: ['auth', 'mode'], type: 'string' },
  PORTAIL_SERVER_METRICS_TOKEN_FILE: { path: ['auth', 'metricsTokenFile'], type: 'string' },
};

/** CLI flags, each mapped to a config path; they win over env, which wins over the file. */
const FLAG_MAP: Record<string, { path: string[]; type: 'string' | 'number' }> = {
  'data-dir': { path: ['dataDir'], type: 'string' },
  'http-host': { path: ['http', 'host'], type: 'string' },
  'http-port': { path: ['http', 'port'], type: 'number' },
  'mqtt-mode': { path: ['mqtt', 'mode'], type: 'string' },
  'mqtt-host': { path: ['mqtt', 'host'], type: 'string' },
  'mqtt-port': { path: ['mqtt', 'port'], type: 'number' },
  'mqtt-url': { path: ['mqtt', 'url'], type: 'string' },
  'mqtt-auth': { path: ['mqtt', 'auth'], type: 'string' },
  'console-dir': { path: ['consoleDir'], type: 'string' },
  'log-level': { path: ['log', 'level'], type: 'string' },
  'auth-mode': { path: ['auth', 'mode'], type: 'string' },
};

export const CLI_USAGE = [
  'usage: portail-server [--config file.{json,yaml}] [flags]',
  '  --config <file>       config file (or PORTAIL_SERVER_CONFIG)',
  ...Object.keys(FLAG_MAP).map((f) => `  --${f} <value>`),
  'environment: ' + Object.keys(ENV_MAP).join(', '),
].join('\n');

type Raw = Record<string, unknown>;

function setPath(target: Raw, keys: string[], value: unknown): void {
  let node = target;
  for (const k of keys.slice(0, -1)) {
    const next = node[k];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[k] = {};
    node = node[k] as Raw;
  }
  node[keys[keys.length - 1]!] = value;
}

function coerce(value: string, type: 'string' | 'number'): unknown {
  if (type === 'string') return value;
  // keep the raw string when it is not a number so the schema reports it with its path
  return value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
}

function readConfigFile(file: string): Result<Raw, ConfigError> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { ok: false, error: { messages: [`config file ${file}: ${(err as Error).message}`] } };
  }
  let value: unknown;
  try {
    // YAML 1.2 is a superset of JSON, so one parser reads both
    value = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    return { ok: false, error: { messages: [`config file ${file}: ${(err as Error).message}`] } };
  }
  if (value === null || value === undefined) return { ok: true, value: {} };
  if (typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, error: { messages: [`config file ${file}: (root): must be an object`] } };
  }
  return { ok: true, value: value as Raw };
}

/**
 * Config = defaults < file < environment < CLI flags, validated once by the zod schema.
 * Every problem is returned with its path; nothing is thrown for a bad config.
 */
export function loadConfig(opts: LoadConfigOptions = {}): Result<LoadedConfig, ConfigError> {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  let parsedArgs: ReturnType<typeof parseArgs>;
  try {
    parsedArgs = parseArgs({
      args: [...(opts.argv ?? [])],
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        ...Object.fromEntries(Object.keys(FLAG_MAP).map((f) => [f, { type: 'string' as const }])),
      },
    });
  } catch (err) {
    return { ok: false, error: { messages: [`command line: ${(err as Error).message}`] } };
  }
  const flags = parsedArgs.values as Record<string, string | boolean | undefined>;

  const fileArg = (flags.config as string | undefined) ?? env.PORTAIL_SERVER_CONFIG;
  const file = fileArg ? path.resolve(cwd, fileArg) : null;
  let raw: Raw = {};
  if (file) {
    const read = readConfigFile(file);
    if (!read.ok) return read;
    raw = read.value;
  }
  for (const [name, spec] of Object.entries(ENV_MAP)) {
    const v = env[name];
    if (v !== undefined && v !== '') setPath(raw, spec.path, coerce(v, spec.type));
  }
  for (const [name, spec] of Object.entries(FLAG_MAP)) {
    const v = flags[name];
    if (typeof v === 'string') setPath(raw, spec.path, coerce(v, spec.type));
  }

  // a flag like --mqtt-port alone means the default mode: the discriminated union needs it spelt out
  const mqttRaw = raw.mqtt;
  if (typeof mqttRaw === 'object' && mqttRaw !== null && !Array.isArray(mqttRaw) && !('mode' in mqttRaw)) {
    raw.mqtt = { mode: 'embedded', ...mqttRaw };
  }

  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    return {
      ok: false,
      error: {
        messages: parsed.error.issues.map(
          (i) => `${i.path.length ? i.path.map(String).join('.') : '(root)'}: ${i.message}`,
        ),
      },
    };
  }
  const config = parsed.data;
  config.dataDir = path.resolve(cwd, config.dataDir);
  config.consoleDir = path.resolve(cwd, config.consoleDir);
  if (config.auth.metricsTokenFile) config.auth.metricsTokenFile = path.resolve(cwd, config.auth.metricsTokenFile);
  if (config.mqtt.mode === 'external') {
    if (config.mqtt.passwordFile) config.mqtt.passwordFile = path.resolve(cwd, config.mqtt.passwordFile);
    if (config.mqtt.caFile) config.mqtt.caFile = path.resolve(cwd, config.mqtt.caFile);
  }
  if (config.mqtt.mode === 'embedded' && config.mqtt.tls) {
    const t = config.mqtt.tls;
    t.certFile = path.resolve(cwd, t.certFile);
    t.keyFile = path.resolve(cwd, t.keyFile);
    if (t.caFile) t.caFile = path.resolve(cwd, t.caFile);
  }
  return { ok: true, value: { config, file, help: flags.help === true } };
}

/** A config for tests and embedding: schema defaults plus the given overrides, validated. */
export function makeConfig(input: unknown): Config {
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    throw new ControlServerError('SERVER_ERR_CONFIG', `invalid config: ${lines.join('; ')}`, { cause: parsed.error });
  }
  return parsed.data;
}
