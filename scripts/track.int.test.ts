// The real person detector and tracking pipeline on the first 150 frames (15 s) of a real clip:
// in that stretch one person walks in from under the camera, crosses the entry line and stands at
// the table (checked by eye on the frames). And a run of scripts/track.ts writes no file.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTrackingPipeline } from '../edge-agent/src/tracking/tracking-pipeline.js';
import { createYoloxDetector } from '@portail/vision/person/yolox-detector.js';
import type { Detector, PersonDetection } from '@portail/vision/types.js';
import { probeClip } from './lib/clip-frames.js';
import { trackClip, type TrackClipResult } from './lib/track-clip.js';

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const DATA_DIR = process.env.PORTAIL_DATA_DIR ?? resolve(REPO_ROOT, '..', 'shared', 'data');
const CLIP = join(DATA_DIR, 'clips', 'intel-one-by-one-person-detection.mp4');
const FRAMES = 150;
// across the bottom of the room, drawn right to left: walking up the image (into the room) is "in"
const ENTRY = { id: 'entry', from: [480, 410] as [number, number], to: [150, 410] as [number, number] };
const ANONYMOUS_ID = /^[a-z2-7]{16}$/;

describe('detector + tracking pipeline on a real clip', () => {
  let detector: Detector<PersonDetection>;
  let result: TrackClipResult;

  beforeAll(async () => {
    const clip = probeClip(CLIP);
    if (!clip.ok) throw new Error(clip.error.message);
    // as scripts/track.ts does: no onnxruntime telemetry files in the shared temp dir
    process.env.ORT_DISABLE_TELEMETRY = '1';
    detector = await createYoloxDetector({ scoreThreshold: 0.1 });
    const pipeline = createTrackingPipeline({ rules: { lines: [ENTRY] } });
    result = await trackClip({ clip: clip.value, detector, pipeline, maxFrames: FRAMES });
  }, 120_000);

  afterAll(async () => {
    await detector?.close();
  });

  it('reads the frames asked for', () => {
    expect(result.frames).toBe(FRAMES);
  });

  it('confirms a track for the person who walks in, under a random anonymous id', () => {
    expect(result.tracks.length).toBeGreaterThanOrEqual(1);
    for (const t of result.tracks) {
      expect(t.trackId).toMatch(ANONYMOUS_ID);
      expect(t.lastFrame).toBeGreaterThanOrEqual(t.firstFrame);
      expect(t.framesSeen).toBeGreaterThan(1);
    }
    expect(new Set(result.tracks.map((t) => t.trackId)).size).toBe(result.tracks.length);
    // the person is in view from about frame 60 to past frame 150: one long track
    expect(Math.max(...result.tracks.map((t) => t.framesSeen))).toBeGreaterThan(60);
  });

  it('counts that one person in through the entry line, nobody out', () => {
    expect(result.lineCounts).toEqual({ entry: { in: 1, out: 0 } });
    expect(result.alerts).toEqual([
      expect.objectContaining({
        kind: 'line_crossing',
        rule: 'entry',
        direction: 'in',
        trackId: expect.stringMatching(ANONYMOUS_ID),
      }),
    ]);
  });
});

describe('scripts/track.ts', () => {
  let sandbox: string;

  beforeAll(() => {
    sandbox = mkdtempSync(join(tmpdir(), 'portail-track-int-'));
  });

  afterAll(() => {
    rmSync(sandbox, { recursive: true, force: true });
  });

  it('prints one JSON line and writes no file (its TMPDIR and working directory stay empty)', () => {
    const tmpDir = join(sandbox, 'tmp');
    const cwdDir = join(sandbox, 'cwd');
    mkdirSync(tmpDir);
    mkdirSync(cwdDir);
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const run = spawnSync(
      process.execPath,
      [
        '--conditions=portail-src',
        '--import',
        tsx,
        join(REPO_ROOT, 'scripts', 'track.ts'),
        '--video',
        CLIP,
        '--max-frames',
        '100',
        '--line',
        '480,410,150,410',
        '--json',
      ],
      {
        cwd: cwdDir,
        encoding: 'utf8',
        // tsx keeps a transpile cache in the temp dir: that is the tool's, not the run's, so it is off
        env: { ...process.env, TMPDIR: tmpDir, TSX_DISABLE_CACHE: '1' },
        timeout: 120_000,
      },
    );
    expect(run.status, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0]!) as {
      frames: number;
      confirmedTracks: number;
      tracks: { trackId: string }[];
      lineCounts: unknown;
    };
    expect(out.frames).toBe(100);
    expect(out.confirmedTracks).toBeGreaterThanOrEqual(1);
    for (const t of out.tracks) expect(t.trackId).toMatch(ANONYMOUS_ID);
    expect(out.lineCounts).toEqual({ line1: { in: 1, out: 0 } });
    expect(readdirSync(tmpDir)).toEqual([]);
    expect(readdirSync(cwdDir)).toEqual([]);
  }, 120_000);

  it('exits with 2 and a clear message on a missing file or a bad --line', () => {
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const track = (...args: string[]) =>
      spawnSync(
        process.execPath,
        ['--conditions=portail-src', '--import', tsx, join(REPO_ROOT, 'scripts', 'track.ts'), ...args],
        {
          encoding: 'utf8',
          timeout: 60_000,
        },
      );
    const missing = track('--video', join(sandbox, 'no-such-clip.mp4'), '--json');
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^track: no such video file: .*no-such-clip\.mp4$/m);
    const badLine = track('--video', CLIP, '--line', '10,20,30', '--json');
    expect(badLine.status).toBe(2);
    expect(badLine.stderr).toMatch(/--line expects x1,y1,x2,y2/);
    expect(missing.stdout + badLine.stdout).toBe('');
  }, 120_000);
});
