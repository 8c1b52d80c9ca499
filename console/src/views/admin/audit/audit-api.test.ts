import { describe, expect, it } from 'vitest';
import { createApiClient } from '../../../api/api-client.js';
import { auditApi, auditQuery, detailsText, NO_FILTERS } from './audit-api.js';

describe('audit viewer helpers', () => {
  it('builds the query from the filters set, encoded', () => {
    expect(auditQuery(NO_FILTERS)).toBe('');
    expect(auditQuery({ ...NO_FILTERS, site: 's1', actor: 'marie d', action: ' auth ' })).toBe(
      '?site=s1&actor=marie+d&action=auth',
    );
    expect(auditQuery({ ...NO_FILTERS, from: '2026-03-01' }, { limit: '50', cursor: '12' })).toBe(
      '?from=2026-03-01&limit=50&cursor=12',
    );
    // the last day is included: the server's `to` is exclusive
    expect(auditQuery({ ...NO_FILTERS, to: '2026-02-28' })).toBe('?to=2026-03-01');
    // a value cannot add a parameter of its own
    expect(auditQuery({ ...NO_FILTERS, actor: 'x&site=s2' })).toBe('?actor=x%26site%3Ds2');
  });

  it('writes details on one line, and nothing when withheld', () => {
    expect(detailsText({ roles: [{ role: 'reception', site: 's1' }], rows: 3, reason: 'locked' })).toBe(
      'roles: [{"role":"reception","site":"s1"}] · rows: 3 · reason: locked',
    );
    expect(detailsText(null)).toBe('');
  });

  it('asks the pages with the cursor, and points the export at the same filters', async () => {
    const urls: string[] = [];
    const fetchFn = (async (url: string) => {
      urls.push(url);
      return new Response(JSON.stringify({ entries: [], nextCursor: null }), { status: 200 });
    }) as unknown as typeof fetch;
    const a = auditApi(createApiClient({ csrfToken: null, fetchFn }));
    await a.page({ ...NO_FILTERS, site: 's1' }, '42', 20);
    expect(urls).toEqual(['/api/audit?site=s1&limit=20&cursor=42']);
    expect(a.exportUrl({ ...NO_FILTERS, action: 'user' })).toBe('/api/audit/export?action=user');
  });
});
