import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeConfig } from '../config/load.js';
import type { ExternalMqttConfig } from '../config/schema.js';
import { makeTempDir } from '../test-support/fixtures.js';
import { redactUrl, resolveExternalCredentials } from './mqtt-subscriber.js';

const external = (over: Record<string, unknown>): ExternalMqttConfig =>
  makeConfig({ mqtt: { mode: 'external', url: 'mqtts://broker.example:8883', ...over } }).mqtt as ExternalMqttConfig;

describe('external broker credentials', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => {
    tmp = makeTempDir();
  });
  afterEach(() => tmp.remove());

  it('reads the password from a file (trimmed) or from a named environment variable', () => {
    const file = path.join(tmp.dir, 'pw');
    writeFileSync(file, 's3cret\n');
    expect(resolveExternalCredentials(external({ username: 'srv', passwordFile: file }))).toEqual({
      username: 'srv',
      password: 's3cret',
    });
    expect(resolveExternalCredentials(external({ username: 'srv', passwordEnv: 'MQTT_PW' }), { MQTT_PW: 'x' })).toEqual(
      {
        username: 'srv',
        password: 'x',
      },
    );
  });

  it('fails with a stable code when the secret is missing, without echoing it', () => {
    expect(() => resolveExternalCredentials(external({ username: 'srv', passwordEnv: 'MQTT_PW' }), {})).toThrow(
      expect.objectContaining({ code: 'SERVER_ERR_MQTT_PASSWORD_ENV' }),
    );
    expect(() =>
      resolveExternalCredentials(external({ username: 'srv', passwordFile: path.join(tmp.dir, 'missing') })),
    ).toThrow(expect.objectContaining({ code: 'SERVER_ERR_MQTT_PASSWORD_FILE' }));
  });

  it('strips userinfo from URLs before they are logged', () => {
    expect(redactUrl('mqtt://user:pw@host:1883/x')).toBe('mqtt://host:1883/x');
    expect(redactUrl('mqtts://host:8883')).toBe('mqtts://host:8883');
  });
});
