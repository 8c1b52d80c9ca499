import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ControlServerError } from '../infra/errors.js';

/** Read a secret from a file (trimmed) or an environment variable; null when neither is configured. */
export function readSecret(
  source: { file?: string | undefined; env?: string | undefined },
  env: NodeJS.ProcessEnv,
  what: string,
): string | null {
  if (source.file) {
    let text: string;
    try {
      text = readFileSync(source.file, 'utf8');
    } catch (err) {
      throw new ControlServerError('SERVER_ERR_SECRET', `${what}: cannot read ${source.file}`, { cause: err });
    }
    const value = text.trim();
    if (value === '') throw new ControlServerError('SERVER_ERR_SECRET', `${what}: ${source.file} is empty`);
    return value;
  }
  if (source.env) {
    const value = env[source.env]?.trim();
    if (!value)
      throw new ControlServerError('SERVER_ERR_SECRET', `${what}: environment variable ${source.env} is empty`);
    return value;
  }
  return null;
}

export interface BootstrapAdminSpec {
  username: string;
  password: string;
}

/**
 * `PORTAIL_BOOTSTRAP_ADMIN=username:/path/to/password-file`: the first regional_it account, for a
 * fresh install or a demo. The password comes from a file so it is in neither the environment nor
 * a process listing. Nothing happens when the username already exists.
 */
export function parseBootstrapAdmin(value: string | undefined, cwd: string = process.cwd()): BootstrapAdminSpec | null {
  if (value === undefined || value.trim() === '') return null;
  const colon = value.indexOf(':');
  if (colon <= 0 || colon === value.length - 1) {
    throw new ControlServerError(
      'SERVER_ERR_BOOTSTRAP_ADMIN',
      'PORTAIL_BOOTSTRAP_ADMIN must be username:password-file',
    );
  }
  const username = value.slice(0, colon);
  const file = path.resolve(cwd, value.slice(colon + 1));
  const password = readSecret({ file }, {}, 'PORTAIL_BOOTSTRAP_ADMIN');
  return { username, password: password! };
}
