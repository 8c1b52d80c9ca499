/**
 * Child process of `npm run load`: simulated edge agents. One MQTT connection per agent (sites ×
 * agents-per-site), a retained status at connect, health every 5 s (QoS 0), and access/movement
 * events at QoS 1 following the offered-rate shape, spread over the agents. Like a real agent's
 * outbox, an agent keeps at most `maxInFlight` events unacknowledged and queues the rest: an event's
 * `ts` is its generation time, so queueing shows in the measured latency instead of being hidden.
 */
import { buildTopic, encodePayload, type Health, type Status } from '@portail/protocol';
import mqtt, { type IClientPublishOptions, type MqttClient } from 'mqtt';
import {
  createLoadEventSource,
  LatencyHistogram,
  rateFraction,
  type LoadAgentEvents,
  type LoadEventKey,
  type Shape,
} from './load-common.js';

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
  | { type: 'warmed'; generated: number; acked: number; backlogAtEnd: number }
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
  events: LoadAgentEvents;
  /** topics built once: the publish path is per event */
  topics: Record<LoadEventKey | 'health', string>;
  inFlight: number;
  /**
   * generation times (epoch ms) of events waiting for a window slot, oldest at `head`: a queue
   * without `Array.shift`, which copies the whole array once it is large (a server that falls
   * behind makes it large)
   */
  backlog: number[];
  head: number;
}

const backlogOf = (a: Agent): number => a.backlog.length - a.head;

const send = (m: AgentsToParent): void => {
  process.send?.(m);
};

// mqtt.js calls its `log` ~25 times per QoS 1 publish and acknowledgement; the default, `debug`,
// costs a call and an `enabled` check each time even when off
const quiet = (): void => {};
const QOS1: IClientPublishOptions = { qos: 1 };
const QOS0: IClientPublishOptions = { qos: 0 };

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
    cameras: [
      {
        id: 'entrance',
        state: 'online',
        fps: 9.6,
        framesIn: uptimeS * 10,
        framesProcessed: uptimeS * 10,
        framesDropped: 0,
      },
    ],
    detectors: [
      {
        model: 'yunet',
        kind: 'face',
        provider: 'cpu',
        framesRun: uptimeS * 10,
        detections: uptimeS,
        detectionsInInterval: 5,
      },
    ],
    stages: { face: { p50Ms: 9.1, p95Ms: 12.4, count: 48 } },
    cpuPct: 40,
    rssBytes: 210_000_000,
  };
}

async function main(input: AgentsInput): Promise<void> {
  const source = createLoadEventSource({ accessShare: input.accessShare });
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
        log: quiet,
      });
      const a: Agent = {
        site,
        agent,
        client,
        events: source.forAgent(site, agent),
        topics: {
          access: buildTopic('access', site, agent),
          movement: buildTopic('movement', site, agent),
          health: buildTopic('health', site, agent),
        },
        inFlight: 0,
        backlog: [],
        head: 0,
      };
      await client.publishAsync(buildTopic('status', site, agent), encodePayload('status', status(a)), {
        qos: 1,
        retain: true,
      });
      agents.push(a);
    }
  }
  send({ type: 'ready', agents: agents.length });

  let ack = new LatencyHistogram();
  let generated = 0;
  let published = 0;
  let acked = 0;
  let errors = 0;
  let due = 0;
  let rr = 0;
  let validated = 0;

  const publishOne = (a: Agent, tsMs: number): void => {
    const { key, json } = a.events.next(tsMs);
    // every event is valid by construction; one in 200 goes through the protocol's own validation
    // (as the agent's encodePayload does), so a drift of the templates from the contract fails loudly
    const payload = published % 200 === 0 ? (validated++, encodePayload(key, JSON.parse(json) as never)) : json;
    a.inFlight += 1;
    published += 1;
    const sentAt = performance.now();
    a.client.publish(a.topics[key], payload, QOS1, (err) => {
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
    while (a.inFlight < input.maxInFlight && a.head < a.backlog.length) {
      const tsMs = a.backlog[a.head++]!;
      if (a.head === a.backlog.length) {
        a.backlog.length = 0;
        a.head = 0;
      }
      publishOne(a, tsMs);
    }
    if (a.head > 4096 && a.head * 2 > a.backlog.length) {
      a.backlog.splice(0, a.head);
      a.head = 0;
    }
  };

  const connectedAt = Date.now();
  const healthTimer = setInterval(() => {
    const up = Math.round((Date.now() - connectedAt) / 1000);
    for (const a of agents) a.client.publish(a.topics.health, JSON.stringify(health(a, up)), QOS0);
  }, 5_000);

  /** Generates `rate` events/s following `shape` for `durationS` from `start`, then returns. */
  const runPhase = (start: number, rate: number, shape: Shape, durationS: number): Promise<void> => {
    const endAt = start + durationS * 1000;
    let last = start;
    let lastProgress = start;
    due = 0;
    return new Promise<void>((resolve) => {
      const tick = (): void => {
        const now = Date.now();
        if (rate > 0) {
          // integrate the shape over the elapsed slice; whole events are generated, the rest carried
          const tS = (now - start) / 1000;
          due += rate * rateFraction(shape, tS, durationS) * ((now - last) / 1000);
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
            while (a.inFlight + backlogOf(a) < input.maxInFlight) {
              generated += 1;
              a.backlog.push(now);
            }
            pump(a);
          }
        }
        if (now - lastProgress >= 1_000) {
          lastProgress = now;
          const backlog = agents.reduce((s, a) => s + backlogOf(a), 0);
          send({ type: 'progress', tS: (now - start) / 1000, generated, acked, backlog, errors });
        }
        if (now >= endAt) return resolve();
        setTimeout(tick, 5);
      };
      tick();
    });
  };
  // what was generated is delivered, as an outbox would: wait for the backlog and the window (bounded)
  const drain = async (): Promise<void> => {
    const drainUntil = Date.now() + 60_000;
    while (Date.now() < drainUntil && agents.some((a) => backlogOf(a) > 0 || a.inFlight > 0)) {
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const backlogNow = (): number => agents.reduce((s, a) => s + backlogOf(a) + a.inFlight, 0);

  // the orchestrator's orders: an optional warm-up (a lower rate, not measured), then the run
  let go: { startMs: number } | null = null;
  const orders: Array<{ type: string; rate?: number; durationS?: number; startMs?: number }> = [];
  let wake: (() => void) | null = null;
  process.on('message', (m: { type: string }) => {
    orders.push(m);
    wake?.();
  });
  const nextOrder = async (): Promise<(typeof orders)[number]> => {
    while (orders.length === 0) await new Promise<void>((r) => (wake = r));
    return orders.shift()!;
  };
  while (!go) {
    const o = await nextOrder();
    if (o.type === 'warmup' && typeof o.rate === 'number' && typeof o.durationS === 'number') {
      // cold code everywhere (server, clients, this process) is what it warms: not the run measured
      await runPhase(Date.now(), o.rate, 'flat', o.durationS);
      await drain();
      send({ type: 'warmed', generated, acked, backlogAtEnd: backlogNow() });
    } else if (o.type === 'go') go = { startMs: typeof o.startMs === 'number' ? o.startMs : Date.now() };
  }
  generated = 0;
  published = 0;
  acked = 0;
  errors = 0;
  validated = 0;
  ack = new LatencyHistogram();
  const start = go.startMs;
  const cpu0 = process.cpuUsage();
  await runPhase(start, input.rate, input.shape, input.durationS);
  clearInterval(healthTimer);
  await drain();
  const wallMs = Date.now() - start;
  const cpu = process.cpuUsage(cpu0);
  send({
    type: 'done',
    generated,
    published,
    acked,
    errors,
    backlogAtEnd: backlogNow(),
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
