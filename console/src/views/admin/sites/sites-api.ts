import type { ApiClient, ApiResult } from '../../../api/api-client.js';
import type { ConfigIssue, ConfigVersionView, Draft, LocationType } from './editor-model.js';
import { requestBody } from './editor-model.js';

/**
 * The « sites » section's calls to the control server, with the answers restated from the wire
 * (control-server/src/http/routes/site-routes.ts, agent-config-routes.ts, camera-routes.ts).
 */

export interface SiteSummary {
  site: string;
  name: string;
  timeZone: string;
  settings: { address?: string; notes?: string };
  declared: boolean;
  updatedAt: string | null;
  updatedBy: string | null;
  agents: { total: number; online: number };
  /** only for accounts holding people:read at the site */
  people?: { students: number; enrolled: number };
}

export interface ConfigStateView {
  appliedVersion: number | null;
  result: 'applied' | 'rejected';
  receivedVersion: number | null;
  errors?: string[];
  ts: string;
}

export interface AgentConfigView {
  site: string;
  agent: string;
  current: ConfigVersionView | null;
  publication: { version: number; publishedAt: string | null; error?: string } | null;
  brokerVersion: number | null;
  state: ConfigStateView | null;
  appliedVersion: number | null;
  agentState: 'online' | 'offline' | 'unknown';
  cameras: Array<{ id: string; role: 'gate' | 'tracking' | 'both'; state: string }>;
}

export interface CameraView {
  site: string;
  agent: string;
  camera: string;
  registered: boolean;
  name: string | null;
  role: string | null;
  locationType: LocationType | null;
  trackingEnabled: boolean | null;
  hasUrl: boolean;
  url?: string | null;
  reported: { role: string; state: string } | null;
}

export interface CameraInput {
  name: string;
  role: 'gate' | 'tracking' | 'both';
  locationType: LocationType;
  trackingEnabled: boolean;
  /** absent: keep the stored URL */
  rtspUrl?: string | null;
}

export interface SiteInput {
  name: string;
  timeZone: string;
  settings: { address?: string; notes?: string };
}

export type SaveConfigAnswer = { version: number; unchanged: boolean; current: ConfigVersionView };

const enc = encodeURIComponent;
const agentPath = (site: string, agent: string) => `/api/sites/${enc(site)}/agents/${enc(agent)}`;

export function sitesApi(api: ApiClient) {
  return {
    listSites: () => api.get<{ sites: SiteSummary[] }>('/api/sites'),
    writeSite: (site: string, input: SiteInput, create: boolean) =>
      api.send<{ site: SiteSummary }>(create ? 'POST' : 'PUT', `/api/sites/${enc(site)}`, input),
    agentConfig: (site: string, agent: string) => api.get<AgentConfigView>(`${agentPath(site, agent)}/config`),
    configHistory: (site: string, agent: string) =>
      api.get<{ versions: ConfigVersionView[] }>(`${agentPath(site, agent)}/config/history?limit=20`),
    saveConfig: (site: string, agent: string, draft: Draft, baseVersion: number | null) =>
      api.send<SaveConfigAnswer>('PUT', `${agentPath(site, agent)}/config`, requestBody(draft, baseVersion)),
    cameras: (site: string) => api.get<{ cameras: CameraView[] }>(`/api/sites/${enc(site)}/cameras`),
    putCamera: (site: string, agent: string, camera: string, input: CameraInput) =>
      api.send<{ camera: CameraView }>('PUT', `${agentPath(site, agent)}/cameras/${enc(camera)}`, input),
    snapshotPath: (site: string, agent: string, camera: string) =>
      `${agentPath(site, agent)}/cameras/${enc(camera)}/snapshot`,
    /** the latest camera events of a site: their width/height give a camera's frame size */
    cameraEvents: (site: string) =>
      api.get<{ events: Array<{ agent: string; camera: string; payload: { width?: number; height?: number } }> }>(
        `/api/events?kind=camera&site=${enc(site)}&limit=200`,
      ),
  };
}
export type SitesApi = ReturnType<typeof sitesApi>;

/** The validation issues of a failed save (400 CONFIG_INVALID / SITE_INVALID), else none. */
export function issuesOf(r: ApiResult<unknown>): ConfigIssue[] {
  if (r.ok) return [];
  const body = r.body as { issues?: unknown } | null;
  return Array.isArray(body?.issues)
    ? body.issues.flatMap((i: unknown) => {
        const x = i as { path?: unknown; message?: unknown };
        return typeof x.path === 'string' && typeof x.message === 'string'
          ? [{ path: x.path, message: x.message }]
          : [];
      })
    : [];
}
