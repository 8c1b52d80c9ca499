import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** console/dist next to this workspace; the same depth from src/config and dist/config */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../../console/dist', import.meta.url));

const portSchema = z.number().int().min(0).max(65_535);

const httpSchema = z.strictObject({
  host: z
    .string()
    .min(1)
    .default('127.0.0.1')
    .describe('interface the HTTP API, WebSocket and console listen on; loopback by default'),
  port: portSchema.default(8080).describe('HTTP port; 0 picks a free port and the bound one is reported'),
  allowedOrigins: z
    .array(z.string().url())
    .default([])
    .describe('extra browser origins allowed to open /ws (same-origin is always allowed), e.g. a Vite dev server'),
});

const embeddedMqttSchema = z.strictObject({
  mode: z.literal('embedded').describe('run an in-process aedes broker (single-machine default)'),
  host: z.string().min(1).default('127.0.0.1').describe('interface the embedded broker listens on'),
  port: portSchema.default(1883).describe('MQTT port of the embedded broker; 0 picks a free port'),
  clientId: z
    .string()
    .min(1)
    .max(64)
    .default('portail-control-server')
    .describe('MQTT client id of the ingest subscriber (persistent session)'),
  auth: z
    .enum(['none', 'required'])
    .optional()
    .describe(
      'required: every client needs an account (portail-admin agent provision) and the ACL applies; none: anyone who reaches the port may do anything, refused unless host is loopback. Default: none on a loopback host, required otherwise',
    ),
  tls: z
    .strictObject({
      certFile: z.string().min(1).describe('PEM certificate of the broker (with its chain)'),
      keyFile: z.string().min(1).describe('PEM private key of the broker'),
      caFile: z
        .string()
        .min(1)
        .optional()
        .describe('PEM CA bundle: issues agent client certificates, and the broker certificate unless it is self-signed'),
      requireClientCert: z
        .boolean()
        .default(false)
        .describe('agents must also present a client certificate (CN = their username) issued by caFile'),
    })
    .optional()
    .describe('TLS listener; when set, no plaintext listener is opened'),
  maxPacketBytes: z
    .number()
    .int()
    .min(16 * 1024)
    .max(16 * 1024 * 1024)
    .default(1024 * 1024)
    .describe(
      'a client announcing a larger MQTT packet is disconnected before it is buffered (a memory bound; the protocol limit of 256 KiB per payload is checked by the ingest, which counts it as too_large)',
    ),
}).superRefine((v, ctx) => {
  if (v.tls?.requireClientCert && !v.tls.caFile) {
    ctx.addIssue({ code: 'custom', path: ['tls', 'caFile'], message: 'requireClientCert needs caFile' });
  }
});

const externalMqttSchema = z
  .strictObject({
    mode: z.literal('external').describe('connect to an existing broker (Mosquitto, EMQX, ...)'),
    url: z
      .string()
      .regex(/^(mqtts?|wss?|tcp|ssl):\/\//, 'must be an mqtt://, mqtts://, ws:// or wss:// URL')
      .refine((u) => !/\/\/[^/]*@/.test(u), 'must not carry credentials: use username + passwordFile/passwordEnv')
      .describe('broker URL, without credentials'),
    username: z.string().min(1).optional().describe('MQTT username'),
    passwordFile: z.string().min(1).optional().describe('file whose content (trimmed) is the MQTT password'),
    passwordEnv: z.string().min(1).optional().describe('name of the environment variable holding the MQTT password'),
    caFile: z.string().min(1).optional().describe('PEM CA bundle to trust for mqtts:// / wss://'),
    clientId: z
      .string()
      .min(1)
      .max(64)
      .default('portail-control-server')
      .describe('MQTT client id of the ingest subscriber (persistent session: the broker queues QoS 1 while away)'),
    sharedGroup: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, "-" or "_"')
      .optional()
      .describe(
        'scale-out: subscribe with MQTT shared subscriptions ($share/{group}/...) so instances of one group split the messages of the sites they subscribe to (Mosquitto 2, EMQX)',
      ),
  })
  .superRefine((v, ctx) => {
    if (v.passwordFile && v.passwordEnv) {
      ctx.addIssue({ code: 'custom', path: ['passwordEnv'], message: 'set passwordFile or passwordEnv, not both' });
    }
    if ((v.passwordFile || v.passwordEnv) && !v.username) {
      ctx.addIssue({ code: 'custom', path: ['username'], message: 'a password requires a username' });
    }
  });

const wsSchema = z.strictObject({
  pingIntervalMs: z
    .number()
    .int()
    .min(1_000)
    .default(30_000)
    .describe('WebSocket ping period; a client that has not answered the previous ping is terminated'),
  maxBufferedBytes: z
    .number()
    .int()
    .min(16 * 1024)
    .default(1024 * 1024)
    .describe('per-client send buffer bound in bytes; a slower client is dropped instead of growing memory'),
  helloEvents: z.number().int().min(0).max(500).default(50).describe('latest events sent in the hello snapshot'),
});

const OIDC_ROLE = z.enum(['reception', 'supervisor', 'site_admin', 'regional_it']);
/** OpenID Connect login (auth/oidc-login.ts): the provider, the client, and how identities map onto accounts */
const oidcSchema = z.strictObject({
  issuer: z
    .url()
    .describe(
      'issuer URL of the identity provider (discovery at /.well-known/openid-configuration); https unless on loopback',
    ),
  clientId: z.string().min(1).describe('client id registered at the provider'),
  clientSecretFile: z
    .string()
    .min(1)
    .optional()
    .describe('file holding the client secret (trimmed); absent for a public client (PKCE only)'),
  redirectUrl: z
    .url()
    .describe('the callback registered at the provider: https://<console host>/api/auth/oidc/callback'),
  scopes: z.array(z.string().min(1)).default(['openid', 'email', 'profile']).describe('scopes requested'),
  label: z.string().min(1).max(80).default('Connexion avec le compte académique').describe('login button text'),
  mapping: z
    .discriminatedUnion('mode', [
      z.strictObject({
        mode: z.literal('link'),
        by: z.literal('email').default('email'),
      }),
      z.strictObject({
        mode: z.literal('claims'),
        claim: z.string().min(1).default('groups'),
        usernameClaim: z.string().min(1).default('preferred_username'),
        rules: z.array(z.strictObject({ value: z.string().min(1), role: OIDC_ROLE, site: z.string().min(1) })).min(1),
      }),
    ])
    .describe(
      'link: pre-created local accounts, linked by verified e-mail at the first login; claims: roles from a claim through rules, accounts created at the first login',
    ),
});

const authSchema = z
  .strictObject({
    mode: z
      .enum(['required', 'disabled'])
      .default('required')
      .describe(
        'required: every API route and /ws needs a session with the right role; disabled: no accounts, everything open (development and legacy tests only, logged loudly)',
      ),
    idleTimeoutMs: z
      .number()
      .int()
      .min(60_000)
      .default(30 * 60_000)
      .describe('a session unused this long ends (an open live view counts as use)'),
    absoluteTimeoutMs: z
      .number()
      .int()
      .min(60_000)
      .default(12 * 3_600_000)
      .describe('a session ends this long after login, used or not'),
    cookieSecure: z
      .enum(['auto', 'always', 'never'])
      .default('auto')
      .describe('Secure flag of the session cookie: auto sets it when the request came over HTTPS'),
    maxFailedLogins: z
      .number()
      .int()
      .min(1)
      .default(5)
      .describe('consecutive failed logins for one username before it is locked'),
    lockoutMs: z
      .number()
      .int()
      .min(1_000)
      .default(15 * 60_000)
      .describe('how long a locked username stays locked; failures further apart than this are forgotten'),
    loginAttemptsPerIp: z
      .number()
      .int()
      .min(1)
      .default(30)
      .describe('login attempts allowed from one address per window, whatever the usernames'),
    loginWindowMs: z
      .number()
      .int()
      .min(1_000)
      .default(5 * 60_000)
      .describe('window of the per-address login limit'),
    metricsTokenFile: z
      .string()
      .min(1)
      .optional()
      .describe('file whose content (trimmed) is a bearer token a Prometheus scraper may use on /metrics'),
    metricsTokenEnv: z
      .string()
      .min(1)
      .optional()
      .describe('name of the environment variable holding the /metrics bearer token'),
    totpRequiredRoles: z
      .array(z.enum(['reception', 'supervisor', 'site_admin', 'regional_it']))
      .default([])
      .describe(
        'accounts holding one of these roles must enrol a TOTP second factor at their first login before any other route answers (e.g. [site_admin, regional_it])',
      ),
    oidc: oidcSchema.optional().describe('OpenID Connect login with a Région identity provider (docs/security.md)'),
  })
  .superRefine((v, ctx) => {
    if (v.metricsTokenFile && v.metricsTokenEnv) {
      ctx.addIssue({
        code: 'custom',
        path: ['metricsTokenEnv'],
        message: 'set metricsTokenFile or metricsTokenEnv, not both',
      });
    }
    if (v.absoluteTimeoutMs < v.idleTimeoutMs) {
      ctx.addIssue({ code: 'custom', path: ['absoluteTimeoutMs'], message: 'must be at least idleTimeoutMs' });
    }
  });

const camerasSchema = z.strictObject({
  ffmpegPath: z
    .string()
    .min(1)
    .default('ffmpeg')
    .describe('ffmpeg used for camera snapshots, the live preview and enrolment capture (ffprobe is looked for beside it)'),
  grabTimeoutMs: z
    .number()
    .int()
    .min(1_000)
    .max(60_000)
    .default(10_000)
    .describe('a snapshot or enrolment capture fails when the camera gives no frame within this time'),
  previewMaxMs: z
    .number()
    .int()
    .min(10_000)
    .max(3_600_000)
    .default(5 * 60_000)
    .describe('a live preview viewing ends after this long (a new viewing may be started, audited again)'),
  previewFps: z.number().int().min(1).max(15).default(5).describe('frames per second of the live preview'),
  allowFileUrls: z
    .boolean()
    .default(false)
    .describe('accept local video files (file:// or an absolute path) as camera sources: the demo and tests only'),
});

export const configSchema = z.strictObject({
  configVersion: z.literal(1).default(1).describe('version of this configuration format'),
  dataDir: z.string().min(1).default('.data/control-server').describe('directory of portail.sqlite (created)'),
  sites: z
    .array(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be a site id'))
    .min(1)
    .optional()
    .describe(
      'scale-out: the sites this instance owns; it subscribes to, stores and serves only these (all sites when absent)',
    ),
  http: httpSchema.prefault({}).describe('HTTP API, WebSocket and console'),
  mqtt: z
    .discriminatedUnion('mode', [embeddedMqttSchema, externalMqttSchema])
    .prefault({ mode: 'embedded' })
    .describe('embedded aedes broker or an external broker by URL'),
  ws: wsSchema.prefault({}).describe('live push to the console'),
  auth: authSchema.prefault({}).describe('operator accounts, sessions and roles'),
  cameras: camerasSchema.prefault({}).describe('camera snapshots (faces pixelated), live preview relay, enrolment capture'),
  ingest: z
    .strictObject({
      eventWriter: z
        .enum(['worker', 'inline'])
        .default('worker')
        .describe(
          'where the embedded broker path checks and writes events: a worker thread with its own SQLite connection that parses, validates and inserts them (default: that work leaves the event loop), or inline on the main thread',
        ),
    })
    .prefault({})
    .describe("ingest of the agents' messages (docs/performance.md)"),
  consoleDir: z
    .string()
    .min(1)
    .default(DEFAULT_CONSOLE_DIR)
    .describe('built console (index.html + assets) served at /'),
  log: z
    .strictObject({
      level: z
        .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
        .default('info')
        .describe('pino log level'),
    })
    .prefault({})
    .describe('logging'),
});

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type MqttConfig = Config['mqtt'];
export type AuthConfig = Config['auth'];
export type ExternalMqttConfig = Extract<MqttConfig, { mode: 'external' }>;

/** JSON Schema of the config file, for editors and a future settings form. */
export function configJsonSchema(): unknown {
  const schema = z.toJSONSchema(configSchema, { io: 'input' }) as {
    properties: Record<string, Record<string, unknown>>;
  };
  // the default console folder is an absolute path of this checkout: not something to publish
  const consoleDir = schema.properties.consoleDir;
  if (consoleDir) {
    delete consoleDir.default;
    consoleDir.description = `${String(consoleDir.description)} (default: console/dist of this installation)`;
  }
  return schema;
}
