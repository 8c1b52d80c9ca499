import { LiveView } from '../live/live-view.js';

/** Reception: passages at the gates of the site (first slice: the live panels this account receives). */
export function GateView() {
  return <LiveView />;
}
