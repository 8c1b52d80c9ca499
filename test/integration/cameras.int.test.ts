import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createYunetDetector } from '@portail/vision/face/yunet-detector.js';
import { loadImageAsFrame } from '@portail/vision/image-frame.js';
import type { Detector, FaceDetection } from '@portail/vision/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { grabFrames } from '../../control-server/src/cameras/frame-grab.js';
import { createConsentService } from '../../control-server/src/people/consent.js';
import { findStudent, getTemplate } from '../../control-server/src/people/people-store.js';
import { importRegistry } from '../../control-server/src/people/registry-import.js';
import { openSigningKeyStore } from '../../control-server/src/people/signing-key-store.js';
import { generateStudents, registryCsv } from '../../control-server/src/people/testing.js';
import {
  buildAuthTestApp,
  login,
  type AuthTestApp,
  type LoggedIn,
} from '../../control-server/src/test-support/auth.js';
import { makeStatus } from '../../control-server/src/test-support/fixtures.js';
import { makeGateClip } from '../helpers/gate-clip.js';
import { DATA_DIR } from '../helpers/paths.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * Cameras on the server, with real ffmpeg and the real YuNet: the registry keeps the URL secret;
 * a snapshot of a generated gate clip (an LFW face in view all along) comes back with no face a
 * detector can find; the live preview relays JPEG frames over the WebSocket and its ffmpeg stops
 * when the last viewer leaves; a student is enrolled from the camera through the photo path.
 * The clip (public LFW photos, never real students) lives in tmpfs and is removed afterwards.
 */

const SITE = 's1';
const AGENT = 'gate-1';
const FACE = join(DATA_DIR, 'faces-dev', 'images', 'Brian_Griese', 'Brian_Griese_0001.jpg');
const PASSWORD = 'S3cretCam!pw';
/** the face detector's own threshold at the gate (vision default) */
const GATE_FACE_THRESHOLD = 0.6;

const memDir = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

describe('cameras: registry, privacy-safe snapshot, live preview, enrolment capture (real ffmpeg + YuNet)', () => {
  const work = mkdtempSync(join(memDir, 'portail-cameras-'));
  const clip = join(work, 'gate.mp4');
  let t: AuthTestApp;
  let yunet: Detector<FaceDetection>;
  let admin: LoggedIn;
  let sup: LoggedIn;
  let rec: LoggedIn;
  let it1: LoggedIn;
  let wsBase: string;

  beforeAll(async () => {
    // the face in view for the whole clip: any random offset of a snapshot shows it
    await makeGateClip([{ faceImage: FACE, seconds: 6 }], clip, { fps: 10, gapSeconds: 0 });
    t = await buildAuthTestApp();
    await t.addUser('adm', [{ role: 'site_admin', site: SITE }]);
    await t.addUser('sup', [{ role: 'supervisor', site: SITE }]);
    await t.addUser('rec', [{ role: 'reception', site: SITE }]);
    await t.addUser('it', [{ role: 'regional_it', site: '*' }]);
    admin = await login(t.app, 'adm');
    sup = await login(t.app, 'sup');
    rec = await login(t.app, 'rec');
    it1 = await login(t.app, 'it');
    t.agents.applyStatus(
      makeStatus(SITE, AGENT, {
        cameras: [
          { id: 'gate', role: 'gate', state: 'online' },
          { id: 'hall', role: 'tracking', state: 'online' },
        ],
      }),
      new Date().toISOString(),
    );
    yunet = await createYunetDetector({ scoreThreshold: GATE_FACE_THRESHOLD });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    wsBase = `ws://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  }, 120_000);

  afterAll(async () => {
    await yunet?.close();
    await t?.close();
    rmSync(work, { recursive: true, force: true });
  });

  const put = (who: LoggedIn, camera: string, body: Record<string, unknown>) =>
    t.app.inject({
      method: 'PUT',
      url: `/api/sites/${SITE}/agents/${AGENT}/cameras/${camera}`,
      headers: who.headers,
      payload: body,
    });

  it('registers cameras; the URL is stored encrypted and never returned, logged or audited', async () => {
    const gate = await put(admin, 'gate', {
      name: 'Portail principal',
      role: 'gate',
      locationType: 'entrance',
      trackingEnabled: false,
      rtspUrl: clip,
    });
    expect(gate.statusCode).toBe(201);
    const secret = await put(admin, 'hall', {
      name: 'Hall',
      role: 'tracking',
      locationType: 'circulation',
      trackingEnabled: true,
      rtspUrl: `rtsp://viewer:${PASSWORD}@127.0.0.1:1/Streaming/101`,
    });
    expect(secret.statusCode).toBe(201);
    expect(secret.body).not.toContain(PASSWORD);
    expect(secret.json().camera).toMatchObject({
      hasUrl: true,
      url: 'rtsp://viewer:***@127.0.0.1:1/Streaming/101',
      registered: true,
    });
    // tracking in a playground is refused, as the agent would refuse it
    const bad = await put(admin, 'court', {
      name: 'Cour',
      role: 'tracking',
      locationType: 'playground',
      trackingEnabled: true,
    });
    expect(bad.statusCode).toBe(400);
    // reception sees the cameras but not even the redacted URL; it cannot change them
    expect(
      (await put(rec, 'gate', { name: 'x', role: 'gate', locationType: 'entrance', trackingEnabled: false }))
        .statusCode,
    ).toBe(403);
    const listed = await t.app.inject({ method: 'GET', url: `/api/sites/${SITE}/cameras`, headers: rec.headers });
    expect(listed.statusCode).toBe(200);
    const cams = listed.json<{ cameras: Array<Record<string, unknown>> }>().cameras;
    expect(cams.map((c) => [c.camera, c.registered, c.hasUrl])).toEqual([
      ['gate', true, true],
      ['hall', true, true],
    ]);
    expect(cams.every((c) => !('url' in c))).toBe(true);
    // an unregistered camera the agent reports is listed too
    t.agents.applyStatus(
      makeStatus(SITE, 'gate-2', { cameras: [{ id: 'side', role: 'gate', state: 'offline' }] }),
      new Date().toISOString(),
    );
    const all = (
      await t.app.inject({ method: 'GET', url: `/api/sites/${SITE}/cameras`, headers: admin.headers })
    ).json<{
      cameras: Array<Record<string, unknown>>;
    }>().cameras;
    expect(all.find((c) => c.agent === 'gate-2')).toMatchObject({
      camera: 'side',
      registered: false,
      hasUrl: false,
      url: null,
    });
    expect(JSON.stringify(all)).not.toContain(PASSWORD);
    // nowhere in the database in clear, nor in the audit log
    const dbBytes = readFileSync(t.db.name);
    expect(dbBytes.includes(Buffer.from(PASSWORD))).toBe(false);
    const audit = t.db.prepare("SELECT details FROM audit_log WHERE action = 'camera.put'").all() as Array<{
      details: string;
    }>;
    expect(audit.length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(audit)).not.toContain(PASSWORD);
    expect(JSON.stringify(audit)).not.toContain('127.0.0.1:1');
    // the register reads the registry's declaration (location type, tracking), never the URL
    const register = t.privacy.register(SITE);
    expect(register.inputs.cameras.find((c) => c.camera === 'hall')).toMatchObject({
      locationType: 'circulation',
      trackingEnabled: true,
      registered: true,
    });
    expect(JSON.stringify(register)).not.toContain(PASSWORD);
  });

  it('the clip really shows a detectable face (the control for the next test)', async () => {
    const r = await grabFrames({ kind: 'file', path: clip }, null, 'gate', {
      ffmpegPath: 'ffmpeg',
      timeoutMs: 10_000,
      seekS: 2,
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const faces = await yunet.detect(r.value[0]!);
    r.value[0]!.data.fill(0);
    expect(faces.length).toBe(1);
  });

  it('a snapshot is a JPEG with every face pixelated: YuNet finds none above its threshold', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await t.app.inject({
        method: 'GET',
        url: `/api/sites/${SITE}/agents/${AGENT}/cameras/gate/snapshot`,
        headers: sup.headers,
      });
      expect(res.statusCode, res.body.slice(0, 200)).toBe(200);
      expect(res.headers['content-type']).toBe('image/jpeg');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(Number(res.headers['x-portail-faces-masked'])).toBeGreaterThanOrEqual(1);
      expect(res.headers['x-portail-frame-size']).toBe('640x480');
      const frame = await loadImageAsFrame(res.rawPayload);
      const faces = await yunet.detect(frame);
      frame.data.fill(0);
      expect(faces.filter((f) => f.score >= GATE_FACE_THRESHOLD)).toEqual([]);
    }
    const audited = t.db
      .prepare("SELECT actor, target, outcome FROM audit_log WHERE action = 'camera.snapshot' AND outcome = 'ok'")
      .all() as Array<{ actor: string; target: string }>;
    expect(audited).toEqual(
      expect.arrayContaining([expect.objectContaining({ actor: 'sup', target: `camera:${AGENT}/gate` })]),
    );
    // regional IT may take snapshots (the zone editor); reception may not
    expect(
      (
        await t.app.inject({
          method: 'GET',
          url: `/api/sites/${SITE}/agents/${AGENT}/cameras/gate/snapshot`,
          headers: it1.headers,
        })
      ).statusCode,
    ).toBe(200);
    expect(
      (
        await t.app.inject({
          method: 'GET',
          url: `/api/sites/${SITE}/agents/${AGENT}/cameras/gate/snapshot`,
          headers: rec.headers,
        })
      ).statusCode,
    ).toBe(403);
  }, 60_000);

  it('snapshot errors: unknown camera 404, no URL 409, unreachable camera 502 with a reason but no password', async () => {
    const snap = (camera: string) =>
      t.app.inject({
        method: 'GET',
        url: `/api/sites/${SITE}/agents/${AGENT}/cameras/${camera}/snapshot`,
        headers: admin.headers,
      });
    expect((await snap('nope')).json()).toMatchObject({ error: 'CAMERA_ERR_UNKNOWN' });
    expect((await snap('nope')).statusCode).toBe(404);
    expect(
      (await put(admin, 'nourl', { name: 'Sans URL', role: 'gate', locationType: 'entrance', trackingEnabled: false }))
        .statusCode,
    ).toBe(201);
    const noUrl = await snap('nourl');
    expect([noUrl.statusCode, noUrl.json().error]).toEqual([409, 'CAMERA_ERR_NO_URL']);
    const down = await snap('hall');
    expect(down.statusCode).toBe(502);
    expect(down.json().error).toBe('CAMERA_ERR_UNREACHABLE');
    expect(down.json().message.length).toBeGreaterThan(5);
    expect(down.body).not.toContain(PASSWORD);
  }, 30_000);

  it('ffmpeg missing is a clear error', async () => {
    const r = await grabFrames({ kind: 'file', path: clip }, null, 'gate', {
      ffmpegPath: '/nonexistent/ffmpeg',
      timeoutMs: 5_000,
      seekS: 0,
    });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('CAMERA_ERR_FFMPEG_MISSING');
  });

  const openPreview = (who: LoggedIn | null, camera = 'gate') =>
    new Promise<{ ws: WebSocket; texts: Array<Record<string, unknown>>; jpegs: Buffer[]; closed: Promise<number> }>(
      (resolve, reject) => {
        const ws = new WebSocket(`${wsBase}/ws/preview?site=${SITE}&agent=${AGENT}&camera=${camera}`, {
          headers: who ? { cookie: who.headers.cookie! } : {},
        });
        const texts: Array<Record<string, unknown>> = [];
        const jpegs: Buffer[] = [];
        const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
        ws.on('message', (data: Buffer, isBinary: boolean) => {
          if (isBinary) jpegs.push(data);
          else texts.push(JSON.parse(data.toString('utf8')) as Record<string, unknown>);
        });
        ws.once('error', reject);
        ws.once('open', () => resolve({ ws, texts, jpegs, closed }));
      },
    );

  const refusal = (who: LoggedIn | null) =>
    new Promise<{ code: number; frames: number }>((resolve) => {
      const ws = new WebSocket(`${wsBase}/ws/preview?site=${SITE}&agent=${AGENT}&camera=gate`, {
        headers: who ? { cookie: who.headers.cookie! } : {},
      });
      let frames = 0;
      ws.on('message', (_d: Buffer, isBinary: boolean) => {
        if (isBinary) frames++;
      });
      ws.on('unexpected-response', (_req, res) => resolve({ code: res.statusCode ?? 0, frames }));
      ws.on('error', () => {
        // the refusal itself is the expected outcome; its code comes from the events above/below
      });
      ws.on('close', (code) => resolve({ code, frames }));
    });

  it('the live preview relays JPEG frames to viewers, one ffmpeg per camera, stopped when the last viewer leaves', async () => {
    // refused before any frame: an HTTP 401/403, or a 1008 close right after the handshake
    expect(await refusal(rec)).toMatchObject({ frames: 0 });
    expect([401, 403, 1008]).toContain((await refusal(rec)).code);
    expect([401, 1008]).toContain((await refusal(null)).code);
    expect(t.cameras.preview.streams()).toEqual([]);
    const a = await openPreview(sup);
    const b = await openPreview(admin);
    await waitUntil(() => a.jpegs.length >= 2 && b.jpegs.length >= 2, 'frames for both viewers', 20_000);
    expect(a.texts[0]).toMatchObject({ type: 'preview', site: SITE, agent: AGENT, camera: 'gate' });
    for (const j of [...a.jpegs, ...b.jpegs])
      expect([j[0], j[1], j[j.length - 2], j[j.length - 1]]).toEqual([0xff, 0xd8, 0xff, 0xd9]);
    const streams = t.cameras.preview.streams();
    expect(streams).toHaveLength(1);
    expect(streams[0]!.viewers).toBe(2);
    const pid = streams[0]!.pid!;
    expect(isAlive(pid)).toBe(true);
    a.ws.close();
    await a.closed;
    await waitUntil(() => t.cameras.preview.streams()[0]?.viewers === 1, 'one viewer left', 5_000);
    expect(isAlive(pid)).toBe(true);
    b.ws.close();
    await b.closed;
    await waitUntil(() => t.cameras.preview.streams().length === 0 && !isAlive(pid), 'ffmpeg stopped', 10_000);
    const all = t.db
      .prepare("SELECT actor, action, details FROM audit_log WHERE action LIKE 'camera.preview.%' ORDER BY seq")
      .all() as Array<{ actor: string; action: string; details: string }>;
    expect(all.map((r) => `${r.actor} ${r.action}`).sort()).toEqual(
      [
        'adm camera.preview.start',
        'adm camera.preview.stop',
        'sup camera.preview.start',
        'sup camera.preview.stop',
      ].sort(),
    );
    const stop = JSON.parse(all.find((r) => r.actor === 'sup' && r.action === 'camera.preview.stop')!.details) as {
      frames: number;
      reason: string;
    };
    expect(stop.reason).toBe('viewer-left');
    expect(stop.frames).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it('a viewing ends at its maximum duration, audited, and its ffmpeg stops', async () => {
    const short = await buildAuthTestApp({ cameraSettings: { previewMaxMs: 1_500 } });
    try {
      await short.addUser('sup', [{ role: 'supervisor', site: SITE }]);
      const s = await login(short.app, 'sup');
      short.cameras.registry.put(
        { site: SITE, agent: AGENT, camera: 'gate' },
        { name: 'Portail', role: 'gate', locationType: 'entrance', trackingEnabled: false, rtspUrl: clip },
        { actor: 'test' },
      );
      await short.app.listen({ host: '127.0.0.1', port: 0 });
      const port = (short.app.server.address() as AddressInfo).port;
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/preview?site=${SITE}&agent=${AGENT}&camera=gate`, {
        headers: { cookie: s.headers.cookie! },
      });
      const texts: Array<Record<string, unknown>> = [];
      ws.on('message', (d: Buffer, isBinary: boolean) => {
        if (!isBinary) texts.push(JSON.parse(d.toString('utf8')) as Record<string, unknown>);
      });
      const code = await new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));
      expect(code).toBe(4000);
      expect(texts.at(-1)).toMatchObject({ type: 'error', error: 'PREVIEW_MAX_DURATION' });
      await waitUntil(() => short.cameras.preview.streams().length === 0, 'stream stopped', 10_000);
      const stop = short.db.prepare("SELECT details FROM audit_log WHERE action = 'camera.preview.stop'").get() as {
        details: string;
      };
      expect(JSON.parse(stop.details)).toMatchObject({ reason: 'max-duration' });
    } finally {
      await short.close();
    }
  }, 30_000);

  it('enrols a consenting student from the gate camera through the photo path; refuses without consent', async () => {
    const students = generateStudents(2, 61).map((s) => ({ ...s, birthDate: '01/02/2005' }));
    expect(importRegistry(t.db, { site: SITE, bytes: Buffer.from(registryCsv(students)), actor: 'test' }).ok).toBe(
      true,
    );
    const withConsent = findStudent(t.db, SITE, students[0]!.externalId)!;
    const without = findStudent(t.db, SITE, students[1]!.externalId)!;
    createConsentService({ db: t.db, keys: openSigningKeyStore(t.dataDir) }).record({
      studentId: withConsent.id,
      party: 'student',
      action: 'grant',
      channel: 'in_person',
      noticeVersion: 'v1',
      actor: 'test',
    });
    const capture = (studentId: number, who = admin) =>
      t.app.inject({
        method: 'POST',
        url: `/api/sites/${SITE}/students/${studentId}/enrolment/capture`,
        headers: who.headers,
        payload: { agent: AGENT, camera: 'gate' },
      });
    const refused = await capture(without.id);
    expect([refused.statusCode, refused.json().error]).toEqual([409, 'ENROL_ERR_CONSENT']);
    expect((await capture(withConsent.id, sup)).statusCode).toBe(403);
    const res = await capture(withConsent.id);
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json<{
      credential: { id: string; biometric: boolean };
      capture: { framesGrabbed: number; framesWithOneFace: number };
    }>();
    expect(body.credential.biometric).toBe(true);
    expect(body.capture.framesGrabbed).toBeGreaterThanOrEqual(4);
    expect(body.capture.framesWithOneFace).toBeGreaterThanOrEqual(1);
    expect(getTemplate(t.db, body.credential.id)).toBeDefined();
    const audit = t.db
      .prepare("SELECT outcome, target FROM audit_log WHERE action = 'people.enrol.capture' ORDER BY seq")
      .all();
    expect(audit).toEqual([
      { outcome: 'failed', target: `student:${without.id}` },
      { outcome: 'ok', target: `student:${withConsent.id}` },
    ]);
  }, 120_000);

  it('no image was written anywhere in the server data dir', () => {
    const images: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else {
          const head = readFileSync(p).subarray(0, 8);
          if (
            (head[0] === 0xff && head[1] === 0xd8) ||
            head.subarray(1, 4).toString() === 'PNG' ||
            head.subarray(0, 2).toString() === 'P6'
          )
            images.push(p);
        }
      }
    };
    walk(t.dataDir);
    expect(images).toEqual([]);
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    // ESRCH: the process is gone
    return false;
  }
}
