import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { credentialIdFromBytes, encodeCredentialToken, generateSigningKey, tokenToText } from '@portail/protocol';
import { describe, expect, it } from 'vitest';
import { createLineScanner } from './line-scanner.js';

const key = generateSigningKey(1);
const token = () => encodeCredentialToken({ credentialId: credentialIdFromBytes(randomBytes(5)), siteCode: 1, lastValidDay: 900, keyId: 1, templateKey: randomBytes(32) }, key.privateKey);
const tick = () => new Promise((r) => setImmediate(r));

describe('line scanner', () => {
  it('turns each line into a token, whatever the line ending, and drains them in order', async () => {
    const input = new PassThrough();
    const s = createLineScanner(input);
    const [a, b] = [token(), token()];
    input.write(`${tokenToText(a)}\r\n${tokenToText(b).slice(0, 20)}`);
    input.write(`${tokenToText(b).slice(20)}\n`);
    await tick();
    expect(s.drain()).toEqual([a, b]);
    expect(s.drain()).toEqual([]);
    s.close();
  });

  it('counts lines that are not tokens, and survives a very long line', async () => {
    const input = new PassThrough();
    const s = createLineScanner(input);
    input.write('hello\n');
    input.write(`${'A'.repeat(100_000)}\n`);
    input.write(`${tokenToText(token())}\n`);
    await tick();
    expect(s.rejectedLines).toBe(2);
    expect(s.drain()).toHaveLength(1);
    s.close();
  });
});
