import { describe, expect, it } from 'vitest';
import { isScheduleActive, localTime, validateSchedule, type WeeklySchedule } from './schedule.js';

const school: WeeklySchedule = {
  timeZone: 'Europe/Paris',
  periods: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '08:00', end: '18:00' }],
};
const t = (iso: string) => Date.parse(iso);

describe('schedule', () => {
  it('reads the wall clock of the zone, winter (UTC+1) and summer (UTC+2) time', () => {
    expect(localTime('Europe/Paris', t('2025-03-03T07:00:00Z'))).toEqual({
      date: '2025-03-03',
      weekday: 'mon',
      minuteOfDay: 8 * 60,
    });
    expect(localTime('Europe/Paris', t('2025-07-07T06:00:00Z'))).toEqual({
      date: '2025-07-07',
      weekday: 'mon',
      minuteOfDay: 8 * 60,
    });
    // 23:30 UTC on Sunday is already Monday in Paris
    expect(localTime('Europe/Paris', t('2025-03-02T23:30:00Z'))).toMatchObject({
      date: '2025-03-03',
      weekday: 'mon',
      minuteOfDay: 30,
    });
    // midnight is 0, not 24
    expect(localTime('Europe/Paris', t('2025-03-02T23:00:00Z')).minuteOfDay).toBe(0);
  });

  it('is on during school hours on weekdays only, across the daylight-saving change', () => {
    expect(isScheduleActive(school, t('2025-03-03T06:59:00Z'))).toBe(false); // Mon 07:59
    expect(isScheduleActive(school, t('2025-03-03T07:00:00Z'))).toBe(true); // Mon 08:00
    expect(isScheduleActive(school, t('2025-03-03T16:59:00Z'))).toBe(true); // Mon 17:59
    expect(isScheduleActive(school, t('2025-03-03T17:00:00Z'))).toBe(false); // Mon 18:00
    expect(isScheduleActive(school, t('2025-03-08T10:00:00Z'))).toBe(false); // Sat 11:00
    expect(isScheduleActive(school, t('2025-07-07T05:59:00Z'))).toBe(false); // summer Mon 07:59
    expect(isScheduleActive(school, t('2025-07-07T06:00:00Z'))).toBe(true); // summer Mon 08:00
    expect(isScheduleActive(school, t('2025-03-31T06:00:00Z'))).toBe(true); // first Monday of summer time, 08:00
  });

  it('runs an overnight period into the next day', () => {
    const night: WeeklySchedule = {
      timeZone: 'Europe/Paris',
      periods: [{ days: ['fri'], start: '22:00', end: '06:00' }],
    };
    expect(isScheduleActive(night, t('2025-03-07T20:59:00Z'))).toBe(false); // Fri 21:59
    expect(isScheduleActive(night, t('2025-03-07T22:00:00Z'))).toBe(true); // Fri 23:00
    expect(isScheduleActive(night, t('2025-03-08T04:59:00Z'))).toBe(true); // Sat 05:59
    expect(isScheduleActive(night, t('2025-03-08T05:00:00Z'))).toBe(false); // Sat 06:00
    expect(isScheduleActive(night, t('2025-03-06T22:00:00Z'))).toBe(false); // Thu 23:00
    const allDay: WeeklySchedule = {
      timeZone: 'Europe/Paris',
      periods: [{ days: ['sun'], start: '00:00', end: '00:00' }],
    };
    expect(isScheduleActive(allDay, t('2025-03-09T22:59:00Z'))).toBe(true); // Sun 23:59
    expect(isScheduleActive(allDay, t('2025-03-09T23:00:00Z'))).toBe(false); // Mon 00:00
  });

  it('is off on excepted dates and always on without a schedule', () => {
    expect(isScheduleActive({ ...school, exceptDates: ['2025-03-03'] }, t('2025-03-03T10:00:00Z'))).toBe(false);
    expect(isScheduleActive({ ...school, exceptDates: ['2025-03-03'] }, t('2025-03-04T10:00:00Z'))).toBe(true);
    expect(isScheduleActive(undefined, 0)).toBe(true);
  });

  it('validates zones, times, days and dates', () => {
    expect(validateSchedule(school).ok).toBe(true);
    expect(validateSchedule({ ...school, timeZone: 'Europe/Atlantis' })).toEqual({
      ok: false,
      error: 'unknown time zone "Europe/Atlantis"',
    });
    expect(validateSchedule({ ...school, periods: [{ days: ['mon'], start: '8:00', end: '18:00' }] }).ok).toBe(false);
    expect(validateSchedule({ ...school, periods: [{ days: ['mon'], start: '08:00', end: '24:00' }] }).ok).toBe(true);
    expect(
      validateSchedule({ ...school, periods: [{ days: ['lun' as 'mon'], start: '08:00', end: '18:00' }] }).ok,
    ).toBe(false);
    expect(validateSchedule({ ...school, exceptDates: ['03/03/2025'] }).ok).toBe(false);
  });
});
