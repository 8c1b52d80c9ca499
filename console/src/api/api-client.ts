import { CSRF_HEADER } from '../auth/auth-api.js';

/**
 * Every call of the console to the control server's HTTP API, same origin, with the session cookie
 * and the CSRF token on state-changing requests. Expected failures are values, never exceptions:
 * a view shows `error` (a stable code from the server) and `message` next to the action that failed.
 */
export type ApiResult<T> =
  | { ok: true; status: number; value: T }
  | { ok: false; status: number; error: string; message: string | null; body: unknown };

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ApiClient {
  get<T>(path: string): Promise<ApiResult<T>>;
  send<T>(method: Exclude<HttpMethod, 'GET'>, path: string, body?: unknown): Promise<ApiResult<T>>;
  /** multipart upload (photos, CSV files) */
  upload<T>(path: string, form: FormData, method?: 'POST' | 'PUT'): Promise<ApiResult<T>>;
  /** raw response for downloads (PDF, PNG, Markdown); null when no answer came */
  raw(path: string, init?: RequestInit): Promise<Response | null>;
}

export interface ApiClientOptions {
  csrfToken: string | null;
  /** a 401: the session is gone, back to the login page */
  onUnauthenticated?: () => void;
  fetchFn?: typeof fetch;
  base?: string;
}

async function bodyOf(res: Response): Promise<unknown> {
  const text = await res.text().catch(() => '');
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // not JSON (a proxy's error page, a Markdown export): the caller gets the text
    return text;
  }
}

/** The failure of a non-2xx answer: `error` is the server's code, or `HTTP_<status>`. */
export function failureOf(status: number, body: unknown): { error: string; message: string | null } {
  const b = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  return {
    error: typeof b.error === 'string' ? b.error : status === 0 ? 'NETWORK' : `HTTP_${status}`,
    message: typeof b.message === 'string' ? b.message : null,
  };
}

export function createApiClient(opts: ApiClientOptions): ApiClient {
  const fetchFn = opts.fetchFn ?? ((...a: Parameters<typeof fetch>) => globalThis.fetch(...a));
  const base = opts.base ?? '';
  const raw = async (path: string, init: RequestInit = {}): Promise<Response | null> => {
    try {
      return await fetchFn(`${base}${path}`, { credentials: 'same-origin', cache: 'no-store', ...init });
    } catch {
      // fetch rejects only when no answer came
      return null;
    }
  };
  const call = async <T>(path: string, init: RequestInit): Promise<ApiResult<T>> => {
    const res = await raw(path, init);
    if (!res) return { ok: false, status: 0, error: 'NETWORK', message: null, body: null };
    const body = await bodyOf(res);
    if (res.status === 401) opts.onUnauthenticated?.();
    if (!res.ok) return { ok: false, status: res.status, ...failureOf(res.status, body), body };
    return { ok: true, status: res.status, value: body as T };
  };
  const csrf = (): Record<string, string> => (opts.csrfToken ? { [CSRF_HEADER]: opts.csrfToken } : {});
  return {
    get: (path) => call(path, { headers: { accept: 'application/json' } }),
    send: (method, path, body) =>
      call(path, {
        method,
        headers: {
          accept: 'application/json',
          ...csrf(),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    upload: (path, form, method = 'POST') =>
      call(path, { method, headers: { accept: 'application/json', ...csrf() }, body: form }),
    raw,
  };
}
