import { formatDateTime, formatNumber } from '../format.js';
import { useI18n } from '../i18n/i18n.js';
import { sortedLineCounts, type LineCounts } from '../live/line-counts.js';

/** Latest in/out counts per declared line, from the agents' `line_counts` reports. */
export function LineCountsPanel({ counts }: { counts: LineCounts }) {
  const { t, lang } = useI18n();
  const rows = sortedLineCounts(counts);
  return (
    <section data-testid="line-counts" aria-labelledby="counts-title">
      <h2 id="counts-title">{t('counts.title')}</h2>
      <p className="muted small hint">{t('counts.hint')}</p>
      {rows.length === 0 ? (
        <p className="muted" data-testid="line-counts-empty">
          {t('counts.empty')}
        </p>
      ) : (
        <table className="grid" data-testid="line-counts-table">
          <thead>
            <tr>
              <th>{t('counts.col.source')}</th>
              <th>{t('counts.col.line')}</th>
              <th className="num">{t('counts.col.in')}</th>
              <th className="num">{t('counts.col.out')}</th>
              <th>{t('counts.col.updated')}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((c) => (
              <tr
                key={`${c.site}/${c.agent}/${c.camera}/${c.rule}`}
                data-testid={`line-count-${c.site}-${c.agent}-${c.camera}-${c.rule}`}
                data-in={c.in}
                data-out={c.out}
              >
                <td className="mono small">
                  {c.site} / {c.agent} / {c.camera}
                </td>
                <td className="mono">{c.rule}</td>
                <td className="num count" data-testid="line-count-in">
                  {formatNumber(c.in, lang, 0)}
                </td>
                <td className="num count" data-testid="line-count-out">
                  {formatNumber(c.out, lang, 0)}
                </td>
                <td className="nowrap muted" title={c.ts}>
                  {formatDateTime(c.ts, lang)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
