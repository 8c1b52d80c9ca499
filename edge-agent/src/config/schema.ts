import { idSchema } from '@portail/protocol';
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
  })
  .superRefine((c, ctx) => {
    if (!c.url === !c.urlEnv) ctx.addIssue({ code: 'custom', message: 'give exactly one of url or urlEnv', path: ['url'] });
    if (!c.width !== !c.height) ctx.addIssue({ code: 'custom', message: 'width and height go together', path: ['width'] });
  });

export const agentFileConfigSchema = z.strictObject({
  configVersion: z.literal(1).default(1).describe('version of this file format'),
  site: idSchema.describe('site id'),
  agent: idSchema.describe('agent id, unique in the site'),
  mqtt: z
    .strictObject({
      url: z.string().default('mqtt://127.0.0.1:1883').describe('broker URL (mqtt://, mqtts://)'),
      username: z.string().optional(),
      passwordEnv: z.string().optional().describe('name of the environment variable holding the password'),
      keepaliveS: z.number().int().min(5).max(600).default(15).describe('MQTT keepalive; the last will fires after 1.5× this'),
    })
    .default({ url: 'mqtt://127.0.0.1:1883', keepaliveS: 15 }),
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
          scoreThreshold: z.number().min(0).max(1).default(0.3),
        })
        .default({ enabled: true, model: 'yolox-nano-416', scoreThreshold: 0.3 }),
    })
    .default({
      providers: ['cpu'],
      intraOpThreads: 1,
      face: { enabled: true, scoreThreshold: 0.6 },
      person: { enabled: true, model: 'yolox-nano-416', scoreThreshold: 0.3 },
    }),
  healthIntervalS: z.number().min(1).max(300).default(10).describe('seconds between health messages'),
  cameras: z.array(cameraConfigSchema).min(1).max(16),
});

export type AgentFileConfig = z.infer<typeof agentFileConfigSchema>;
export type CameraConfig = z.infer<typeof cameraConfigSchema>;

/** JSON Schema of the agent's configuration file, for editors and config/agent.schema.json. */
export function agentConfigJsonSchema(): unknown {
  return z.toJSONSchema(agentFileConfigSchema, { io: 'input' });
}
