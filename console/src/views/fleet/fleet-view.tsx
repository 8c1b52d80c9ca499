import { LiveView } from '../live/live-view.js';

/** Regional IT: every site and agent at a glance, no student data (first slice: the live panels). */
export function FleetView() {
  return <LiveView />;
}
