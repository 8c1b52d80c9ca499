import type { ApiClient, ApiResult } from '../../../api/api-client.js';

/**
 * The audit viewer's side of GET /api/audit, /api/audit/verify and /api/audit/export. The server
 * scopes the rows to the caller's sites and withholds the details of personal-data rows from a
 * reader who may not read the site's people; the viewer shows that as « withheld ».
 */
export interface AuditEntry {
  seq: number;
  ts: string;
  actor: string;
  role: string | null;
  site: string | null;
  action: string;
  target: string | null;
  outcome: 'ok' | 'denied' | 'failed';
  ip: string | null;
  details: Record<string, unknown> | null;
  detailsWithheld: boolean;
}

export interface AuditPage {
  entries: AuditEntry[];
  nextCursor: string | null;
}

export type AuditVerify =
  | { ok: true; rows: number; head: { seq: number; hash: string }; start: { seq: number }; checkedAt: string }
  | { ok: false; rows: number; seq: number; reason: string; start: { seq: number }; checkedAt: string };

export interface AuditFilters {
  /** '' for every site the caller reads */
  site: string;
  /** YYYY-MM-DD, both days included (the server reads a date as midnight UTC) */
  from: string;
  to: string;
  actor: string;
  action: string;
}

export const NO_FILTERS: AuditFilters = { site: '', from: '', to: '', actor: '', action: '' };

function nextDay(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

/** The query string of the filters: empty ones are left out, values encoded. */
export function auditQuery(f: AuditFilters, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  for (const key of ['site', 'from', 'to', 'actor', 'action'] as const) {
    const v = f[key].trim();
    if (v === '') continue;
    // the server's `to` is exclusive: a day picked as the last one is included whole
    params.set(key, key === 'to' && /^\d{4}-\d{2}-\d{2}$/.test(v) ? nextDay(v) : v);
  }
  for (const [k, v] of Object.entries(extra)) params.set(k, v);
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/** One line of details for the table: `key: value` pairs, JSON for nested values. */
export function detailsText(details: Record<string, unknown> | null): string {
  if (!details) return '';
  return Object.entries(details)
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' · ');
}

export interface AuditApi {
  page(f: AuditFilters, cursor: string | null, limit?: number): Promise<ApiResult<AuditPage>>;
  verify(): Promise<ApiResult<AuditVerify>>;
  /** the download address (the browser follows it with the session cookie) */
  exportUrl(f: AuditFilters): string;
}

export function auditApi(api: ApiClient): AuditApi {
  return {
    page: (f, cursor, limit = 100) =>
      api.get(`/api/audit${auditQuery(f, { limit: String(limit), ...(cursor ? { cursor } : {}) })}`),
    verify: () => api.get('/api/audit/verify'),
    exportUrl: (f) => `/api/audit/export${auditQuery(f)}`,
  };
}
