import { describe, expect, it } from 'vitest';
import {
  ALL_SITES,
  can,
  canManageGrant,
  PERSONAL_DATA_PERMISSIONS,
  ROLE_PERMISSIONS,
  rolesAt,
  sitesWith,
  validateGrant,
  type Principal,
  type RoleGrant,
} from './permissions.js';
import { checkPasswordPolicy, hashPassword, verifyPassword } from './password.js';
import { base32Decode, base32Encode, hotp, totpAt, verifyTotp } from './totp.js';

const who = (grants: RoleGrant[]): Principal => ({ userId: 1, username: 'u', grants, authDisabled: false });

describe('roles and per-site scoping', () => {
  it('gives regional IT no permission on personal data through its own role', () => {
    for (const perm of PERSONAL_DATA_PERMISSIONS) expect(ROLE_PERMISSIONS.regional_it).not.toContain(perm);
    const it = who([{ role: 'regional_it', site: ALL_SITES }]);
    expect(can(it, 'events.access:read')).toBe(false);
    expect(can(it, 'people:read', 's1')).toBe(false);
    expect(can(it, 'agents:read', 'any-site')).toBe(true);
  });

  it('opens personal data of a site to regional IT only where it is also site admin', () => {
    const p = who([
      { role: 'regional_it', site: ALL_SITES },
      { role: 'site_admin', site: 's1' },
    ]);
    expect(can(p, 'people:read', 's1')).toBe(true);
    expect(can(p, 'people:read', 's2')).toBe(false);
    expect(sitesWith(p, 'events.access:read')).toEqual(new Set(['s1']));
    expect(sitesWith(p, 'events.camera:read')).toBe(ALL_SITES);
    expect(rolesAt(p, 's1')).toEqual(['regional_it', 'site_admin']);
    expect(rolesAt(p, 's2')).toEqual(['regional_it']);
  });

  it('scopes a site role to its site', () => {
    const rec = who([{ role: 'reception', site: 's1' }]);
    expect(can(rec, 'events.access:read', 's1')).toBe(true);
    expect(can(rec, 'events.access:read', 's2')).toBe(false);
    expect(can(rec, 'events.movement:read')).toBe(false);
    expect(can(rec, 'users:read')).toBe(false);
  });

  it('lets a site admin grant site roles on its site only, and only regional IT grant regional IT', () => {
    const adm = who([{ role: 'site_admin', site: 's1' }]);
    expect(canManageGrant(adm, { role: 'supervisor', site: 's1' })).toBe(true);
    expect(canManageGrant(adm, { role: 'site_admin', site: 's1' })).toBe(true);
    expect(canManageGrant(adm, { role: 'supervisor', site: 's2' })).toBe(false);
    expect(canManageGrant(adm, { role: 'regional_it', site: 's1' })).toBe(false);
    const itS1 = who([{ role: 'regional_it', site: 's1' }]);
    expect(canManageGrant(itS1, { role: 'regional_it', site: 's1' })).toBe(true);
    expect(canManageGrant(itS1, { role: 'regional_it', site: ALL_SITES })).toBe(false);
    expect(
      canManageGrant(who([{ role: 'regional_it', site: ALL_SITES }]), { role: 'regional_it', site: ALL_SITES }),
    ).toBe(true);
  });

  it('validates grants: * is for regional IT only, site ids are topic-safe', () => {
    expect(validateGrant({ role: 'regional_it', site: '*' })).toBeNull();
    expect(validateGrant({ role: 'site_admin', site: '*' })).toMatch(/only regional_it/);
    expect(validateGrant({ role: 'reception', site: 'lycee-a' })).toBeNull();
    expect(validateGrant({ role: 'reception', site: 'a/b' })).toMatch(/invalid site/);
    expect(validateGrant({ role: 'janitor' as never, site: 's1' })).toMatch(/unknown role/);
  });
});

describe('password hashing (argon2id)', () => {
  it('stores an argon2id PHC string with a random salt, and verifies only the right password', async () => {
    const a = await hashPassword('correct horse battery staple');
    const b = await hashPassword('correct horse battery staple');
    expect(a).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword(a, 'correct horse battery staple')).toBe(true);
    expect(await verifyPassword(a, 'correct horse battery stapler')).toBe(false);
    expect(await verifyPassword('not a hash', 'x')).toBe(false);
  });

  it('asks for length, not composition', () => {
    expect(checkPasswordPolicy('short', 'bob')).toBe('TOO_SHORT');
    expect(checkPasswordPolicy('four words make a passphrase', 'bob')).toBeNull();
    expect(checkPasswordPolicy('reception-desk-1', 'Reception-Desk-1')).toBe('SAME_AS_USERNAME');
    expect(checkPasswordPolicy('x'.repeat(257), 'bob')).toBe('TOO_LONG');
  });
});

describe('TOTP (RFC 6238 / RFC 4226)', () => {
  // RFC 4226 Appendix D: secret "12345678901234567890", counters 0..9
  const RFC4226 = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
  const seed = Buffer.from('12345678901234567890', 'ascii');

  it('matches the HOTP test values of RFC 4226', () => {
    RFC4226.forEach((code, counter) => expect(hotp(seed, counter)).toBe(code));
  });

  it('matches the SHA-1, SHA-256 and SHA-512 TOTP test values of RFC 6238 (8 digits)', () => {
    const seed32 = Buffer.from('12345678901234567890123456789012', 'ascii');
    const seed64 = Buffer.from('1234567890123456789012345678901234567890123456789012345678901234', 'ascii');
    const cases: Array<[number, string, string, string]> = [
      [59, '94287082', '46119246', '90693936'],
      [1111111109, '07081804', '68084774', '25091201'],
      [1234567890, '89005924', '91819424', '93441116'],
      [20000000000, '65353130', '77737706', '47863826'],
    ];
    for (const [t, sha1, sha256, sha512] of cases) {
      expect(totpAt(seed, t * 1000, { digits: 8 })).toBe(sha1);
      expect(totpAt(seed32, t * 1000, { digits: 8, algorithm: 'sha256' })).toBe(sha256);
      expect(totpAt(seed64, t * 1000, { digits: 8, algorithm: 'sha512' })).toBe(sha512);
    }
  });

  it('accepts the current code and one step either side, nothing further', () => {
    const secret = base32Encode(seed);
    expect(base32Decode(secret)).toEqual(seed);
    const nowMs = 1_700_000_000_000;
    expect(verifyTotp(secret, totpAt(seed, nowMs), nowMs)).toBe(true);
    expect(verifyTotp(secret, totpAt(seed, nowMs - 30_000), nowMs)).toBe(true);
    expect(verifyTotp(secret, totpAt(seed, nowMs + 30_000), nowMs)).toBe(true);
    expect(verifyTotp(secret, totpAt(seed, nowMs - 90_000), nowMs)).toBe(false);
    expect(verifyTotp(secret, 'abcdef', nowMs)).toBe(false);
  });
});
