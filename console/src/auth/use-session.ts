import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { createAuthApi, NO_LOGIN_OPTIONS, type AuthApi, type LoginOptions } from './auth-api.js';
import type { SessionInfo } from './session.js';

/** Why the login page is shown, when it is not the first visit. */
export type LoginNotice = 'logged_out' | 'session_ended' | null;

export type SessionState =
  | { status: 'loading' }
  /** /api/auth/me got no answer, or an unexpected one: the page offers to retry */
  | { status: 'unreachable'; httpStatus: number | null }
  | { status: 'anonymous'; notice: LoginNotice; login: LoginOptions }
  | { status: 'ready'; session: SessionInfo };

export interface SessionControls {
  state: SessionState;
  api: AuthApi;
  /** the login page got a session */
  loggedIn: (session: SessionInfo) => void;
  /** the user asked to log out; resolves false when the server could not be reached */
  logout: () => Promise<boolean>;
  /** the live socket closed with 1008, or a call answered 401: back to the login page */
  sessionEnded: () => void;
  /** for the live client: is the session still there? false only on a clear 401 */
  sessionStillValid: () => Promise<boolean>;
  retry: () => void;
}

/**
 * Who is using the console: asks `GET /api/auth/me` on load. A 401 shows the login page, an
 * `authMode: 'disabled'` server needs no login at all (as before accounts existed).
 */
export function useSession(api: AuthApi = defaultApi): SessionControls {
  const [state, setState] = useState<SessionState>({ status: 'loading' });
  const [attempt, setAttempt] = useState(0);
  // the server closes the live socket of a session that logs out, which can arrive before the
  // logout answer: while logging out, that close is the expected one, not an expiry
  const loggingOut = useRef(false);
  // the login options last learnt from the server, for the login page shown after a logout
  const loginOptions = useRef<LoginOptions>(NO_LOGIN_OPTIONS);

  useEffect(() => {
    let cancelled = false;
    void api.me().then((res) => {
      if (cancelled) return;
      if (res.ok) setState({ status: 'ready', session: res.session });
      else if (res.kind === 'unauthenticated') {
        loginOptions.current = res.login;
        setState({ status: 'anonymous', notice: null, login: res.login });
      } else setState({ status: 'unreachable', httpStatus: res.kind === 'server' ? res.status : null });
    });
    return () => {
      cancelled = true;
    };
  }, [api, attempt]);

  const loggedIn = useCallback((session: SessionInfo) => {
    loggingOut.current = false;
    setState({ status: 'ready', session });
  }, []);

  const sessionEnded = useCallback(() => {
    setState((s) =>
      s.status === 'ready' && s.session.authMode === 'required'
        ? {
            status: 'anonymous',
            notice: loggingOut.current ? 'logged_out' : 'session_ended',
            login: loginOptions.current,
          }
        : s,
    );
  }, []);

  const logout = useCallback(async () => {
    const current = state.status === 'ready' ? state.session : null;
    if (!current || current.authMode !== 'required') return true;
    loggingOut.current = true;
    const res = await api.logout(current.csrfToken);
    if (res === 'failed') {
      loggingOut.current = false;
      return false;
    }
    setState({ status: 'anonymous', notice: 'logged_out', login: loginOptions.current });
    return true;
  }, [api, state]);

  const sessionStillValid = useCallback(async () => {
    const res = await api.me();
    return res.ok || res.kind !== 'unauthenticated';
  }, [api]);

  const retry = useCallback(() => {
    setState({ status: 'loading' });
    setAttempt((n) => n + 1);
  }, []);

  // a screen switched on before the server (a power cut at the gate) finds it by itself
  const unreachable = state.status === 'unreachable';
  useEffect(() => {
    if (!unreachable) return undefined;
    const id = setTimeout(retry, UNREACHABLE_RETRY_MS);
    return () => clearTimeout(id);
  }, [unreachable, retry]);

  return useMemo(
    () => ({ state, api, loggedIn, logout, sessionEnded, sessionStillValid, retry }),
    [state, api, loggedIn, logout, sessionEnded, sessionStillValid, retry],
  );
}

const defaultApi: AuthApi = createAuthApi();
/** how often the page asks again while the server cannot be reached */
export const UNREACHABLE_RETRY_MS = 5_000;
