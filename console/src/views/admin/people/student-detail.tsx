import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { formatDateTime } from '../../../format.js';
import { useI18n, type MessageKey } from '../../../i18n/i18n.js';
import { ErrorText } from './error-text.js';
import {
  cardDownloadable,
  CONSENT_CHANNELS,
  CONSENT_PARTIES,
  formatDay,
  type ConsentAction,
  type ConsentChannel,
  type ConsentParty,
  type PeopleApi,
  type StudentDetail,
} from './people-api.js';

type Failure = { code: string; message: string | null } | null;

/**
 * One student: consents per party (date on the form, channel, notice version) with the form to
 * record a grant, refusal or withdrawal; enrolment by photo (the reason in words when refused);
 * the cards (issue, re-issue, revoke, download); withdrawal of biometrics and departure.
 */
export function StudentDetailPanel({
  papi,
  studentId,
  onChanged,
  onClose,
}: {
  papi: PeopleApi;
  studentId: number;
  onChanged: () => void;
  onClose: () => void;
}) {
  const { t, lang } = useI18n();
  const [detail, setDetail] = useState<StudentDetail | null>(null);
  const [failure, setFailure] = useState<Failure>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const photoRef = useRef<HTMLInputElement>(null);
  const [party, setParty] = useState<ConsentParty>('student');
  const [action, setAction] = useState<ConsentAction>('grant');
  const [channel, setChannel] = useState<ConsentChannel>('paper');
  const [noticeVersion, setNoticeVersion] = useState('v1');
  const [effectiveAt, setEffectiveAt] = useState('');
  const [enrolFailure, setEnrolFailure] = useState<Failure>(null);

  const load = useCallback(async () => {
    const r = await papi.detail(studentId);
    if (r.ok) setDetail(r.value);
    else setFailure({ code: r.error, message: r.message });
  }, [papi, studentId]);
  useEffect(() => {
    void load();
  }, [load]);

  /** Run a write, then reload this student and the list. */
  const act = async (call: () => Promise<{ ok: boolean; error?: string; message?: string | null }>, done?: string) => {
    setBusy(true);
    setFailure(null);
    setNotice(null);
    const r = await call();
    setBusy(false);
    if (!r.ok) setFailure({ code: r.error ?? 'ERROR', message: r.message ?? null });
    else if (done) setNotice(done);
    await load();
    onChanged();
    return r.ok;
  };

  const submitConsent = (e: FormEvent) => {
    e.preventDefault();
    void act(
      () =>
        papi.recordConsent(studentId, {
          party,
          action,
          channel,
          noticeVersion,
          ...(effectiveAt ? { effectiveAt } : {}),
        }),
      t('admin.people.consent.recorded'),
    );
  };

  const submitPhoto = async (e: FormEvent) => {
    e.preventDefault();
    const file = photoRef.current?.files?.[0];
    if (!file) return;
    setBusy(true);
    setEnrolFailure(null);
    setNotice(null);
    const r = await papi.enrol(studentId, file);
    setBusy(false);
    if (photoRef.current) photoRef.current.value = '';
    if (!r.ok) setEnrolFailure({ code: r.error, message: r.message });
    else setNotice(t('admin.people.enrol.ok'));
    await load();
    onChanged();
  };

  if (!detail) {
    return (
      <div className="people-detail card-inner" data-testid="student-detail">
        {failure ? <ErrorText failure={failure} /> : <p className="muted">{t('admin.people.loading')}</p>}
      </div>
    );
  }
  const s = detail.student;
  const live = detail.credentials.find((c) => c.revokedAt === null) ?? null;
  const active = s.status === 'active';
  return (
    <div
      className="people-detail card-inner"
      data-testid="student-detail"
      data-student={s.externalId}
      data-student-id={s.id}
    >
      <div className="people-head">
        <h3>
          {s.lastName.toUpperCase()} {s.firstName} <span className="muted">— {s.className}</span>{' '}
          <span className="mono muted small">{s.externalId}</span>
        </h3>
        <button type="button" onClick={onClose}>
          {t('admin.people.detail.close')}
        </button>
      </div>
      <p className="muted">
        {formatDay(s.birthDate, lang)} · {t('admin.people.detail.age', { age: detail.consent.age })}
        {detail.consent.minor ? ` · ${t('admin.people.detail.minor')}` : ''}
        {!active ? ` · ${t('admin.people.detail.departed')}` : ''}
      </p>
      {notice ? (
        <p className="people-notice" role="status" data-testid="people-notice">
          {notice}
        </p>
      ) : null}
      {failure ? <ErrorText failure={failure} /> : null}

      <h4>{t('admin.people.consent.title')}</h4>
      <table className="people-table" data-testid="consent-table">
        <thead>
          <tr>
            <th>{t('admin.people.consent.col.party')}</th>
            <th>{t('admin.people.consent.col.state')}</th>
            <th>{t('admin.people.consent.col.required')}</th>
            <th>{t('admin.people.consent.col.date')}</th>
            <th>{t('admin.people.consent.col.channel')}</th>
            <th>{t('admin.people.consent.col.notice')}</th>
          </tr>
        </thead>
        <tbody>
          {detail.consent.parties.map((p) => (
            <tr key={p.party} data-testid={`consent-${p.party}`} data-state={p.state}>
              <td>{t(`admin.people.party.${p.party}` as MessageKey)}</td>
              <td>
                <span
                  className={
                    p.state === 'granted' ? 'badge badge-ok' : p.state === 'none' ? 'badge' : 'badge badge-bad'
                  }
                >
                  {t(`admin.people.state.${p.state}` as MessageKey)}
                </span>
              </td>
              <td>{t(p.required ? 'admin.people.consent.yes' : 'admin.people.consent.no')}</td>
              <td>{formatDay(p.latest?.effectiveAt ?? null, lang)}</td>
              <td>{p.latest ? t(`admin.people.channel.${p.latest.channel}` as MessageKey) : '—'}</td>
              <td className="mono">{p.latest?.noticeVersion ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {active ? (
        <form className="people-form-row" onSubmit={submitConsent} data-testid="consent-form">
          <label>
            {t('admin.people.consent.party')}
            <select
              value={party}
              onChange={(e) => setParty(e.target.value as ConsentParty)}
              data-testid="consent-party"
            >
              {CONSENT_PARTIES.map((p) => (
                <option key={p} value={p}>
                  {t(`admin.people.party.${p}` as MessageKey)}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t('admin.people.consent.action')}
            <select
              value={action}
              onChange={(e) => setAction(e.target.value as ConsentAction)}
              data-testid="consent-action"
            >
              {(['grant', 'refuse', 'withdraw'] as const).map((a) => (
                <option key={a} value={a}>
                  {t(`admin.people.action.${a}` as MessageKey)}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t('admin.people.consent.channel')}
            <select value={channel} onChange={(e) => setChannel(e.target.value as ConsentChannel)}>
              {CONSENT_CHANNELS.map((c) => (
                <option key={c} value={c}>
                  {t(`admin.people.channel.${c}` as MessageKey)}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t('admin.people.consent.notice')}
            <input
              value={noticeVersion}
              onChange={(e) => setNoticeVersion(e.target.value)}
              required
              maxLength={40}
              size={8}
              data-testid="consent-notice"
            />
          </label>
          <label>
            {t('admin.people.consent.date')}
            <input type="date" value={effectiveAt} onChange={(e) => setEffectiveAt(e.target.value)} />
          </label>
          <button type="submit" disabled={busy} data-testid="consent-submit">
            {t('admin.people.consent.submit')}
          </button>
        </form>
      ) : null}
      {active && detail.consent.minor ? (
        <label className="people-form-row">
          {t('admin.people.consent.guardians')}{' '}
          <select
            value={s.guardianCount}
            onChange={(e) => void act(() => papi.setGuardians(studentId, Number(e.target.value) as 0 | 1 | 2))}
          >
            {[0, 1, 2].map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
      ) : null}

      {active ? (
        <>
          <h4>{t('admin.people.enrol.title')}</h4>
          {!detail.canEnrol.ok ? <p className="muted">{t('admin.people.enrol.cannot')}</p> : null}
          <form className="people-form-row" onSubmit={(e) => void submitPhoto(e)} data-testid="enrol-form">
            <label>
              {t('admin.people.enrol.file')}
              <input
                ref={photoRef}
                type="file"
                accept="image/jpeg,image/png,image/heic,.heic"
                required
                data-testid="enrol-file"
              />
            </label>
            <button type="submit" disabled={busy} data-testid="enrol-submit">
              {t('admin.people.enrol.submit')}
            </button>
          </form>
          <p className="muted small">{t('admin.people.enrol.memory')}</p>
          {enrolFailure ? <ErrorText failure={enrolFailure} prefixKey="admin.people.enrol.refused" /> : null}
        </>
      ) : null}

      <h4>{t('admin.people.cred.title')}</h4>
      {detail.credentials.length === 0 ? <p className="muted">{t('admin.people.cred.empty')}</p> : null}
      {detail.credentials.length > 0 ? (
        <table className="people-table" data-testid="credentials-table">
          <thead>
            <tr>
              <th>{t('admin.people.cred.col.id')}</th>
              <th>{t('admin.people.cred.col.type')}</th>
              <th>{t('admin.people.cred.col.validUntil')}</th>
              <th>{t('admin.people.cred.col.state')}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {detail.credentials.map((c) => (
              <tr key={c.id} data-testid={`credential-${c.id}`} data-live={c.revokedAt === null}>
                <td className="mono">{c.id}</td>
                <td>{t(c.biometric ? 'admin.people.credential.biometric' : 'admin.people.credential.badge')}</td>
                <td>{formatDay(c.validUntil, lang)}</td>
                <td>
                  {c.revokedAt === null
                    ? t('admin.people.cred.live')
                    : t('admin.people.cred.revoked', { reason: c.revokedReason ?? '' })}
                </td>
                <td className="people-actions">
                  {cardDownloadable(c) ? (
                    <>
                      <a href={papi.downloadUrl(c.id, 'card.png')} download data-testid="download-card">
                        {t('admin.people.cred.card')}
                      </a>
                      <a href={papi.downloadUrl(c.id, 'card.pdf')} download data-testid="download-pdf">
                        {t('admin.people.cred.pdf')}
                      </a>
                      <a href={papi.downloadUrl(c.id, 'qr.png')} download data-testid="download-qr">
                        {t('admin.people.cred.qr')}
                      </a>
                      {c.downloadableUntil ? (
                        <span className="muted small">
                          {t('admin.people.cred.until', { time: formatDateTime(c.downloadableUntil, lang) ?? '' })}
                        </span>
                      ) : null}
                    </>
                  ) : c.revokedAt === null ? (
                    <span className="muted small">{t('admin.people.cred.keyNotKept')}</span>
                  ) : null}
                  {c.revokedAt === null ? (
                    <button
                      type="button"
                      className="small"
                      disabled={busy}
                      onClick={() => void act(() => papi.revoke(c.id, 'revoked'), t('admin.people.done'))}
                    >
                      {t('admin.people.cred.revoke')}
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {active ? (
        <div className="people-form-row">
          {live === null ? (
            <button
              type="button"
              disabled={busy}
              data-testid="credential-issue"
              onClick={() => void act(() => papi.issue(studentId), t('admin.people.done'))}
            >
              {t('admin.people.cred.issue')}
            </button>
          ) : (
            <button
              type="button"
              disabled={busy}
              data-testid="credential-reissue"
              onClick={() => void act(() => papi.reissue(studentId, 'reissued'), t('admin.people.done'))}
            >
              {t('admin.people.cred.reissue')}
            </button>
          )}
          <button
            type="button"
            disabled={busy || !detail.credentials.some((c) => c.revokedAt === null && c.biometric)}
            onClick={() => void act(() => papi.withdraw(studentId), t('admin.people.done'))}
            data-testid="withdraw-biometrics"
          >
            {t('admin.people.withdraw')}
          </button>
          <button
            type="button"
            disabled={busy}
            onClick={() => void act(() => papi.depart(studentId), t('admin.people.done'))}
            data-testid="student-depart"
          >
            {t('admin.people.depart')}
          </button>
        </div>
      ) : null}
    </div>
  );
}
