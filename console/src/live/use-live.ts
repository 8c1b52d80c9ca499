import { useEffect, useReducer, useState } from 'react';
import { createLiveClient, defaultLiveUrl, type ConnectionStatus } from './live-client.js';
import { initialLiveState, reduceLive, type LiveState } from './live-state.js';
import type { ServerMessage } from './wire.js';

function reducer(state: LiveState, msg: ServerMessage): LiveState {
  return reduceLive(state, msg, new Date().toISOString());
}

/** Live view of agents and events, kept in sync with the control server over /ws. */
export function useLive(url: string = defaultLiveUrl()): { state: LiveState; connection: ConnectionStatus } {
  const [state, dispatch] = useReducer(reducer, initialLiveState);
  const [connection, setConnection] = useState<ConnectionStatus>({ state: 'connecting', attempt: 0 });
  useEffect(() => {
    const client = createLiveClient({ url, onMessage: dispatch, onStatus: setConnection });
    return () => client.close();
  }, [url]);
  return { state, connection };
}
