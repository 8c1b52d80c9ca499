#!/usr/bin/env node
// Health checks (see health-check.sh for the usage). Prints one JSON line, exit 0 when healthy.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { wait: { type: 'string' }, 'token-file': { type: 'string' }, min: { type: 'string' } },
});
const [what, urlArg] = positionals;
const defaults = { server: 'http://127.0.0.1:8080', agent: 'http://127.0.0.1:9464' };
if (!['server', 'agent', 'agents-online'].includes(what ?? '')) {
  process.stderr.write(
    'usage: health-check.sh server|agent|agents-online [URL] [--wait S] [--token-file F] [--min N]\n',
  );
  process.exit(2);
}
const base = (urlArg ?? defaults[what] ?? '').replace(/\/$/, '');
if (!base) {
  process.stderr.write(`${what}: URL required\n`);
  process.exit(2);
}
const waitMs = Number(values.wait ?? 0) * 1000;
const min = Number(values.min ?? 1);

async function once() {
  if (what === 'server') {
    const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5000) });
    return { ok: res.status === 200, status: res.status };
  }
  if (what === 'agent') {
    const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5000) });
    const body = await res.json().catch(() => ({}));
    return {
      ok: res.status === 200 && body.mqttConnected === true,
      status: res.status,
      mqttConnected: body.mqttConnected ?? null,
    };
  }
  if (!values['token-file']) throw new Error('agents-online needs --token-file (auth.metricsTokenFile of the server)');
  const token = readFileSync(values['token-file'], 'utf8').trim();
  const res = await fetch(`${base}/metrics`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  const m = /^portail_server_agents\{state="online"\} (\d+)/m.exec(text);
  const online = m ? Number(m[1]) : 0;
  return { ok: res.status === 200 && online >= min, status: res.status, online };
}

const t0 = Date.now();
let last;
for (;;) {
  try {
    last = await once();
  } catch (err) {
    last = { ok: false, error: err.message };
  }
  if (last.ok || Date.now() - t0 >= waitMs) break;
  await new Promise((r) => setTimeout(r, 500));
}
process.stdout.write(`${JSON.stringify({ check: what, url: base, ...last })}\n`);
process.exit(last.ok ? 0 : 1);
