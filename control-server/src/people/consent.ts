import type { Database } from 'better-sqlite3';
import { ensurePeopleSite } from './people-sites.js';
import { getStudent, liveCredentialsOfStudent, type Student } from './people-store.js';
import { fail, ok, type Result } from './result.js';
import { ageOn, isIsoDate, localDate } from './school-calendar.js';
import type { SigningKeyStore } from './signing-key-store.js';
import { withdrawBiometricsInTx, type WithdrawalResult } from './withdrawal.js';

/**
 * Consent to biometrics: the student's own and, while the student is a minor (age of majority per
 * site, 18 by default), each legal guardian's. Records are append-only; the state of a party is its
 * latest record. Only biometrics need consent: the badge is the default for everyone, and a refusal
 * changes nothing else for the student (same card, same lane).
 */
export const CONSENT_PARTIES = ['student', 'guardian1', 'guardian2'] as const;
export type ConsentParty = (typeof CONSENT_PARTIES)[number];

export const CONSENT_CHANNELS = ['paper', 'online', 'in_person', 'email', 'mail'] as const;
export type ConsentChannel = (typeof CONSENT_CHANNELS)[number];

export type ConsentAction = 'grant' | 'refuse' | 'withdraw';
export type ConsentState = 'granted' | 'refused' | 'withdrawn' | 'none';

export interface ConsentRecord {
  id: number;
  studentId: number;
  party: ConsentParty;
  action: ConsentAction;
  channel: ConsentChannel;
  noticeVersion: string;
  /** the date on the form, YYYY-MM-DD */
  effectiveAt: string;
  recordedAt: string;
  recordedBy: string;
}

export interface PartyStatus {
  party: ConsentParty;
  state: ConsentState;
  required: boolean;
  latest: ConsentRecord | null;
}

export interface ConsentStatus {
  studentId: number;
  age: number;
  minor: boolean;
  parties: PartyStatus[];
}

export interface MissingConsent {
  party: ConsentParty;
  state: Exclude<ConsentState, 'granted'>;
}

export type EnrolEligibility =
  { ok: true } | { ok: false; reason: 'student-departed' | 'consent-missing'; missing: MissingConsent[] };

interface ConsentRow {
  id: number;
  student_id: number;
  party: ConsentParty;
  action: ConsentAction;
  channel: ConsentChannel;
  notice_version: string;
  effective_at: string;
  recorded_at: string;
  recorded_by: string;
}

const toRecord = (r: ConsentRow): ConsentRecord => ({
  id: r.id,
  studentId: r.student_id,
  party: r.party,
  action: r.action,
  channel: r.channel,
  noticeVersion: r.notice_version,
  effectiveAt: r.effective_at,
  recordedAt: r.recorded_at,
  recordedBy: r.recorded_by,
});

const STATE_OF: Record<ConsentAction, ConsentState> = { grant: 'granted', refuse: 'refused', withdraw: 'withdrawn' };

/** Which parties must have granted: the student always; guardians while a minor (as many as the student has). */
export function requiredParties(
  student: Pick<Student, 'birthDate' | 'guardianCount'>,
  today: string,
  ageOfMajority: number,
): ConsentParty[] {
  const minor = ageOn(student.birthDate, today) < ageOfMajority;
  const guardians = minor ? CONSENT_PARTIES.slice(1, 1 + student.guardianCount) : [];
  return ['student', ...guardians];
}

/** Pure: the status from the records of one student (any order). */
export function consentStatusOf(
  student: Pick<Student, 'id' | 'birthDate' | 'guardianCount'>,
  records: readonly ConsentRecord[],
  today: string,
  ageOfMajority: number,
): ConsentStatus {
  const required = new Set(requiredParties(student, today, ageOfMajority));
  const age = ageOn(student.birthDate, today);
  const parties = CONSENT_PARTIES.map((party): PartyStatus => {
    const latest =
      records
        .filter((r) => r.party === party)
        .sort((a, b) => a.id - b.id)
        .at(-1) ?? null;
    return { party, state: latest ? STATE_OF[latest.action] : 'none', required: required.has(party), latest };
  });
  return { studentId: student.id, age, minor: age < ageOfMajority, parties };
}

export function missingConsents(status: ConsentStatus): MissingConsent[] {
  return status.parties
    .filter((p) => p.required && p.state !== 'granted')
    .map((p) => ({ party: p.party, state: p.state as MissingConsent['state'] }));
}

export interface RecordConsentInput {
  studentId: number;
  party: ConsentParty;
  action: ConsentAction;
  channel: ConsentChannel;
  /** version of the information notice the person was given */
  noticeVersion: string;
  /** the date on the form (YYYY-MM-DD); default today */
  effectiveAt?: string;
  actor: string;
}

export type ConsentErrorCode = 'CONSENT_ERR_STUDENT' | 'CONSENT_ERR_INPUT';

export interface RecordConsentResult {
  record: ConsentRecord;
  status: ConsentStatus;
  /** set when this refusal or withdrawal ended an enrolment: the biometric data was deleted */
  withdrawal: WithdrawalResult | null;
}

export interface ConsentServiceDeps {
  db: Database;
  keys: SigningKeyStore;
  now?: () => Date;
}

export function createConsentService(deps: ConsentServiceDeps) {
  const { db, keys } = deps;
  const now = deps.now ?? (() => new Date());
  const recordsOf = db.prepare<[number], ConsentRow>(
    "SELECT * FROM consent_records WHERE student_id = ? AND purpose = 'biometrics' ORDER BY id",
  );
  const statusAt = (student: Student, at: Date): ConsentStatus => {
    const site = ensurePeopleSite(db, student.site);
    return consentStatusOf(
      student,
      recordsOf.all(student.id).map(toRecord),
      localDate(at, site.settings.timeZone),
      site.settings.ageOfMajority,
    );
  };

  return {
    /**
     * Record a grant, refusal or withdrawal. When it leaves a required party without a grant while
     * the student holds biometric data, that data is deleted in the same transaction (withdrawal:
     * ciphertext deleted, credential revoked, badge-only credential issued in its place).
     */
    record(input: RecordConsentInput): Result<RecordConsentResult, ConsentErrorCode> {
      if (!CONSENT_PARTIES.includes(input.party)) return fail('CONSENT_ERR_INPUT', `unknown party ${input.party}`);
      if (!CONSENT_CHANNELS.includes(input.channel)) {
        return fail('CONSENT_ERR_INPUT', `unknown channel ${input.channel} (${CONSENT_CHANNELS.join(', ')})`);
      }
      if (!['grant', 'refuse', 'withdraw'].includes(input.action))
        return fail('CONSENT_ERR_INPUT', `unknown action ${input.action}`);
      const notice = input.noticeVersion.trim();
      if (!/^[\w.-]{1,40}$/.test(notice)) {
        return fail('CONSENT_ERR_INPUT', 'notice version: 1 to 40 letters, digits, dots, dashes or underscores');
      }
      const t = now();
      return db.transaction((): Result<RecordConsentResult, ConsentErrorCode> => {
        const student = getStudent(db, input.studentId);
        if (!student) return fail('CONSENT_ERR_STUDENT', `no student ${input.studentId}`);
        const site = ensurePeopleSite(db, student.site);
        const today = localDate(t, site.settings.timeZone);
        const effectiveAt = input.effectiveAt ?? today;
        if (!isIsoDate(effectiveAt) || effectiveAt > today) {
          return fail('CONSENT_ERR_INPUT', `date of the form ${effectiveAt}: a past or present YYYY-MM-DD date`);
        }
        if (input.party !== 'student' && Number(input.party.slice(-1)) > student.guardianCount) {
          return fail(
            'CONSENT_ERR_INPUT',
            `student ${student.externalId} has ${student.guardianCount} legal guardian(s) on record: set the count first`,
          );
        }
        if (
          input.action === 'withdraw' &&
          statusAt(student, t).parties.find((p) => p.party === input.party)!.state !== 'granted'
        ) {
          return fail(
            'CONSENT_ERR_INPUT',
            `${input.party} has not granted consent: record a refusal instead of a withdrawal`,
          );
        }
        const info = db
          .prepare(
            `INSERT INTO consent_records (student_id, purpose, party, action, channel, notice_version, effective_at, recorded_at, recorded_by)
             VALUES (?, 'biometrics', ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(student.id, input.party, input.action, input.channel, notice, effectiveAt, t.toISOString(), input.actor);
        const record = toRecord(
          db
            .prepare<[number], ConsentRow>('SELECT * FROM consent_records WHERE id = ?')
            .get(Number(info.lastInsertRowid))!,
        );
        let status = statusAt(student, t);
        let withdrawal: WithdrawalResult | null = null;
        const enrolled = liveCredentialsOfStudent(db, student.id).some((c) => c.biometric);
        if (input.action !== 'grant' && enrolled && missingConsents(status).length > 0) {
          withdrawal = withdrawBiometricsInTx(db, keys, student, {
            actor: input.actor,
            reason: input.action === 'withdraw' ? 'consent-withdrawn' : 'consent-refused',
            now: t,
          });
          status = statusAt(student, t);
        }
        return ok({ record, status, withdrawal });
      })();
    },

    status(studentId: number): ConsentStatus | undefined {
      const s = getStudent(db, studentId);
      return s ? statusAt(s, now()) : undefined;
    },

    history(studentId: number): ConsentRecord[] {
      return recordsOf.all(studentId).map(toRecord);
    },

    /** Whether the student may be enrolled in biometrics at `at`, else what is missing. */
    canEnrolBiometrics(studentId: number, at: Date = now()): EnrolEligibility {
      const s = getStudent(db, studentId);
      if (!s || s.status !== 'active') return { ok: false, reason: 'student-departed', missing: [] };
      const missing = missingConsents(statusAt(s, at));
      return missing.length === 0 ? { ok: true } : { ok: false, reason: 'consent-missing', missing };
    },

    /** How many legal guardians consent for this student while a minor (0: emancipated). */
    setGuardianCount(studentId: number, count: 0 | 1 | 2): Result<Student, ConsentErrorCode> {
      if (![0, 1, 2].includes(count)) return fail('CONSENT_ERR_INPUT', 'guardian count is 0, 1 or 2');
      const s = getStudent(db, studentId);
      if (!s) return fail('CONSENT_ERR_STUDENT', `no student ${studentId}`);
      db.prepare('UPDATE students SET guardian_count = ?, updated_at = ? WHERE id = ?').run(
        count,
        now().toISOString(),
        studentId,
      );
      return ok(getStudent(db, studentId)!);
    },
  };
}

export type ConsentService = ReturnType<typeof createConsentService>;
