import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of one agent (prom-client). Labels never carry personal data: ids only. */
export function createAgentMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'portail_agent_' });
  const m = {
    registry,
    framesDecoded: new Counter({ name: 'portail_agent_frames_decoded_total', help: 'frames decoded by ffmpeg', labelNames: ['camera'], registers: [registry] }),
    framesProcessed: new Counter({ name: 'portail_agent_frames_processed_total', help: 'frames run through the models', labelNames: ['camera'], registers: [registry] }),
    framesDropped: new Gauge({ name: 'portail_agent_frames_dropped', help: 'frames dropped by the newest-frame policy since start', labelNames: ['camera'], registers: [registry] }),
    cameraUp: new Gauge({ name: 'portail_agent_camera_up', help: '1 when the camera delivers frames', labelNames: ['camera'], registers: [registry] }),
    stageSeconds: new Histogram({
      name: 'portail_agent_stage_seconds',
      help: 'duration of a pipeline stage for one frame',
      labelNames: ['stage'],
      buckets: [0.002, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28],
      registers: [registry],
    }),
    detections: new Counter({ name: 'portail_agent_detections_total', help: 'detections above threshold', labelNames: ['model', 'kind'], registers: [registry] }),
    accessDecisions: new Counter({ name: 'portail_agent_access_decisions_total', help: 'passages by decision', labelNames: ['decision'], registers: [registry] }),
    movementEvents: new Counter({ name: 'portail_agent_movement_events_total', help: 'movement events by kind', labelNames: ['kind'], registers: [registry] }),
    publishFailures: new Counter({ name: 'portail_agent_publish_failures_total', help: 'messages that could not be published', registers: [registry] }),
    mqttConnected: new Gauge({ name: 'portail_agent_mqtt_connected', help: '1 when connected to the broker', registers: [registry] }),
    configVersion: new Gauge({ name: 'portail_agent_config_version', help: 'configuration version in force (-1: none)', registers: [registry] }),
  };
  return m;
}

export type AgentMetrics = ReturnType<typeof createAgentMetrics>;
