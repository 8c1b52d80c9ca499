import type { Database } from 'better-sqlite3';
import { signToken, type IssuedCredential } from './credentials.js';
import { ensurePeopleSite } from './people-sites.js';
import { addReceipt, insertCredential, revokeCredentialRow } from './people-store.js';
import { fail, ok, type Result } from './result.js';
import { addDays, dayNumberOfDate, localDate } from './school-calendar.js';
import type { SigningKeyStore } from './signing-key-store.js';

/**
 * Visitors registered at reception: who, why, whom they visit, which ID document was checked (its
 * number only where the site allows it), and a badge-only day pass valid today. Visitor records
 * have their own retention (site setting, 90 days by default) and are purged with a receipt.
 */
export const ID_DOCUMENT_TYPES = ['id_card', 'passport', 'driving_licence', 'residence_permit', 'other'] as const;
export type IdDocumentType = (typeof ID_DOCUMENT_TYPES)[number];

export interface Visitor {
  id: number;
  site: string;
  lastName: string;
  firstName: string;
  purpose: string;
  host: string;
  idDocumentType: IdDocumentType;
  idDocumentNumber: string | null;
  idCheckedBy: string;
  /** YYYY-MM-DD, site time */
  visitDay: string;
  registeredAt: string;
  retainUntil: string;
}

export interface RegisterVisitorInput {
  site: string;
  lastName: string;
  firstName: string;
  purpose: string;
  host: string;
  idDocumentType: IdDocumentType;
  /** refused unless the site allows recording it */
  idDocumentNumber?: string;
  actor: string;
}

export type VisitorErrorCode =
  'VISITOR_ERR_INPUT' | 'VISITOR_ERR_ID_NUMBER' | 'VISITOR_ERR_NOT_FOUND' | 'VISITOR_ERR_SIGNING_KEY';

interface VisitorRow {
  id: number;
  site: string;
  last_name: string;
  first_name: string;
  purpose: string;
  host: string;
  id_document_type: IdDocumentType;
  id_document_number: string | null;
  id_checked_by: string;
  visit_day: string;
  registered_at: string;
  retain_until: string;
}

const toVisitor = (r: VisitorRow): Visitor => ({
  id: r.id,
  site: r.site,
  lastName: r.last_name,
  firstName: r.first_name,
  purpose: r.purpose,
  host: r.host,
  idDocumentType: r.id_document_type,
  idDocumentNumber: r.id_document_number,
  idCheckedBy: r.id_checked_by,
  visitDay: r.visit_day,
  registeredAt: r.registered_at,
  retainUntil: r.retain_until,
});

export interface VisitorServiceDeps {
  db: Database;
  keys: SigningKeyStore;
  now?: () => Date;
}

export function createVisitorService(deps: VisitorServiceDeps) {
  const { db, keys } = deps;
  const now = deps.now ?? (() => new Date());
  const get = (visitorId: number): Visitor | undefined => {
    const r = db.prepare<[number], VisitorRow>('SELECT * FROM visitors WHERE id = ?').get(visitorId);
    return r ? toVisitor(r) : undefined;
  };

  return {
    /** Register a visitor and issue the day pass (badge only, valid until the end of today). */
    register(input: RegisterVisitorInput): Result<{ visitor: Visitor; pass: IssuedCredential }, VisitorErrorCode> {
      const fields = { lastName: input.lastName, firstName: input.firstName, purpose: input.purpose, host: input.host };
      for (const [name, value] of Object.entries(fields)) {
        if (!value || !value.trim()) return fail('VISITOR_ERR_INPUT', `${name} is required`);
        if (value.length > 120) return fail('VISITOR_ERR_INPUT', `${name}: at most 120 characters`);
      }
      if (!ID_DOCUMENT_TYPES.includes(input.idDocumentType)) {
        return fail('VISITOR_ERR_INPUT', `ID document type: one of ${ID_DOCUMENT_TYPES.join(', ')}`);
      }
      const t = now();
      const at = t.toISOString();
      const out = db.transaction(() => {
        const site = ensurePeopleSite(db, input.site, { now: t });
        const number = input.idDocumentNumber?.trim() || null;
        if (number && !site.settings.visitorIdNumberAllowed) {
          return fail(
            'VISITOR_ERR_ID_NUMBER',
            `site ${input.site} records only that an ID document was checked, not its number (setting visitorIdNumberAllowed)`,
          );
        }
        const today = localDate(t, site.settings.timeZone);
        const info = db
          .prepare(
            `INSERT INTO visitors (site, last_name, first_name, purpose, host, id_document_type, id_document_number,
               id_checked_by, visit_day, registered_at, retain_until)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            input.site,
            input.lastName.trim(),
            input.firstName.trim(),
            input.purpose.trim(),
            input.host.trim(),
            input.idDocumentType,
            number,
            input.actor,
            today,
            at,
            addDays(today, site.settings.visitorRetentionDays),
          );
        const visitorId = Number(info.lastInsertRowid);
        const record = insertCredential(db, {
          site: input.site,
          holderKind: 'visitor',
          visitorId,
          biometric: false,
          keyId: keys.current().keyId,
          lastValidDay: dayNumberOfDate(today),
          validUntil: today,
          issuedAt: at,
          issuedBy: input.actor,
        });
        const visitor = toVisitor(
          db.prepare<[number], VisitorRow>('SELECT * FROM visitors WHERE id = ?').get(visitorId)!,
        );
        return ok({ visitor, record, siteCode: site.siteCode });
      })();
      if (!out.ok) return out;
      const pass = signToken(keys, out.value.record, out.value.siteCode);
      if (!pass.ok) return fail('VISITOR_ERR_SIGNING_KEY', pass.error.message);
      return ok({ visitor: out.value.visitor, pass: pass.value });
    },

    get,

    /** The visitor left early or the pass was lost: revoke it. */
    endVisit(visitorId: number, o: { actor: string }): Result<{ revoked: string[] }, VisitorErrorCode> {
      return db.transaction(() => {
        const v = get(visitorId);
        if (!v) return fail('VISITOR_ERR_NOT_FOUND', `no visitor ${visitorId}`);
        const ids = db
          .prepare<[number], { id: string }>('SELECT id FROM credentials WHERE visitor_id = ? AND revoked_at IS NULL')
          .all(visitorId)
          .map((r) => r.id);
        for (const id of ids)
          revokeCredentialRow(db, id, { reason: 'visit-ended', actor: o.actor, at: now().toISOString() });
        return ok({ revoked: ids });
      })();
    },

    /** Retention: delete visitor records past their date, one receipt each. For the purge job. */
    purgeExpired(o: { actor?: string } = {}): { visitorsDeleted: number } {
      const t = now();
      return db.transaction(() => {
        let visitorsDeleted = 0;
        const sites = db.prepare<[], { site: string }>('SELECT DISTINCT site FROM visitors').all();
        for (const { site } of sites) {
          const today = localDate(t, ensurePeopleSite(db, site).settings.timeZone);
          const due = db
            .prepare<[string, string], { id: number }>('SELECT id FROM visitors WHERE site = ? AND retain_until < ?')
            .all(site, today);
          for (const { id } of due) {
            db.prepare('DELETE FROM visitors WHERE id = ?').run(id);
            addReceipt(db, {
              site,
              subject: `visitor:${id}`,
              what: { visitor: true },
              reason: 'retention',
              actor: o.actor ?? 'system',
              at: t.toISOString(),
            });
            visitorsDeleted += 1;
          }
        }
        return { visitorsDeleted };
      })();
    },
  };
}

export type VisitorService = ReturnType<typeof createVisitorService>;
