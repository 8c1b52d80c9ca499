import * as ort from 'onnxruntime-node';
import type { Logger } from 'pino';

export type ExecutionProvider = 'cuda' | 'tensorrt' | 'webgpu' | 'dml' | 'coreml' | 'cpu';

export interface OnnxSessionOptions {
  /** tried in order; `cpu` is appended when missing so a session always opens */
  providers: readonly ExecutionProvider[];
  /** threads for one operator; 2-core boxes want 1 or 2 */
  intraOpThreads: number;
  logger?: Logger | undefined;
}

export interface OpenedSession {
  session: ort.InferenceSession;
  /** the provider the session actually runs on */
  provider: ExecutionProvider;
  /** providers that failed before this one, with the reason */
  failures: { provider: ExecutionProvider; reason: string }[];
}

/**
 * onnxruntime does not fall back by itself: a list like ['cuda','cpu'] throws when CUDA is
 * missing. So each provider is tried alone, in order, and every failure is logged with its reason.
 */
export async function openOnnxSession(modelPath: string, opts: OnnxSessionOptions): Promise<OpenedSession> {
  // onnxruntime-node 1.30 enables Microsoft's telemetry by default on Linux (it writes session
  // files to the temp dir and queues usage events for upload). An edge box at a school sends
  // nothing anywhere but its broker; it must be off before the first session opens.
  process.env.ORT_DISABLE_TELEMETRY = '1';
  const providers: ExecutionProvider[] = [...opts.providers];
  if (!providers.includes('cpu')) providers.push('cpu');
  const failures: OpenedSession['failures'] = [];
  for (const provider of providers) {
    try {
      const session = await ort.InferenceSession.create(modelPath, {
        executionProviders: [provider],
        intraOpNumThreads: opts.intraOpThreads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        // spinning worker threads made 2-thread runs 2-3x slower on a busy 2-core box.
        // Denormals as zero: the fr_feature weights drive convolutions into subnormal floats, which
        // some CPUs compute ~7x slower (87 → 15 ms here, bit-identical embeddings). onnxruntime
        // applies the first session's value to its inference threads, so every session sets it.
        extra: {
          session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' }, set_denormal_as_zero: '1' },
        },
        logSeverityLevel: 3,
      });
      if (failures.length > 0) {
        opts.logger?.warn({ model: modelPath, provider, failures }, 'execution provider fallback');
      }
      return { session, provider, failures };
    } catch (err) {
      const reason = err instanceof Error ? err.message.split('\n')[0]! : String(err);
      failures.push({ provider, reason });
      opts.logger?.warn({ model: modelPath, provider, reason }, 'execution provider unavailable');
    }
  }
  const detail = failures.map((f) => `${f.provider}: ${f.reason}`).join('; ');
  throw new Error(`could not open ${modelPath} on any execution provider (${detail})`);
}

export { ort };
