/**
 * Test-only agent entry: the real MQTT transport and SQLite outbox, no cameras or models, publishing
 * a burst of events. Run as a child process so a test can SIGKILL it mid-burst and start it again
 * on the same data dir. Prints one JSON line per milestone on stdout.
 *
 * env: BURST_URL, BURST_DATA_DIR, BURST_SITE, BURST_AGENT, BURST_FROM / BURST_TO (indices to
 * publish; none: only send what the outbox holds), BURST_PROGRESS_AT (print `progress` once that
 * many events are acknowledged).
 */
import pino from 'pino';
import { createMqttTransport } from '../../edge-agent/src/transport/mqtt-transport.js';
import { burstEvent, onlineStatus } from './outbox-burst.js';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const site = env('BURST_SITE');
const agent = env('BURST_AGENT');
const from = Number(process.env.BURST_FROM ?? 0);
const to = Number(process.env.BURST_TO ?? 0);
const progressAt = Number(process.env.BURST_PROGRESS_AT ?? 0);
const say = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);

const transport = createMqttTransport({
  url: env('BURST_URL'),
  site,
  agent,
  keepaliveS: 5,
  logger: pino({ level: process.env.PORTAIL_LOG_LEVEL ?? 'warn' }, pino.destination(2)),
  onlineStatus: () => onlineStatus(site, agent),
  dataDir: env('BURST_DATA_DIR'),
  reconnectPeriodMs: 300,
  retryMs: 300,
});
say({ type: 'started', pending: transport.depth() });

for (let i = from; i < to; i++) {
  const e = burstEvent(site, agent, i);
  await transport.publish(e.key, e.payload);
}
say({ type: 'enqueued', from, to });

let progressed = progressAt <= 0;
await new Promise<void>((resolve) => {
  const timer = setInterval(() => {
    const s = transport.stats();
    if (!progressed && s.delivered >= progressAt) {
      progressed = true;
      say({ type: 'progress', delivered: s.delivered });
    }
    if (progressed && s.connected && s.depth === 0) {
      clearInterval(timer);
      resolve();
    }
  }, 2);
});
say({ type: 'drained', stats: transport.stats() });
await transport.close({ ...onlineStatus(site, agent), state: 'offline', reason: 'stopped' });
