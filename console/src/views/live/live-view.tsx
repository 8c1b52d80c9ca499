import { useMemo } from 'react';
import { visiblePanels } from '../../auth/session.js';
import { useConsole } from '../../api/api-context.js';
import { AgentsTable } from '../../components/agents-table.js';
import { AlertQueue } from '../../components/alert-queue.js';
import { EventsList } from '../../components/events-list.js';
import { LineCountsPanel } from '../../components/line-counts-panel.js';
import { useLiveContext } from '../../shell/live-context.js';

/** Supervisors: agents and cameras of their sites, the alert queue, line counts, every event. */
export function LiveView() {
  const { session } = useConsole();
  const { state } = useLiveContext();
  const required = session.authMode === 'required';
  const show = useMemo(() => visiblePanels(session), [session]);
  const agents = useMemo(
    () => Object.values(state.agents).sort((a, b) => a.site.localeCompare(b.site) || a.agent.localeCompare(b.agent)),
    [state.agents],
  );
  return (
    <>
      {show.agents ? <AgentsTable agents={agents} /> : null}
      {show.alerts || show.lineCounts ? (
        <div className={show.alerts && show.lineCounts ? 'panels' : 'panels single'}>
          {show.alerts ? <AlertQueue alerts={state.alerts} /> : null}
          {show.lineCounts ? <LineCountsPanel counts={state.lineCounts} /> : null}
        </div>
      ) : null}
      {show.eventKinds.length > 0 ? (
        <EventsList events={state.events} kinds={required ? show.eventKinds : undefined} />
      ) : null}
    </>
  );
}
