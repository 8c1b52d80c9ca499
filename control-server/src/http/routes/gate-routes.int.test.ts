import type { AddressInfo } from 'node:net';
import { decodeCredentialToken } from '@portail/protocol';
import * as jsQRModule from 'jsqr';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { seedPassage } from '../../test-support/gate-fixtures.js';
import { findStudent, getCredential } from '../../people/people-store.js';
import { updatePeopleSiteSettings } from '../../people/people-sites.js';
import { importRegistry } from '../../people/registry-import.js';
import { openSigningKeyStore } from '../../people/signing-key-store.js';
import { generateStudents, registryCsv } from '../../people/testing.js';
import { buildAuthTestApp, login, type AuthTestApp, type LoggedIn } from '../../test-support/auth.js';
import { makeAccessEvent, makeCameraEvent, waitFor } from '../../test-support/fixtures.js';

/**
 * The gate view's routes with a real SQLite database and real sessions: who is behind a passage, the
 * pending cards, acknowledgement and override (audited, pushed to every gate console of the site), the
 * visitor desk, and the WebSocket resume (`/ws?after=`) that keeps a reconnecting console free of duplicates.
 */

const jsQR = (
  jsQRModule as unknown as { default: (d: Uint8ClampedArray, w: number, h: number) => { binaryData: number[] } | null }
).default;
const SITE = 's1';
const STUDENTS = generateStudents(4, 5);

interface Ws {
  socket: WebSocket;
  messages: Array<Record<string, unknown>>;
}

describe('gate routes and WebSocket resume', () => {
  let t: AuthTestApp;
  let rec: LoggedIn;
  let rec2: LoggedIn;
  let sup: LoggedIn;
  let wsBase: string;
  const opened: WebSocket[] = [];

  const openWs = (who: LoggedIn, query = ''): Promise<Ws> =>
    new Promise((resolve, reject) => {
      const socket = new WebSocket(`${wsBase}/ws${query}`, { headers: { cookie: who.headers.cookie! } });
      opened.push(socket);
      const messages: Array<Record<string, unknown>> = [];
      socket.on('message', (d: Buffer) => messages.push(JSON.parse(d.toString('utf8')) as Record<string, unknown>));
      socket.once('error', reject);
      socket.once('open', () => resolve({ socket, messages }));
    });
  const hello = (ws: Ws) =>
    waitFor(() => ws.messages.find((m) => m.type === 'hello'), 'hello') as Promise<{
      events: Array<{ id: string }>;
      cursor: string | null;
      resumed: boolean;
      truncated?: boolean;
    }>;
  const studentId = (i: number) => findStudent(t.db, SITE, STUDENTS[i]!.externalId)!.id;
  const seed = (o: Omit<Parameters<typeof seedPassage>[1], 'site'>) =>
    seedPassage({ db: t.db, dataDir: t.dataDir, events: t.events }, { site: SITE, ...o });
  const auditRows = (action: string) => [...t.audit.iterate()].filter((r) => r.action === action);

  beforeAll(async () => {
    t = await buildAuthTestApp();
    await t.addUser('accueil', [{ role: 'reception', site: SITE }]);
    await t.addUser('accueil2', [{ role: 'reception', site: SITE }]);
    await t.addUser('surveillance', [{ role: 'supervisor', site: SITE }]);
    rec = await login(t.app, 'accueil');
    rec2 = await login(t.app, 'accueil2');
    sup = await login(t.app, 'surveillance');
    const r = importRegistry(t.db, { site: SITE, bytes: Buffer.from(registryCsv(STUDENTS)), actor: 'test' });
    expect(r.ok).toBe(true);
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    wsBase = `ws://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const s of opened) s.close();
    await t?.close();
  });

  it('names the person behind a passage (first name, class, photo flag), never the last name', async () => {
    const withPhoto = await seed({ studentId: studentId(0), decision: 'confirmed', photo: true });
    const unknown = makeAccessEvent(SITE, 'gate-1', { decision: 'unknown_credential', credentialId: 'zzzzzzzz' });
    t.events.insert('access', unknown, new Date().toISOString());
    const auditBefore = auditRows('gate.passages.read').length;
    const res = await t.app.inject({
      method: 'GET',
      url: `/api/sites/${SITE}/passages?ids=${withPhoto.eventId},${unknown.id}`,
      headers: rec.headers,
    });
    expect(res.statusCode).toBe(200);
    const { passages } = res.json<{ passages: Array<{ event: { id: string }; holder: unknown; ack: unknown }> }>();
    const byId = new Map(passages.map((p) => [p.event.id, p]));
    expect(byId.get(withPhoto.eventId)!.holder).toEqual({
      kind: 'student',
      firstName: STUDENTS[0]!.firstName,
      className: STUDENTS[0]!.className,
      photo: true,
    });
    expect(byId.get(unknown.id)!.holder).toBeNull();
    expect(res.body).not.toContain(STUDENTS[0]!.lastName);
    // one audit row for the request, naming both passages and the student record (not the name)
    const rows = auditRows('gate.passages.read');
    expect(rows).toHaveLength(auditBefore + 1);
    expect(rows.at(-1)).toMatchObject({
      actor: 'accueil',
      site: SITE,
      details: {
        events: expect.arrayContaining([withPhoto.eventId, unknown.id]),
        holders: [`student:${studentId(0)}`],
      },
    });
    // the photo: JPEG, no-store, audited with the student record id
    const photo = await t.app.inject({
      method: 'GET',
      url: `/api/sites/${SITE}/passages/${withPhoto.eventId}/photo`,
      headers: rec.headers,
    });
    expect(photo.statusCode).toBe(200);
    expect(photo.headers['cache-control']).toBe('no-store');
    expect((await sharp(photo.rawPayload).metadata()).format).toBe('jpeg');
    expect(auditRows('gate.photo.read').at(-1)).toMatchObject({ target: `student:${studentId(0)}` });
    // no photo for a passage without a holder
    const none = await t.app.inject({
      method: 'GET',
      url: `/api/sites/${SITE}/passages/${unknown.id}/photo`,
      headers: rec.headers,
    });
    expect(none.json()).toMatchObject({ error: 'GATE_ERR_NO_PHOTO' });
    // the photo flag follows the site setting: a site that stops keeping photos shows none
    expect(updatePeopleSiteSettings(t.db, SITE, { keepIdPhotos: false }).ok).toBe(true);
    const off = await t.app.inject({
      method: 'GET',
      url: `/api/sites/${SITE}/passages?ids=${withPhoto.eventId}`,
      headers: rec.headers,
    });
    expect(off.json<{ passages: Array<{ holder: { photo: boolean } }> }>().passages[0]!.holder.photo).toBe(false);
    expect(updatePeopleSiteSettings(t.db, SITE, { keepIdPhotos: true }).ok).toBe(true);
    // supervisors see access events but not who is behind them
    const supRes = await t.app.inject({ method: 'GET', url: `/api/sites/${SITE}/passages`, headers: sup.headers });
    expect(supRes.statusCode).toBe(403);
  });

  it('keeps mismatch and spoof cards pending until acknowledged; the ack is audited and pushed to the other gate consoles', async () => {
    const mismatch = await seed({ studentId: studentId(1), decision: 'mismatch' });
    const spoof = await seed({ studentId: studentId(2), decision: 'spoof_suspected' });
    await seed({ studentId: studentId(3), decision: 'accepted' });
    const pending = async () =>
      (await t.app.inject({ method: 'GET', url: `/api/sites/${SITE}/passages?pending=1`, headers: rec.headers }))
        .json<{ passages: Array<{ event: { id: string; payload: { decision: string } } }> }>()
        .passages.map((p) => p.event.id);
    expect(await pending()).toEqual(expect.arrayContaining([mismatch.eventId, spoof.eventId]));
    expect((await pending()).length).toBe(2);

    const other = await openWs(rec2);
    const supWs = await openWs(sup);
    await hello(other);
    await hello(supWs);
    const ack = await t.app.inject({
      method: 'POST',
      url: `/api/sites/${SITE}/passages/${mismatch.eventId}/ack`,
      headers: rec.headers,
      payload: { note: 'élève vérifié, carte prêtée' },
    });
    expect(ack.statusCode).toBe(200);
    expect(ack.json()).toMatchObject({
      already: false,
      passage: { ack: { by: 'accueil', note: 'élève vérifié, carte prêtée' } },
    });
    const pushed = await waitFor(
      () => other.messages.find((m) => m.type === 'passage_action' && m.eventId === mismatch.eventId),
      'the acknowledgement on the other gate console',
    );
    expect(pushed).toMatchObject({ site: SITE, ack: { by: 'accueil' }, override: null });
    expect(await pending()).toEqual([spoof.eventId]);
    expect(auditRows('gate.passage.ack').at(-1)).toMatchObject({
      actor: 'accueil',
      site: SITE,
      target: `event:${mismatch.eventId}`,
      outcome: 'ok',
      details: { decision: 'mismatch', already: false, noteChars: 27 },
    });
    expect(JSON.stringify(auditRows('gate.passage.ack').at(-1))).not.toContain('carte prêtée');
    // a second acknowledgement (another tablet, a moment later) changes nothing
    const again = await t.app.inject({
      method: 'POST',
      url: `/api/sites/${SITE}/passages/${mismatch.eventId}/ack`,
      headers: rec2.headers,
      payload: {},
    });
    expect(again.json()).toMatchObject({ already: true, passage: { ack: { by: 'accueil' } } });

    // override: a reason is required; it resolves the pending card too
    const noReason = await t.app.inject({
      method: 'POST',
      url: `/api/sites/${SITE}/passages/${spoof.eventId}/override`,
      headers: rec.headers,
      payload: { decision: 'allow', reason: '  ' },
    });
    expect(noReason.statusCode).toBe(400);
    const override = await t.app.inject({
      method: 'POST',
      url: `/api/sites/${SITE}/passages/${spoof.eventId}/override`,
      headers: rec.headers,
      payload: { decision: 'deny', reason: 'photo présentée à la caméra' },
    });
    expect(override.statusCode).toBe(200);
    expect(await pending()).toEqual([]);
    expect(auditRows('gate.passage.override').at(-1)).toMatchObject({
      target: `event:${spoof.eventId}`,
      details: { verdict: 'spoof_suspected', decision: 'deny', reasonChars: 27 },
    });
    await waitFor(
      () => other.messages.find((m) => m.type === 'passage_action' && m.eventId === spoof.eventId),
      'the override on the other gate console',
    );
    // a supervisor's console is not a gate console: no passage actions there
    expect(supWs.messages.filter((m) => m.type === 'passage_action')).toEqual([]);
    // an acknowledgement without a body (no note) is fine too
    const plain = await seed({ studentId: studentId(3), decision: 'mismatch' });
    const bare = await t.app.inject({
      method: 'POST',
      url: `/api/sites/${SITE}/passages/${plain.eventId}/ack`,
      headers: rec.headers,
    });
    expect(bare.statusCode).toBe(200);
    expect(bare.json()).toMatchObject({ already: false, passage: { ack: { note: null } } });
    // the actions live and die with their passage: the retention purge deleting the event takes them along
    const actionsOf = (id: string) =>
      t.db
        .prepare<[string], { n: number }>('SELECT count(*) AS n FROM gate_passage_actions WHERE event_id = ?')
        .get(id)!.n;
    expect(actionsOf(plain.eventId)).toBe(1);
    t.db.prepare('DELETE FROM events WHERE id = ?').run(plain.eventId);
    expect(actionsOf(plain.eventId)).toBe(0);
    // unknown passage
    const missing = await t.app.inject({
      method: 'POST',
      url: `/api/sites/${SITE}/passages/01900000-0000-7000-8000-000000000000/ack`,
      headers: rec.headers,
      payload: {},
    });
    expect(missing.statusCode).toBe(404);
  });

  it('registers a visitor (ID type, no number unless the site allows), prints the day pass, lists today, ends the visit', async () => {
    const base = { lastName: 'Martin', firstName: 'Claire', purpose: 'Réunion parents', host: 'M. Petit (CPE)' };
    const refused = await t.app.inject({
      method: 'POST',
      url: `/api/sites/${SITE}/visitors`,
      headers: rec.headers,
      payload: { ...base, idDocumentType: 'id_card', idDocumentNumber: 'X123456' },
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ error: 'VISITOR_ERR_ID_NUMBER' });
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/sites/${SITE}/visitors`,
      headers: rec.headers,
      payload: { ...base, idDocumentType: 'id_card' },
    });
    expect(res.statusCode).toBe(201);
    const { visitor, pass } = res.json<{
      visitor: { id: number; idDocumentNumber: string | null; visitDay: string };
      pass: { credentialId: string; validUntil: string };
    }>();
    expect(visitor.idDocumentNumber).toBeNull();
    expect(pass.validUntil).toBe(visitor.visitDay);
    expect(auditRows('visitor.register').at(-1)).toMatchObject({ target: `visitor:${visitor.id}`, outcome: 'ok' });

    // the QR holds a token signed for this credential
    const qr = await t.app.inject({
      method: 'GET',
      url: `/api/sites/${SITE}/visitors/${visitor.id}/pass?format=qr`,
      headers: rec.headers,
    });
    expect(qr.statusCode).toBe(200);
    expect(qr.headers['cache-control']).toBe('no-store');
    expect((await sharp(qr.rawPayload).metadata()).format).toBe('png');
    const card = await t.app.inject({
      method: 'GET',
      url: `/api/sites/${SITE}/visitors/${visitor.id}/pass`,
      headers: rec.headers,
    });
    const meta = await sharp(card.rawPayload).metadata();
    expect([meta.width, meta.height]).toEqual([1011, 638]);
    expect(getCredential(t.db, pass.credentialId)).toMatchObject({ holderKind: 'visitor', biometric: false });
    // the QR carries a token for this credential, signed with the deployment's key
    const { data, info } = await sharp(qr.rawPayload).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    const read = jsQR(new Uint8ClampedArray(data.buffer, data.byteOffset, data.length), info.width, info.height);
    expect(read).not.toBeNull();
    const claims = decodeCredentialToken(
      Uint8Array.from(read!.binaryData),
      openSigningKeyStore(t.dataDir).publicKeys(),
    );
    expect(claims.ok && claims.value.credentialId).toBe(pass.credentialId);

    const list = await t.app.inject({ method: 'GET', url: `/api/sites/${SITE}/visitors`, headers: rec.headers });
    const today = list.json<{
      day: string;
      visitors: Array<{ visitor: { id: number }; pass: { revokedAt: string | null } }>;
    }>();
    expect(today.day).toBe(visitor.visitDay);
    expect(today.visitors.find((v) => v.visitor.id === visitor.id)?.pass.revokedAt).toBeNull();

    const end = await t.app.inject({
      method: 'POST',
      url: `/api/sites/${SITE}/visitors/${visitor.id}/end`,
      headers: rec.headers,
      payload: {},
    });
    expect(end.json()).toEqual({ revoked: [pass.credentialId] });
    expect(getCredential(t.db, pass.credentialId)!.revokedReason).toBe('visit-ended');
    const after = await t.app.inject({ method: 'GET', url: `/api/sites/${SITE}/visitors`, headers: rec.headers });
    expect(
      after
        .json<{ visitors: Array<{ visitor: { id: number }; pass: { revokedAt: string | null } }> }>()
        .visitors.find((v) => v.visitor.id === visitor.id)?.pass.revokedAt,
    ).not.toBeNull();
    // an ended pass is not printed again
    const reprint = await t.app.inject({
      method: 'GET',
      url: `/api/sites/${SITE}/visitors/${visitor.id}/pass`,
      headers: rec.headers,
    });
    expect(reprint.json()).toMatchObject({ error: 'VISITOR_ERR_PASS' });
  });

  it('resumes /ws after a reconnect with only what was stored after the cursor (nothing twice)', async () => {
    const first = await openWs(rec);
    const h1 = await hello(first);
    expect(h1.resumed).toBe(false);
    expect(h1.cursor).not.toBeNull();
    const pushed = makeCameraEvent(SITE, 'gate-1');
    t.bus.publish({
      type: 'event',
      kind: 'camera',
      event: t.events.insert('camera', pushed, new Date().toISOString()).event,
    });
    const got = (await waitFor(
      () => first.messages.find((m) => m.type === 'event' && (m.event as { id: string }).id === pushed.id),
      'the pushed event',
    )) as { event: { id: string } };
    // what the console holds now: the cursor moved to the last pushed event
    const cursor = got.event.id;
    first.socket.close();

    // while it is away: two events, one of them at another site (not for this account)
    const missed = makeAccessEvent(SITE, 'gate-1', { decision: 'accepted' });
    t.events.insert('access', missed, new Date().toISOString());
    t.events.insert('access', makeAccessEvent('s2', 'gate-1'), new Date().toISOString());
    const second = await openWs(rec, `?after=${cursor}`);
    const h2 = await hello(second);
    expect(h2.resumed).toBe(true);
    expect(h2.events.map((e) => e.id)).toEqual([missed.id]);
    expect(h2.cursor).toBe(missed.id);

    // nothing new: an empty resume
    const third = await openWs(rec, `?after=${h2.cursor!}`);
    const h3 = await hello(third);
    expect(h3).toMatchObject({ resumed: true, events: [] });

    // an unknown cursor (another database) or an event of a site the account cannot see: the full snapshot
    const other = t.events.insert('access', makeAccessEvent('s2', 'gate-1'), new Date().toISOString()).event;
    for (const after of ['01900000-0000-7000-8000-00000000abcd', other.id]) {
      const ws = await openWs(rec, `?after=${after}`);
      const h = await hello(ws);
      expect(h.resumed).toBe(false);
      expect(h.events.length).toBeGreaterThan(1);
      expect(h.events.every((e) => (e as unknown as { site: string }).site === SITE)).toBe(true);
    }
  });
});
