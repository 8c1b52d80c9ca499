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
