import { useI18n } from '../../../i18n/i18n.js';

/** Admin section « audit » (placeholder until its screens land). */
export function AuditSection() {
  const { t } = useI18n();
  return (
    <section className="card" data-testid="admin-section-audit">
      <h2>{t('admin.nav.audit')}</h2>
    </section>
  );
}
