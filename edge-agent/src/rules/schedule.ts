/**
 * Weekly schedules in the site's IANA time zone (e.g. Europe/Paris), evaluated with
 * Intl.DateTimeFormat so summer/winter time follows the tz database that ships with Node.
 */

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface SchedulePeriod {
  days: readonly Weekday[];
  /** local wall-clock time "HH:MM" */
  start: string;
  /**
   * "HH:MM", exclusive; "24:00" is the end of the day. An end at or before the start runs past
   * midnight into the next day ("22:00"-"06:00" on fri covers Friday night until Saturday 06:00);
   * start = end covers 24 hours.
   */
  end: string;
}

export interface WeeklySchedule {
  timeZone: string;
  periods: readonly SchedulePeriod[];
  /** local dates "YYYY-MM-DD" on which the schedule is off all day (school holidays, bank holidays) */
  exceptDates?: readonly string[];
}

export interface LocalTime {
  /** "YYYY-MM-DD" in the zone */
  date: string;
  weekday: Weekday;
  /** minutes since local midnight, 0-1439 */
  minuteOfDay: number;
}

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$|^24:00$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function parseHhmm(s: string): number {
  if (s === '24:00') return 24 * 60;
  return Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5));
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    // throws RangeError for an unknown zone
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export type ScheduleCheck = { ok: true; value: WeeklySchedule } | { ok: false; error: string };

export function validateSchedule(schedule: WeeklySchedule): ScheduleCheck {
  try {
    formatterFor(schedule.timeZone);
  } catch {
    // Intl signals an unknown zone only by throwing: turn it into a value
    return { ok: false, error: `unknown time zone "${schedule.timeZone}"` };
  }
  for (const [i, p] of schedule.periods.entries()) {
    if (!HHMM.test(p.start) || p.start === '24:00')
      return { ok: false, error: `periods[${i}].start "${p.start}" is not HH:MM` };
    if (!HHMM.test(p.end)) return { ok: false, error: `periods[${i}].end "${p.end}" is not HH:MM` };
    const bad = p.days.find((d) => !WEEKDAYS.includes(d));
    if (bad !== undefined) return { ok: false, error: `periods[${i}].days has unknown day "${bad}"` };
  }
  const badDate = schedule.exceptDates?.find((d) => !DATE.test(d));
  if (badDate !== undefined) return { ok: false, error: `exceptDates has "${badDate}", expected YYYY-MM-DD` };
  return { ok: true, value: schedule };
}

// Rules ask on every frame; the answer only changes per minute (zone offsets are whole minutes).
const lastLocal = new Map<string, { minute: number; value: LocalTime }>();

/** Wall-clock date, weekday and minute in `timeZone` at `tMs` (ms since epoch). */
export function localTime(timeZone: string, tMs: number): LocalTime {
  const minute = Math.floor(tMs / 60_000);
  const cached = lastLocal.get(timeZone);
  if (cached && cached.minute === minute) return cached.value;
  const parts: Record<string, string> = {};
  for (const p of formatterFor(timeZone).formatToParts(new Date(tMs))) parts[p.type] = p.value;
  const value: LocalTime = {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    weekday: parts.weekday!.slice(0, 3).toLowerCase() as Weekday,
    minuteOfDay: Number(parts.hour) * 60 + Number(parts.minute),
  };
  lastLocal.set(timeZone, { minute, value });
  return value;
}

/** Whether the schedule is on at `tMs`; no schedule at all means always on. */
export function isScheduleActive(schedule: WeeklySchedule | undefined, tMs: number): boolean {
  if (!schedule) return true;
  const now = localTime(schedule.timeZone, tMs);
  if (schedule.exceptDates?.includes(now.date)) return false;
  const today = WEEKDAYS.indexOf(now.weekday);
  const yesterday = WEEKDAYS[(today + 6) % 7]!;
  return schedule.periods.some((p) => {
    const start = parseHhmm(p.start);
    const end = parseHhmm(p.end);
    if (start < end) return p.days.includes(now.weekday) && now.minuteOfDay >= start && now.minuteOfDay < end;
    // wraps past midnight: the evening part today, the early-morning part from yesterday's period
    return (
      (p.days.includes(now.weekday) && now.minuteOfDay >= start) ||
      (p.days.includes(yesterday) && now.minuteOfDay < end)
    );
  });
}
