import { useCallback, useEffect, useRef, useState } from 'react';
import type { ApiClient } from '../../api/api-client.js';
import { formatDateTime } from '../../format.js';
import { useI18n } from '../../i18n/i18n.js';

/** The ID document types the server accepts (control-server/src/people/visitors.ts). */
export const ID_DOCUMENT_TYPES = ['id_card', 'passport', 'driving_licence', 'residence_permit', 'other'] as const;
type IdDocumentType = (typeof ID_DOCUMENT_TYPES)[number];

interface VisitorEntry {
  visitor: {
    id: number;
    site: string;
    lastName: string;
    firstName: string;
    purpose: string;
    host: string;
    registeredAt: string;
  };
  pass: { credentialId: string; validUntil: string; revokedAt: string | null } | null;
}

const EMPTY = { lastName: '', firstName: '', purpose: '', host: '' };

/**
 * Visitor registration at reception: name, purpose, person visited, the type of ID document checked
 * (never its number), then the day pass (printable card with its QR code). Today's visitors with
 * their state; a pass can be printed again, or ended when the visitor leaves.
 */
export function VisitorDesk({
  api,
  sites,
  onClose,
}: {
  api: ApiClient;
  sites: readonly string[];
  onClose: () => void;
}) {
  const { t, lang } = useI18n();
  const ref = useRef<HTMLDialogElement>(null);
  const [site, setSite] = useState(sites[0] ?? '');
  const [form, setForm] = useState(EMPTY);
  const [idType, setIdType] = useState<IdDocumentType>('id_card');
  const [checked, setChecked] = useState(false);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const [visitors, setVisitors] = useState<VisitorEntry[]>([]);
  const [printing, setPrinting] = useState<VisitorEntry['visitor'] | null>(null);

  useEffect(() => {
    const d = ref.current;
    if (!d) return undefined;
    const before = document.activeElement as HTMLElement | null;
    if (!d.open) d.showModal();
    // showModal focuses the dialog's first control: start on the first field instead
    d.querySelector<HTMLElement>('[data-autofocus]')?.focus();
    return () => {
      if (d.open) d.close();
      before?.focus?.();
    };
  }, []);

  // `t` changes identity at every render: read through a ref so that loading depends on the site only
  const tRef = useRef(t);
  tRef.current = t;
  const load = useCallback(async () => {
    if (!site) return;
    const res = await api.get<{ day: string; visitors: VisitorEntry[] }>(
      `/api/sites/${encodeURIComponent(site)}/visitors`,
    );
    if (res.ok) setVisitors(res.value.visitors);
    else setMessage({ kind: 'error', text: tRef.current('gate.visitors.error', { error: res.error }) });
  }, [api, site]);
  useEffect(() => {
    void load();
  }, [load]);

  const register = async (ev: React.FormEvent) => {
    ev.preventDefault();
    if (Object.values(form).some((v) => v.trim() === '') || !checked) {
      setMessage({ kind: 'error', text: t('gate.visitors.required') });
      return;
    }
    const res = await api.send<VisitorEntry>('POST', `/api/sites/${encodeURIComponent(site)}/visitors`, {
      ...form,
      idDocumentType: idType,
    });
    if (!res.ok) {
      setMessage({ kind: 'error', text: t('gate.visitors.error', { error: res.message ?? res.error }) });
      return;
    }
    setMessage({
      kind: 'ok',
      text: t('gate.visitors.registered', { name: `${res.value.visitor.firstName} ${res.value.visitor.lastName}` }),
    });
    setForm(EMPTY);
    setChecked(false);
    setPrinting(res.value.visitor);
    await load();
  };

  const end = async (id: number) => {
    const res = await api.send('POST', `/api/sites/${encodeURIComponent(site)}/visitors/${id}/end`, {});
    if (!res.ok) setMessage({ kind: 'error', text: t('gate.visitors.error', { error: res.error }) });
    await load();
  };

  const field = (key: keyof typeof EMPTY, label: string) => (
    <label className="gate-field">
      <span>{label}</span>
      <input
        type="text"
        maxLength={120}
        required
        value={form[key]}
        onChange={(ev) => setForm({ ...form, [key]: ev.target.value })}
        data-testid={`visitor-${key}`}
        data-autofocus={key === 'lastName' ? '' : undefined}
      />
    </label>
  );

  return (
    <dialog
      ref={ref}
      className="gate-dialog gate-visitors"
      data-testid="visitor-desk"
      aria-labelledby="visitor-desk-title"
      onCancel={(ev) => {
        ev.preventDefault();
        onClose();
      }}
    >
      <div className="gate-visitors-head">
        <h2 id="visitor-desk-title">{t('gate.visitors.title')}</h2>
        <button type="button" className="gate-btn" onClick={onClose} data-testid="visitor-close">
          {t('gate.visitors.close')} <kbd>{t('gate.key.escape')}</kbd>
        </button>
      </div>
      {printing ? (
        <section className="gate-print" data-testid="visitor-pass">
          <h3>{t('gate.visitors.pass.title', { name: `${printing.firstName} ${printing.lastName}` })}</h3>
          <img
            src={`/api/sites/${encodeURIComponent(printing.site)}/visitors/${printing.id}/pass?format=card`}
            alt={t('gate.visitors.pass.alt', { name: `${printing.firstName} ${printing.lastName}` })}
            data-testid="visitor-pass-image"
          />
          <div className="gate-actions no-print">
            <button
              type="button"
              className="gate-btn gate-btn-primary"
              onClick={() => window.print()}
              data-testid="visitor-print"
            >
              {t('gate.visitors.print')}
            </button>
            <button type="button" className="gate-btn" onClick={() => setPrinting(null)}>
              {t('gate.visitors.close')}
            </button>
          </div>
        </section>
      ) : null}
      <form className="gate-visitor-form no-print" onSubmit={(ev) => void register(ev)} data-testid="visitor-form">
        <h3>{t('gate.visitors.register')}</h3>
        {sites.length > 1 ? (
          <label className="gate-field">
            <span>{t('gate.visitors.site')}</span>
            <select value={site} onChange={(ev) => setSite(ev.target.value)} data-testid="visitor-site">
              {sites.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        <div className="gate-form-grid">
          {field('lastName', t('gate.visitors.lastName'))}
          {field('firstName', t('gate.visitors.firstName'))}
          {field('purpose', t('gate.visitors.purpose'))}
          {field('host', t('gate.visitors.host'))}
          <label className="gate-field">
            <span>{t('gate.visitors.idType')}</span>
            <select
              value={idType}
              onChange={(ev) => setIdType(ev.target.value as IdDocumentType)}
              data-testid="visitor-idType"
            >
              {ID_DOCUMENT_TYPES.map((d) => (
                <option key={d} value={d}>
                  {t(`gate.visitors.idType.${d}`)}
                </option>
              ))}
            </select>
          </label>
        </div>
        <label className="gate-check">
          <input
            type="checkbox"
            checked={checked}
            onChange={(ev) => setChecked(ev.target.checked)}
            data-testid="visitor-idChecked"
          />
          {t('gate.visitors.idChecked')}
        </label>
        {message ? (
          <p
            role={message.kind === 'error' ? 'alert' : 'status'}
            className={message.kind === 'error' ? 'gate-error' : 'gate-ok'}
            data-testid="visitor-message"
          >
            {message.text}
          </p>
        ) : null}
        <button type="submit" className="gate-btn gate-btn-primary" data-testid="visitor-submit">
          {t('gate.visitors.submit')}
        </button>
      </form>
      <section className="no-print">
        {visitors.length === 0 ? (
          <p className="muted" data-testid="visitors-empty">
            {t('gate.visitors.none')}
          </p>
        ) : (
          <table className="grid" data-testid="visitors-table">
            <thead>
              <tr>
                <th>{t('gate.visitors.col.time')}</th>
                <th>{t('gate.visitors.col.name')}</th>
                <th>{t('gate.visitors.col.purpose')}</th>
                <th>{t('gate.visitors.col.host')}</th>
                <th>{t('gate.visitors.col.status')}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {visitors.map((v) => {
                const active = v.pass !== null && v.pass.revokedAt === null;
                return (
                  <tr key={v.visitor.id} data-testid="visitor-row" data-visitor-id={v.visitor.id} data-active={active}>
                    <td className="nowrap">{formatDateTime(v.visitor.registeredAt, lang)}</td>
                    <td>
                      {v.visitor.firstName} {v.visitor.lastName}
                    </td>
                    <td>{v.visitor.purpose}</td>
                    <td>{v.visitor.host}</td>
                    <td>{t(active ? 'gate.visitors.status.active' : 'gate.visitors.status.ended')}</td>
                    <td className="nowrap">
                      {active ? (
                        <>
                          <button type="button" className="gate-btn" onClick={() => setPrinting(v.visitor)}>
                            {t('gate.visitors.print')}
                          </button>{' '}
                          <button
                            type="button"
                            className="gate-btn"
                            onClick={() => void end(v.visitor.id)}
                            data-testid="visitor-end"
                          >
                            {t('gate.visitors.end')}
                          </button>
                        </>
                      ) : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>
    </dialog>
  );
}
