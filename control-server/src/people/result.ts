/** Expected failures of the people services are values; bugs throw. */
export interface PeopleError<C extends string = string> {
  code: C;
  message: string;
  /** structured facts behind the message (missing consents, measured quality…), for the console */
  details?: Record<string, unknown>;
}

export type Result<T, C extends string = string> = { ok: true; value: T } | { ok: false; error: PeopleError<C> };

export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });

export const fail = <C extends string>(
  code: C,
  message: string,
  details?: Record<string, unknown>,
): { ok: false; error: PeopleError<C> } => ({
  ok: false,
  error: details ? { code, message, details } : { code, message },
});
