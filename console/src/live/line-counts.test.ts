import { describe, expect, it } from 'vitest';
import { at, lineCountsEvent, movementEvent, type Where } from './event-fixtures.js';
import { lineCountKey, reduceLineCounts, sortedLineCounts, type LineCounts } from './line-counts.js';
import type { LiveEvent } from './wire.js';

const counts = (s: number, rule: string, inN: number, outN: number, where: Where = {}, n?: number): LiveEvent =>
  lineCountsEvent(s, rule, inN, outN, n === undefined ? where : { ...where, n });

describe('line counts', () => {
  it('keeps the latest counts per site, agent, camera and line', () => {
    const s = reduceLineCounts({}, [
      counts(1, 'entry', 1, 0),
      counts(2, 'entry', 2, 0),
      counts(2, 'exit', 0, 1),
      counts(3, 'entry', 5, 4, { camera: 'stairs' }),
      counts(3, 'entry', 7, 0, { agent: 'gate-2' }),
    ]);
    expect(s[lineCountKey('lycee-a', 'gate-1', 'hall', 'entry')]).toMatchObject({ in: 2, out: 0, ts: at(2) });
    expect(s[lineCountKey('lycee-a', 'gate-1', 'hall', 'exit')]).toMatchObject({ in: 0, out: 1 });
    expect(s[lineCountKey('lycee-a', 'gate-1', 'stairs', 'entry')]).toMatchObject({ in: 5, out: 4 });
    expect(s[lineCountKey('lycee-a', 'gate-2', 'hall', 'entry')]).toMatchObject({ in: 7, out: 0 });
    expect(Object.keys(s)).toHaveLength(4);
  });

  it('ignores a report older than the one shown, in whatever order they arrive', () => {
    // a hello snapshot (newest first) folded after a live push of a newer report
    let s = reduceLineCounts({}, [counts(5, 'entry', 3, 1, {}, 1)]);
    s = reduceLineCounts(s, [counts(4, 'entry', 2, 1), counts(1, 'entry', 1, 0)]);
    expect(s[lineCountKey('lycee-a', 'gate-1', 'hall', 'entry')]).toMatchObject({ in: 3, out: 1 });
    // same edge time: the later id wins
    s = reduceLineCounts(s, [counts(5, 'entry', 4, 1, {}, 3), counts(5, 'entry', 9, 9, {}, 2)]);
    expect(s[lineCountKey('lycee-a', 'gate-1', 'hall', 'entry')]).toMatchObject({ in: 4, out: 1 });
  });

  it('follows an agent restart: a newer report with lower totals replaces the old ones', () => {
    let s = reduceLineCounts({}, [counts(1, 'entry', 40, 38)]);
    s = reduceLineCounts(s, [counts(9, 'entry', 1, 0)]);
    expect(s[lineCountKey('lycee-a', 'gate-1', 'hall', 'entry')]).toMatchObject({ in: 1, out: 0 });
  });

  it('returns the same object when nothing changes, and ignores other events', () => {
    const report = counts(2, 'entry', 1, 0);
    const s = reduceLineCounts({}, [report]);
    const crossing = movementEvent(3, {
      kind: 'line_crossing',
      rule: 'entry',
      direction: 'in',
      trackId: 'abcdefghijklmnop',
    });
    const tailgating = movementEvent(3, { kind: 'tailgating', rule: 'gate', excess: 2 });
    expect(reduceLineCounts(s, [crossing, tailgating])).toBe(s);
    // the same report again (outbox replay, next snapshot)
    expect(reduceLineCounts(s, [report])).toBe(s);
    expect(reduceLineCounts(s, [counts(1, 'entry', 0, 0)])).toBe(s);
  });

  it('sorts lines by site, agent, camera then rule', () => {
    const s: LineCounts = reduceLineCounts({}, [
      counts(1, 'b', 0, 0, { camera: 'hall' }),
      counts(1, 'a', 0, 0, { camera: 'hall' }),
      counts(1, 'a', 0, 0, { camera: 'cour', agent: 'gate-2' }),
      counts(1, 'z', 0, 0, { site: 'lycee-0' }),
    ]);
    expect(sortedLineCounts(s).map((c) => `${c.site}/${c.agent}/${c.camera}/${c.rule}`)).toEqual([
      'lycee-0/gate-1/hall/z',
      'lycee-a/gate-1/hall/a',
      'lycee-a/gate-1/hall/b',
      'lycee-a/gate-2/cour/a',
    ]);
  });
});
