import type { ApiClient, ApiResult } from '../api/api-client.js';

/**
 * The second factor, seen from the console: enrolment (setup → confirm, which returns the recovery
 * codes once) and the regeneration of recovery codes. The server owns the secret; the console
 * shows it (QR code and text) only during enrolment and never stores it.
 */
export interface TotpSetup {
  secret: string;
  /** otpauth:// URI, rendered as a QR code */
  uri: string;
  confirmWithin: number;
}

export interface TotpApi {
  setup(): Promise<ApiResult<TotpSetup>>;
  confirm(code: string): Promise<ApiResult<{ recoveryCodes: string[] }>>;
  regenerate(code: string): Promise<ApiResult<{ recoveryCodes: string[] }>>;
}

export function totpApi(api: ApiClient): TotpApi {
  return {
    setup: () => api.send<TotpSetup>('POST', '/api/auth/totp/setup'),
    confirm: (code) => api.send('POST', '/api/auth/totp/confirm', { code }),
    regenerate: (code) => api.send('POST', '/api/auth/totp/recovery-codes', { code }),
  };
}

/** What a person types from an authenticator app: digits only, 6 of them. */
export function cleanTotpCode(typed: string): string {
  return typed.replace(/\D/g, '').slice(0, 6);
}

/** The secret in groups of four, easier to type by hand when the QR code cannot be scanned. */
export function groupSecret(secret: string): string {
  return secret.match(/.{1,4}/g)?.join(' ') ?? secret;
}

/** A text file of the recovery codes, to print or keep in a safe place (no secret besides them). */
export function recoveryCodesText(username: string, codes: readonly string[], issuedAtIso: string): string {
  return [
    `Portail — codes de secours / recovery codes — ${username}`,
    `${issuedAtIso}`,
    '',
    ...codes.map((c, i) => `${String(i + 1).padStart(2, ' ')}. ${c}`),
    '',
    'Chaque code ne sert qu’une fois. / Each code works once.',
    '',
  ].join('\n');
}
