import type { ApiClient, ApiResult } from '../../../api/api-client.js';
import type { SessionInfo } from '../../../auth/session.js';
import type { ImportJobView } from '../../../live/wire.js';

/**
 * The « people » section's calls to the control server (control-server/src/http/routes/people-routes.ts,
 * docs/api.md "People"), with the answers restated from the wire, and the pure helpers the views use.
 */

export type ConsentSummary = 'complete' | 'partial' | 'refused' | 'none';
export type ConsentParty = 'student' | 'guardian1' | 'guardian2';
export type ConsentAction = 'grant' | 'refuse' | 'withdraw';
export type ConsentState = 'granted' | 'refused' | 'withdrawn' | 'none';
export const CONSENT_PARTIES: readonly ConsentParty[] = ['student', 'guardian1', 'guardian2'];
export const CONSENT_CHANNELS = ['paper', 'online', 'in_person', 'email', 'mail'] as const;
export type ConsentChannel = (typeof CONSENT_CHANNELS)[number];

export interface StudentSummary {
  id: number;
  externalId: string;
  lastName: string;
  firstName: string;
  className: string;
  birthDate: string;
  status: 'active' | 'departed';
  minor: boolean;
  consent: ConsentSummary;
  credential: { id: string; biometric: boolean; validUntil: string } | null;
}

export interface ConsentRecordView {
  id: number;
  party: ConsentParty;
  action: ConsentAction;
  channel: ConsentChannel;
  noticeVersion: string;
  effectiveAt: string;
  recordedAt: string;
  recordedBy: string;
}

export interface PartyStatusView {
  party: ConsentParty;
  state: ConsentState;
  required: boolean;
  latest: ConsentRecordView | null;
}

export interface CredentialView {
  id: string;
  biometric: boolean;
  validUntil: string;
  issuedAt: string;
  revokedAt: string | null;
  revokedReason: string | null;
  hasTemplate: boolean;
  downloadableUntil: string | null;
}

export interface StudentDetail {
  student: StudentSummary & { guardianCount: number; departedAt: string | null };
  consent: { age: number; minor: boolean; parties: PartyStatusView[] };
  consentHistory: ConsentRecordView[];
  canEnrol: { ok: true } | { ok: false; reason: string; missing: Array<{ party: ConsentParty; state: string }> };
  credentials: CredentialView[];
}

export interface ImportReportView {
  rows: number;
  inserted: number;
  updated: number;
  unchanged: number;
  departed: number;
  errors: Array<{ line: number; column: string | null; reason: string }>;
}

export interface SyncStateView {
  site: string;
  version: number | null;
  published: { version: number; publishedAt: string | null } | null;
  agents: Array<{
    agent: string;
    state: string;
    appliedVersion: number | null;
    result: 'applied' | 'rejected' | null;
    acknowledgedAt: string | null;
    errors: string[];
    upToDate: boolean;
  }>;
}

export interface Downloads {
  card: string;
  pdf: string;
  qr: string;
  until: string | null;
}

const enc = encodeURIComponent;

export function peopleApi(api: ApiClient, site: string) {
  const base = `/api/sites/${enc(site)}`;
  return {
    list: (q: string, status: 'active' | 'departed' | 'all') =>
      api.get<{ total: number; students: StudentSummary[] }>(
        `${base}/students?limit=500&status=${status}${q.trim() ? `&q=${enc(q.trim())}` : ''}`,
      ),
    detail: (id: number) => api.get<StudentDetail>(`${base}/students/${id}`),
    importCsv: (file: File, allowMassDeparture = false) => {
      const form = new FormData();
      form.append('file', file);
      return api.upload<{ job: ImportJobView }>(
        `${base}/students/imports${allowMassDeparture ? '?allowMassDeparture=true' : ''}`,
        form,
      );
    },
    importJob: (id: string) =>
      api.get<{ job: ImportJobView; report: ImportReportView | null }>(`${base}/students/imports/${enc(id)}`),
    recordConsent: (
      id: number,
      body: {
        party: ConsentParty;
        action: ConsentAction;
        channel: ConsentChannel;
        noticeVersion: string;
        effectiveAt?: string;
      },
    ) => api.send<unknown>('POST', `${base}/students/${id}/consents`, body),
    setGuardians: (id: number, count: 0 | 1 | 2) =>
      api.send<unknown>('PUT', `${base}/students/${id}/guardians`, { count }),
    enrol: (id: number, photo: File) => {
      const form = new FormData();
      form.append('photo', photo);
      return api.upload<{ credential: CredentialView; downloads: Downloads }>(`${base}/students/${id}/enrolment`, form);
    },
    issue: (id: number) =>
      api.send<{ credential: CredentialView; downloads: Downloads }>('POST', `${base}/students/${id}/credentials`),
    reissue: (id: number, reason: string) =>
      api.send<{ credential: CredentialView; biometrics: string; downloads: Downloads }>(
        'POST',
        `${base}/students/${id}/credentials/reissue`,
        { reason },
      ),
    revoke: (credentialId: string, reason: string) =>
      api.send<unknown>('POST', `${base}/credentials/${enc(credentialId)}/revoke`, { reason }),
    withdraw: (id: number) => api.send<unknown>('POST', `${base}/students/${id}/withdrawal`),
    depart: (id: number) => api.send<unknown>('POST', `${base}/students/${id}/departure`),
    sync: () => api.get<SyncStateView>(`${base}/sync`),
    downloadUrl: (credentialId: string, file: 'card.png' | 'card.pdf' | 'qr.png') =>
      `${base}/credentials/${enc(credentialId)}/${file}`,
  };
}
export type PeopleApi = ReturnType<typeof peopleApi>;

/** Sites where the account reads people; `*` when every site (then the site list comes from /api/sites). */
export function peopleSitesOf(s: SessionInfo): '*' | string[] {
  if (s.authMode === 'disabled') return '*';
  const sites = s.permissions['people:read'];
  if (sites === '*') return '*';
  return [...(sites ?? [])].sort();
}

/** Percent of an import job for a progress bar: the parse phase is the first tenth, the write the rest. */
export function importPercent(job: Pick<ImportJobView, 'state' | 'phase' | 'done' | 'total'>): number {
  if (job.state === 'done' || job.state === 'failed') return 100;
  if (job.state === 'queued') return 0;
  const ratio = job.total > 0 ? Math.min(1, job.done / job.total) : 0;
  return Math.round(job.phase === 'write' ? 10 + 90 * ratio : 10 * ratio);
}

/** Which of two views of a job is newer (a push and a poll may cross): the one further along. */
export function laterJob<T extends Pick<ImportJobView, 'state' | 'done' | 'phase'>>(
  a: T | null,
  b: T | null,
): T | null {
  if (!a) return b;
  if (!b) return a;
  const rank = (j: T) =>
    ({ queued: 0, running: 1, done: 2, failed: 2 })[j.state] * 1e12 + (j.phase === 'write' ? 1e9 : 0) + j.done;
  return rank(b) >= rank(a) ? b : a;
}

/** A credential the console can offer the card of: live, and either badge-only or still held after issue. */
export function cardDownloadable(c: CredentialView, nowMs: number = Date.now()): boolean {
  if (c.revokedAt !== null) return false;
  if (c.downloadableUntil !== null && Date.parse(c.downloadableUntil) > nowMs) return true;
  return !c.biometric;
}

/** Error codes the section explains in words (others show the server's message). */
export const KNOWN_ERRORS = [
  'ENROL_ERR_CONSENT',
  'ENROL_ERR_STUDENT',
  'ENROL_ERR_PHOTO_TOO_LARGE',
  'ENROL_ERR_PHOTO_FORMAT',
  'ENROL_ERR_PHOTO_DIMENSIONS',
  'ENROL_ERR_CORRUPT_IMAGE',
  'ENROL_ERR_NO_FACE',
  'ENROL_ERR_SEVERAL_FACES',
  'ENROL_ERR_FACE_TOO_SMALL',
  'ENROL_ERR_BLURRED',
  'ENROL_ERR_POSE',
  'ENROL_ERR_SPOOF',
  'ENROL_ERR_MODELS',
  'REGISTRY_ERR_ENCODING',
  'REGISTRY_ERR_COLUMNS',
  'REGISTRY_ERR_FORMAT',
  'REGISTRY_ERR_EMPTY',
  'REGISTRY_ERR_TOO_LARGE',
  'REGISTRY_ERR_MASS_DEPARTURE',
  'IMPORT_ERR_RUNNING',
  'CONSENT_ERR_INPUT',
  'CREDENTIAL_ERR_EXISTS',
  'CREDENTIAL_ERR_KEY_NOT_KEPT',
  'CREDENTIAL_ERR_REVOKED',
] as const;
export type KnownError = (typeof KNOWN_ERRORS)[number];

export function knownError(code: string): KnownError | null {
  return (KNOWN_ERRORS as readonly string[]).includes(code) ? (code as KnownError) : null;
}

/** The failure of a call as {code, message} for display. */
export function failureText(r: ApiResult<unknown>): { code: string; message: string | null } | null {
  return r.ok ? null : { code: r.error, message: r.message };
}

/** A calendar day (YYYY-MM-DD, a date on a form, not an instant) in the console's language. */
export function formatDay(day: string | null, lang: 'fr' | 'en'): string {
  if (!day || !/^\d{4}-\d{2}-\d{2}$/.test(day)) return '—';
  const [y, m, d] = day.split('-');
  return lang === 'fr' ? `${d}/${m}/${y}` : `${y}-${m}-${d}`;
}
