import pino, { type Logger, type LoggerOptions } from 'pino';

/** The root logger; components get `logger.child({ module })`. Secrets are redacted by path. */
export function createLogger(level: LoggerOptions['level'] = 'info'): Logger {
  return pino({
    level,
    base: { service: 'control-server' },
    redact: { paths: ['password', '*.password', 'mqtt.password', 'headers.authorization'], censor: '[redacted]' },
  });
}
