import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../test-support/fixtures.js';
import { loadConfig, makeConfig } from './load.js';
import { DEFAULT_CONSOLE_DIR } from './schema.js';

describe('loadConfig', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => {
    tmp = makeTempDir();
  });
  afterEach(() => tmp.remove());

  it('gives safe defaults with no file, env or flag', () => {
    const r = loadConfig({ argv: [], env: {}, cwd: tmp.dir });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const c = r.value.config;
    expect(c.http).toEqual({ host: '127.0.0.1', port: 8080, allowedOrigins: [] });
    expect(c.mqtt).toEqual({
      mode: 'embedded',
      host: '127.0.0.1',
      port: 1883,
      clientId: 'portail-control-server',
      maxPacketBytes: 1024 * 1024,
    });
    expect(c.dataDir).toBe(path.join(tmp.dir, '.data/control-server'));
    expect(c.consoleDir).toBe(DEFAULT_CONSOLE_DIR);
    expect(c.log.level).toBe('info');
  });

  it('layers file < env < flags', () => {
    const file = path.join(tmp.dir, 'server.yaml');
    writeFileSync(file, 'dataDir: from-file\nhttp:\n  port: 9000\n  host: 0.0.0.0\nlog:\n  level: debug\n');
    const r = loadConfig({
      argv: ['--config', file, '--http-port', '0'],
      env: { PORTAIL_SERVER_HTTP_PORT: '9100', PORTAIL_SERVER_DATA_DIR: 'from-env' },
      cwd: tmp.dir,
    });
    expect(r.ok && r.value.config).toMatchObject({
      dataDir: path.join(tmp.dir, 'from-env'),
      http: { host: '0.0.0.0', port: 0 },
      log: { level: 'debug' },
    });
    expect(r.ok && r.value.file).toBe(file);
  });

  it('takes the embedded mode when only a broker port is given', () => {
    const r = loadConfig({ argv: ['--mqtt-port', '0'], env: {}, cwd: tmp.dir });
    expect(r.ok && r.value.config.mqtt).toMatchObject({ mode: 'embedded', port: 0 });
  });

  it('reads a JSON file and an external broker with a password file', () => {
    const file = path.join(tmp.dir, 'server.json');
    writeFileSync(
      file,
      JSON.stringify({
        mqtt: { mode: 'external', url: 'mqtts://broker.example:8883', username: 'srv', passwordFile: 'pw' },
      }),
    );
    const r = loadConfig({ argv: [], env: { PORTAIL_SERVER_CONFIG: file }, cwd: tmp.dir });
    expect(r.ok && r.value.config.mqtt).toEqual({
      mode: 'external',
      url: 'mqtts://broker.example:8883',
      username: 'srv',
      passwordFile: path.join(tmp.dir, 'pw'),
      clientId: 'portail-control-server',
    });
  });

  it('reports every problem with its path: unknown keys, bad types, inline credentials', () => {
    const file = path.join(tmp.dir, 'bad.yaml');
    writeFileSync(file, 'htpp:\n  port: 1\nmqtt:\n  mode: external\n  url: mqtt://user:secret@host\n');
    const r = loadConfig({ argv: ['--config', file], env: { PORTAIL_SERVER_HTTP_PORT: 'eighty' }, cwd: tmp.dir });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const text = r.error.messages.join('\n');
    expect(text).toMatch(/htpp/);
    expect(text).toMatch(/^http\.port: /m);
    expect(text).toMatch(/^mqtt\.url: must not carry credentials/m);
    expect(text).not.toMatch(/secret/);
  });

  it('refuses an unknown flag and a password without a username', () => {
    const flag = loadConfig({ argv: ['--http-prot', '1'], env: {}, cwd: tmp.dir });
    expect(flag.ok || flag.error.messages[0]).toMatch(/command line: .*http-prot/);
    expect(() => makeConfig({ mqtt: { mode: 'external', url: 'mqtt://h', passwordEnv: 'X' } })).toThrow(
      /mqtt\.username: a password requires a username/,
    );
  });
});
