import { useMemo } from 'react';
import { Link, Redirect, Route, Switch, useLocation } from 'wouter';
import { useConsole } from '../../api/api-context.js';
import { hasPermission } from '../../auth/session.js';
import { useI18n } from '../../i18n/i18n.js';
import { ADMIN_SECTIONS, type AdminSectionId } from './admin-sections.js';
import { AuditSection } from './audit/audit-section.js';
import { PeopleSection } from './people/people-section.js';
import { PrivacySection } from './privacy/privacy-section.js';
import { SitesSection } from './sites/sites-section.js';
import { UsersSection } from './users/users-section.js';

const SECTION_COMPONENTS: Record<AdminSectionId, () => React.JSX.Element> = {
  sites: SitesSection,
  people: PeopleSection,
  users: UsersSection,
  audit: AuditSection,
  privacy: PrivacySection,
};

/** Site admins and regional IT: one section per concern, routed below `#/admin/`. */
export function AdminView() {
  const { t } = useI18n();
  const { session } = useConsole();
  const [location] = useLocation();
  const sections = useMemo(
    () => ADMIN_SECTIONS.filter((s) => s.anyOf.some((p) => hasPermission(session, p))),
    [session],
  );
  const first = sections[0];
  return (
    <div className="admin-layout">
      <nav aria-label={t('admin.nav.label')} className="admin-nav">
        {sections.map((s) => (
          <Link
            key={s.id}
            href={`/${s.id}`}
            className={location.startsWith(`/${s.id}`) ? 'nav-link active' : 'nav-link'}
            data-testid={`admin-nav-${s.id}`}
          >
            {t(s.labelKey)}
          </Link>
        ))}
      </nav>
      <div className="admin-content">
        <Switch>
          <Route path="/">{first ? <Redirect to={`/${first.id}`} replace /> : null}</Route>
          {sections.map((s) => {
            const Section = SECTION_COMPONENTS[s.id];
            return (
              <Route key={s.id} path={`/${s.id}`} nest>
                <Section />
              </Route>
            );
          })}
        </Switch>
      </div>
    </div>
  );
}
