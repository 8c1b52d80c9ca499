import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encryptTemplate, TemplateCryptoError, withDecryptedTemplate } from './template-crypto.js';

const meta = { credentialId: 'cabcdefgh', modelId: 'fr-feature-512', modelSha256: 'a'.repeat(64), encoding: 'f32' as const };
const embedding = () => new Uint8Array(Float32Array.from({ length: 128 }, (_, i) => Math.sin(i)).buffer);

describe('template encryption', () => {
  it('round-trips and zeroes the clear buffer after use', () => {
    const key = new Uint8Array(randomBytes(32));
    const plain = embedding();
    const enc = encryptTemplate(plain, key, meta);
    let seen: Uint8Array | undefined;
    const copy = withDecryptedTemplate(enc, key, (p) => {
      seen = p;
      return Uint8Array.from(p);
    });
    expect(copy).toEqual(plain);
    expect(seen!.every((b) => b === 0)).toBe(true);
  });

  it('zeroes the clear buffer even when the comparison throws', () => {
    const key = new Uint8Array(randomBytes(32));
    const enc = encryptTemplate(embedding(), key, meta);
    let seen: Uint8Array | undefined;
    expect(() =>
      withDecryptedTemplate(enc, key, (p) => {
        seen = p;
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(seen!.every((b) => b === 0)).toBe(true);
  });

  it('rejects a flipped bit in ciphertext, tag or iv, a wrong key, and another credential or model', () => {
    const key = new Uint8Array(randomBytes(32));
    const enc = encryptTemplate(embedding(), key, meta);
    const flip = (a: Uint8Array, i: number) => {
      const b = Uint8Array.from(a);
      b[i]! ^= 0x01;
      return b;
    };
    const attempts = [
      { ...enc, ciphertext: flip(enc.ciphertext, 17) },
      { ...enc, tag: flip(enc.tag, 0) },
      { ...enc, iv: flip(enc.iv, 3) },
      { ...enc, credentialId: 'cbbbbbbbb' },
      { ...enc, modelId: 'mobilefacenet-128d' },
    ];
    for (const a of attempts) {
      expect(() => withDecryptedTemplate(a, key, () => 1)).toThrow(TemplateCryptoError);
    }
    expect(() => withDecryptedTemplate(enc, new Uint8Array(randomBytes(32)), () => 1)).toThrow(/does not authenticate/);
    expect(() => withDecryptedTemplate(enc, new Uint8Array(16), () => 1)).toThrow(/32 bytes/);
  });

  it('never reuses an IV', () => {
    const key = new Uint8Array(randomBytes(32));
    const ivs = new Set(Array.from({ length: 200 }, () => Buffer.from(encryptTemplate(embedding(), key, meta).iv).toString('hex')));
    expect(ivs.size).toBe(200);
  });
});
