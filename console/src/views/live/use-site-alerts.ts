import { useCallback, useEffect, useState } from 'react';
import type { ApiClient } from '../../api/api-client.js';
import type { AckOutcome } from '../../components/alert-queue.js';
import { useI18n } from '../../i18n/i18n.js';
import type { QueueAlert } from '../../live/alerts.js';
import type { AlertAckView } from '../../live/wire.js';

interface AlertsResponse {
  site: string;
  alerts: QueueAlert[];
  acks: AlertAckView[];
}

export interface SiteAlerts {
  /** the server's open alerts at the last load */
  server: QueueAlert[];
  /** acknowledgements known from the server's list and from our own requests */
  acked: Record<string, AlertAckView>;
  loaded: boolean;
  error: string | null;
  ack: (alert: QueueAlert, note: string) => Promise<AckOutcome>;
}

/**
 * The open alerts of a site as the server knows them: loaded when the site changes and again at each
 * (re)connection of the live socket (`generation`), since acknowledgements made while this page was
 * away are not replayed by the socket.
 */
export function useSiteAlerts(api: ApiClient, site: string | null, generation: number): SiteAlerts {
  const { t } = useI18n();
  const [server, setServer] = useState<QueueAlert[]>([]);
  const [acked, setAcked] = useState<Record<string, AlertAckView>>({});
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (site === null) {
      setServer([]);
      setLoaded(false);
      return undefined;
    }
    let cancelled = false;
    void api.get<AlertsResponse>(`/api/sites/${encodeURIComponent(site)}/alerts?open=1`).then((r) => {
      if (cancelled) return;
      if (!r.ok) {
        setError(r.message ?? r.error);
        return;
      }
      setError(null);
      setServer(r.value.alerts);
      setAcked((prev) => {
        const next = { ...prev };
        for (const a of r.value.acks) next[a.alertId] = a;
        return next;
      });
      setLoaded(true);
    });
    return () => {
      cancelled = true;
    };
  }, [api, site, generation]);

  const ack = useCallback(
    async (alert: QueueAlert, note: string): Promise<AckOutcome> => {
      const body = note.trim() === '' ? {} : { note: note.trim() };
      const r = await api.send<{ ack: AlertAckView }>(
        'POST',
        `/api/sites/${encodeURIComponent(alert.site)}/alerts/${encodeURIComponent(alert.id)}/ack`,
        body,
      );
      if (r.ok) {
        setAcked((prev) => ({ ...prev, [alert.id]: r.value.ack }));
        return { ok: true };
      }
      // someone else was quicker: the alert is handled all the same
      if (r.status === 409 && typeof r.body === 'object' && r.body !== null && 'ack' in r.body) {
        const other = (r.body as { ack: AlertAckView }).ack;
        setAcked((prev) => ({ ...prev, [alert.id]: other }));
        return { ok: true };
      }
      return { ok: false, message: t('live.ack.failed', { error: r.message ?? r.error }) };
    },
    [api, t],
  );

  return { server, acked, loaded, error, ack };
}
