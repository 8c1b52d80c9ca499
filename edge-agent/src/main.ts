#!/usr/bin/env node
import { parseArgs } from 'node:util';
import pino from 'pino';
import { createAgent } from './agent.js';
import { ConfigError, loadAgentConfig, readMqttSecrets } from './config/load.js';
import { createMqttTransport } from './transport/mqtt-transport.js';
import { openGate } from './verification/open-gate.js';
import { openDetectors } from './vision/open-detectors.js';

const USAGE = `portail-agent [--config agent.yaml] [--video <file|rtsp-url>] [--loop] [--site id] [--agent id] [--mqtt-url url] [--log-level info]`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      video: { type: 'string' },
      loop: { type: 'boolean' },
      site: { type: 'string' },
      agent: { type: 'string' },
      'mqtt-url': { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const logger = pino({
    level: values['log-level'] ?? process.env.PORTAIL_LOG_LEVEL ?? 'info',
    base: { svc: 'edge-agent' },
    redact: ['password', '*.password', 'url'],
  });
  let config;
  try {
    config = loadAgentConfig(values.config ?? process.env.PORTAIL_AGENT_CONFIG, {
      site: values.site,
      agent: values.agent,
      mqttUrl: values['mqtt-url'],
      video: values.video,
      loop: values.loop,
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      logger.fatal(err.message);
      process.stderr.write(`${err.message}\n${USAGE}\n`);
      return 2;
    }
    throw err;
  }
  const agentLogger = logger.child({ site: config.site, agent: config.agent });
  let mqttSecrets: ReturnType<typeof readMqttSecrets>;
  try {
    mqttSecrets = readMqttSecrets(config.mqtt, values.config ?? process.env.PORTAIL_AGENT_CONFIG, process.env);
  } catch (err) {
    logger.fatal((err as Error).message);
    process.stderr.write(`portail-agent: ${(err as Error).message}\n`);
    return 2;
  }
  const agent = createAgent({
    config,
    logger: agentLogger,
    openDetectors: () => openDetectors(config, agentLogger.child({ module: 'vision' })),
    openGate: () => openGate(config, agentLogger.child({ module: 'gate' })),
    openTransport: (onlineStatus) =>
      createMqttTransport({
        url: config.mqtt.url,
        site: config.site,
        agent: config.agent,
        username: config.mqtt.username,
        ...mqttSecrets,
        keepaliveS: config.mqtt.keepaliveS,
        logger: agentLogger.child({ module: 'mqtt' }),
        onlineStatus,
        dataDir: config.dataDir,
        outbox: config.outbox,
        protocolVersion: config.mqtt.protocolVersion,
        onConfig: (payload) => agent.onConfigMessage(payload),
        // the gate follows the site sync (templates, revocations, keys) unless its file says otherwise
        ...(config.credentials?.sync && config.cameras.some((c) => c.role !== 'tracking') ? { onSync: (topic: string, payload: Uint8Array) => agent.onSyncMessage(topic, payload) } : {}),
      }),
  });

  try {
    await agent.start();
  } catch (err) {
    const e = err as Error & { code?: string };
    logger.fatal({ code: e.code }, e.message);
    process.stderr.write(`portail-agent: ${e.message}\n`);
    await agent.stop().catch(() => undefined);
    return e.code?.startsWith('MODEL_ERR') ? 3 : 1;
  }

  await new Promise<void>((resolve) => {
    const onSignal = (sig: string) => {
      logger.info({ sig }, 'stopping');
      resolve();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  await agent.stop();
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`portail-agent: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
