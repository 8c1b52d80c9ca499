import type { AccessEvent } from '@portail/protocol';
import type { Database } from 'better-sqlite3';
import { renderCardPng, renderQrPng } from '../people/card.js';
import { createCredentialService } from '../people/credentials.js';
import { openIdPhotoKey, readIdPhoto, type IdPhotoKey } from '../people/id-photos.js';
import { getPeopleSite } from '../people/people-sites.js';
import { fail, ok, type Result } from '../people/result.js';
import { localDate } from '../people/school-calendar.js';
import type { SigningKeyStore } from '../people/signing-key-store.js';
import { createVisitorService, type RegisterVisitorInput, type Visitor } from '../people/visitors.js';
import { eventFromRow, type EventRow, type StoredEvent } from '../repositories/event-repository.js';
import {
  createPassageActionStore,
  type OverrideDecision,
  type PassageAck,
  type PassageActions,
  type PassageOverride,
} from './passage-actions.js';

/**
 * The server side of the gate view (reception). Access events carry a pseudonymous credential id;
 * here it becomes what reception needs to recognise the person in front of them: first name, class,
 * and whether an ID photo is kept (never the last name, never the birth date). Plus the actions on a
 * passage (acknowledgement, manual override) and the visitor desk (register, day pass, end of visit).
 * Routes check permissions and write the audit log; this service only reads and writes the database.
 */

export type AccessStoredEvent = Extract<StoredEvent, { kind: 'access' }>;

/** Who showed the credential, as far as the gate screen needs. */
export interface PassageHolder {
  kind: 'student' | 'visitor';
  firstName: string;
  /** the class of a student; null for a visitor */
  className: string | null;
  /** an ID photo is kept for this person (GET …/passages/:eventId/photo) */
  photo: boolean;
  /** students' record id, visitors' id: what the audit log names */
  ref: string;
}

export interface Passage extends PassageActions {
  event: AccessStoredEvent;
  holder: PassageHolder | null;
}

/** Verdicts that a person at the gate must look at: their cards stay until acknowledged. */
export const ALERT_DECISIONS: readonly AccessEvent['decision'][] = ['mismatch', 'spoof_suspected'];

export interface PassageQuery {
  /** ISO time (edge time): passages at or after it; default 12 h ago */
  since?: string;
  /** specific passages (the ones a console just received over /ws) */
  ids?: readonly string[];
  /** only mismatch / spoof cards nobody acknowledged or overrode yet */
  pending?: boolean;
  limit: number;
}

export type GateErrorCode =
  | 'GATE_ERR_NOT_FOUND'
  | 'GATE_ERR_NO_PHOTO'
  | 'GATE_ERR_INPUT'
  | 'VISITOR_ERR_INPUT'
  | 'VISITOR_ERR_ID_NUMBER'
  | 'VISITOR_ERR_NOT_FOUND'
  | 'VISITOR_ERR_SIGNING_KEY'
  | 'VISITOR_ERR_PASS';

export interface VisitorEntry {
  visitor: Visitor;
  pass: { credentialId: string; validUntil: string; revokedAt: string | null; revokedReason: string | null } | null;
}

export interface GateServiceDeps {
  db: Database;
  /** where `keys/id-photo.key` lives; the key is opened only when a photo is asked for */
  dataDir: string;
  keys: SigningKeyStore;
  now?: () => Date;
}

/** `events` rows of the access kind (every query here filters on it) */
type AccessEventRow = EventRow & { kind: 'access' };

const toEvent = (r: AccessEventRow): AccessStoredEvent => eventFromRow(r) as AccessStoredEvent;

interface HolderRow {
  holder_kind: 'student' | 'visitor';
  student_id: number | null;
  visitor_id: number | null;
  student_first: string | null;
  class_name: string | null;
  visitor_first: string | null;
  has_photo: number;
}

const HOUR_MS = 3_600_000;
export const DEFAULT_SINCE_MS = 12 * HOUR_MS;

export function createGateService(deps: GateServiceDeps) {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());
  const actions = createPassageActionStore(db);
  const visitors = createVisitorService({ db, keys: deps.keys, now });
  const credentials = createCredentialService({ db, keys: deps.keys, now });
  let photoKey: IdPhotoKey | null = null;

  const holderStmt = db.prepare<[string, string], HolderRow>(
    `SELECT c.holder_kind, c.student_id, c.visitor_id, s.first_name AS student_first, s.class_name,
            v.first_name AS visitor_first,
            EXISTS (SELECT 1 FROM id_photos p WHERE p.student_id = c.student_id) AS has_photo
       FROM credentials c
       LEFT JOIN students s ON s.id = c.student_id
       LEFT JOIN visitors v ON v.id = c.visitor_id
      WHERE c.id = ? AND c.site = ?`,
  );
  const eventStmt = db.prepare<[string, string], AccessEventRow>(
    `SELECT * FROM events WHERE id = ? AND site = ? AND kind = 'access'`,
  );

  function holderOf(e: AccessStoredEvent): PassageHolder | null {
    const credentialId = e.payload.credentialId;
    // an unreadable or forged badge names nobody
    if (!credentialId || e.payload.decision === 'unknown_credential') return null;
    const r = holderStmt.get(credentialId, e.site);
    if (!r) return null;
    if (r.holder_kind === 'student') {
      // a student erased since the passage has no name any more
      if (r.student_first === null || r.student_id === null) return null;
      const keeps = getPeopleSite(db, e.site)?.settings.keepIdPhotos ?? false;
      return {
        kind: 'student',
        firstName: r.student_first,
        className: r.class_name,
        photo: keeps && r.has_photo === 1,
        ref: `student:${r.student_id}`,
      };
    }
    if (r.visitor_first === null || r.visitor_id === null) return null;
    return {
      kind: 'visitor',
      firstName: r.visitor_first,
      className: null,
      photo: false,
      ref: `visitor:${r.visitor_id}`,
    };
  }

  function enrich(events: AccessStoredEvent[]): Passage[] {
    const acts = actions.of(events.map((e) => e.id));
    return events.map((event) => ({
      event,
      holder: holderOf(event),
      ack: acts.get(event.id)?.ack ?? null,
      override: acts.get(event.id)?.override ?? null,
    }));
  }

  function accessEvent(site: string, eventId: string): AccessStoredEvent | undefined {
    const r = eventStmt.get(eventId, site);
    return r ? toEvent(r) : undefined;
  }

  function todayAt(site: string): string {
    return localDate(now(), getPeopleSite(db, site)?.settings.timeZone ?? 'Europe/Paris');
  }

  return {
    /** Passages of a site, newest first, with their holder and actions. */
    passages(site: string, q: PassageQuery): Passage[] {
      let rows: AccessEventRow[];
      if (q.ids !== undefined) {
        if (q.ids.length === 0) return [];
        rows = db
          .prepare<string[], AccessEventRow>(
            `SELECT * FROM events WHERE site = ? AND kind = 'access' AND id IN (${q.ids.map(() => '?').join(', ')})
             ORDER BY ts DESC, id DESC`,
          )
          .all(site, ...q.ids);
      } else {
        const since = q.since ?? new Date(now().getTime() - DEFAULT_SINCE_MS).toISOString();
        const pending = q.pending
          ? `AND json_extract(payload, '$.decision') IN (${ALERT_DECISIONS.map(() => '?').join(', ')})
             AND NOT EXISTS (SELECT 1 FROM gate_passage_actions a WHERE a.event_id = events.id)`
          : '';
        rows = db
          .prepare<unknown[], AccessEventRow>(
            `SELECT * FROM events WHERE site = ? AND kind = 'access' AND ts >= ? ${pending}
             ORDER BY ts DESC, id DESC LIMIT ?`,
          )
          .all(site, since, ...(q.pending ? ALERT_DECISIONS : []), q.limit);
      }
      return enrich(rows.map(toEvent));
    },

    /** The kept ID photo of the person behind a passage (JPEG); the caller zeroes it once sent. */
    photo(site: string, eventId: string): Result<{ jpeg: Uint8Array; ref: string }, GateErrorCode> {
      const e = accessEvent(site, eventId);
      if (!e) return fail('GATE_ERR_NOT_FOUND', `no passage ${eventId} at ${site}`);
      const h = holderOf(e);
      if (!h || !h.photo || h.kind !== 'student') return fail('GATE_ERR_NO_PHOTO', 'no ID photo kept for this passage');
      photoKey ??= openIdPhotoKey(deps.dataDir);
      const jpeg = readIdPhoto(db, photoKey, Number(h.ref.slice('student:'.length)));
      if (!jpeg) return fail('GATE_ERR_NO_PHOTO', 'no ID photo kept for this passage');
      return ok({ jpeg, ref: h.ref });
    },

    /** Acknowledge a passage; the first acknowledgement stands (`already`: someone was quicker). */
    ack(
      site: string,
      eventId: string,
      a: { note: string | null; actor: string },
    ): Result<{ passage: Passage; already: boolean }, GateErrorCode> {
      const e = accessEvent(site, eventId);
      if (!e) return fail('GATE_ERR_NOT_FOUND', `no passage ${eventId} at ${site}`);
      const inserted = actions.ack({ eventId, site, note: a.note, actor: a.actor, at: now().toISOString() });
      return ok({ passage: enrich([e])[0]!, already: !inserted });
    },

    override(
      site: string,
      eventId: string,
      o: { decision: OverrideDecision; reason: string; actor: string },
    ): Result<{ passage: Passage }, GateErrorCode> {
      const reason = o.reason.trim();
      if (reason.length < 3) return fail('GATE_ERR_INPUT', 'a reason is required (3 characters at least)');
      const e = accessEvent(site, eventId);
      if (!e) return fail('GATE_ERR_NOT_FOUND', `no passage ${eventId} at ${site}`);
      actions.override({ eventId, site, decision: o.decision, reason, actor: o.actor, at: now().toISOString() });
      return ok({ passage: enrich([e])[0]! });
    },

    /** Register a visitor and issue the day pass (badge only, valid today). */
    registerVisitor(input: RegisterVisitorInput): Result<VisitorEntry, GateErrorCode> {
      const r = visitors.register(input);
      if (!r.ok) return r;
      // the token is not needed here: the pass is rendered on demand (badge-only tokens re-sign identically)
      r.value.pass.token.fill(0);
      return ok({
        visitor: r.value.visitor,
        pass: {
          credentialId: r.value.pass.credentialId,
          validUntil: r.value.pass.validUntil,
          revokedAt: null,
          revokedReason: null,
        },
      });
    },

    /** Visitors of the site registered on `day` (default: today, site time), newest first. */
    visitorsOf(site: string, day?: string): { day: string; visitors: VisitorEntry[] } {
      const d = day ?? todayAt(site);
      const rows = db
        .prepare<
          [string, string],
          {
            id: number;
            credential_id: string | null;
            valid_until: string | null;
            revoked_at: string | null;
            revoked_reason: string | null;
          }
        >(
          `SELECT v.id, c.id AS credential_id, c.valid_until, c.revoked_at, c.revoked_reason
             FROM visitors v LEFT JOIN credentials c ON c.visitor_id = v.id
            WHERE v.site = ? AND v.visit_day = ?
            ORDER BY v.registered_at DESC, v.id DESC, c.issued_at DESC`,
        )
        .all(site, d);
      const seen = new Set<number>();
      const out: VisitorEntry[] = [];
      for (const r of rows) {
        if (seen.has(r.id)) continue;
        seen.add(r.id);
        const visitor = visitors.get(r.id);
        if (!visitor) continue;
        out.push({
          visitor,
          pass: r.credential_id
            ? {
                credentialId: r.credential_id,
                validUntil: r.valid_until!,
                revokedAt: r.revoked_at,
                revokedReason: r.revoked_reason,
              }
            : null,
        });
      }
      return { day: d, visitors: out };
    },

    /** The day pass as a printable card or a QR code alone (PNG). */
    async visitorPass(
      site: string,
      visitorId: number,
      format: 'card' | 'qr',
    ): Promise<Result<{ png: Buffer; credentialId: string }, GateErrorCode>> {
      const v = visitors.get(visitorId);
      if (!v || v.site !== site) return fail('VISITOR_ERR_NOT_FOUND', `no visitor ${visitorId} at ${site}`);
      const cred = db
        .prepare<[number], { id: string }>(
          'SELECT id FROM credentials WHERE visitor_id = ? AND revoked_at IS NULL ORDER BY issued_at DESC LIMIT 1',
        )
        .get(visitorId);
      if (!cred) return fail('VISITOR_ERR_PASS', `the pass of visitor ${visitorId} was ended`);
      const token = credentials.tokenFor(cred.id);
      if (!token.ok) return fail('VISITOR_ERR_PASS', token.error.message);
      try {
        const png =
          format === 'qr'
            ? await renderQrPng(token.value.token)
            : await renderCardPng(
                {
                  kind: 'visitor',
                  lastName: v.lastName,
                  firstName: v.firstName,
                  detail: `Reçu par ${v.host}`,
                  validUntil: token.value.validUntil,
                  credentialId: cred.id,
                },
                token.value.token,
              );
        return ok({ png, credentialId: cred.id });
      } finally {
        token.value.token.fill(0);
      }
    },

    endVisit(site: string, visitorId: number, o: { actor: string }): Result<{ revoked: string[] }, GateErrorCode> {
      const v = visitors.get(visitorId);
      if (!v || v.site !== site) return fail('VISITOR_ERR_NOT_FOUND', `no visitor ${visitorId} at ${site}`);
      return visitors.endVisit(visitorId, o);
    },
  };
}

export type GateService = ReturnType<typeof createGateService>;
export type { PassageAck, PassageOverride, OverrideDecision };
