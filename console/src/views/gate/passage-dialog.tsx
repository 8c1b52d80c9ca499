import { useEffect, useRef, useState } from 'react';
import { useI18n } from '../../i18n/i18n.js';
import { defaultOverride, type GateCard } from './gate-cards.js';

export type PassageDialogMode = 'ack' | 'override';

export interface PassageDialogProps {
  mode: PassageDialogMode;
  card: GateCard;
  /** resolves to an error code, or null on success (the dialog then closes) */
  onSubmit: (input: { note: string } | { decision: 'allow' | 'deny'; reason: string }) => Promise<string | null>;
  onClose: () => void;
}

/**
 * Acknowledge (optional note) or override (decision + required reason) one passage. A modal
 * `<dialog>`: focus goes to the first field, Enter confirms, Escape cancels, and focus returns to
 * where it was.
 */
export function PassageDialog({ mode, card, onSubmit, onClose }: PassageDialogProps) {
  const { t } = useI18n();
  const ref = useRef<HTMLDialogElement>(null);
  const [text, setText] = useState('');
  const [decision, setDecision] = useState<'allow' | 'deny'>(() => defaultOverride(card.decision));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const d = ref.current;
    if (!d) return undefined;
    const before = document.activeElement as HTMLElement | null;
    if (!d.open) d.showModal();
    // showModal focuses the dialog's first control (a radio button for an override): the text field instead
    d.querySelector<HTMLElement>('[data-autofocus]')?.focus();
    return () => {
      if (d.open) d.close();
      before?.focus?.();
    };
  }, []);

  const submit = async (ev: React.FormEvent) => {
    ev.preventDefault();
    if (busy) return;
    if (mode === 'override' && text.trim().length < 3) {
      setError(t('gate.dialog.override.reasonRequired'));
      return;
    }
    setBusy(true);
    const failed = await onSubmit(mode === 'ack' ? { note: text } : { decision, reason: text });
    setBusy(false);
    if (failed) setError(t('gate.dialog.error', { error: failed }));
    else onClose();
  };

  const titleId = `gate-dialog-title-${mode}`;
  return (
    <dialog
      ref={ref}
      className="gate-dialog"
      data-testid={`gate-dialog-${mode}`}
      aria-labelledby={titleId}
      onCancel={(ev) => {
        ev.preventDefault();
        onClose();
      }}
    >
      <form onSubmit={(ev) => void submit(ev)}>
        <h2 id={titleId}>{t(mode === 'ack' ? 'gate.dialog.ack.title' : 'gate.dialog.override.title')}</h2>
        <p className="gate-dialog-verdict">
          {t(`gate.verdict.${card.decision}`)}
          {card.holder ? ` — ${card.holder.firstName}` : ''}
        </p>
        {mode === 'override' ? (
          <fieldset className="gate-choice">
            <legend>{t('gate.dialog.override.decision')}</legend>
            {(['allow', 'deny'] as const).map((d) => (
              <label key={d}>
                <input
                  type="radio"
                  name="decision"
                  value={d}
                  checked={decision === d}
                  onChange={() => setDecision(d)}
                  data-testid={`gate-decision-${d}`}
                />
                {t(d === 'allow' ? 'gate.dialog.override.allow' : 'gate.dialog.override.deny')}
              </label>
            ))}
          </fieldset>
        ) : null}
        <label className="gate-field">
          <span>{t(mode === 'ack' ? 'gate.dialog.ack.note' : 'gate.dialog.override.reason')}</span>
          <input
            type="text"
            data-autofocus=""
            maxLength={500}
            value={text}
            required={mode === 'override'}
            onChange={(ev) => setText(ev.target.value)}
            data-testid="gate-dialog-text"
          />
        </label>
        {error ? (
          <p role="alert" className="gate-error" data-testid="gate-dialog-error">
            {error}
          </p>
        ) : null}
        <div className="gate-actions">
          <button type="submit" className="gate-btn gate-btn-primary" disabled={busy} data-testid="gate-dialog-confirm">
            {t('gate.dialog.confirm')} <kbd>↵</kbd>
          </button>
          <button type="button" className="gate-btn" onClick={onClose} data-testid="gate-dialog-cancel">
            {t('gate.dialog.cancel')} <kbd>{t('gate.key.escape')}</kbd>
          </button>
        </div>
      </form>
    </dialog>
  );
}
