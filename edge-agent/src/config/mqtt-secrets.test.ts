import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, parseAgentConfig, readMqttSecrets } from './load.js';

const base = { site: 'lycee-a', agent: 'gate-1', cameras: [{ id: 'c1', url: '/dev/null' }] };

describe('agent MQTT credentials and TLS files', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('reads the password file and the PEM files relative to the config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'portail-agent-cfg-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'mqtt.password'), 'first-line-secret\nignored\n');
    writeFileSync(join(dir, 'ca.crt'), 'CA PEM');
    writeFileSync(join(dir, 'client.crt'), 'CERT PEM');
    writeFileSync(join(dir, 'client.key'), 'KEY PEM');
    const cfg = parseAgentConfig(
      {
        ...base,
        mqtt: {
          url: 'mqtts://broker:8883',
          username: 'lycee-a.gate-1',
          passwordFile: 'mqtt.password',
          caFile: 'ca.crt',
          certFile: 'client.crt',
          keyFile: 'client.key',
        },
      },
      {},
      {},
    );
    const s = readMqttSecrets(cfg.mqtt, join(dir, 'agent.yaml'), {});
    expect(s.password).toBe('first-line-secret');
    expect(s.ca?.toString()).toBe('CA PEM');
    expect(s.cert?.toString()).toBe('CERT PEM');
    expect(s.key?.toString()).toBe('KEY PEM');
  });

  it('refuses both password sources, a certificate without its key, and a missing file or variable', () => {
    expect(() => parseAgentConfig({ ...base, mqtt: { passwordEnv: 'X', passwordFile: 'p' } }, {}, {})).toThrow(
      ConfigError,
    );
    expect(() => parseAgentConfig({ ...base, mqtt: { certFile: 'c.crt' } }, {}, {})).toThrow(/certFile and keyFile/);
    const cfg = parseAgentConfig({ ...base, mqtt: { passwordFile: 'nope.password' } }, {}, {});
    expect(() => readMqttSecrets(cfg.mqtt, join(tmpdir(), 'absent', 'agent.yaml'), {})).toThrow(/mqtt.passwordFile/);
    const envCfg = parseAgentConfig({ ...base, mqtt: { passwordEnv: 'PORTAIL_TEST_MQTT_PW' } }, {}, {});
    expect(() => readMqttSecrets(envCfg.mqtt, undefined, {})).toThrow(/PORTAIL_TEST_MQTT_PW/);
    expect(readMqttSecrets(envCfg.mqtt, undefined, { PORTAIL_TEST_MQTT_PW: 'pw' }).password).toBe('pw');
  });
});
