import { describe, expect, it } from 'vitest';
import { ConfigError, parseAgentConfig } from './load.js';

const base = { site: 's1', agent: 'a1', cameras: [{ id: 'c1', url: '/clip.mp4', role: 'tracking' }] };
const withCamera = (cam: Record<string, unknown>) => ({ ...base, cameras: [{ ...base.cameras[0], ...cam }] });

describe('agent configuration', () => {
  it('applies defaults: tracking off, location other, cpu provider', () => {
    const c = parseAgentConfig(base);
    expect(c.cameras[0]).toMatchObject({ trackingEnabled: false, locationType: 'other' });
    expect(c.vision.providers).toEqual(['cpu']);
  });

  it('allows tracking only for entrance and circulation cameras', () => {
    for (const locationType of ['entrance', 'circulation']) {
      expect(parseAgentConfig(withCamera({ locationType, trackingEnabled: true })).cameras[0]!.trackingEnabled).toBe(true);
    }
    for (const locationType of ['playground', 'classroom', 'canteen', 'other']) {
      expect(() => parseAgentConfig(withCamera({ locationType, trackingEnabled: true }))).toThrow(/never tracked/);
    }
  });

  it('reports every problem with its path', () => {
    try {
      parseAgentConfig({ site: 'Bad!', agent: 'a1', cameras: [{ id: 'c1', role: 'gate', width: 10 }] });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      expect(msg).toMatch(/site: /);
      expect(msg).toMatch(/cameras\.0\.url: give exactly one of url or urlEnv/);
      expect(msg).toMatch(/cameras\.0\.width: width and height go together/);
    }
  });

  it('credentials: from the server sync alone, or with a local bootstrap given whole; the agent id `sync` is reserved', () => {
    expect(parseAgentConfig({ ...base, credentials: {} }).credentials).toEqual({ sync: true });
    const pem = '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n';
    expect(parseAgentConfig({ ...base, credentials: { siteCode: 3, publicKeys: [{ keyId: 1, pem }] } }).credentials).toMatchObject({ siteCode: 3, sync: true });
    expect(() => parseAgentConfig({ ...base, credentials: { siteCode: 3 } })).toThrow(/siteCode and publicKeys together/);
    expect(() => parseAgentConfig({ ...base, credentials: { sync: false } })).toThrow(/without sync, siteCode and publicKeys are needed/);
    expect(() => parseAgentConfig({ ...base, agent: 'sync' })).toThrow(/reserved/);
  });

  it('rejects unknown keys (a typo must not pass silently)', () => {
    expect(() => parseAgentConfig({ ...base, helthIntervalS: 5 })).toThrow(/helthIntervalS|Unrecognized/);
  });

  it('takes rules declared in the protocol schema, and refuses a tailgating rule on an unknown line', () => {
    const ok = withCamera({ locationType: 'entrance', trackingEnabled: true, rules: { lines: [{ id: 'gate', from: [0, 10], to: [100, 10] }] } });
    expect(parseAgentConfig(ok).cameras[0]!.rules?.lines).toHaveLength(1);
    const bad = withCamera({ locationType: 'entrance', trackingEnabled: true, rules: { tailgating: [{ id: 't', lineId: 'nope' }] } });
    expect(() => parseAgentConfig(bad)).toThrow(ConfigError);
  });
});
