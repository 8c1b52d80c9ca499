import { userInfo } from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Logger } from 'pino';

/** A command line that cannot be run as written: exit 2 with the usage text. */
export class UsageError extends Error {}

/** An expected refusal (a value, not a bug): exit 1, printed as `{ ok: false, error }`. */
export class Refused<E extends { code: string; message: string } = { code: string; message: string }> extends Error {
  constructor(readonly error: E) {
    super(error.message);
  }
}

export function print(stream: NodeJS.WritableStream, text: string): void {
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Who the audit log names for a command typed at the box. */
export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    // no passwd entry for this uid (some containers)
    return 'cli:unknown';
  }
}

export interface FailureContext {
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };
  usage: string;
  logger: Logger;
  /** e.g. 'people command failed' */
  what: string;
  /** records a refusal in the audit log when the database is open */
  auditRefusal?: ((code: string) => void) | undefined;
}

/**
 * The one mapping of a failed command to its output and exit code, shared by the `portail-admin`
 * command groups: 2 usage, 1 refused (audited), 3 unexpected (logged with its stack).
 */
export function reportFailure(err: unknown, ctx: FailureContext): 1 | 2 | 3 {
  const { io } = ctx;
  if (err instanceof UsageError) {
    print(io.stderr, `portail-admin: ${err.message}\n\n${ctx.usage}`);
    return 2;
  }
  if (err instanceof Refused) {
    const e = (err as Refused).error;
    ctx.auditRefusal?.(e.code);
    print(io.stdout, JSON.stringify({ ok: false, error: e }, null, 2));
    print(io.stderr, `portail-admin: ${e.message} (${e.code})`);
    return 1;
  }
  const code = (err as { code?: unknown }).code;
  ctx.logger.error({ err }, ctx.what);
  print(
    io.stdout,
    JSON.stringify({
      ok: false,
      error: { code: typeof code === 'string' ? code : 'INTERNAL', message: (err as Error).message },
    }),
  );
  print(io.stderr, `portail-admin: ${(err as Error).message}`);
  return 3;
}

export type CliValues = Record<string, string | boolean | string[] | undefined>;

/** A command line parsed by `parseCommandLine`, with the accessors every command group uses. */
export interface CommandLine {
  values: CliValues;
  positionals: string[];
  /** a string option, undefined when absent */
  str: (name: string) => string | undefined;
  /** a string option that must be given and not empty (UsageError otherwise) */
  need: (name: string) => string;
}

/**
 * Parse a `portail-admin` command group's arguments (strict, positionals allowed, `-h/--help`
 * added). Returns the command line, or the exit code once answered: 2 after printing the error and
 * the usage on stderr, 0 after printing the usage for `--help`.
 */
export function parseCommandLine(
  argv: readonly string[],
  options: NonNullable<ParseArgsConfig['options']>,
  usage: string,
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
): CommandLine | number {
  let values: CliValues;
  let positionals: string[];
  try {
    const parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
    });
    values = parsed.values;
    positionals = parsed.positionals;
  } catch (err) {
    print(io.stderr, `portail-admin: ${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  if (values.help) {
    print(io.stdout, usage);
    return 0;
  }
  const str = (name: string): string | undefined => values[name] as string | undefined;
  return {
    values,
    positionals,
    str,
    need: (name) => {
      const v = str(name);
      if (v === undefined || v === '') throw new UsageError(`--${name} is required`);
      return v;
    },
  };
}
