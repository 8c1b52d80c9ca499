import { afterEach, describe, expect, it } from 'vitest';
import { createFreshTokens, type FreshTokens } from './fresh-tokens.js';

describe('fresh tokens (the card download window)', () => {
  let tokens: FreshTokens;
  afterEach(() => tokens?.close());

  it('holds a copy until its expiry, hands out copies, and zeroes on drop and close', () => {
    const clock = { ms: 1_000_000 };
    tokens = createFreshTokens({ ttlMs: 60_000, now: () => clock.ms });
    const token = Uint8Array.from([1, 2, 3, 4]);
    tokens.put('c1', token);
    token.fill(0);
    const copy = tokens.get('c1')!;
    expect([...copy]).toEqual([1, 2, 3, 4]);
    copy.fill(0);
    expect([...tokens.get('c1')!]).toEqual([1, 2, 3, 4]);
    expect(tokens.expiresAt('c1')).toBe(new Date(1_060_000).toISOString());
    clock.ms += 60_000;
    expect(tokens.get('c1')).toBeUndefined();
    expect(tokens.expiresAt('c1')).toBeNull();

    tokens.put('c2', Uint8Array.from([9]));
    tokens.drop('c2');
    expect(tokens.get('c2')).toBeUndefined();
    tokens.put('c3', Uint8Array.from([7]));
    tokens.close();
    expect(tokens.get('c3')).toBeUndefined();
  });
});
