import { useI18n } from '../../../i18n/i18n.js';

/** Admin section « people » (placeholder until its screens land). */
export function PeopleSection() {
  const { t } = useI18n();
  return (
    <section className="card" data-testid="admin-section-people">
      <h2>{t('admin.nav.people')}</h2>
    </section>
  );
}
