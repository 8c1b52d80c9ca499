import { DAY_EPOCH_MS } from '@portail/protocol';

/**
 * Dates as a school sees them: in the site's time zone, as YYYY-MM-DD. Pure functions.
 *
 * Credential tokens carry a day number (days since 2024-01-01) that the edge compares with its own
 * UTC day, so a local date D maps to the UTC day D: a pass "valid today" stays valid until 00:00
 * UTC after the local day ends (01:00 or 02:00 in France), never less than the local day.
 */

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The calendar date at `now` in `timeZone`, YYYY-MM-DD. */
export function localDate(now: Date, timeZone: string): string {
  // en-CA formats as YYYY-MM-DD
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}

export function isIsoDate(s: string): boolean {
  const m = ISO_DATE.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === s;
}

function parts(iso: string): [number, number, number] {
  const m = ISO_DATE.exec(iso);
  if (!m) throw new RangeError(`not a YYYY-MM-DD date: ${JSON.stringify(iso)}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** The token day number of a calendar date. */
export function dayNumberOfDate(iso: string): number {
  const [y, m, d] = parts(iso);
  return Math.round((Date.UTC(y, m - 1, d) - DAY_EPOCH_MS) / 86_400_000);
}

export function addDays(iso: string, days: number): string {
  const [y, m, d] = parts(iso);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** Whole years from `birthDate` to `onDate` (both YYYY-MM-DD); a 29 February birthday counts on 1 March. */
export function ageOn(birthDate: string, onDate: string): number {
  const [by, bm, bd] = parts(birthDate);
  const [y, m, d] = parts(onDate);
  let age = y - by;
  if (m < bm || (m === bm && d < bd)) age -= 1;
  return age;
}

/**
 * Last valid day of a credential issued on `today`: the next school-year end (MM-DD) on or after
 * `today + issueAheadDays`. Cards printed in the last weeks of a school year (before the summer
 * back-to-school preparation) are for the next one, so they run to the following year's end.
 */
export function schoolYearEnd(today: string, endMonthDay: string, issueAheadDays: number): string {
  if (!/^\d{2}-\d{2}$/.test(endMonthDay) || !isIsoDate(`2000-${endMonthDay}`)) {
    throw new RangeError(`school year end must be MM-DD: ${JSON.stringify(endMonthDay)}`);
  }
  const from = addDays(today, issueAheadDays);
  const year = parts(from)[0];
  // 29 February exists only in leap years: fall back to 28 February
  const candidate = (y: number) => (isIsoDate(`${y}-${endMonthDay}`) ? `${y}-${endMonthDay}` : `${y}-02-28`);
  const thisYear = candidate(year);
  return thisYear >= from ? thisYear : candidate(year + 1);
}
