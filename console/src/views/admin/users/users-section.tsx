import { useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';
import { useConsole } from '../../../api/api-context.js';
import { AdminSitePicker, useAdminSites } from '../admin-site-picker.js';
import type { Role } from '../../../auth/session.js';
import { RecoveryCodes, TotpEnrolment } from '../../../auth/totp-enrolment.js';
import { cleanTotpCode, totpApi } from '../../../auth/totp-api.js';
import { formatDateTime } from '../../../format.js';
import { useI18n, type MessageKey } from '../../../i18n/i18n.js';
import {
  accountSitesOf,
  accountState,
  grantableRoles,
  grantsWithRolesAt,
  rolesAt,
  totpState,
  usersApi,
  usersAt,
  type UserView,
} from './users-api.js';
import './users.css';

const ROLE_KEY: Record<Role, MessageKey> = {
  reception: 'admin.users.role.reception',
  supervisor: 'admin.users.role.supervisor',
  site_admin: 'admin.users.role.site_admin',
  regional_it: 'admin.users.role.regional_it',
};

/**
 * Admin section « users »: the caller's own second factor, then per site the accounts with their
 * roles there, state (active, locked, disabled) and second factor, and what an administrator does
 * with them: create, change roles, disable or enable, reset the password or the second factor.
 */
export function UsersSection() {
  const { t } = useI18n();
  const { session } = useConsole();
  const allowed = useMemo(() => accountSitesOf(session), [session]);
  const picker = useAdminSites(allowed);
  const { sites, site } = picker;

  return (
    <section className="card admin-users" data-testid="admin-section-users" aria-labelledby="admin-users-title">
      <div className="users-head">
        <h2 id="admin-users-title">{t('admin.nav.users')}</h2>
        <AdminSitePicker {...picker} label={t('admin.users.site')} testId="users-site" />
      </div>
      <MySecondFactor />
      {sites === null ? <p className="muted">{t('admin.users.loading')}</p> : null}
      {sites && sites.length === 0 ? <p className="muted">{t('admin.users.noSite')}</p> : null}
      {site ? <SiteAccounts key={site} site={site} /> : null}
    </section>
  );
}

/** The caller's own TOTP: enrol it, or get new recovery codes with a current code. */
function MySecondFactor() {
  const { t } = useI18n();
  const { api, session } = useConsole();
  const [enrolling, setEnrolling] = useState(false);
  const [enrolled, setEnrolled] = useState(session.user?.totpEnabled ?? false);
  const [code, setCode] = useState('');
  const [codes, setCodes] = useState<string[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const username = session.user?.username ?? '';
  if (!session.user) return null;

  async function regenerate(ev: FormEvent<HTMLFormElement>): Promise<void> {
    ev.preventDefault();
    const r = await totpApi(api).regenerate(code);
    setCode('');
    if (r.ok) {
      setCodes(r.value.recoveryCodes);
      setError(null);
    } else setError(r.error === 'TOTP_INVALID' ? t('totp.error.invalid') : (r.message ?? r.error));
  }

  return (
    <div className="users-panel" data-testid="users-my-totp">
      <h3>{t('admin.users.me.title')}</h3>
      {!enrolled && !enrolling ? (
        <p>
          {t('admin.users.me.off')}{' '}
          <button type="button" onClick={() => setEnrolling(true)} data-testid="users-my-totp-enrol">
            {t('admin.users.me.enrol')}
          </button>
        </p>
      ) : null}
      {!enrolled && enrolling ? (
        <TotpEnrolment
          api={api}
          username={username}
          onEnrolled={() => {
            setEnrolling(false);
            setEnrolled(true);
          }}
        />
      ) : null}
      {enrolled ? (
        <>
          <p>
            {t('admin.users.me.on')}
            {session.recoveryCodesLeft !== null && session.recoveryCodesLeft !== undefined && codes === null
              ? ` ${t('admin.users.me.codesLeft', { count: session.recoveryCodesLeft })}`
              : ''}
          </p>
          {codes ? (
            <RecoveryCodes codes={codes} username={username} />
          ) : (
            <form className="users-form-row" onSubmit={(ev) => void regenerate(ev)}>
              <label>
                {t('admin.users.me.regenerateCode')}{' '}
                <input
                  inputMode="numeric"
                  maxLength={6}
                  value={code}
                  onChange={(e) => setCode(cleanTotpCode(e.target.value))}
                />
              </label>
              <button type="submit" disabled={code.length !== 6}>
                {t('admin.users.me.regenerate')}
              </button>
            </form>
          )}
          {error ? (
            <p className="login-error" role="alert">
              {error}
            </p>
          ) : null}
        </>
      ) : null}
    </div>
  );
}

function SiteAccounts({ site }: { site: string }) {
  const { t, lang } = useI18n();
  const { api, session } = useConsole();
  const uapi = useMemo(() => usersApi(api), [api]);
  const [users, setUsers] = useState<UserView[] | null>(null);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [passwordFor, setPasswordFor] = useState<number | null>(null);
  const [newPassword, setNewPassword] = useState('');
  const roles = grantableRoles(session, site);

  const reload = useCallback(async () => {
    const r = await uapi.list();
    if (r.ok) setUsers(r.value.users);
    else setMessage({ ok: false, text: r.message ?? r.error });
  }, [uapi]);
  useEffect(() => {
    void reload();
  }, [reload]);

  /** run a change, say how it went, and reload the list */
  async function act(p: Promise<{ ok: boolean; error?: string; message?: string | null }>, done: MessageKey) {
    const r = await p;
    setMessage(r.ok ? { ok: true, text: t(done) } : { ok: false, text: r.message ?? r.error ?? '' });
    await reload();
  }

  const shown = users ? usersAt(users, site) : [];
  const me = session.user?.id;
  return (
    <div className="users-site">
      <CreateAccount
        site={site}
        roles={roles}
        onCreated={async (name) => {
          setMessage({ ok: true, text: t('admin.users.created', { username: name }) });
          await reload();
        }}
      />
      {message ? (
        <p
          className={message.ok ? 'notice' : 'login-error'}
          role={message.ok ? 'status' : 'alert'}
          data-testid="users-message"
        >
          {message.text}
        </p>
      ) : null}
      {users === null ? (
        <p className="muted">{t('admin.users.loading')}</p>
      ) : shown.length === 0 ? (
        <p className="muted">{t('admin.users.empty')}</p>
      ) : (
        <table className="grid" data-testid="users-table">
          <thead>
            <tr>
              <th>{t('admin.users.col.username')}</th>
              <th>{t('admin.users.col.roles', { site })}</th>
              <th>{t('admin.users.col.state')}</th>
              <th>{t('admin.users.col.totp')}</th>
              <th>{t('admin.users.col.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((u) => {
              const state = accountState(u);
              const totp = totpState(u);
              const held = rolesAt(u, site);
              const self = u.id === me;
              return (
                <tr key={u.id} data-testid={`users-row-${u.username}`}>
                  <td>
                    {u.username}
                    {u.email ? <div className="muted small">{u.email}</div> : null}
                  </td>
                  <td>
                    {roles.map((r) => (
                      <label key={r} className="users-role">
                        <input
                          type="checkbox"
                          checked={held.includes(r)}
                          disabled={self}
                          onChange={(e) => {
                            const next = e.target.checked ? [...held, r] : held.filter((x) => x !== r);
                            void act(uapi.setRoles(u.id, grantsWithRolesAt(u, site, next)), 'admin.users.saved');
                          }}
                        />{' '}
                        {t(ROLE_KEY[r])}
                      </label>
                    ))}
                  </td>
                  <td>
                    <span
                      className={
                        state === 'active'
                          ? 'badge badge-ok'
                          : state === 'locked'
                            ? 'badge badge-warn'
                            : 'badge badge-bad'
                      }
                    >
                      {t(`admin.users.state.${state}`)}
                    </span>
                    {state === 'locked' && u.lockedUntil ? (
                      <div className="muted small">{formatDateTime(u.lockedUntil, lang)}</div>
                    ) : null}
                  </td>
                  <td>
                    <span
                      className={
                        totp === 'enabled' ? 'badge badge-ok' : totp === 'required' ? 'badge badge-warn' : 'badge'
                      }
                    >
                      {t(`admin.users.totp.${totp}`)}
                    </span>
                    {u.recoveryCodesLeft !== null ? (
                      <div className="muted small">
                        {t('admin.users.totp.codesLeft', { count: u.recoveryCodesLeft })}
                      </div>
                    ) : null}
                  </td>
                  <td className="users-actions">
                    {self ? (
                      <span className="muted small">{t('admin.users.self')}</span>
                    ) : (
                      <>
                        <button
                          type="button"
                          onClick={() =>
                            void act(
                              uapi.setDisabled(u.id, !u.disabled),
                              u.disabled ? 'admin.users.enabled' : 'admin.users.disabled',
                            )
                          }
                        >
                          {t(u.disabled ? 'admin.users.enable' : 'admin.users.disable')}
                        </button>
                        <button type="button" onClick={() => setPasswordFor(passwordFor === u.id ? null : u.id)}>
                          {t('admin.users.resetPassword')}
                        </button>
                        {u.totpEnabled ? (
                          <button type="button" onClick={() => void act(uapi.resetTotp(u.id), 'admin.users.totpReset')}>
                            {t('admin.users.resetTotp')}
                          </button>
                        ) : null}
                        {passwordFor === u.id ? (
                          <form
                            className="users-form-row"
                            onSubmit={(ev) => {
                              ev.preventDefault();
                              void act(uapi.resetPassword(u.id, newPassword), 'admin.users.passwordReset').then(() => {
                                setNewPassword('');
                                setPasswordFor(null);
                              });
                            }}
                          >
                            <input
                              type="password"
                              autoComplete="new-password"
                              aria-label={t('admin.users.newPassword')}
                              placeholder={t('admin.users.newPassword')}
                              value={newPassword}
                              onChange={(e) => setNewPassword(e.target.value)}
                            />
                            <button type="submit" disabled={newPassword.length === 0}>
                              {t('admin.users.save')}
                            </button>
                          </form>
                        ) : null}
                      </>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}

function CreateAccount({
  site,
  roles,
  onCreated,
}: {
  site: string;
  roles: Role[];
  onCreated: (username: string) => Promise<void>;
}) {
  const { t } = useI18n();
  const { api } = useConsole();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('reception');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(ev: FormEvent<HTMLFormElement>): Promise<void> {
    ev.preventDefault();
    if (busy) return;
    setBusy(true);
    const r = await usersApi(api).create({
      username: username.trim(),
      password,
      roles: [{ role, site }],
      ...(email.trim() ? { email: email.trim() } : {}),
    });
    setBusy(false);
    if (!r.ok) {
      setError(r.message ?? r.error);
      return;
    }
    setError(null);
    setUsername('');
    setPassword('');
    setEmail('');
    await onCreated(r.value.user.username);
  }

  return (
    <form className="users-panel users-create" onSubmit={(ev) => void submit(ev)} data-testid="users-create">
      <h3>{t('admin.users.create.title', { site })}</h3>
      <div className="users-form-row">
        <label>
          {t('admin.users.create.username')}
          <input
            data-testid="users-create-username"
            autoComplete="off"
            value={username}
            onChange={(e) => setUsername(e.target.value)}
          />
        </label>
        <label>
          {t('admin.users.create.password')}
          <input
            data-testid="users-create-password"
            type="password"
            autoComplete="new-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <label>
          {t('admin.users.create.role')}
          <select data-testid="users-create-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {roles.map((r) => (
              <option key={r} value={r}>
                {t(ROLE_KEY[r])}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('admin.users.create.email')}
          <input type="email" autoComplete="off" value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <button
          type="submit"
          data-testid="users-create-submit"
          disabled={busy || username.trim() === '' || password === ''}
        >
          {t('admin.users.create.submit')}
        </button>
      </div>
      <p className="muted small">{t('admin.users.create.hint')}</p>
      {error ? (
        <p className="login-error" role="alert" data-testid="users-create-error">
          {error}
        </p>
      ) : null}
    </form>
  );
}
