import { useCallback, useEffect, useRef, useState } from 'react';
import type { ApiClient } from '../../api/api-client.js';
import type { ConnectionStatus } from '../../live/live-client.js';
import { missingBySite, type AccessLiveEvent, type HolderView, type PassageInfo } from './gate-cards.js';

interface PassageWire {
  event: AccessLiveEvent;
  holder: HolderView | null;
  ack: PassageInfo['ack'];
  override: PassageInfo['override'];
}

export interface PassagesState {
  /** holder and actions by event id, as the server last told them */
  info: ReadonlyMap<string, PassageInfo>;
  /** pending cards older than the live snapshot (fetched with `?pending=1`) */
  pendingEvents: readonly AccessLiveEvent[];
  /** when each passage's holder arrived (ms since epoch), by event id: exposed to the e2e test */
  resolvedAt: ReadonlyMap<string, number>;
  error: string | null;
  /** store what an action answered (ack, override) */
  remember(p: PassageWire): void;
}

/**
 * Who is behind each passage of the live feed, fetched from the gate routes as passages arrive: one
 * request per site for all the ids that arrived together (the server audits one row per request), and
 * the pending cards of each site after every (re)connection, so a card not acknowledged before a
 * restart is back on screen. Requests are made only while the live socket is open: when the server
 * is away the ids wait for the next hello.
 */
export function usePassages(
  api: ApiClient,
  events: readonly AccessLiveEvent[],
  sites: readonly string[],
  connection: ConnectionStatus,
): PassagesState {
  const [info, setInfo] = useState<ReadonlyMap<string, PassageInfo>>(() => new Map());
  const [resolvedAt, setResolvedAt] = useState<ReadonlyMap<string, number>>(() => new Map());
  const [pendingEvents, setPendingEvents] = useState<readonly AccessLiveEvent[]>([]);
  const [error, setError] = useState<string | null>(null);
  const inFlight = useRef(new Set<string>());
  const known = useRef(new Set<string>());
  const open = connection.state === 'open';

  const merge = useCallback((list: readonly PassageWire[]) => {
    if (list.length === 0) return;
    const at = Date.now();
    for (const p of list) known.current.add(p.event.id);
    setInfo((prev) => {
      const next = new Map(prev);
      for (const p of list) next.set(p.event.id, { holder: p.holder, ack: p.ack, override: p.override });
      return next;
    });
    setResolvedAt((prev) => {
      const next = new Map(prev);
      for (const p of list) if (!next.has(p.event.id)) next.set(p.event.id, at);
      return next;
    });
  }, []);

  // holders of the passages that just arrived
  useEffect(() => {
    if (!open) return;
    const wanted = new Set([...known.current, ...inFlight.current]);
    for (const [site, ids] of missingBySite(events, wanted)) {
      if (ids.length === 0) continue;
      for (const id of ids) inFlight.current.add(id);
      void api
        .get<{ passages: PassageWire[] }>(`/api/sites/${encodeURIComponent(site)}/passages?ids=${ids.join(',')}`)
        .then((res) => {
          for (const id of ids) inFlight.current.delete(id);
          if (!res.ok) {
            setError(res.error);
            // a refusal is not retried in a loop; a network failure is, at the next change or reconnection
            if (res.status !== 0) for (const id of ids) known.current.add(id);
            return;
          }
          setError(null);
          merge(res.value.passages);
          // ids the server does not know (purged meanwhile): not asked again
          for (const id of ids) known.current.add(id);
        });
    }
  }, [api, events, open, merge]);

  // after every (re)connection: the site's pending cards, including those older than the snapshot
  const siteKey = sites.join(',');
  useEffect(() => {
    if (!open || siteKey === '') return;
    let cancelled = false;
    void Promise.all(
      siteKey
        .split(',')
        .map((site) =>
          api.get<{ passages: PassageWire[] }>(`/api/sites/${encodeURIComponent(site)}/passages?pending=1&limit=200`),
        ),
    ).then((answers) => {
      if (cancelled) return;
      const found: PassageWire[] = [];
      for (const a of answers) {
        if (a.ok) found.push(...a.value.passages);
        else setError(a.error);
      }
      merge(found);
      setPendingEvents(found.map((p) => p.event));
    });
    return () => {
      cancelled = true;
    };
  }, [api, open, siteKey, merge]);

  const remember = useCallback((p: PassageWire) => merge([p]), [merge]);
  return { info, pendingEvents, resolvedAt, error, remember };
}
