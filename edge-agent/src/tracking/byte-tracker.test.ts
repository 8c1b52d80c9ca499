import { describe, expect, it } from 'vitest';
import type { Box } from '@portail/vision/types.js';
import {
  createByteTracker,
  createTrackerState,
  TrackerError,
  updateTracks,
  type ByteTrackerState,
} from './byte-tracker.js';
import { newTrackId } from './track-id.js';
import type { TrackerDetection, TrackUpdate } from './types.js';

const FRAME_MS = 40;
const person = (x: number, y = 100, w = 40, h = 100): Box => ({ x, y, w, h });
const det = (box: Box, score = 0.9): TrackerDetection => ({ box, score });

/** Runs frames through a tracker; returns the updates of each frame. */
function run(frames: TrackerDetection[][], config = {}): TrackUpdate[][] {
  const tracker = createByteTracker(config);
  return frames.map((dets, i) => tracker.update(dets, i * FRAME_MS));
}

function counterIds(): () => string {
  let n = 0;
  return () => `t${++n}`;
}

describe('byte tracker', () => {
  it('confirms a walking person on the second hit and keeps one id', () => {
    const frames = Array.from({ length: 20 }, (_, f) => [det(person(10 + 4 * f))]);
    const out = run(frames);
    expect(out[0]).toMatchObject([{ status: 'tentative', detected: true, hits: 1 }]);
    expect(out[1]).toMatchObject([{ status: 'confirmed', detected: true, hits: 2 }]);
    const ids = new Set(out.flat().map((u) => u.trackId));
    expect(ids.size).toBe(1);
    const last = out[19]![0]!;
    expect(last.box.x).toBeCloseTo(10 + 4 * 19, -0.5);
    expect(last.firstSeenMs).toBe(0);
    expect(last.lastSeenMs).toBe(19 * FRAME_MS);
  });

  it('keeps the id through a short gap, predicting the box meanwhile', () => {
    const frames = Array.from({ length: 20 }, (_, f) => (f >= 8 && f < 13 ? [] : [det(person(10 + 5 * f))]));
    const out = run(frames);
    const id = out[1]![0]!.trackId;
    for (let f = 8; f < 13; f++) {
      expect(out[f]).toMatchObject([{ trackId: id, status: 'lost', detected: false }]);
      // the prediction follows the motion instead of freezing
      expect(out[f]![0]!.box.x).toBeGreaterThan(out[f - 1]![0]!.box.x);
    }
    expect(out[13]).toMatchObject([{ trackId: id, status: 'confirmed', detected: true }]);
  });

  it('removes a lost track after maxLostMs, reports it once, and starts a new id later', () => {
    const frames: TrackerDetection[][] = [
      [det(person(50))],
      [det(person(50))],
      ...Array.from({ length: 30 }, () => []),
      [det(person(50))],
    ];
    const out = run(frames, { maxLostMs: 400 });
    const id = out[0]![0]!.trackId;
    const removedAt = out.findIndex((u) => u.some((x) => x.status === 'removed'));
    // last seen at frame 1 (40 ms); lost while ≤ 400 ms old, dropped at 480 ms (frame 12)
    expect(removedAt).toBe(12);
    expect(out[11]).toMatchObject([{ trackId: id, status: 'lost' }]);
    expect(out[12]).toMatchObject([{ trackId: id, status: 'removed' }]);
    expect(out[13]).toEqual([]);
    const reborn = out[out.length - 1]![0]!;
    expect(reborn.status).toBe('tentative');
    expect(reborn.trackId).not.toBe(id);
  });

  it('drops a one-frame false detection without ever confirming it', () => {
    const out = run([[det(person(300))], [], []]);
    expect(out[0]).toMatchObject([{ status: 'tentative' }]);
    expect(out[1]).toMatchObject([{ status: 'removed', detected: false }]);
    expect(out[2]).toEqual([]);
  });

  it('rescues a confirmed track with a low-score box but never starts one from it', () => {
    const out = run([[det(person(100))], [det(person(104))], [det(person(108), 0.3)], [det(person(600), 0.3)]]);
    const id = out[0]![0]!.trackId;
    expect(out[2]).toMatchObject([{ trackId: id, status: 'confirmed', detected: true, score: 0.3 }]);
    // a far low-score box matches nothing and starts nothing
    expect(out[3]).toMatchObject([{ trackId: id, status: 'lost' }]);
    expect(out[3]).toHaveLength(1);
  });

  it('does not let a low-score box re-find a lost track (second stage is for tracked ones)', () => {
    const out = run([[det(person(100))], [det(person(100))], [], [det(person(100), 0.3)], [det(person(100), 0.9)]]);
    const id = out[0]![0]!.trackId;
    expect(out[3]).toMatchObject([{ trackId: id, status: 'lost', detected: false }]);
    expect(out[4]).toMatchObject([{ trackId: id, status: 'confirmed', detected: true }]);
  });

  it('ignores boxes below lowScore and starts tracks only from boxes ≥ newTrackScore', () => {
    const out = run([[det(person(100), 0.05), det(person(300), 0.65), det(person(500), 0.75)]]);
    expect(out[0]).toHaveLength(1);
    expect(out[0]![0]!.box.x).toBe(500);
  });

  it('confirms on the first hit when minHitsToConfirm is 1', () => {
    expect(run([[det(person(0))]], { minHitsToConfirm: 1 })[0]).toMatchObject([{ status: 'confirmed' }]);
  });

  it('keeps identities of two people who cross paths', () => {
    const frames = Array.from({ length: 40 }, (_, f) => [det(person(20 + 6 * f, 100)), det(person(260 - 6 * f, 104))]);
    const out = run(frames);
    const [a, b] = out[1]!.map((u) => u.trackId);
    expect(a).not.toBe(b);
    const byId = (f: number, id: string) => out[f]!.find((u) => u.trackId === id)!;
    for (let f = 1; f < 40; f++) {
      expect(byId(f, a!).box.x).toBeCloseTo(20 + 6 * f, -1);
      expect(byId(f, b!).box.x).toBeCloseTo(260 - 6 * f, -1);
    }
  });

  it('never mutates the state it is given and is deterministic for a fixed id source', () => {
    const snapshot = (s: ByteTrackerState) =>
      JSON.stringify(s.tracks.map((t) => ({ ...t, kf: { mean: [...t.kf.mean], cov: [...t.kf.cov] } })));
    let state = createTrackerState({}, { newTrackId: counterIds() });
    state = updateTracks(state, [det(person(0)), det(person(200))], 0).state;
    state = updateTracks(state, [det(person(4)), det(person(204))], 40).state;
    const before = snapshot(state);
    const first = updateTracks(state, [det(person(8))], 80);
    const second = updateTracks(state, [det(person(8))], 80);
    expect(snapshot(state)).toBe(before);
    expect(second.updates).toEqual(first.updates);
    expect(first.updates.map((u) => u.status).sort()).toEqual(['confirmed', 'lost']);
  });

  it('rejects time going backwards and invalid settings', () => {
    const state = updateTracks(createTrackerState(), [], 1000).state;
    expect(() => updateTracks(state, [], 999)).toThrow(TrackerError);
    expect(() => updateTracks(state, [], 999)).toThrow(
      expect.objectContaining({ code: 'TRACKING_ERR_TIME_BACKWARDS' }),
    );
    expect(() => createTrackerState({ matchIou: 1.5 })).toThrow(
      expect.objectContaining({ code: 'TRACKING_ERR_CONFIG' }),
    );
    expect(() => createTrackerState({ lowScore: 0.8, highScore: 0.5 })).toThrow(/lowScore/);
    expect(() => createTrackerState({ minHitsToConfirm: 0 })).toThrow(/minHitsToConfirm/);
  });

  it('reset drops every track', () => {
    const tracker = createByteTracker();
    tracker.update([det(person(0))], 0);
    tracker.update([det(person(0))], 40);
    tracker.reset();
    expect(tracker.update([], 0)).toEqual([]);
  });
});

describe('anonymous track ids', () => {
  it('are unique across many tracks, random-looking and not sequential', () => {
    const tracker = createByteTracker({ minHitsToConfirm: 1, maxLostMs: 0 });
    const ids: string[] = [];
    // 600 frames, each with 5 people far from the previous frame's: every box is a new track
    for (let f = 0; f < 600; f++) {
      const dets = Array.from({ length: 5 }, (_, k) =>
        det(person((f % 2) * 400 + k * 60, 100 + (f % 2) * 200, 30, 60)),
      );
      for (const u of tracker.update(dets, f * FRAME_MS))
        if (u.hits === 1 && u.status !== 'removed') ids.push(u.trackId);
    }
    expect(ids).toHaveLength(3000);
    expect(new Set(ids).size).toBe(3000);
    for (const id of ids) expect(id).toMatch(/^[a-z2-7]{16}$/);
    // creation order is not the sort order, and neighbours share no long prefix (no counter, no clock)
    expect([...ids].sort()).not.toEqual(ids);
    let sharedPrefix = 0;
    for (let i = 1; i < ids.length; i++) {
      let p = 0;
      while (p < 16 && ids[i]![p] === ids[i - 1]![p]) p++;
      sharedPrefix = Math.max(sharedPrefix, p);
    }
    expect(sharedPrefix).toBeLessThan(6);
    // every character position varies: nothing is a fixed tag or a slowly moving counter
    for (let p = 0; p < 16; p++) expect(new Set(ids.map((id) => id[p])).size).toBeGreaterThan(20);
  });

  it('newTrackId gives 80 random bits as base32', () => {
    const many = Array.from({ length: 10_000 }, () => newTrackId());
    expect(new Set(many).size).toBe(many.length);
  });

  it('never hands out an id that is still alive', () => {
    const source = ['same', 'same', 'other'];
    const tracker = createByteTracker({}, { newTrackId: () => source.shift()! });
    const out = tracker.update([det(person(0)), det(person(300))], 0);
    expect(out.map((u) => u.trackId)).toEqual(['same', 'other']);
  });
});
