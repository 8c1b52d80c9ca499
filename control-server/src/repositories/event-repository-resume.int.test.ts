import { describe, expect, it } from 'vitest';
import { openDatabase } from '../store/database.js';
import { makeAccessEvent, makeCameraEvent, makeTempDir } from '../test-support/fixtures.js';
import { createEventRepository } from './event-repository.js';

/**
 * The resume of a live feed (`/ws?after=`): what was stored after a cursor, in receipt order — an
 * outbox replay carrying an old edge time arrives late and is still "after" — capped, scoped.
 */
describe('event repository: listAfter and latestReceivedId', () => {
  it('returns what was received after the cursor, newest first by edge time, truncated to the limit', () => {
    const tmp = makeTempDir();
    const db = openDatabase({ dataDir: tmp.dir });
    const events = createEventRepository(db);
    const at = (min: number) => new Date(Date.UTC(2026, 10, 22, 7, min)).toISOString();
    const first = makeCameraEvent('s1', 'gate-1', { ts: at(10) });
    events.insert('camera', first, at(10));
    const a = makeAccessEvent('s1', 'gate-1', { ts: at(11) });
    const b = makeAccessEvent('s1', 'gate-1', { ts: at(12) });
    // replayed from an agent's outbox after an outage: edge time older than the cursor, received later
    const replayed = makeAccessEvent('s1', 'gate-1', { ts: at(5) });
    const otherSite = makeAccessEvent('s2', 'gate-1', { ts: at(13) });
    for (const e of [a, b, replayed, otherSite]) events.insert('access', e, at(20));

    const all = events.listAfter(first.id, { limit: 10 });
    expect(all.ok && all.events.map((e) => e.id)).toEqual([otherSite.id, b.id, a.id, replayed.id]);
    expect(all.ok && all.truncated).toBe(false);

    const scope = [
      { kind: 'access' as const, sites: ['s1'] },
      { kind: 'camera' as const, sites: ['s1'] },
    ];
    const scoped = events.listAfter(first.id, { limit: 2, scope });
    // the two received last (b then the replay), shown newest first by edge time
    expect(scoped.ok && scoped.events.map((e) => e.id)).toEqual([b.id, replayed.id]);
    expect(scoped.ok && scoped.truncated).toBe(true);
    expect(events.latestReceivedId(scope)).toBe(replayed.id);
    expect(events.latestReceivedId()).toBe(otherSite.id);
    expect(events.latestReceivedId([{ kind: 'movement', sites: '*' }])).toBeNull();

    // unknown, or outside the scope: the caller falls back to a full snapshot
    expect(events.listAfter('01900000-0000-7000-8000-000000000000', { limit: 5 })).toEqual({
      ok: false,
      error: 'UNKNOWN_CURSOR',
    });
    expect(events.listAfter(otherSite.id, { limit: 5, scope })).toEqual({ ok: false, error: 'UNKNOWN_CURSOR' });
    const none = events.listAfter(otherSite.id, { limit: 5 });
    expect(none).toEqual({ ok: true, events: [], truncated: false });
    db.close();
    tmp.remove();
  });
});
