import type { MessageKey } from '../../i18n/i18n.js';

/**
 * Sections of the admin view, each in its own folder, shown when the account holds one of the
 * permissions somewhere (the server checks every call per site anyway).
 */
export type AdminSectionId = 'sites' | 'people' | 'users' | 'audit' | 'privacy';

export interface AdminSectionSpec {
  id: AdminSectionId;
  labelKey: MessageKey;
  anyOf: readonly string[];
}

export const ADMIN_SECTIONS: readonly AdminSectionSpec[] = [
  {
    id: 'sites',
    labelKey: 'admin.nav.sites',
    anyOf: ['cameras:write', 'zones:write', 'sites:write', 'agents:provision'],
  },
  { id: 'people', labelKey: 'admin.nav.people', anyOf: ['people:read', 'people:write'] },
  { id: 'users', labelKey: 'admin.nav.users', anyOf: ['users:write'] },
  { id: 'audit', labelKey: 'admin.nav.audit', anyOf: ['audit:read'] },
  { id: 'privacy', labelKey: 'admin.nav.privacy', anyOf: ['register:read', 'retention:write'] },
];
