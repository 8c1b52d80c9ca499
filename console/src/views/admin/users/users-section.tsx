import { useI18n } from '../../../i18n/i18n.js';

/** Admin section « users » (placeholder until its screens land). */
export function UsersSection() {
  const { t } = useI18n();
  return (
    <section className="card" data-testid="admin-section-users">
      <h2>{t('admin.nav.users')}</h2>
    </section>
  );
}
