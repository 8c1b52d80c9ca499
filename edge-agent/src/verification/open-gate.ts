import { readFileSync } from 'node:fs';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AgentFileConfig } from '../config/schema.js';
import { checkCredential } from '../credentials/credential-check.js';
import { createZxingQrReader, type QrReader } from '../credentials/qr-reader.js';
import { openEdgeStore, type EdgeStore } from '../store/edge-store.js';
import { createFacePipeline, type FacePipeline } from '@portail/vision/face/face-pipeline.js';
import { GateVerifier } from './gate-verifier.js';

/** Everything a gate camera needs besides its face detector; shared by the gate cameras of an agent. */
export interface GateRuntime {
  qr: QrReader;
  store: EdgeStore;
  pipeline: FacePipeline;
  /** one verifier per gate camera: passages are per camera */
  newVerifier(): GateVerifier;
  close(): Promise<void>;
}

export function loadPublicKeys(keys: NonNullable<AgentFileConfig['credentials']>['publicKeys']): Map<number, KeyObject> {
  return new Map(keys.map((k) => [k.keyId, createPublicKey(k.pem ?? readFileSync(k.pemFile!, 'utf8'))]));
}

/** Open the gate side when the configuration declares credentials; undefined otherwise. */
export async function openGate(config: AgentFileConfig, logger: Logger): Promise<GateRuntime | undefined> {
  const creds = config.credentials;
  if (!creds || !config.cameras.some((c) => c.role !== 'tracking')) return undefined;
  const publicKeys = loadPublicKeys(creds.publicKeys);
  const v = config.verification;
  const store = openEdgeStore(join(config.dataDir, 'agent.sqlite'));
  let pipeline: FacePipeline;
  try {
    pipeline = await createFacePipeline({
      embedder: v.embedder,
      liveness: v.liveness,
      livenessThreshold: v.livenessThreshold,
      providers: config.vision.providers,
      intraOpThreads: config.vision.intraOpThreads,
      logger,
      ...(config.modelsDir ? { modelsDir: config.modelsDir } : {}),
    });
  } catch (err) {
    store.close();
    throw err;
  }
  const qr = createZxingQrReader();
  logger.info({ siteCode: creds.siteCode, keys: [...publicKeys.keys()], templates: store.templateCount(), embedder: pipeline.embedder.modelId }, 'gate verification ready');
  return {
    qr,
    store,
    pipeline,
    newVerifier: () =>
      new GateVerifier({
        checkToken: (token) => checkCredential(token, { publicKeys, siteCode: creds.siteCode, revoked: store.revoked(), now: new Date() }),
        store,
        analyse: (frame, face) => pipeline.analyse(frame, face, { skipBelowQuality: true }),
        options: {
          captureZone: v.captureZone,
          windowMs: v.windowMs,
          maxFrames: v.maxFrames,
          cooldownMs: v.cooldownMs,
          decision: { similarityThreshold: v.similarityThreshold, livenessThreshold: v.liveness ? v.livenessThreshold : null, topK: v.topK },
        },
      }),
    async close() {
      await pipeline.close();
      store.close();
    },
  };
}
