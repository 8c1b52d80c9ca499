import { LANGS, useI18n } from '../i18n/i18n.js';

export function LanguageSwitch() {
  const { lang, setLang, t } = useI18n();
  return (
    <span className="lang" role="group" aria-label={t('lang.label')}>
      {LANGS.map((l) => (
        <button
          key={l}
          type="button"
          data-testid={`lang-${l}`}
          aria-pressed={l === lang}
          className={l === lang ? 'active' : ''}
          title={t(`lang.${l}`)}
          onClick={() => setLang(l)}
        >
          {l.toUpperCase()}
        </button>
      ))}
    </span>
  );
}
