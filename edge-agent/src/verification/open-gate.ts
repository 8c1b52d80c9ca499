import { readFileSync } from 'node:fs';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AgentFileConfig } from '../config/schema.js';
import { checkCredential } from '../credentials/credential-check.js';
import { createZxingQrReader, type QrReader } from '../credentials/qr-reader.js';
import { openEdgeStore, type EdgeStore } from '../store/edge-store.js';
import { createCredentialTrust, type CredentialTrustHolder } from '../sync/credential-trust.js';
import { createFacePipeline, type FacePipeline } from '@portail/vision/face/face-pipeline.js';
import { GateVerifier } from './gate-verifier.js';

/** Everything a gate camera needs besides its face detector; shared by the gate cameras of an agent. */
export interface GateRuntime {
  qr: QrReader;
  store: EdgeStore;
  /** keys and site code in force: the server sync's once applied, else the local file's */
  trust: CredentialTrustHolder;
  /** the local file asks to follow the site sync */
  sync: boolean;
  pipeline: FacePipeline;
  /** one verifier per gate camera: passages are per camera */
  newVerifier(): GateVerifier;
  close(): Promise<void>;
}

export function loadPublicKeys(keys: NonNullable<NonNullable<AgentFileConfig['credentials']>['publicKeys']>): Map<number, KeyObject> {
  return new Map(keys.map((k) => [k.keyId, createPublicKey(k.pem ?? readFileSync(k.pemFile!, 'utf8'))]));
}

/** Open the gate side when the configuration declares credentials; undefined otherwise. */
export async function openGate(config: AgentFileConfig, logger: Logger): Promise<GateRuntime | undefined> {
  const creds = config.credentials;
  if (!creds || !config.cameras.some((c) => c.role !== 'tracking')) return undefined;
  const local =
    creds.publicKeys && creds.siteCode !== undefined
      ? { siteCode: creds.siteCode, publicKeys: loadPublicKeys(creds.publicKeys) }
      : undefined;
  const v = config.verification;
  const store = openEdgeStore(join(config.dataDir, 'agent.sqlite'));
  // the last snapshot applied wins over the local file: the server may have rotated keys since
  const trust = createCredentialTrust(creds.sync ? store.heldSync() : undefined, local);
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
  const t = trust.current();
  logger.info(
    { siteCode: t.siteCode, keys: [...t.publicKeys.keys()], trust: t.source, syncVersion: t.version, templates: store.templateCount(), embedder: pipeline.embedder.modelId },
    'gate verification ready',
  );
  if (t.source === 'none') logger.warn('no credential keys yet: every card is refused until the site sync arrives from the server');
  return {
    qr,
    store,
    trust,
    sync: creds.sync,
    pipeline,
    newVerifier: () =>
      new GateVerifier({
        checkToken: (token) => {
          // read at every token: a sync applied since takes effect on the next card
          const { publicKeys, siteCode } = trust.current();
          return checkCredential(token, { publicKeys, siteCode: siteCode ?? -1, revoked: store.revoked(), now: new Date() });
        },
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
