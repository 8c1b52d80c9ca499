import { idSchema, isReservedAgentId, LOCATION_TYPES, trackingRulesSchema } from '@portail/protocol';
import { decodeInputArgs, HWACCEL_PRESETS, VIDEO_CODECS } from '../camera/ffmpeg-presets.js';
import { canEnableTracking } from '../tracking/location-policy.js';
import { z } from 'zod';

export const PROVIDERS = ['cuda', 'tensorrt', 'webgpu', 'dml', 'coreml', 'cpu'] as const;

export const cameraConfigSchema = z
  .strictObject({
    id: idSchema.describe('camera id, unique on this agent; appears in topics, so no personal data'),
    url: z.string().min(1).optional().describe('file path or rtsp:// URL; prefer urlEnv when it holds credentials'),
    urlEnv: z.string().min(1).optional().describe('name of an environment variable holding the URL (keeps passwords out of files)'),
    role: z.enum(['gate', 'tracking', 'both']).default('gate').describe('gate: credential + face; tracking: persons'),
    loop: z.boolean().default(false).describe('files only: loop forever'),
    maxFps: z.number().positive().max(60).optional().describe('frames per second delivered to the pipeline (decoder drops the rest)'),
    width: z.number().int().positive().optional().describe('output width in px (with height); native size when absent'),
    height: z.number().int().positive().optional().describe('output height in px (with width)'),
    stallTimeoutS: z.number().positive().max(300).default(10).describe('no frame for this long → stalled, ffmpeg restarted'),
    hwaccel: z
      .enum(HWACCEL_PRESETS)
      .default('none')
      .describe('hardware decoding preset: none (software), auto (try, fall back to software), vaapi (Intel/AMD), qsv (Intel Quick Sync), cuda (NVIDIA NVDEC), v4l2m2m (Raspberry Pi)'),
    hwaccelDevice: z.string().min(1).optional().describe('vaapi: DRM render node (default /dev/dri/renderD128); cuda: GPU index'),
    codec: z.enum(VIDEO_CODECS).default('h264').describe('codec of the camera stream; only qsv and v4l2m2m need it'),
    inputArgs: z.array(z.string().min(1)).max(32).optional().describe('raw ffmpeg input arguments (before -i), replacing the hwaccel preset: escape hatch'),
    reconnectMaxS: z.number().min(1).max(60).default(6).describe('longest wait between reconnection attempts; a camera that comes back streams within this plus ~3 s'),
    locationType: z
      .enum(LOCATION_TYPES)
      .default('other')
      .describe('what the camera looks at; only entrance and circulation cameras may enable tracking'),
    trackingEnabled: z.boolean().default(false).describe('anonymous person tracking and movement rules (off by default)'),
    rules: trackingRulesSchema.optional().describe('declared movement rules: zones, directed lines, tailgating'),
    scannerPath: z
      .string()
      .min(1)
      .optional()
      .describe('gate cameras: a line-based credential scanner beside this camera (serial device or FIFO, one token per line)'),
  })
  .superRefine((c, ctx) => {
    if (!c.url === !c.urlEnv) ctx.addIssue({ code: 'custom', message: 'give exactly one of url or urlEnv', path: ['url'] });
    if (!c.width !== !c.height) ctx.addIssue({ code: 'custom', message: 'width and height go together', path: ['width'] });
    if (c.inputArgs) {
      const r = decodeInputArgs({ inputArgs: c.inputArgs });
      if (!r.ok) ctx.addIssue({ code: 'custom', message: r.error.message, path: ['inputArgs'] });
    }
    if (c.trackingEnabled) {
      const policy = canEnableTracking(c.locationType);
      if (!policy.ok) ctx.addIssue({ code: 'custom', message: policy.error.message, path: ['trackingEnabled'] });
      if (c.role === 'gate') ctx.addIssue({ code: 'custom', message: 'tracking needs a camera with role tracking or both', path: ['role'] });
    }
  });

export const agentFileConfigSchema = z.strictObject({
  configVersion: z.literal(1).default(1).describe('version of this file format'),
  site: idSchema.describe('site id'),
  agent: idSchema
    .refine((id) => !isReservedAgentId(id), 'agent id "sync" is reserved for the site sync topics')
    .describe('agent id, unique in the site'),
  mqtt: z
    .strictObject({
      url: z.string().default('mqtt://127.0.0.1:1883').describe('broker URL (mqtt://, mqtts://)'),
      username: z.string().optional(),
      passwordEnv: z.string().optional().describe('name of the environment variable holding the password'),
      passwordFile: z
        .string()
        .min(1)
        .optional()
        .describe('file whose first line is the MQTT password (mode 0600; relative paths are from this config file)'),
      caFile: z.string().min(1).optional().describe('PEM CA bundle trusted for mqtts:// (relative to this config file)'),
      certFile: z.string().min(1).optional().describe('PEM client certificate, when the broker requires one (with keyFile)'),
      keyFile: z.string().min(1).optional().describe('PEM private key of certFile'),
      keepaliveS: z.number().int().min(5).max(600).default(15).describe('MQTT keepalive; the last will fires after 1.5× this'),
      protocolVersion: z
        .union([z.literal('auto'), z.literal(4), z.literal(5)])
        .default('auto')
        .describe('auto: MQTT 5 when the broker speaks it (a PUBACK then says when no subscriber got an event), else 3.1.1'),
    })
    .superRefine((m, ctx) => {
      if (m.passwordEnv && m.passwordFile) ctx.addIssue({ code: 'custom', path: ['passwordFile'], message: 'give passwordEnv or passwordFile, not both' });
      if (!m.certFile !== !m.keyFile) ctx.addIssue({ code: 'custom', path: ['keyFile'], message: 'certFile and keyFile go together' });
    })
    .default({ url: 'mqtt://127.0.0.1:1883', keepaliveS: 15, protocolVersion: 'auto' }),
  modelsDir: z.string().optional().describe('folder of the .onnx files; default PORTAIL_MODELS_DIR, then ../shared/models'),
  vision: z
    .strictObject({
      providers: z.array(z.enum(PROVIDERS)).min(1).default(['cpu']).describe('execution providers tried in order; cpu is the last resort'),
      intraOpThreads: z.number().int().min(1).max(64).default(1).describe('threads per model run'),
      face: z
        .strictObject({
          enabled: z.boolean().default(true),
          scoreThreshold: z.number().min(0).max(1).default(0.6),
        })
        .default({ enabled: true, scoreThreshold: 0.6 }),
      person: z
        .strictObject({
          enabled: z.boolean().default(true),
          model: z.enum(['yolox-nano-416', 'yolox-nano-480x640']).default('yolox-nano-416'),
          scoreThreshold: z
            .number()
            .min(0)
            .max(1)
            .default(0.1)
            .describe('low on purpose: the tracker uses boxes between this and its high score to keep tracks through occlusions'),
        })
        .default({ enabled: true, model: 'yolox-nano-416', scoreThreshold: 0.1 }),
    })
    .default({
      providers: ['cpu'],
      intraOpThreads: 1,
      face: { enabled: true, scoreThreshold: 0.6 },
      person: { enabled: true, model: 'yolox-nano-416', scoreThreshold: 0.1 },
    }),
  healthIntervalS: z.number().min(1).max(300).default(10).describe('seconds between health messages'),
  timeZone: z.string().default('Europe/Paris').describe('IANA time zone of the site, for rule schedules'),
  localHttp: z
    .strictObject({
      enabled: z.boolean().default(true),
      host: z.string().default('127.0.0.1').describe('loopback by default: for the box\'s own supervisor'),
      port: z.number().int().min(0).max(65535).default(9464).describe('0 picks a free port (logged)'),
    })
    .default({ enabled: true, host: '127.0.0.1', port: 9464 })
    .describe('local /healthz and Prometheus /metrics endpoint'),
  dataDir: z.string().default('.data/agent').describe('folder of the agent database agent.sqlite: event outbox, encrypted templates, revocations'),
  outbox: z
    .strictObject({
      maxRows: z.number().int().min(1000).max(10_000_000).default(100_000).describe('events kept at most in <dataDir>/agent.sqlite (pending + delivered); beyond it the oldest go, delivered ones first, undelivered ones counted as outbox overflow and logged as errors'),
      maxAgeS: z.number().int().min(3600).max(90 * 86_400).default(604_800).describe('seconds an event may wait for a broker PUBACK before it is dropped (outbox overflow)'),
      keepDeliveredS: z.number().int().min(0).max(30 * 86_400).default(86_400).describe('seconds an event stays after the broker PUBACK, to be sent again if the broker restarts without the agent session (it may have lost events held for an absent control server); 0 deletes on PUBACK'),
      maxInFlight: z.number().int().min(1).max(100).default(16).describe('events published and not yet acknowledged at most; also capped by the broker receive maximum'),
    })
    .default({ maxRows: 100_000, maxAgeS: 604_800, keepDeliveredS: 86_400, maxInFlight: 16 })
    .describe('durable queue of QoS 1 events (access, movement, camera)'),
  credentials: z
    .strictObject({
      siteCode: z
        .number()
        .int()
        .min(0)
        .max(65535)
        .optional()
        .describe('numeric site code carried by this site\'s credentials; bootstrap until the server\'s sync arrives'),
      publicKeys: z
        .array(
          z
            .strictObject({
              keyId: z.number().int().min(0).max(15).describe('signing key id in the token header'),
              pem: z.string().optional().describe('Ed25519 public key, PEM'),
              pemFile: z.string().optional().describe('file holding the PEM public key'),
            })
            .refine((k) => !k.pem !== !k.pemFile, 'give exactly one of pem or pemFile'),
        )
        .min(1)
        .max(16)
        .optional()
        .describe('the deployment\'s credential public keys (several during a key rotation); bootstrap until the server\'s sync arrives'),
      sync: z
        .boolean()
        .default(true)
        .describe('follow the site sync from the control server (templates, revocations, keys, site code over retained MQTT); once applied it replaces siteCode and publicKeys'),
    })
    .refine((c) => (c.siteCode === undefined) === (c.publicKeys === undefined), {
      message: 'give siteCode and publicKeys together, or neither (then they come from the server sync)',
      path: ['publicKeys'],
    })
    .refine((c) => c.sync || c.publicKeys !== undefined, {
      message: 'without sync, siteCode and publicKeys are needed',
      path: ['sync'],
    })
    .optional()
    .describe('credential checking at the gate; absent: the gate cameras only detect faces. `{}` takes everything from the server sync'),
  verification: z
    .strictObject({
      embedder: z.enum(['faceplugin-fr-feature-512d', 'mobilefacenet-128d', 'mobilefacenet-paddle-128d']).default('faceplugin-fr-feature-512d'),
      similarityThreshold: z.number().min(-1).max(1).default(0.3).describe('cosine threshold for `confirmed`: above every impostor score of the LFW dev split for the default embedder (max 0.284); calibrate on site data with npm run calibrate'),
      liveness: z.boolean().default(true).describe('run MiniFASNet liveness on the compared face'),
      livenessThreshold: z.number().min(0).max(1).default(0.5),
      captureZone: z
        .tuple([z.number().min(0).max(1), z.number().min(0).max(1), z.number().min(0).max(1), z.number().min(0).max(1)])
        .default([0, 0, 1, 1])
        .describe('region of the gate frame where the compared face must be: [x, y, w, h] as fractions'),
      windowMs: z.number().int().min(100).max(5000).default(1000).describe('how long faces are collected after a credential is read'),
      maxFrames: z.number().int().min(1).max(60).default(8),
      topK: z.number().int().min(1).max(10).default(2).describe('best-quality frames whose similarities are averaged'),
      cooldownMs: z.number().int().min(0).max(60000).default(4000).describe('the same card is ignored this long after its verdict'),
    })
    .default({
      embedder: 'faceplugin-fr-feature-512d',
      similarityThreshold: 0.3,
      liveness: true,
      livenessThreshold: 0.5,
      captureZone: [0, 0, 1, 1],
      windowMs: 1000,
      maxFrames: 8,
      topK: 2,
      cooldownMs: 4000,
    }),
  cameras: z.array(cameraConfigSchema).min(1).max(16),
});

export type AgentFileConfig = z.infer<typeof agentFileConfigSchema>;
export type CameraConfig = z.infer<typeof cameraConfigSchema>;

/** JSON Schema of the agent's configuration file, for editors and config/agent.schema.json. */
export function agentConfigJsonSchema(): unknown {
  return z.toJSONSchema(agentFileConfigSchema, { io: 'input' });
}
