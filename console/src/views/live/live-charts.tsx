import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { ApiClient } from '../../api/api-client.js';
import { useConsole } from '../../api/api-context.js';
import { formatNumber } from '../../format.js';
import { localeOf, useI18n, type Lang } from '../../i18n/i18n.js';
import {
  binLabels,
  decisionChart,
  lineCountsChart,
  passagesChart,
  startOfDayIso,
  type ChartData,
  type DecisionTimesStats,
  type LineCountStats,
  type PassagesStats,
} from './chart-data.js';
import { canAt } from './live-sites.js';

const TIME_ZONE = 'Europe/Paris';
const REFRESH_MS = 60_000;
/** after new traffic, wait this long before reloading: a burst of events gives one reload */
const CHANGE_DELAY_MS = 3_000;
const PALETTE = ['#0b5cad', '#d4700b', '#2f8f46', '#b3261e', '#6f42c1', '#1b8a8a', '#8a6d1b', '#c23b8a'];

type Kind = 'time' | 'bins';

/**
 * One uPlot chart in a div, sized to its container. uPlot draws on a canvas (no image URL), so it
 * needs nothing from the Content-Security-Policy beyond inline styles, which the console has.
 */
function UPlotChart({
  data,
  kind,
  bars,
  xLabels,
  yLabel,
  xLabel,
  lang,
}: {
  data: ChartData;
  kind: Kind;
  bars: boolean;
  xLabels?: string[];
  yLabel: string;
  /** legend label of the x value under the cursor */
  xLabel: string;
  lang: Lang;
}) {
  const host = useRef<HTMLDivElement | null>(null);
  useEffect(() => {
    const el = host.current;
    if (!el) return undefined;
    const width = Math.max(280, el.clientWidth);
    const locale = localeOf(lang);
    const timeFmt = new Intl.DateTimeFormat(locale, { timeZone: TIME_ZONE, hour: '2-digit', minute: '2-digit' });
    const opts: uPlot.Options = {
      width,
      height: 200,
      ms: 1,
      ...(kind === 'time' ? { tzDate: (ts: number) => uPlot.tzDate(new Date(ts), TIME_ZONE) } : {}),
      scales: { x: { time: kind === 'time' }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      axes: [
        kind === 'time'
          ? { values: (_u, splits) => splits.map((v) => timeFmt.format(new Date(v))) }
          : // one label every few bins: ranges are long to write, the legend gives each bin in full
            { values: (_u, splits) => splits.map((v) => xLabels?.[v] ?? ''), space: 90, incrs: [1, 2, 3, 4, 6] },
        // counts and percentages: whole-number ticks only
        {
          label: yLabel,
          incrs: [1, 2, 5, 10, 20, 25, 50, 100, 200, 500, 1_000, 2_000, 5_000],
          values: (_u, splits) => splits.map((v) => formatNumber(v, lang, 0)),
        },
      ],
      series: [
        kind === 'time'
          ? { label: xLabel, value: (_u, v) => (v === null ? '' : timeFmt.format(new Date(v))) }
          : { label: xLabel, value: (_u, v) => (v === null ? '' : (xLabels?.[v] ?? '')) },
        ...data.series.map((s, i) => ({
          label: s.label,
          stroke: PALETTE[i % PALETTE.length]!,
          width: 2,
          ...(bars
            ? {
                fill: `${PALETTE[i % PALETTE.length]!}99`,
                paths: uPlot.paths.bars!({ size: [0.8 / Math.max(1, data.series.length), 60], align: 0 }),
              }
            : { paths: uPlot.paths.stepped!({ align: 1 }) }),
        })),
      ],
    };
    const plot = new uPlot(opts, [data.xs, ...data.series.map((s) => s.values)] as uPlot.AlignedData, el);
    const ro = new ResizeObserver(() => plot.setSize({ width: Math.max(280, el.clientWidth), height: 200 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [data, kind, bars, xLabels, yLabel, xLabel, lang]);
  return <div ref={host} className="uplot-host" />;
}

interface Loaded {
  passages: PassagesStats | null;
  decisions: DecisionTimesStats | null;
  lines: LineCountStats | null;
}

async function load(api: ApiClient, site: string, want: { access: boolean; movement: boolean }): Promise<Loaded> {
  const base = `/api/sites/${encodeURIComponent(site)}/stats`;
  const from = encodeURIComponent(startOfDayIso(Date.now(), TIME_ZONE));
  const [p, d, l] = await Promise.all([
    want.access ? api.get<PassagesStats>(`${base}/passages?bucket=5m`) : null,
    want.access ? api.get<DecisionTimesStats>(`${base}/decision-times`) : null,
    want.movement ? api.get<LineCountStats>(`${base}/line-counts?bucket=15m&from=${from}`) : null,
  ]);
  return {
    passages: p?.ok ? p.value : null,
    decisions: d?.ok ? d.value : null,
    lines: l?.ok ? l.value : null,
  };
}

/**
 * Charts of the site (aggregates only, refreshed every minute): passages per 5 minutes per gate over
 * the last 3 hours, the time-to-verdict distribution of badge-only and biometric passages over the
 * last 24 hours (the equal-service promise, in a picture), and line crossings since midnight.
 */
export function LiveCharts({ site, changeKey }: { site: string; changeKey?: string | null }) {
  const { t, lang } = useI18n();
  const { api, session } = useConsole();
  const access = canAt(session, 'events.access:read', site);
  const movement = canAt(session, 'events.movement:read', site);
  const [data, setData] = useState<Loaded>({ passages: null, decisions: null, lines: null });
  useEffect(() => {
    let cancelled = false;
    const run = () =>
      void load(api, site, { access, movement }).then((d) => {
        if (!cancelled) setData(d);
      });
    run();
    const id = setInterval(run, REFRESH_MS);
    return () => {
      cancelled = true;
      clearInterval(id);
    };
  }, [api, site, access, movement]);
  // new passages or crossings arrived: reload a little later (at most one reload per few seconds of traffic)
  const lastKey = useRef(changeKey);
  useEffect(() => {
    if (changeKey === lastKey.current) return undefined;
    lastKey.current = changeKey;
    let cancelled = false;
    const id = setTimeout(() => {
      void load(api, site, { access, movement }).then((d) => {
        if (!cancelled) setData(d);
      });
    }, CHANGE_DELAY_MS);
    return () => {
      cancelled = true;
      clearTimeout(id);
    };
  }, [changeKey, api, site, access, movement]);

  const ms = (v: number) =>
    v >= 1000
      ? t('live.unit.s', { value: formatNumber(v / 1000, lang, 2) })
      : t('live.unit.ms', { value: formatNumber(v, lang, 0) });
  const passages = data.passages ? passagesChart(data.passages) : null;
  const decisions = data.decisions
    ? decisionChart(data.decisions, { badgeOnly: t('live.charts.badgeOnly'), biometric: t('live.charts.biometric') })
    : null;
  const lines = data.lines ? lineCountsChart(data.lines, { in: t('live.charts.in'), out: t('live.charts.out') }) : null;
  const total = (d: ChartData | null) => d?.series.reduce((s, x) => s + x.values.reduce((a, b) => a + b, 0), 0) ?? 0;
  const median = (v: number | null) => (v === null ? t('common.none') : ms(v));
  return (
    <section data-testid="live-charts" aria-labelledby="charts-title" className="live-charts">
      <h2 id="charts-title">{t('live.charts.title')}</h2>
      <div className="charts-grid">
        {access ? (
          <figure data-testid="chart-passages" data-total={total(passages)} data-series={passages?.series.length ?? 0}>
            <figcaption>{t('live.charts.passages')}</figcaption>
            {passages && passages.series.length > 0 ? (
              <UPlotChart
                data={passages}
                kind="time"
                bars
                yLabel={t('live.charts.passagesAxis')}
                xLabel={t('live.charts.timeLegend')}
                lang={lang}
              />
            ) : (
              <p className="muted small">{t('live.charts.none')}</p>
            )}
          </figure>
        ) : null}
        {access ? (
          <figure data-testid="chart-decision-times">
            <figcaption>{t('live.charts.decisionTimes')}</figcaption>
            {data.decisions && decisions && data.decisions.badgeOnly.timed + data.decisions.biometric.timed > 0 ? (
              <>
                <UPlotChart
                  data={decisions}
                  kind="bins"
                  bars
                  xLabels={binLabels(data.decisions.binsMs, ms)}
                  yLabel={t('live.charts.shareAxis')}
                  xLabel={t('live.charts.binLegend')}
                  lang={lang}
                />
                <p className="small muted" data-testid="decision-medians">
                  {t('live.charts.medians', {
                    badge: median(data.decisions.badgeOnly.medianMs),
                    bio: median(data.decisions.biometric.medianMs),
                  })}
                </p>
              </>
            ) : (
              <p className="muted small">{t('live.charts.none')}</p>
            )}
          </figure>
        ) : null}
        {movement ? (
          <figure data-testid="chart-line-counts" data-series={lines?.series.length ?? 0}>
            <figcaption>{t('live.charts.lineCounts')}</figcaption>
            {lines && lines.series.length > 0 ? (
              <UPlotChart
                data={lines}
                kind="time"
                bars={false}
                yLabel={t('live.charts.crossingsAxis')}
                xLabel={t('live.charts.timeLegend')}
                lang={lang}
              />
            ) : (
              <p className="muted small">{t('live.charts.none')}</p>
            )}
          </figure>
        ) : null}
      </div>
    </section>
  );
}
