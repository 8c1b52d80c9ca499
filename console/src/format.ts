import { localeOf, type Lang } from './i18n/i18n.js';

/** All times are shown in the schools' time zone, whatever the browser's. */
export const TIME_ZONE = 'Europe/Paris';

const cache = new Map<string, Intl.DateTimeFormat>();
function formatter(lang: Lang, withDate: boolean): Intl.DateTimeFormat {
  const key = `${lang}:${withDate}`;
  let f = cache.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(localeOf(lang), {
      timeZone: TIME_ZONE,
      ...(withDate ? { day: '2-digit', month: '2-digit', year: 'numeric' } : {}),
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    cache.set(key, f);
  }
  return f;
}

/** Time only when it is today in Paris, date and time otherwise. */
export function formatDateTime(iso: string | null, lang: Lang, now: Date = new Date()): string | null {
  if (!iso) return null;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return null;
  const day = (x: Date): string => formatter(lang, true).format(x).slice(0, 10);
  return formatter(lang, day(d) !== day(now)).format(d);
}

export function formatNumber(n: number, lang: Lang, maxFractionDigits = 1): string {
  return new Intl.NumberFormat(localeOf(lang), { maximumFractionDigits: maxFractionDigits }).format(n);
}

/** A wait in seconds as people say it: `45 s`, `15 min`, `1 h 05` (rounded up: never shorter than the truth). */
export function formatWait(totalS: number, lang: Lang): string {
  const s = Math.max(0, Math.ceil(totalS));
  if (s < 60) return `${formatNumber(s, lang, 0)} s`;
  const minutes = Math.ceil(s / 60);
  if (minutes < 60) return `${formatNumber(minutes, lang, 0)} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? `${h} h` : `${h} h ${String(m).padStart(2, '0')}`;
}
