import { useI18n } from '../../../i18n/i18n.js';

/** Admin section « privacy » (placeholder until its screens land). */
export function PrivacySection() {
  const { t } = useI18n();
  return (
    <section className="card" data-testid="admin-section-privacy">
      <h2>{t('admin.nav.privacy')}</h2>
    </section>
  );
}
