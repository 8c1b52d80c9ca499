import { useI18n, type MessageKey } from '../../../i18n/i18n.js';
import { knownError } from './people-api.js';

/** A refusal: the reason in words for the codes the section knows, the server's message beside it. */
export function ErrorText({
  failure,
  prefixKey,
}: {
  failure: { code: string; message: string | null };
  prefixKey?: MessageKey;
}) {
  const { t } = useI18n();
  const known = knownError(failure.code);
  const reason = known ? t(`admin.people.error.${known}` as MessageKey) : (failure.message ?? failure.code);
  return (
    <p className="field-error" role="alert" data-testid="people-error" data-code={failure.code}>
      {prefixKey ? t(prefixKey, { reason }) : reason}
      {known && failure.message ? <span className="muted small"> ({failure.message})</span> : null}
    </p>
  );
}
