import { createContext, useContext } from 'react';
import type { ConnectionStatus } from '../live/live-client.js';
import type { LiveState } from '../live/live-state.js';

export interface LiveContextValue {
  state: LiveState;
  connection: ConnectionStatus;
}

/** One WebSocket per console tab, shared by every view (opened by the shell). */
export const LiveContext = createContext<LiveContextValue | null>(null);

export function useLiveContext(): LiveContextValue {
  const v = useContext(LiveContext);
  if (!v) throw new Error('useLiveContext outside the console shell');
  return v;
}
