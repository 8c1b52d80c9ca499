import Database from 'better-sqlite3';
import { expect } from 'vitest';
import { spawnAgent } from '../helpers/agent-process.js';
import type { TestServer } from '../helpers/control-server.js';
import { recordMqtt } from '../helpers/mqtt-recorder.js';
import { clip } from '../helpers/paths.js';
import { waitUntil } from '../helpers/wait.js';
import { recordWs } from '../helpers/ws-recorder.js';

interface AgentRow {
  site: string;
  agent: string;
  state: string;
  status: { state: string; reason?: string; models?: { name: string; provider?: string }[] } | null;
  health: { detectors: { kind: string; detections: number; framesRun: number }[]; cameras: { fps: number }[] } | null;
}

async function agentRow(httpUrl: string, site: string, agent: string): Promise<AgentRow | undefined> {
  const res = await fetch(`${httpUrl}/api/agents`);
  const body = (await res.json()) as { agents: AgentRow[] };
  return body.agents.find((a) => a.site === site && a.agent === agent);
}

/** A real agent on a real clip with faces and persons, talking to `brokerUrl`, observed through `t`. */
export async function runFoundationFlow(t: TestServer, brokerUrl: string, site: string): Promise<void> {
  const { httpUrl } = t.server;
  const ws = await recordWs(httpUrl);
  const mq = await recordMqtt(brokerUrl);
  const agentConfig = {
    site,
    agent: 'gate-1',
    mqtt: { url: brokerUrl, keepaliveS: 5 },
    healthIntervalS: 1,
    cameras: [{ id: 'entrance', url: clip('intel-face-demographics-walking-and-pause.mp4'), role: 'both', loop: true, maxFps: 6 }],
  };
  const agent = spawnAgent(agentConfig);
  try {
    // status online, then health whose real model counts grow above zero for both detectors
    const online = await waitUntil(async () => {
      const a = await agentRow(httpUrl, site, 'gate-1');
      const face = a?.health?.detectors.find((d) => d.kind === 'face');
      const person = a?.health?.detectors.find((d) => d.kind === 'person');
      return a?.state === 'online' && face && person && face.detections > 0 && person.detections > 0 ? a : undefined;
    }, `agent online with face and person detections (agent output: ${agent.output().slice(-500)})`, 60_000, 250);
    expect(online.status?.models?.map((m) => m.name).sort()).toEqual(['yolox-nano-416', 'yunet-2023mar-dynamic']);
    expect(online.status?.models?.every((m) => m.provider === 'cpu')).toBe(true);

    // the camera's online event is in the real SQLite file
    const db = new Database(t.dbPath, { readonly: true, fileMustExist: true });
    const rows = db.prepare("SELECT id, kind, site, agent, camera, payload FROM events WHERE kind = 'camera' AND site = ?").all(site) as {
      payload: string;
    }[];
    db.close();
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(rows[0]!.payload)).toMatchObject({ state: 'online', code: 'OK', camera: 'entrance', width: 480, height: 270 });

    // the console's WebSocket got the agent, its health and the camera event
    await waitUntil(
      () =>
        ws.messages.some((m) => m.type === 'health' && m.site === site) &&
        ws.messages.some((m) => m.type === 'event' && m.kind === 'camera') &&
        ws.messages.some((m) => m.type === 'agent' && (m.agent as AgentRow).state === 'online'),
      'WebSocket pushes',
      10_000,
    );

    // clean stop → retained offline status with reason stopped
    expect(await agent.stop('SIGTERM')).toBe(0);
    const stopped = await waitUntil(async () => {
      const a = await agentRow(httpUrl, site, 'gate-1');
      return a?.state === 'offline' ? a : undefined;
    }, 'agent offline after SIGTERM');
    expect(stopped.status?.reason).toBe('stopped');
    await waitUntil(
      () => ws.messages.some((m) => m.type === 'agent' && (m.agent as AgentRow).state === 'offline'),
      'offline pushed on the WebSocket',
      5_000,
    );

    // killed without a goodbye → the broker publishes the last will
    const agent2 = spawnAgent(agentConfig);
    try {
      await waitUntil(async () => (await agentRow(httpUrl, site, 'gate-1'))?.state === 'online', 'agent online again', 60_000, 250);
      agent2.child.kill('SIGKILL');
      await agent2.exited;
      const lost = await waitUntil(async () => {
        const a = await agentRow(httpUrl, site, 'gate-1');
        return a?.state === 'offline' ? a : undefined;
      }, 'last will after SIGKILL', 20_000);
      expect(lost.status?.reason).toBe('connection_lost');
    } finally {
      await agent2.stop('SIGKILL');
    }

    // every payload seen on the broker was valid against its schema
    const agentMessages = mq.messages.filter((m) => m.topic.startsWith(`portail/v1/${site}/`));
    expect(agentMessages.length).toBeGreaterThan(5);
    expect(agentMessages.filter((m) => m.invalid)).toEqual([]);
    expect(new Set(agentMessages.map((m) => m.topic.split('/').slice(4).join('/')))).toEqual(
      new Set(['status', 'health', 'events/camera']),
    );
  } finally {
    await agent.stop('SIGKILL');
    ws.close();
    await mq.close();
  }
}
