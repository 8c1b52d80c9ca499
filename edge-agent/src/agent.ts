import { newEventId, PROTOCOL_VERSION, type AgentConfig, type CameraInfo, type DetectorHealth, type Health, type ModelInfo, type Status } from '@portail/protocol';
import type { Logger } from 'pino';
import { FfmpegCamera, type CameraStateChange } from './camera/ffmpeg-camera.js';
import { decodeInputArgs } from './camera/ffmpeg-presets.js';
import { LatestFrameQueue } from './camera/latest-frame-queue.js';
import { evaluateLiveConfig, keepScoresAbove, liveScoreThresholds, type ScoreThresholds } from './config/live-config.js';
import { cameraUrl } from './config/load.js';
import type { AgentFileConfig, CameraConfig } from './config/schema.js';
import { StageLatencies } from './health/latency-stats.js';
import { startLocalEndpoint, type LocalEndpoint } from './health/local-endpoint.js';
import { createAgentMetrics, type AgentMetrics } from './health/metrics.js';
import type { MqttTransport } from './transport/mqtt-transport.js';
import { openLineScanner, type LineScanner } from './credentials/line-scanner.js';
import { createTrackingPipeline, type MovementAlert, type TrackingPipeline } from './tracking/tracking-pipeline.js';
import { createTrackTrails, tracksPayload, type TrackTrails } from './tracking/track-trails.js';
import type { GateVerifier, PassageVerdict } from './verification/gate-verifier.js';
import type { GateRuntime } from './verification/open-gate.js';
import { createEdgeSync, type EdgeSync } from './sync/edge-sync.js';
import { AGENT_VERSION } from './version.js';
import type { Detector, FaceDetection, Frame, PersonDetection } from '@portail/vision/types.js';

export interface AgentDetectors {
  face?: Detector<FaceDetection> | undefined;
  person?: Detector<PersonDetection> | undefined;
}

export interface AgentDeps {
  config: AgentFileConfig;
  logger: Logger;
  /** opens the ONNX detectors; injected so the composition root decides which models and providers */
  openDetectors: () => Promise<AgentDetectors>;
  /** credentials + 1:1 verification for gate cameras; absent when the site declares no credentials */
  openGate?: () => Promise<GateRuntime | undefined>;
  /** the MQTT side; built after the detectors so the first status already names the models */
  openTransport: (onlineStatus: () => Status) => MqttTransport;
  ffmpegPath?: string;
  metrics?: AgentMetrics;
}

interface DetectorCounters {
  kind: 'face' | 'person';
  detector: Detector<unknown>;
  framesRun: number;
  detections: number;
  detectionsInInterval: number;
}

interface CameraRuntime {
  config: CameraConfig;
  camera: FfmpegCamera;
  queue: LatestFrameQueue;
  framesProcessed: number;
  framesProcessedAtLastHealth: number;
  verifier?: GateVerifier | undefined;
  scanner?: LineScanner | undefined;
  tracking?: TrackingPipeline | undefined;
  /** recent trajectories published on `tracks` (tracking cameras) */
  trails?: TrackTrails | undefined;
  loop?: Promise<void>;
}

/** ffmpeg input arguments of a camera (hardware preset or raw escape hatch), validated at config load. */
function decodeArgs(c: CameraConfig): string[] {
  const r = decodeInputArgs({ hwaccel: c.hwaccel, codec: c.codec, ...(c.hwaccelDevice ? { hwaccelDevice: c.hwaccelDevice } : {}), ...(c.inputArgs ? { inputArgs: c.inputArgs } : {}) });
  return r.ok ? r.value : [];
}

export interface Agent {
  start(): Promise<void>;
  stop(): Promise<void>;
  onConfigMessage(raw: Uint8Array): void;
  /** Feed a message received on the site's retained sync topics (ignored without a gate following the sync). */
  onSyncMessage(topic: string, raw: Uint8Array): void;
  /** bound port of the local /healthz + /metrics endpoint, null when disabled or not listening */
  localPort(): number | null;
}

/** Composition of one edge agent: cameras → detectors → health and events over MQTT. No I/O until start(). */
export function createAgent(deps: AgentDeps): Agent {
  const { config, logger } = deps;
  const stageLatencies = new StageLatencies();
  const metrics = deps.metrics ?? createAgentMetrics();
  let localEndpoint: LocalEndpoint | undefined;
  /** one place for per-stage durations: the health message's percentiles and the Prometheus histogram */
  const latencies = {
    record(stage: string, ms: number) {
      stageLatencies.record(stage, ms);
      metrics.stageSeconds.observe({ stage }, ms / 1000);
    },
    drain: () => stageLatencies.drain(),
  };
  const counters: DetectorCounters[] = [];
  const cameras: CameraRuntime[] = [];
  let detectors: AgentDetectors = {};
  let gate: GateRuntime | undefined;
  let sync: EdgeSync | undefined;
  let transport: MqttTransport | undefined;
  let healthTimer: NodeJS.Timeout | undefined;
  let lastHealthAt = Date.now();
  let lastCpu = process.cpuUsage();
  const startedAt = Date.now();
  let stopping = false;
  let publishFailures = 0;
  let appliedConfigVersion: number | null = null;
  /** the detectors drop what scores below the local file's thresholds; a live configuration may ask for more */
  const scoreFloors: ScoreThresholds = { face: config.vision.face.scoreThreshold, person: config.vision.person.scoreThreshold };
  let scoreThresholds: ScoreThresholds = { ...scoreFloors };

  const models = (): ModelInfo[] =>
    counters.map((c) => ({ name: c.detector.modelName, sha256: c.detector.sha256, provider: c.detector.provider }));
  const cameraInfos = (): CameraInfo[] =>
    cameras.map((c) => ({ id: c.config.id, role: c.config.role, state: c.camera.state }));
  const status = (state: 'online' | 'offline', reason: Status['reason']): Status => ({
    v: PROTOCOL_VERSION,
    site: config.site,
    agent: config.agent,
    state,
    reason,
    ts: new Date().toISOString(),
    version: AGENT_VERSION,
    models: models(),
    cameras: cameraInfos(),
    ...(appliedConfigVersion !== null ? { configVersion: appliedConfigVersion } : {}),
  });

  function publishSafely(what: string, p: Promise<void> | undefined): void {
    p?.catch((err: unknown) => {
      publishFailures++;
      metrics.publishFailures.inc();
      logger.warn({ err: (err as Error).message, what, publishFailures }, 'publish failed');
    });
  }

  function onCameraState(cam: CameraRuntime, change: CameraStateChange): void {
    logger.info({ camera: cam.config.id, state: change.state, code: change.code, reason: change.reason }, 'camera state');
    metrics.cameraUp.set({ camera: cam.config.id }, change.state === 'online' ? 1 : 0);
    publishSafely(
      'camera event',
      transport?.publish('camera', {
        id: newEventId(),
        v: PROTOCOL_VERSION,
        site: config.site,
        agent: config.agent,
        camera: cam.config.id,
        ts: new Date().toISOString(),
        state: change.state,
        code: change.code,
        ...(change.reason ? { reason: change.reason } : {}),
        ...(change.width ? { width: change.width, height: change.height } : {}),
      }),
    );
    if (!stopping) publishSafely('status', transport?.publish('status', status('online', 'started')));
  }

  async function runDetector<D>(c: DetectorCounters | undefined, frame: Frame): Promise<D[]> {
    if (!c) return [];
    const t0 = performance.now();
    const found = keepScoresAbove((await c.detector.detect(frame)) as Array<D & { score: number }>, scoreThresholds[c.kind]);
    latencies.record(c.kind, performance.now() - t0);
    c.framesRun++;
    metrics.detections.inc({ model: c.detector.modelName, kind: c.kind }, found.length);
    c.detections += found.length;
    c.detectionsInInterval += found.length;
    return found;
  }

  function publishVerdict(cam: CameraRuntime, v: PassageVerdict): void {
    logger.info({ camera: cam.config.id, passage: v.passageId, decision: v.decision, biometric: v.biometric, detail: v.detail }, 'passage');
    metrics.accessDecisions.inc({ decision: v.decision });
    publishSafely(
      'access event',
      transport?.publish('access', {
        id: newEventId(),
        v: PROTOCOL_VERSION,
        site: config.site,
        agent: config.agent,
        camera: cam.config.id,
        ts: new Date().toISOString(),
        passageId: v.passageId,
        ...(v.credentialId ? { credentialId: v.credentialId } : {}),
        decision: v.decision,
        biometric: v.biometric,
        ...(v.scores && Object.keys(v.scores).length ? { scores: v.scores } : {}),
        timingsMs: v.timingsMs,
        ...(v.modelId ? { modelId: v.modelId } : {}),
      }),
    );
  }

  function movementEvent(cam: CameraRuntime, tMs: number) {
    return { id: newEventId(), v: PROTOCOL_VERSION, site: config.site, agent: config.agent, camera: cam.config.id, ts: new Date(tMs).toISOString() } as const;
  }

  function publishMovement(cam: CameraRuntime, alert: MovementAlert): void {
    metrics.movementEvents.inc({ kind: alert.kind });
    publishSafely(
      'movement event',
      transport?.publish('movement', {
        ...movementEvent(cam, alert.tMs),
        kind: alert.kind,
        rule: alert.rule,
        ...(alert.trackId ? { trackId: alert.trackId } : {}),
        ...(alert.direction ? { direction: alert.direction } : {}),
        ...(alert.box ? { box: alert.box } : {}),
        ...(alert.excess ? { excess: alert.excess } : {}),
      }),
    );
  }

  /** Tracking cameras: anonymous tracks and the declared rules; nothing but boxes and ids leaves. */
  function runTracking(cam: CameraRuntime, frame: Frame, persons: PersonDetection[]): void {
    if (!cam.tracking) return;
    const t0 = performance.now();
    const step = cam.tracking.update(persons, frame.tsMs);
    latencies.record('track', performance.now() - t0);
    for (const alert of step.movementAlerts) publishMovement(cam, alert);
    for (const [rule, counts] of Object.entries(step.lineCounts ?? {})) {
      publishSafely('line counts', transport?.publish('movement', { ...movementEvent(cam, frame.tsMs), kind: 'line_counts', rule, counts }));
    }
    // recent anonymous trajectories and the rules' geometry for the supervisors' camera tile: QoS 0,
    // worthless once stale, so nothing is queued while the broker is away
    cam.trails ??= createTrackTrails();
    cam.trails.observe(step.tracks, frame.tsMs);
    const trails = cam.trails.take(frame.tsMs);
    if (trails && transport?.connected) {
      const payload = tracksPayload({ site: config.site, agent: config.agent, camera: cam.config.id, tsMs: frame.tsMs, frame, trails, rules: cam.tracking.geometry() });
      publishSafely('tracks', transport.publish('tracks', payload));
    }
  }

  /** Gate frames: QR credentials read in the frame, then the verifier pairs them with the face in the zone. */
  async function runGate(cam: CameraRuntime, frame: Frame, faces: FaceDetection[]): Promise<void> {
    if (!gate || !cam.verifier) return;
    const t0 = performance.now();
    const tokens = [...(cam.scanner?.drain() ?? []), ...(await gate.qr.read(frame))];
    latencies.record('qr', performance.now() - t0);
    for (const v of await cam.verifier.processFrame(frame, tokens, faces)) {
      publishVerdict(cam, v);
      // tailgating compares inbound crossings with the credentials accepted at this box's gates
      if (v.decision === 'accepted' || v.decision === 'confirmed') for (const c of cameras) c.tracking?.recordAcceptedCredential(frame.tsMs);
    }
  }

  async function processLoop(cam: CameraRuntime): Promise<void> {
    const face = counters.find((c) => c.kind === 'face');
    const person = counters.find((c) => c.kind === 'person');
    const wantsFace = cam.config.role !== 'tracking';
    const wantsPerson = cam.config.role !== 'gate';
    for (;;) {
      const frame = await cam.queue.next();
      if (!frame) return;
      const t0 = performance.now();
      try {
        const faces = wantsFace ? await runDetector<FaceDetection>(face, frame) : [];
        if (wantsFace) await runGate(cam, frame, faces);
        if (wantsPerson) runTracking(cam, frame, await runDetector<PersonDetection>(person, frame));
        cam.framesProcessed++;
        metrics.framesProcessed.inc({ camera: cam.config.id });
        latencies.record('frame', performance.now() - t0);
        // how old the frame was when its processing ended: what an operator would wait
        latencies.record('age', Date.now() - frame.tsMs);
      } catch (err) {
        // a bad frame must not stop the camera's loop; it is logged and the next frame is taken
        logger.error({ camera: cam.config.id, err: (err as Error).message }, 'frame processing failed');
      }
    }
  }

  function buildHealth(): Health {
    const now = Date.now();
    const elapsedS = Math.max(0.001, (now - lastHealthAt) / 1000);
    const cpu = process.cpuUsage(lastCpu);
    lastCpu = process.cpuUsage();
    lastHealthAt = now;
    const detectorsHealth: DetectorHealth[] = counters.map((c) => {
      const d: DetectorHealth = {
        model: c.detector.modelName,
        kind: c.kind,
        provider: c.detector.provider,
        framesRun: c.framesRun,
        detections: c.detections,
        detectionsInInterval: c.detectionsInInterval,
      };
      c.detectionsInInterval = 0;
      return d;
    });
    for (const c of cameras) metrics.framesDropped.set({ camera: c.config.id }, c.queue.dropped);
    metrics.mqttConnected.set(transport?.connected ? 1 : 0);
    const health: Health = {
      v: PROTOCOL_VERSION,
      site: config.site,
      agent: config.agent,
      ts: new Date(now).toISOString(),
      intervalS: Math.round(elapsedS * 100) / 100,
      uptimeS: Math.round((now - startedAt) / 1000),
      cameras: cameras.map((c) => {
        const fps = (c.framesProcessed - c.framesProcessedAtLastHealth) / elapsedS;
        c.framesProcessedAtLastHealth = c.framesProcessed;
        return {
          id: c.config.id,
          state: c.camera.state,
          fps: Math.round(fps * 100) / 100,
          framesIn: c.camera.framesIn,
          framesProcessed: c.framesProcessed,
          framesDropped: c.queue.dropped,
        };
      }),
      detectors: detectorsHealth,
      stages: latencies.drain(),
      cpuPct: Math.round(((cpu.user + cpu.system) / 1000 / (elapsedS * 1000)) * 1000) / 10,
      rssBytes: process.memoryUsage().rss,
      ...(transport ? { outboxDepth: transport.depth() } : {}),
    };
    return health;
  }

  /**
   * The server's retained configuration: validated as a whole first; applied without restarting
   * (tracking switched per camera, rules replaced while tracks are kept); on any problem nothing
   * changes and the rejection is published on config/state with its reasons.
   */
  function onConfigMessage(raw: Uint8Array): void {
    const result = evaluateLiveConfig(raw, { site: config.site, agent: config.agent, cameras: config.cameras, scoreFloors });
    const answer = (r: 'applied' | 'rejected', receivedVersion: number | null, errors?: string[]) =>
      publishSafely(
        'config state',
        transport?.publish('configState', {
          v: PROTOCOL_VERSION,
          site: config.site,
          agent: config.agent,
          ts: new Date().toISOString(),
          appliedVersion: appliedConfigVersion,
          result: r,
          receivedVersion,
          ...(errors ? { errors: errors.slice(0, 50).map((e) => e.slice(0, 512)) } : {}),
        }),
      );
    if (!result.ok) {
      logger.error({ receivedVersion: result.receivedVersion, errors: result.errors }, 'configuration rejected, keeping the one in force');
      answer('rejected', result.receivedVersion, result.errors);
      return;
    }
    const errors = applyConfig(result.config);
    if (errors.length) {
      logger.error({ receivedVersion: result.config.configVersion, errors }, 'configuration rejected, keeping the one in force');
      answer('rejected', result.config.configVersion, errors);
      return;
    }
    appliedConfigVersion = result.config.configVersion;
    scoreThresholds = liveScoreThresholds(result.config, scoreFloors);
    metrics.configVersion.set(appliedConfigVersion);
    logger.info({ configVersion: appliedConfigVersion }, 'configuration applied');
    answer('applied', appliedConfigVersion);
    publishSafely('status', transport?.publish('status', status('online', 'started')));
  }

  /** Two phases so that a rule set refused by one camera leaves every camera as it was. */
  function applyConfig(c: AgentConfig): string[] {
    const plans = c.cameras.map((camCfg) => {
      const cam = cameras.find((x) => x.config.id === camCfg.id)!;
      const rules = { zones: camCfg.zones, lines: camCfg.lines, tailgating: camCfg.tailgating };
      return { cam, camCfg, rules };
    });
    const errors: string[] = [];
    const prepared = plans.map(({ cam, camCfg, rules }) => {
      if (!camCfg.trackingEnabled) return { cam, next: undefined };
      try {
        return { cam, next: createTrackingPipeline({ rules, timeZone: config.timeZone }) };
      } catch (err) {
        errors.push(`camera ${camCfg.id}: ${(err as Error).message}`);
        return { cam, next: undefined };
      }
    });
    if (errors.length) return errors;
    for (const [i, { cam, next }] of prepared.entries()) {
      const { rules } = plans[i]!;
      if (!next) cam.tracking = undefined;
      else if (cam.tracking) {
        // keep the live tracks and the counts of unchanged lines
        const r = cam.tracking.applyRules(rules);
        if (!r.ok) cam.tracking = next;
      } else cam.tracking = next;
    }
    return [];
  }

  return {
    /** Feed a message received on this agent's retained config topic. */
    onConfigMessage,
    onSyncMessage(topic, raw) {
      sync?.onMessage(topic, raw);
    },
    localPort: () => localEndpoint?.port ?? null,

    async start() {
      detectors = await deps.openDetectors();
      gate = await deps.openGate?.();
      if (gate?.sync) {
        const g = gate;
        sync = createEdgeSync({
          site: config.site,
          agent: config.agent,
          store: g.store,
          trust: g.trust,
          publishState: (state) => publishSafely('sync state', transport?.publish('syncState', state)),
          logger: logger.child({ module: 'sync' }),
        });
      }
      if (detectors.face) counters.push({ kind: 'face', detector: detectors.face, framesRun: 0, detections: 0, detectionsInInterval: 0 });
      if (detectors.person) counters.push({ kind: 'person', detector: detectors.person, framesRun: 0, detections: 0, detectionsInInterval: 0 });
      for (const camCfg of config.cameras) {
        const queue = new LatestFrameQueue(1);
        const rt: CameraRuntime = {
          config: camCfg,
          queue,
          framesProcessed: 0,
          framesProcessedAtLastHealth: 0,
          verifier: camCfg.role !== 'tracking' ? gate?.newVerifier() : undefined,
          tracking: camCfg.trackingEnabled
            ? createTrackingPipeline({ rules: camCfg.rules ?? {}, timeZone: config.timeZone })
            : undefined,
          scanner:
            gate && camCfg.role !== 'tracking' && camCfg.scannerPath
              ? openLineScanner(camCfg.scannerPath, logger.child({ module: 'scanner', camera: camCfg.id }))
              : undefined,
          camera: new FfmpegCamera({
            id: camCfg.id,
            source: {
              url: cameraUrl(camCfg),
              loop: camCfg.loop,
              maxFps: camCfg.maxFps,
              width: camCfg.width,
              height: camCfg.height,
              inputArgs: decodeArgs(camCfg),
            },
            backoffMaxMs: camCfg.reconnectMaxS * 1000,
            ...(deps.ffmpegPath ? { ffmpegPath: deps.ffmpegPath } : {}),
            stallTimeoutMs: camCfg.stallTimeoutS * 1000,
            logger: logger.child({ module: 'camera', camera: camCfg.id }),
            onFrame: (f) => {
              metrics.framesDecoded.inc({ camera: camCfg.id });
              queue.push(f);
            },
            onState: (s) => onCameraState(rt, s),
          }),
        };
        cameras.push(rt);
      }
      transport = deps.openTransport(() => status('online', 'started'));
      for (const cam of cameras) {
        cam.loop = processLoop(cam);
        cam.camera.start();
      }
      lastHealthAt = Date.now();
      healthTimer = setInterval(() => {
        publishSafely('health', transport?.publish('health', buildHealth()));
      }, config.healthIntervalS * 1000);
      if (config.localHttp.enabled) {
        localEndpoint = await startLocalEndpoint({
          host: config.localHttp.host,
          port: config.localHttp.port,
          registry: metrics.registry,
          logger,
          health: () => ({
            // healthy while at least one camera delivers frames: a dead camera is reported, not a reason to restart the box
            ok: !stopping && cameras.some((c) => c.camera.state === 'online'),
            mqttConnected: transport?.connected ?? false,
            cameras: cameraInfos(),
            configVersion: appliedConfigVersion,
            uptimeS: Math.round((Date.now() - startedAt) / 1000),
          }),
        });
      }
      logger.info({ cameras: cameras.length, models: models() }, 'agent started');
    },

    async stop() {
      if (stopping) return;
      stopping = true;
      if (healthTimer) clearInterval(healthTimer);
      await localEndpoint?.close();
      await Promise.all(cameras.map((c) => c.camera.stop()));
      for (const c of cameras) {
        c.queue.close();
        c.scanner?.close();
      }
      await Promise.all(cameras.map((c) => c.loop ?? Promise.resolve()));
      await transport?.close(status('offline', 'stopped'));
      await Promise.all([detectors.face?.close(), detectors.person?.close(), gate?.close()]);
      logger.info('agent stopped');
    },
  };
}
