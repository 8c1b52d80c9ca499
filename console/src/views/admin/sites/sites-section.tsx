import { useI18n } from '../../../i18n/i18n.js';

/** Admin section « sites » (placeholder until its screens land). */
export function SitesSection() {
  const { t } = useI18n();
  return (
    <section className="card" data-testid="admin-section-sites">
      <h2>{t('admin.nav.sites')}</h2>
    </section>
  );
}
