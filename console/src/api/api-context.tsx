import { createContext, useContext } from 'react';
import type { SessionInfo } from '../auth/session.js';
import type { ApiClient } from './api-client.js';

export interface ConsoleContextValue {
  api: ApiClient;
  session: SessionInfo;
}

export const ConsoleContext = createContext<ConsoleContextValue | null>(null);

/** The API client and the session, for any view below the shell. */
export function useConsole(): ConsoleContextValue {
  const v = useContext(ConsoleContext);
  if (!v) throw new Error('useConsole outside the console shell');
  return v;
}
