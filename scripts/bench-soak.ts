// `npm run bench:soak -- --minutes 10 --json`: the demo agent (two cameras looping the sample
// clips, face + person detection, tracking) against a real control server for N minutes; samples
// the agent's own /metrics every 10 s and prints one JSON line: RSS and handle counts at minute 2
// and at the end, their growth, fps per camera, dropped frames. For leak hunting, not a test.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { makeConfig, startControlServer } from '../control-server/src/server.js';
import { freePort } from '../test/helpers/free-port.js';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '10' }, json: { type: 'boolean' }, 'sample-s': { type: 'string', default: '10' } } });
const minutes = Number(values.minutes);
const sampleS = Number(values['sample-s']);
const root = fileURLToPath(new URL('..', import.meta.url));
const data = process.env.PORTAIL_DATA_DIR ?? join(root, '..', 'shared', 'data');
const work = mkdtempSync(join(tmpdir(), 'portail-soak-'));

const server = await startControlServer(
  makeConfig({ dataDir: join(work, 'server'), http: { port: 0 }, mqtt: { mode: 'embedded', port: 0 }, log: { level: 'warn' } }),
);
const port = await freePort();
const cfgPath = join(work, 'agent.json');
writeFileSync(
  cfgPath,
  JSON.stringify({
    site: 'soak',
    agent: 'gate-1',
    mqtt: { url: server.mqttUrl },
    healthIntervalS: 5,
    localHttp: { port },
    cameras: [
      { id: 'entrance', url: join(data, 'clips', 'intel-face-demographics-walking-and-pause.mp4'), role: 'gate', loop: true, maxFps: 6 },
      {
        id: 'hall',
        url: join(data, 'clips', 'intel-one-by-one-person-detection.mp4'),
        role: 'tracking',
        loop: true,
        maxFps: 10,
        locationType: 'circulation',
        trackingEnabled: true,
        rules: { lines: [{ id: 'entry', from: [480, 410], to: [150, 410] }] },
      },
    ],
  }),
);
const agent = spawn(process.execPath, ['--conditions=portail-src', '--import', 'tsx', join(root, 'edge-agent/src/main.ts'), '--config', cfgPath, '--log-level', 'warn'], {
  cwd: root,
  stdio: ['ignore', 'ignore', 'inherit'],
});

const metric = (text: string, name: string, label = '') =>
  Number(text.split('\n').find((l) => l.startsWith(name) && l.includes(label))?.split(' ').at(-1) ?? NaN);
interface Sample { tS: number; rss: number; handles: number; framesEntrance: number; framesHall: number; dropped: number }
const samples: Sample[] = [];
const t0 = Date.now();
while (Date.now() - t0 < minutes * 60_000) {
  await new Promise((r) => setTimeout(r, sampleS * 1000));
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    samples.push({
      tS: Math.round((Date.now() - t0) / 1000),
      rss: metric(text, 'portail_agent_process_resident_memory_bytes'),
      handles: metric(text, 'portail_agent_nodejs_active_handles_total'),
      framesEntrance: metric(text, 'portail_agent_frames_processed_total', 'camera="entrance"'),
      framesHall: metric(text, 'portail_agent_frames_processed_total', 'camera="hall"'),
      dropped: metric(text, 'portail_agent_frames_dropped', 'camera="entrance"') + metric(text, 'portail_agent_frames_dropped', 'camera="hall"'),
    });
  } catch {
    // the agent is still starting: no sample this time
  }
}
agent.kill('SIGTERM');
await new Promise((r) => agent.once('exit', r));
await server.close();
rmSync(work, { recursive: true, force: true });

const at = (s: number) => samples.find((x) => x.tS >= s) ?? samples[0]!;
const first = at(120);
const last = samples.at(-1)!;
const span = Math.max(1, last.tS - first.tS);
const out = {
  bench: 'soak',
  minutes,
  samples: samples.length,
  rssMiB: { atMinute2: +(first.rss / 2 ** 20).toFixed(1), atEnd: +(last.rss / 2 ** 20).toFixed(1), maxAfterMinute2: +(Math.max(...samples.filter((s) => s.tS >= first.tS).map((s) => s.rss)) / 2 ** 20).toFixed(1) },
  rssGrowthPct: +(((last.rss - first.rss) / first.rss) * 100).toFixed(2),
  handles: { atMinute2: first.handles, atEnd: last.handles, max: Math.max(...samples.map((s) => s.handles)) },
  fps: { entrance: +((last.framesEntrance - first.framesEntrance) / span).toFixed(2), hall: +((last.framesHall - first.framesHall) / span).toFixed(2) },
  droppedFrames: last.dropped,
  node: process.version,
};
process.stdout.write(values.json ? `${JSON.stringify(out)}\n` : `${JSON.stringify(out, null, 2)}\n`);
