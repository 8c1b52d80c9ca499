import { useEffect, useState } from 'react';
import { useConsole } from '../../api/api-context.js';

export interface AdminSites {
  /** the sites the section may show; null while the list of every site is loading */
  sites: string[] | null;
  site: string | null;
  setSite: (site: string) => void;
}

/**
 * The sites an admin section works on: the account's own sites, or — for a grant on every site
 * (`*`) — the sites directory (`GET /api/sites`). The first one is selected.
 */
export function useAdminSites(allowed: '*' | string[]): AdminSites {
  const { api } = useConsole();
  const [sites, setSites] = useState<string[] | null>(allowed === '*' ? null : allowed);
  const [site, setSite] = useState<string | null>(allowed === '*' ? null : (allowed[0] ?? null));
  useEffect(() => {
    if (allowed !== '*') return;
    void api.get<{ sites: Array<{ site: string }> }>('/api/sites').then((r) => {
      const list = r.ok ? r.value.sites.map((s) => s.site).sort() : [];
      setSites(list);
      setSite((cur) => cur ?? list[0] ?? null);
    });
  }, [api, allowed]);
  return { sites, site, setSite };
}

/** The site selector of an admin section's header; nothing when there is no site to choose. */
export function AdminSitePicker({
  sites,
  site,
  setSite,
  label,
  testId,
  className,
}: AdminSites & { label: string; testId: string; className?: string }) {
  if (!sites || sites.length === 0) return null;
  return (
    <label className={className}>
      {label}{' '}
      <select value={site ?? ''} onChange={(e) => setSite(e.target.value)} data-testid={testId}>
        {sites.map((s) => (
          <option key={s} value={s}>
            {s}
          </option>
        ))}
      </select>
    </label>
  );
}
