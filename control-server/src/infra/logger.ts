import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/**
 * Paths redacted wherever they appear at these depths: passwords (config, login and user bodies),
 * the session cookie and CSRF token, bearer tokens, TOTP codes and secrets.
 */
export const REDACT_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'newPassword',
  '*.newPassword',
  'mqtt.password',
  'totp',
  '*.totp',
  'secret',
  '*.secret',
  'csrfToken',
  '*.csrfToken',
  'headers.authorization',
  'headers.cookie',
  'headers["x-csrf-token"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
];

/** The root logger; components get `logger.child({ module })`. Secrets are redacted by path. */
export function createLogger(level: LoggerOptions['level'] = 'info', destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { service: 'control-server' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}
