import { useMemo } from 'react';
import { AgentsTable } from '../../components/agents-table.js';
import { useLiveContext } from '../../shell/live-context.js';

/** Site admins and regional IT: configuration (first slice: the agents of the sites). */
export function AdminView() {
  const { state } = useLiveContext();
  const agents = useMemo(() => Object.values(state.agents), [state.agents]);
  return <AgentsTable agents={agents} />;
}
