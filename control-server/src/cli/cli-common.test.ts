import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseCommandLine, UsageError } from './cli-common.js';

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const text = (s: PassThrough): string => (s.read() as Buffer | null)?.toString() ?? '';
  return { io: { stdout, stderr }, out: () => text(stdout), err: () => text(stderr) };
}

const OPTIONS = { site: { type: 'string' }, force: { type: 'boolean' } } as const;

describe('parseCommandLine', () => {
  it('gives positionals, options and the str/need accessors', () => {
    const t = io();
    const cmd = parseCommandLine(['people', 'import', '--site', 'lycee-a', '--force'], OPTIONS, 'USAGE', t.io);
    if (typeof cmd === 'number') throw new Error(`exit ${cmd}`);
    expect(cmd.positionals).toEqual(['people', 'import']);
    expect(cmd.values.force).toBe(true);
    expect(cmd.str('site')).toBe('lycee-a');
    expect(cmd.need('site')).toBe('lycee-a');
    expect(() => cmd.need('out')).toThrow(UsageError);
  });

  it('treats an empty required value as missing', () => {
    const cmd = parseCommandLine(['x', '--site', ''], OPTIONS, 'USAGE', io().io);
    if (typeof cmd === 'number') throw new Error(`exit ${cmd}`);
    expect(() => cmd.need('site')).toThrow('--site is required');
  });

  it('answers an unknown option with exit 2 and the usage on stderr', () => {
    const t = io();
    expect(parseCommandLine(['x', '--nope'], OPTIONS, 'USAGE TEXT', t.io)).toBe(2);
    expect(t.err()).toMatch(/^portail-admin: .*nope[\s\S]*USAGE TEXT\n$/);
    expect(t.out()).toBe('');
  });

  it('answers -h / --help with exit 0 and the usage on stdout', () => {
    for (const flag of ['-h', '--help']) {
      const t = io();
      expect(parseCommandLine(['x', flag], OPTIONS, 'USAGE TEXT', t.io)).toBe(0);
      expect(t.out()).toBe('USAGE TEXT\n');
      expect(t.err()).toBe('');
    }
  });
});
