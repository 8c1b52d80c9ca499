import { useEffect, useReducer, useRef, useState } from 'react';
import { createLiveClient, defaultLiveUrl, type ConnectionStatus } from './live-client.js';
import { initialLiveState, reduceLive, type LiveState } from './live-state.js';
import type { ServerMessage } from './wire.js';

function reducer(state: LiveState, msg: ServerMessage): LiveState {
  return reduceLive(state, msg, new Date().toISOString());
}

export interface UseLiveOptions {
  url?: string;
  /** the server closed the feed because the session ended, or a reconnect found it gone */
  onSessionEnded?: () => void;
  /** asked before each reconnect; see `LiveClientOptions.sessionStillValid` */
  sessionStillValid?: () => Promise<boolean>;
}

/**
 * Live view of agents and events, kept in sync with the control server over /ws. Mounted only once
 * the session is known: the socket needs the session cookie (or a server without accounts).
 */
export function useLive(opts: UseLiveOptions = {}): { state: LiveState; connection: ConnectionStatus } {
  const url = opts.url ?? defaultLiveUrl();
  const [state, dispatch] = useReducer(reducer, initialLiveState);
  const [connection, setConnection] = useState<ConnectionStatus>({ state: 'connecting', attempt: 0 });
  // callbacks through a ref: a new function from the parent must not reopen the socket
  const callbacks = useRef(opts);
  useEffect(() => {
    callbacks.current = opts;
  });
  const checks = opts.sessionStillValid !== undefined;
  useEffect(() => {
    const client = createLiveClient({
      url,
      onMessage: dispatch,
      onStatus: setConnection,
      onSessionEnded: () => callbacks.current.onSessionEnded?.(),
      ...(checks ? { sessionStillValid: () => callbacks.current.sessionStillValid?.() ?? Promise.resolve(true) } : {}),
    });
    return () => client.close();
  }, [url, checks]);
  return { state, connection };
}
