import type { Database } from 'better-sqlite3';
import { z } from 'zod';
import { readPrivacySiteColumn, upsertPrivacySiteColumn } from './retention-policy.js';

/**
 * What the register needs that the running system cannot know: who the controller is, how to reach
 * the data protection officer, and the processors. Set once per site by its admin; everything else
 * in the register comes from the live configuration.
 */
const text = (max: number) => z.string().trim().min(1).max(max);

export const RegisterInfoSchema = z.strictObject({
  controller: text(200).optional().describe('the controller: the school (name and address); the Région only equips'),
  representative: text(200).optional().describe('who acts for the controller, e.g. « le chef d’établissement »'),
  dpoContact: text(200).optional().describe('how to reach the data protection officer (academy DPO)'),
  processors: z
    .array(
      z.strictObject({
        name: text(200),
        service: text(300).describe('what it does for the controller (hosting, maintenance, …)'),
        location: text(100).describe('where the data is processed'),
      }),
    )
    .max(20)
    .optional(),
});
export type RegisterInfo = z.infer<typeof RegisterInfoSchema>;

export function getRegisterInfo(db: Database, site: string): RegisterInfo {
  const parsed = RegisterInfoSchema.safeParse(readPrivacySiteColumn(db, site, 'register_info'));
  // stored by this module after validation; an unreadable value (manual edit) reads as "not filled in"
  return parsed.success ? parsed.data : {};
}

export type RegisterInfoResult =
  { ok: true; value: RegisterInfo } | { ok: false; error: { code: 'REGISTER_ERR_INVALID'; message: string } };

/** Replace the given fields (a field absent from the patch is kept). */
export function setRegisterInfo(
  db: Database,
  site: string,
  patch: unknown,
  o: { actor: string; now: Date },
): RegisterInfoResult {
  const parsed = RegisterInfoSchema.safeParse(patch);
  if (!parsed.success) {
    const message = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
    return { ok: false, error: { code: 'REGISTER_ERR_INVALID', message } };
  }
  return db.transaction((): RegisterInfoResult => {
    const next = { ...getRegisterInfo(db, site), ...parsed.data };
    upsertPrivacySiteColumn(db, site, 'register_info', next, { actor: o.actor, at: o.now.toISOString() });
    return { ok: true, value: next };
  })();
}
