import { useState } from 'react';
import { rolesBySite, type SessionUser } from '../auth/session.js';
import { useI18n } from '../i18n/i18n.js';

/** Who is logged in, with which role at which site, and the way out. */
export function UserMenu({ user, onLogout }: { user: SessionUser; onLogout: () => Promise<boolean> }) {
  const { t } = useI18n();
  const [busy, setBusy] = useState(false);
  const [failed, setFailed] = useState(false);
  const roles = rolesBySite(user);
  const logout = async (): Promise<void> => {
    setBusy(true);
    setFailed(false);
    const ok = await onLogout();
    // on success this component is already gone (the login page replaced it)
    if (!ok) {
      setBusy(false);
      setFailed(true);
    }
  };
  return (
    <div className="user-menu" data-testid="user-menu">
      <div className="user-who">
        <span className="user-name" data-testid="user-name" title={t('user.label', { name: user.username })}>
          {user.username}
        </span>
        <span className="user-roles" data-testid="user-roles" aria-label={t('user.rolesTitle')}>
          {roles.map(({ role, sites }) => (
            <span key={role} className="role-chip" data-testid="user-role" data-role={role}>
              {t(`role.${role}`)}{' '}
              <span className="muted">· {sites.map((s) => (s === '*' ? t('user.allSites') : s)).join(', ')}</span>
            </span>
          ))}
        </span>
      </div>
      <button type="button" data-testid="logout" disabled={busy} onClick={() => void logout()}>
        {t('user.logout')}
      </button>
      {failed ? (
        <span className="login-error small" role="alert" data-testid="logout-error">
          {t('user.logoutFailed')}
        </span>
      ) : null}
    </div>
  );
}
