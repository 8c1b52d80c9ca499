import { hasPermission, type SessionInfo } from '../auth/session.js';
import type { MessageKey } from '../i18n/i18n.js';

/**
 * The console's views and who sees each. The server enforces every permission (403); the console
 * only leaves out what an account could never use, so reception staff never see an admin menu.
 */
export type ViewId = 'gate' | 'live' | 'admin' | 'fleet';

export interface ViewSpec {
  id: ViewId;
  path: string;
  labelKey: MessageKey;
  /** shown when the account holds one of these somewhere */
  anyOf: readonly string[];
}

export const VIEWS: readonly ViewSpec[] = [
  { id: 'gate', path: '/gate', labelKey: 'nav.gate', anyOf: ['overrides:write', 'visitors:write'] },
  { id: 'live', path: '/live', labelKey: 'nav.live', anyOf: ['alerts:ack', 'events.movement:read'] },
  { id: 'fleet', path: '/fleet', labelKey: 'nav.fleet', anyOf: ['stats:read', 'agents:provision'] },
  {
    id: 'admin',
    path: '/admin',
    labelKey: 'nav.admin',
    anyOf: ['people:write', 'cameras:write', 'zones:write', 'users:write', 'sites:write', 'agents:provision'],
  },
];

export function visibleViews(s: SessionInfo): ViewSpec[] {
  return VIEWS.filter((v) => v.anyOf.some((p) => hasPermission(s, p)));
}

/** Where a fresh login lands: the first view the account may use (the gate for reception staff). */
export function homeView(s: SessionInfo): ViewSpec | null {
  return visibleViews(s)[0] ?? null;
}

/** The view a location belongs to (`/admin/people` → admin), or null. */
export function viewOfPath(path: string): ViewSpec | null {
  return VIEWS.find((v) => path === v.path || path.startsWith(`${v.path}/`)) ?? null;
}
