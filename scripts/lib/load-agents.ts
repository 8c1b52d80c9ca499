/**
 * Child process of `npm run load`: simulated edge agents. One MQTT connection per agent (sites ×
 * agents-per-site), a retained status at connect, health every 5 s (QoS 0), and access/movement
 * events at QoS 1 following the offered-rate shape, spread over the agents. Like a real agent's
 * outbox, an agent keeps at most `maxInFlight` events unacknowledged and queues the rest: an event's
 * `ts` is its generation time, so queueing shows in the measured latency instead of being hidden.
 */
import {
  buildTopic,
  encodePayload,
  newEventId,
  type AccessEvent,
  type Health,
  type MovementEvent,
  type Status,
} from '@portail/protocol';
import mqtt, { type MqttClient } from 'mqtt';
import { LatencyHistogram, rateFraction, type Shape } from './load-common.js';

export interface AgentsInput {
  url: string;
  sites: string[];
  agentsPerSite: number;
  /** events/s at the peak of the shape; 0 = as fast as the in-flight window allows (capacity) */
  rate: number;
  durationS: number;
  shape: Shape;
  maxInFlight: number;
  /** share of access events; the rest are movement events */
  accessShare: number;
  clientPrefix: string;
}

export type AgentsToParent =
  | { type: 'ready'; agents: number }
  | { type: 'progress'; tS: number; generated: number; acked: number; backlog: number; errors: number }
  | {
      type: 'done';
      generated: number;
      published: number;
      acked: number;
      errors: number;
      backlogAtEnd: number;
      wallMs: number;
      cpuUserMs: number;
      cpuSystemMs: number;
      publishToAck: ReturnType<LatencyHistogram['summary']>;
      validatedSamples: number;
    };

interface Agent {
  site: string;
  agent: string;
  client: MqttClient;
  inFlight: number;
  /** generation times (epoch ms) of events waiting for a window slot */
  backlog: number[];
  passage: number;
  counts: { in: number; out: number };
}

const send = (m: AgentsToParent): void => {
  process.send?.(m);
};

const DECISIONS: Array<[AccessEvent['decision'], number]> = [
  ['confirmed', 0.7],
  ['accepted', 0.2],
  ['no_face', 0.04],
  ['mismatch', 0.03],
  ['low_quality', 0.02],
  ['unknown_credential', 0.005],
  ['revoked', 0.003],
  ['expired', 0.002],
];

function decision(r: number): AccessEvent['decision'] {
  let acc = 0;
  for (const [d, p] of DECISIONS) {
    acc += p;
    if (r < acc) return d;
  }
  return 'confirmed';
}

let seq = 0;
function makeEvent(a: Agent, tsMs: number, accessShare: number): { key: 'access' | 'movement'; value: AccessEvent | MovementEvent } {
  seq += 1;
  const ts = new Date(tsMs).toISOString();
  if (Math.random() < accessShare) {
    a.passage += 1;
    const d = decision(Math.random());
    const biometric = d !== 'accepted' && d !== 'revoked' && d !== 'unknown_credential' && d !== 'expired';
    const value: AccessEvent = {
      id: newEventId(),
      v: 1,
      site: a.site,
      agent: a.agent,
      camera: 'entrance',
      ts,
      passageId: `p-${a.passage.toString(36)}`,
      credentialId: `c${(seq % 99_999_999).toString(32).padStart(8, 'a').slice(0, 8)}`,
      decision: d,
      biometric,
      ...(biometric
        ? {
            scores: { similarity: d === 'mismatch' ? 0.12 : 0.61, threshold: 0.36, liveness: 0.97, quality: 0.88 },
            timingsMs: { credential: 0.4, align: 0.8, quality: 0.3, liveness: 9.1, embed: 7.6, total: 18.2, window: 1000, frames: 6 },
            modelId: 'faceplugin-fr-feature-512d',
          }
        : {}),
    };
    return { key: 'access', value };
  }
  const r = Math.random();
  const base = { id: newEventId(), v: 1 as const, site: a.site, agent: a.agent, camera: 'hall', ts, rule: 'entry' };
  if (r < 0.15) {
    a.counts.in += 1;
    return { key: 'movement', value: { ...base, kind: 'line_counts', counts: { ...a.counts } } };
  }
  if (r < 0.18) return { key: 'movement', value: { ...base, kind: 'tailgating', rule: 'gate-tailgating', trackId: randomTrack(), excess: 1 } };
  if (r < 0.2) return { key: 'movement', value: { ...base, kind: 'wrong_way', trackId: randomTrack(), direction: 'out', box: [120.5, 40.2, 88.1, 230.7] } };
  return {
    key: 'movement',
    value: { ...base, kind: 'line_crossing', trackId: randomTrack(), direction: Math.random() < 0.9 ? 'in' : 'out', box: [339.1, 15.9, 210.3, 383.9] },
  };
}

const B32 = 'abcdefghijklmnopqrstuvwxyz234567';
function randomTrack(): string {
  let s = '';
  for (let i = 0; i < 16; i++) s += B32[Math.floor(Math.random() * 32)];
  return s;
}

function status(a: Agent): Status {
  return {
    v: 1,
    site: a.site,
    agent: a.agent,
    state: 'online',
    reason: 'started',
    ts: new Date().toISOString(),
    version: '0.1.0-load',
    cameras: [
      { id: 'entrance', role: 'gate', state: 'online' },
      { id: 'hall', role: 'tracking', state: 'online' },
    ],
  };
}

function health(a: Agent, uptimeS: number): Health {
  return {
    v: 1,
    site: a.site,
    agent: a.agent,
    ts: new Date().toISOString(),
    intervalS: 5,
    uptimeS,
    cameras: [{ id: 'entrance', state: 'online', fps: 9.6, framesIn: uptimeS * 10, framesProcessed: uptimeS * 10, framesDropped: 0 }],
    detectors: [{ model: 'yunet', kind: 'face', provider: 'cpu', framesRun: uptimeS * 10, detections: uptimeS, detectionsInInterval: 5 }],
    stages: { face: { p50Ms: 9.1, p95Ms: 12.4, count: 48 } },
    cpuPct: 40,
    rssBytes: 210_000_000,
  };
}

async function main(input: AgentsInput): Promise<void> {
  const agents: Agent[] = [];
  for (const site of input.sites) {
    for (let i = 1; i <= input.agentsPerSite; i++) {
      const agent = `gate-${i}`;
      const client = await mqtt.connectAsync(input.url, {
        clientId: `${input.clientPrefix}-${site}-${agent}`,
        protocolVersion: 4,
        clean: true,
        reconnectPeriod: 1_000,
        keepalive: 30,
      });
      const a: Agent = { site, agent, client, inFlight: 0, backlog: [], passage: 0, counts: { in: 0, out: 0 } };
      await client.publishAsync(buildTopic('status', site, agent), encodePayload('status', status(a)), { qos: 1, retain: true });
      agents.push(a);
    }
  }
  send({ type: 'ready', agents: agents.length });

  await new Promise<void>((resolve) => process.once('message', () => resolve()));

  const start = Date.now();
  const cpu0 = process.cpuUsage();
  const endAt = start + input.durationS * 1000;
  const ack = new LatencyHistogram();
  let generated = 0;
  let published = 0;
  let acked = 0;
  let errors = 0;
  let due = 0;
  let rr = 0;
  let validated = 0;

  const publishOne = (a: Agent, tsMs: number): void => {
    const { key, value } = makeEvent(a, tsMs, input.accessShare);
    // every event is valid by construction; one in 200 goes through the protocol's own validation
    // (as the agent's encodePayload does), so a drift of this generator from the contract fails loudly
    const json = published % 200 === 0 ? (validated++, encodePayload(key, value as never)) : JSON.stringify(value);
    a.inFlight += 1;
    published += 1;
    const sentAt = performance.now();
    a.client.publish(buildTopic(key, a.site, a.agent), json, { qos: 1 }, (err) => {
      a.inFlight -= 1;
      if (err) errors += 1;
      else {
        acked += 1;
        ack.record(performance.now() - sentAt);
      }
      pump(a);
    });
  };
  const pump = (a: Agent): void => {
    while (a.inFlight < input.maxInFlight && a.backlog.length > 0) publishOne(a, a.backlog.shift()!);
  };

  const healthTimer = setInterval(() => {
    const up = Math.round((Date.now() - start) / 1000);
    for (const a of agents) a.client.publish(buildTopic('health', a.site, a.agent), JSON.stringify(health(a, up)), { qos: 0 });
  }, 5_000);

  let last = start;
  let lastProgress = start;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = Date.now();
      if (input.rate > 0) {
        // integrate the shape over the elapsed slice; whole events are generated, the rest carried
        const tS = (now - start) / 1000;
        due += input.rate * rateFraction(input.shape, tS, input.durationS) * ((now - last) / 1000);
        last = now;
        while (due >= 1) {
          due -= 1;
          generated += 1;
          const a = agents[rr++ % agents.length]!;
          a.backlog.push(now);
          pump(a);
        }
      } else {
        // capacity: keep every agent's window full
        for (const a of agents) {
          while (a.inFlight + a.backlog.length < input.maxInFlight) {
            generated += 1;
            a.backlog.push(now);
          }
          pump(a);
        }
      }
      if (now - lastProgress >= 1_000) {
        lastProgress = now;
        const backlog = agents.reduce((s, a) => s + a.backlog.length, 0);
        send({ type: 'progress', tS: (now - start) / 1000, generated, acked, backlog, errors });
      }
      if (now >= endAt) return resolve();
      setTimeout(tick, 5);
    };
    tick();
  });
  clearInterval(healthTimer);
  // what was generated is delivered, as an outbox would: wait for the backlog and the window (bounded)
  const drainUntil = Date.now() + 60_000;
  while (Date.now() < drainUntil && agents.some((a) => a.backlog.length > 0 || a.inFlight > 0)) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const wallMs = Date.now() - start;
  const cpu = process.cpuUsage(cpu0);
  send({
    type: 'done',
    generated,
    published,
    acked,
    errors,
    backlogAtEnd: agents.reduce((s, a) => s + a.backlog.length + a.inFlight, 0),
    wallMs,
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
    publishToAck: ack.summary(),
    validatedSamples: validated,
  });
  await Promise.all(agents.map((a) => a.client.endAsync()));
  process.disconnect?.();
}

const input = JSON.parse(process.argv[2] ?? '{}') as AgentsInput;
main(input).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
