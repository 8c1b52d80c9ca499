import { useEffect, useState } from 'react';
import { useI18n } from '../i18n/i18n.js';
import type { ConnectionStatus } from '../live/live-client.js';

export function ConnectionIndicator({ status }: { status: ConnectionStatus }) {
  const { t } = useI18n();
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (status.state !== 'closed') return undefined;
    const id = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(id);
  }, [status]);
  const label =
    status.state === 'open'
      ? t('conn.open')
      : status.state === 'connecting'
        ? t('conn.connecting')
        : t('conn.closed', { seconds: Math.max(0, Math.ceil((status.retryAt - now) / 1000)) });
  return (
    <span
      className={`conn conn-${status.state}`}
      data-testid="connection-status"
      data-state={status.state}
      role="status"
    >
      <span className="dot" aria-hidden="true" />
      {label}
    </span>
  );
}
