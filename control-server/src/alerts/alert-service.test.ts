import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from 'better-sqlite3';
import { createAgentRepository, type AgentRepository } from '../repositories/agent-repository.js';
import { createEventRepository, type EventRepository } from '../repositories/event-repository.js';
import { openDatabase } from '../store/database.js';
import {
  makeAccessEvent,
  makeCameraEvent,
  makeMovementEvent,
  makeStatus,
  makeTempDir,
} from '../test-support/fixtures.js';
import {
  ALERT_KINDS,
  agentOfflineAlertId,
  alertKindOfEvent,
  createAlertService,
  type AlertService,
} from './alert-service.js';
import { createSiteStats, histogramOf } from './site-stats.js';

describe('alert service (real SQLite)', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let db: Database;
  let events: EventRepository;
  let agents: AgentRepository;
  let alerts: AlertService;
  const nowMs = Date.parse('2026-11-22T08:00:00.000Z');
  const at = (minutesAgo: number) => new Date(nowMs - minutesAgo * 60_000).toISOString();

  beforeEach(() => {
    tmp = makeTempDir();
    db = openDatabase({ dataDir: tmp.dir });
    events = createEventRepository(db);
    agents = createAgentRepository(db);
    alerts = createAlertService({ db, agents, now: () => new Date(nowMs) });
  });
  afterEach(() => {
    db.close();
    tmp.remove();
  });

  it('derives the alert kind of each event; ordinary traffic is no alert', () => {
    const kind = (e: Parameters<typeof alertKindOfEvent>[0]) => alertKindOfEvent(e);
    expect(kind({ kind: 'access', payload: makeAccessEvent('s', 'a', { decision: 'mismatch' }) })).toBe('mismatch');
    expect(kind({ kind: 'access', payload: makeAccessEvent('s', 'a', { decision: 'spoof_suspected' }) })).toBe(
      'spoof_suspected',
    );
    expect(kind({ kind: 'access', payload: makeAccessEvent('s', 'a', { decision: 'confirmed' }) })).toBeNull();
    expect(
      kind({ kind: 'access', payload: makeAccessEvent('s', 'a', { decision: 'revoked', biometric: false }) }),
    ).toBeNull();
    for (const k of ['tailgating', 'zone_entry', 'wrong_way'] as const)
      expect(kind({ kind: 'movement', payload: makeMovementEvent('s', 'a', { kind: k, excess: 1 }) })).toBe(k);
    expect(kind({ kind: 'movement', payload: makeMovementEvent('s', 'a') })).toBeNull();
    expect(kind({ kind: 'camera', payload: makeCameraEvent('s', 'a') })).toBe('camera_offline');
    expect(kind({ kind: 'camera', payload: makeCameraEvent('s', 'a', { state: 'stalled', code: 'STALLED' }) })).toBe(
      'camera_offline',
    );
    // the agent stopping its own cameras is covered by the agent offline alert
    expect(kind({ kind: 'camera', payload: makeCameraEvent('s', 'a', { code: 'STOPPED' }) })).toBeNull();
    expect(kind({ kind: 'camera', payload: makeCameraEvent('s', 'a', { state: 'online', code: 'OK' }) })).toBeNull();
  });

  it('lists open alerts of one site, newest first, within the window and the kinds asked for', () => {
    const put = <K extends 'access' | 'movement' | 'camera'>(k: K, p: Parameters<EventRepository['insert']>[1]) =>
      events.insert(k, p as never, at(0)).event.id;
    const tail = put('movement', makeMovementEvent('s1', 'g', { kind: 'tailgating', excess: 2, ts: at(1) }));
    const mism = put('access', makeAccessEvent('s1', 'g', { decision: 'mismatch', ts: at(2) }));
    const cam = put('camera', makeCameraEvent('s1', 'g', { ts: at(3) }));
    put('movement', makeMovementEvent('s1', 'g', { ts: at(1) })); // a crossing: traffic
    put('movement', makeMovementEvent('s2', 'g', { kind: 'zone_entry', ts: at(1) })); // other site
    put('movement', makeMovementEvent('s1', 'g', { kind: 'wrong_way', ts: at(25 * 60) })); // older than 24 h
    expect(alerts.listOpen({ site: 's1', kinds: ALERT_KINDS }).map((a) => a.id)).toEqual([tail, mism, cam]);
    // a caller without access events does not get the mismatch
    expect(alerts.listOpen({ site: 's1', kinds: ['tailgating', 'camera_offline'] }).map((a) => a.id)).toEqual([
      tail,
      cam,
    ]);
    expect(alerts.listOpen({ site: 's1', kinds: [] })).toEqual([]);
  });

  it('acknowledges once, with a trimmed note; the alert leaves the open list for everyone', () => {
    const e = makeMovementEvent('s1', 'g', { kind: 'zone_entry', rule: 'roof', ts: at(1) });
    events.insert('movement', e, at(0));
    const r = alerts.ack('s1', e.id, 'surveillance', '  élève raccompagné  ', ALERT_KINDS);
    expect(r).toMatchObject({
      ok: true,
      value: {
        ack: {
          alertId: e.id,
          kind: 'zone_entry',
          agent: 'g',
          camera: 'hall-1',
          ackedBy: 'surveillance',
          note: 'élève raccompagné',
        },
      },
    });
    expect(alerts.listOpen({ site: 's1', kinds: ALERT_KINDS })).toEqual([]);
    const again = alerts.ack('s1', e.id, 'autre', null, ALERT_KINDS);
    expect(again).toMatchObject({
      ok: false,
      error: { code: 'ALREADY_ACKNOWLEDGED', ack: { ackedBy: 'surveillance' } },
    });
    expect(alerts.listAcks('s1', at(10)).map((a) => a.alertId)).toEqual([e.id]);
    expect(alerts.listAcks('s2', at(10))).toEqual([]);
  });

  it('refuses unknown ids, other sites, kinds the caller cannot see, traffic events and long notes', () => {
    const e = makeAccessEvent('s1', 'g', { decision: 'spoof_suspected', ts: at(1) });
    events.insert('access', e, at(0));
    const crossing = makeMovementEvent('s1', 'g', { ts: at(1) });
    events.insert('movement', crossing, at(0));
    const code = (r: ReturnType<AlertService['ack']>) => (r.ok ? 'ok' : r.error.code);
    expect(code(alerts.ack('s2', e.id, 'x', null, ALERT_KINDS))).toBe('UNKNOWN_ALERT');
    expect(code(alerts.ack('s1', e.id, 'x', null, ['tailgating']))).toBe('UNKNOWN_ALERT');
    expect(code(alerts.ack('s1', crossing.id, 'x', null, ALERT_KINDS))).toBe('UNKNOWN_ALERT');
    expect(code(alerts.ack('s1', 'agent-offline.g.0', 'x', null, ALERT_KINDS))).toBe('UNKNOWN_ALERT');
    expect(code(alerts.ack('s1', e.id, 'x', 'n'.repeat(501), ALERT_KINDS))).toBe('NOTE_TOO_LONG');
    expect(code(alerts.ack('s1', e.id, 'x', 'n'.repeat(500), ALERT_KINDS))).toBe('ok');
  });

  it('makes an offline agent an alert per offline period, acknowledged once per period', () => {
    agents.applyStatus(makeStatus('s1', 'gate-1'), at(30));
    agents.applyStatus(makeStatus('s1', 'gate-1', { state: 'offline', reason: 'connection_lost' }), at(5));
    const open = alerts.listOpen({ site: 's1', kinds: ALERT_KINDS });
    expect(open).toHaveLength(1);
    // since: the last time the agent itself was heard of, not the arrival of its last will
    expect(open[0]).toMatchObject({
      id: agentOfflineAlertId('gate-1', at(30)),
      kind: 'agent_offline',
      agent: 'gate-1',
      camera: null,
      ts: at(30),
      reason: 'connection_lost',
    });
    expect(alerts.ack('s1', open[0]!.id, 'surveillance', null, ALERT_KINDS).ok).toBe(true);
    expect(alerts.listOpen({ site: 's1', kinds: ALERT_KINDS })).toEqual([]);
    // back online: nothing; offline again later: a new period, a new alert
    agents.applyStatus(makeStatus('s1', 'gate-1'), at(2));
    expect(alerts.listOpen({ site: 's1', kinds: ALERT_KINDS })).toEqual([]);
    agents.applyStatus(makeStatus('s1', 'gate-1', { state: 'offline', reason: 'stopped' }), at(1));
    expect(alerts.listOpen({ site: 's1', kinds: ALERT_KINDS }).map((a) => a.id)).toEqual([
      agentOfflineAlertId('gate-1', at(2)),
    ]);
    // the acknowledged period stays findable after the agent came back
    expect(alerts.find('s1', open[0]!.id)).toMatchObject({ kind: 'agent_offline', agent: 'gate-1' });
  });
});

describe('site statistics (real SQLite)', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let db: Database;
  let events: EventRepository;
  beforeEach(() => {
    tmp = makeTempDir();
    db = openDatabase({ dataDir: tmp.dir });
    events = createEventRepository(db);
  });
  afterEach(() => {
    db.close();
    tmp.remove();
  });

  it('counts passages per gate per 5-minute bucket, refusals apart, empty buckets included', () => {
    const base = Date.parse('2026-11-22T07:50:00.000Z');
    const ts = (min: number, sec = 0) => new Date(base + min * 60_000 + sec * 1000 + 123).toISOString();
    const rec = new Date().toISOString();
    events.insert('access', makeAccessEvent('s1', 'g1', { camera: 'entrance', ts: ts(0, 10) }), rec);
    events.insert('access', makeAccessEvent('s1', 'g1', { camera: 'entrance', ts: ts(4, 59) }), rec);
    events.insert('access', makeAccessEvent('s1', 'g1', { camera: 'entrance', decision: 'mismatch', ts: ts(5) }), rec);
    events.insert('access', makeAccessEvent('s1', 'g2', { camera: 'side', ts: ts(12) }), rec);
    events.insert('access', makeAccessEvent('s2', 'g1', { camera: 'entrance', ts: ts(1) }), rec);
    const stats = createSiteStats(db);
    const r = stats.passages(
      's1',
      { fromIso: new Date(base).toISOString(), toIso: new Date(base + 15 * 60_000).toISOString() },
      300_000,
    );
    expect(r.times).toEqual([base, base + 300_000, base + 600_000]);
    expect(r.gates).toEqual([
      { agent: 'g1', camera: 'entrance', counts: [2, 1, 0], refused: [0, 1, 0] },
      { agent: 'g2', camera: 'side', counts: [0, 0, 1], refused: [0, 0, 0] },
    ]);
  });

  it('splits decision times by lane into a histogram, untimed passages counted apart', () => {
    const rec = new Date().toISOString();
    const ts = new Date().toISOString();
    events.insert(
      'access',
      makeAccessEvent('s1', 'g', { ts, biometric: false, decision: 'accepted', timingsMs: { credential: 3 } }),
      rec,
    );
    events.insert(
      'access',
      makeAccessEvent('s1', 'g', { ts, biometric: true, timingsMs: { credential: 3, window: 900, compare: 1 } }),
      rec,
    );
    events.insert('access', makeAccessEvent('s1', 'g', { ts, biometric: true }), rec);
    const r = createSiteStats(db).decisionTimes('s1', {
      fromIso: new Date(Date.now() - 60_000).toISOString(),
      toIso: new Date(Date.now() + 60_000).toISOString(),
    });
    expect(r.badgeOnly).toMatchObject({ passages: 1, timed: 1, medianMs: 3 });
    expect(r.badgeOnly.histogram[0]).toBe(1);
    expect(r.biometric).toMatchObject({ passages: 2, timed: 1, untimed: 1, medianMs: 904 });
    expect(r.biometric.histogram.reduce((a, b) => a + b, 0)).toBe(1);
    expect(histogramOf([0, 24.9, 25, 6000], [25, 50])).toEqual([2, 1, 1]);
  });

  it('counts line crossings per line and direction, nothing else', () => {
    const rec = new Date().toISOString();
    const base = Date.parse('2026-11-22T07:00:00.000Z');
    const ts = (min: number) => new Date(base + min * 60_000).toISOString();
    events.insert(
      'movement',
      makeMovementEvent('s1', 'g', { camera: 'hall', rule: 'entry', direction: 'in', ts: ts(5) }),
      rec,
    );
    events.insert(
      'movement',
      makeMovementEvent('s1', 'g', { camera: 'hall', rule: 'entry', direction: 'out', ts: ts(70) }),
      rec,
    );
    events.insert(
      'movement',
      makeMovementEvent('s1', 'g', { camera: 'hall', rule: 'entry', kind: 'wrong_way', ts: ts(6) }),
      rec,
    );
    const r = createSiteStats(db).lineCrossings('s1', { fromIso: ts(0), toIso: ts(120) }, 3_600_000);
    expect(r.lines).toEqual([{ agent: 'g', camera: 'hall', rule: 'entry', in: [1, 0], out: [0, 1] }]);
  });
});
