#!/usr/bin/env node
import { CLI_USAGE, loadConfig } from './config/load.js';
import { createLogger } from './infra/logger.js';
import { startControlServer } from './server.js';

async function main(): Promise<number> {
  const loaded = loadConfig({ argv: process.argv.slice(2), env: process.env });
  if (!loaded.ok) {
    process.stderr.write(`invalid configuration:\n${loaded.error.messages.map((m) => `  - ${m}`).join('\n')}\n`);
    return 2;
  }
  if (loaded.value.help) {
    process.stdout.write(`${CLI_USAGE}\n`);
    return 0;
  }
  const { config, file } = loaded.value;
  const logger = createLogger(config.log.level);
  logger.info({ file, dataDir: config.dataDir, mqttMode: config.mqtt.mode }, 'starting control server');

  const server = await startControlServer(config, { logger });
  process.stdout.write(`Portail console: ${server.httpUrl}/\nMQTT broker: ${server.mqttUrl}\n`);

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      logger.info({ signal }, 'stopping');
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`control server failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
