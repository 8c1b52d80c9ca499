import type { ApiClient, ApiResult } from '../../../api/api-client.js';
import type { SessionInfo } from '../../../auth/session.js';

/**
 * The privacy screens' side of the control server's privacy routes (docs/privacy.md): the retention
 * table of a site with its hard limits, the register of processing (Markdown download), the pilot
 * declaration and its summary, and the equal-service figures per gate. No personal data in any.
 */
export const RETENTION_KEYS = [
  'accessEventsDays',
  'movementEventsDays',
  'cameraEventsDays',
  'visitorsDays',
  'departedStudentsDays',
] as const;
export type RetentionKey = (typeof RETENTION_KEYS)[number];

export interface RetentionLimit {
  defaultDays: number;
  minDays: number;
  maxDays: number;
}

export interface Retention {
  site: string;
  policy: Record<RetentionKey, number>;
  limits: Record<RetentionKey, RetentionLimit>;
  customised: boolean;
  updatedAt: string | null;
  updatedBy: string | null;
  server: { policy: { auditLogDays: number }; limits: { auditLogDays: RetentionLimit } };
  lastPurge: { at?: string; finishedAt?: string } | null;
}

export interface Pilot {
  id: number;
  site: string;
  startsOn: string;
  endsOn: string;
  declaredBy: string;
  endedAt: string | null;
  summary: Record<string, unknown> | null;
}

export interface PilotState {
  pilot: Pilot | null;
  state: 'scheduled' | 'running' | 'due' | 'ended' | null;
  today: string;
}

export interface LaneFigures {
  passages: number;
  timed: number;
  untimed: number;
  incomplete: number;
  medianMs: number | null;
  p95Ms: number | null;
}

export interface GateFigures {
  agent?: string;
  camera?: string;
  badgeOnly: LaneFigures;
  biometric: LaneFigures;
  medianRatio: number | null;
}

export interface EqualService {
  site: string;
  from: string;
  to: string;
  gates: GateFigures[];
  all: GateFigures;
}

/** Sites where the session reads the register (site admins and regional IT). */
export function privacySitesOf(s: SessionInfo): '*' | string[] {
  if (s.authMode === 'disabled') return '*';
  const sites = s.permissions['register:read'];
  if (sites === '*') return '*';
  return sites ? [...sites].sort() : [];
}

/** retention:write at the site: site admins only. */
export function canWriteRetention(s: SessionInfo, site: string): boolean {
  if (s.authMode === 'disabled') return true;
  const sites = s.permissions['retention:write'];
  return sites === '*' || (sites !== undefined && sites.includes(site));
}

/**
 * A typed period checked against its hard limits before it is sent (the server refuses beyond
 * them anyway): the number, or why not.
 */
export function parseDays(
  text: string,
  limit: RetentionLimit,
): { ok: true; days: number } | { ok: false; reason: 'not_a_number' | 'below' | 'above' } {
  if (!/^\d{1,5}$/.test(text.trim())) return { ok: false, reason: 'not_a_number' };
  const days = Number(text.trim());
  if (days < limit.minDays) return { ok: false, reason: 'below' };
  if (days > limit.maxDays) return { ok: false, reason: 'above' };
  return { ok: true, days };
}

/** Only the periods that changed, for the PUT (the server audits before/after of each). */
export function retentionPatch(
  current: Record<RetentionKey, number>,
  edited: Partial<Record<RetentionKey, number>>,
): Partial<Record<RetentionKey, number>> {
  const out: Partial<Record<RetentionKey, number>> = {};
  for (const k of RETENTION_KEYS) if (edited[k] !== undefined && edited[k] !== current[k]) out[k] = edited[k];
  return out;
}

/** A gate's label: agent / camera, or the whole site. */
export function gateLabel(g: GateFigures): string {
  return g.agent || g.camera ? [g.agent, g.camera].filter(Boolean).join(' / ') : '';
}

export interface PrivacyApi {
  retention(site: string): Promise<ApiResult<{ retention: Retention }>>;
  setRetention(
    site: string,
    patch: Partial<Record<RetentionKey, number>>,
  ): Promise<ApiResult<{ retention: Retention }>>;
  registerUrl(site: string): string;
  pilot(site: string): Promise<ApiResult<PilotState>>;
  declarePilot(site: string, body: { startsOn?: string; endsOn: string }): Promise<ApiResult<PilotState>>;
  equalService(site: string, from?: string, to?: string): Promise<ApiResult<EqualService>>;
}

export function privacyApi(api: ApiClient): PrivacyApi {
  const base = (site: string) => `/api/sites/${encodeURIComponent(site)}`;
  return {
    retention: (site) => api.get(`${base(site)}/privacy/retention`),
    setRetention: (site, patch) => api.send('PUT', `${base(site)}/privacy/retention`, patch),
    registerUrl: (site) => `${base(site)}/privacy/register`,
    pilot: (site) => api.get(`${base(site)}/privacy/pilot`),
    declarePilot: (site, body) => api.send('PUT', `${base(site)}/privacy/pilot`, body),
    equalService: (site, from, to) => {
      const q = new URLSearchParams();
      if (from) q.set('from', from);
      if (to) q.set('to', to);
      const text = q.toString();
      return api.get(`${base(site)}/equal-service${text ? `?${text}` : ''}`);
    },
  };
}
