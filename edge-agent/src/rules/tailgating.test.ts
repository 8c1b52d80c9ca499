import { describe, expect, it } from 'vitest';
import type { TrackUpdate } from '../tracking/types.js';
import type { Point } from '@portail/vision/types.js';
import {
  createTailgatingState,
  evaluateTailgating,
  recordAcceptedCredential,
  type TailgatingRule,
} from './tailgating.js';
import type { TailgatingAlert } from './types.js';

function at(trackId: string, foot: Point): TrackUpdate {
  const box = { x: foot[0] - 15, y: foot[1] - 80, w: 30, h: 80 };
  return { trackId, status: 'confirmed', detected: true, box, score: 0.9, hits: 3, firstSeenMs: 0, lastSeenMs: 0 };
}

// Gate line at y=200; walking down the image is inbound.
const rule: TailgatingRule = { id: 'gate-1', gate: { id: 'gate-1-line', from: [0, 200], to: [400, 200] } };
const FRAME_MS = 40;

/**
 * Simulates `durationMs` of frames. `walkers` cross inbound (or outbound) around `crossMs`; a
 * credential is accepted at each time of `credentialsMs`.
 */
function simulate(
  walkers: { id: string; crossMs: number; direction?: 'in' | 'out' }[],
  credentialsMs: number[],
  durationMs = 15_000,
  r: TailgatingRule = rule,
): TailgatingAlert[] {
  let state = createTailgatingState(r);
  const pendingCredentials = [...credentialsMs].sort((a, b) => a - b);
  const alerts: TailgatingAlert[] = [];
  for (let t = 0; t <= durationMs; t += FRAME_MS) {
    while (pendingCredentials.length > 0 && pendingCredentials[0]! <= t)
      state = recordAcceptedCredential(state, pendingCredentials.shift()!);
    const updates: TrackUpdate[] = [];
    for (const w of walkers) {
      // visible from 400 ms before to 400 ms after its crossing, moving 1 px/ms across y=200
      const dt = t - w.crossMs;
      if (dt < -400 || dt > 400) continue;
      const y = w.direction === 'out' ? 200 - dt / 4 : 200 + dt / 4;
      updates.push(at(w.id, [100 + 40 * walkers.indexOf(w), y]));
    }
    const out = evaluateTailgating(state, updates, t);
    state = out.state;
    alerts.push(...out.alerts);
  }
  return alerts;
}

describe('tailgating', () => {
  it('raises exactly one alert with excess 2 for 3 inbound crossings on 1 accepted credential', () => {
    const alerts = simulate(
      [
        { id: 'a', crossMs: 2000 },
        { id: 'b', crossMs: 2600 },
        { id: 'c', crossMs: 3300 },
      ],
      [1500],
    );
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ kind: 'tailgating', rule: 'gate-1', excess: 2, trackIds: ['b', 'c'] });
    // reported once the group could no longer grow: first unexplained crossing + groupMs + late
    expect(alerts[0]!.tMs).toBeGreaterThanOrEqual(alerts[0]!.firstCrossingMs + 3000 + 1500);
    expect(alerts[0]!.tMs).toBeLessThan(alerts[0]!.firstCrossingMs + 3000 + 1500 + 2 * FRAME_MS);
  });

  it('stays silent when every crossing has its credential, including one accepted just after', () => {
    expect(
      simulate(
        [
          { id: 'a', crossMs: 2000 },
          { id: 'b', crossMs: 5000 },
        ],
        [1500, 5800],
      ),
    ).toEqual([]);
  });

  it('ignores outbound crossings and expired credentials', () => {
    expect(simulate([{ id: 'o', crossMs: 2000, direction: 'out' }], [])).toEqual([]);
    // a credential accepted 9 s before the crossing (window 8 s) no longer covers it
    const late = simulate([{ id: 'x', crossMs: 10_000 }], [1000]);
    expect(late).toEqual([expect.objectContaining({ excess: 1, trackIds: ['x'] })]);
  });

  it('reports separate incidents separately', () => {
    const alerts = simulate(
      [
        { id: 'p', crossMs: 1000 },
        { id: 'q', crossMs: 9000 },
      ],
      [],
    );
    expect(alerts.map((a) => [a.excess, a.trackIds])).toEqual([
      [1, ['p']],
      [1, ['q']],
    ]);
  });

  it('lets a credential cover several passages when configured (e.g. a group badge)', () => {
    const group: TailgatingRule = { ...rule, passagesPerCredential: 2 };
    const walkers = [
      { id: 'a', crossMs: 2000 },
      { id: 'b', crossMs: 2600 },
      { id: 'c', crossMs: 3300 },
    ];
    expect(simulate(walkers, [1500], 15_000, group)).toEqual([expect.objectContaining({ excess: 1, trackIds: ['c'] })]);
  });

  it('rejects nonsense settings', () => {
    expect(() => createTailgatingState({ ...rule, windowMs: 0 })).toThrow(/windowMs/);
    expect(() => createTailgatingState({ ...rule, passagesPerCredential: 0.5 })).toThrow(/passagesPerCredential/);
  });
});
