import { describe, expect, it } from 'vitest';
import { createApiClient } from '../api/api-client.js';
import { cleanTotpCode, groupSecret, recoveryCodesText, totpApi } from './totp-api.js';

describe('totp api helpers', () => {
  it('keeps the digits a person typed, six at most', () => {
    expect(cleanTotpCode(' 123 456 ')).toBe('123456');
    expect(cleanTotpCode('12-34-56-78')).toBe('123456');
    expect(cleanTotpCode('abc')).toBe('');
  });

  it('groups the secret by four for typing', () => {
    expect(groupSecret('JBSWY3DPEHPK3PXPJBSW')).toBe('JBSW Y3DP EHPK 3PXP JBSW');
  });

  it('writes the recovery codes one per line, numbered', () => {
    const text = recoveryCodesText('adm', ['AAAA-BBBB-CCCC-DDDD', 'EEEE-FFFF-GGGG-HHHH'], '2026-03-02T07:30:00.000Z');
    expect(text.split('\n')).toEqual(
      expect.arrayContaining([' 1. AAAA-BBBB-CCCC-DDDD', ' 2. EEEE-FFFF-GGGG-HHHH', '2026-03-02T07:30:00.000Z']),
    );
  });

  it('posts setup, confirm and regeneration with the CSRF token', async () => {
    const calls: Array<{ url: string; init: RequestInit }> = [];
    const fetchFn = (async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      return new Response(JSON.stringify({ recoveryCodes: ['X'] }), { status: 200 });
    }) as unknown as typeof fetch;
    const api = totpApi(createApiClient({ csrfToken: 'tok', fetchFn }));
    await api.setup();
    await api.confirm('123456');
    await api.regenerate('654321');
    expect(calls.map((c) => c.url)).toEqual([
      '/api/auth/totp/setup',
      '/api/auth/totp/confirm',
      '/api/auth/totp/recovery-codes',
    ]);
    expect(calls.every((c) => (c.init.headers as Record<string, string>)['X-CSRF-Token'] === 'tok')).toBe(true);
    expect(JSON.parse(calls[2]!.init.body as string)).toEqual({ code: '654321' });
  });
});
