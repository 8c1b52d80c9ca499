import { dayNumber } from '@portail/protocol';
import { describe, expect, it } from 'vitest';
import { consentStatusOf, missingConsents, requiredParties, type ConsentRecord } from './consent.js';
import { addDays, ageOn, dayNumberOfDate, isIsoDate, localDate, schoolYearEnd } from './school-calendar.js';

describe('school calendar', () => {
  it('takes the local date of the school, not the UTC one', () => {
    // 23:30 UTC on 31 Aug is already 1 Sep in Paris (UTC+2 in summer)
    expect(localDate(new Date('2026-08-31T23:30:00Z'), 'Europe/Paris')).toBe('2026-09-01');
    expect(localDate(new Date('2026-08-31T21:30:00Z'), 'Europe/Paris')).toBe('2026-08-31');
    expect(localDate(new Date('2026-08-31T23:30:00Z'), 'America/Cayenne')).toBe('2026-08-31');
  });

  it('maps a date to the token day number the edge compares with', () => {
    expect(dayNumberOfDate('2024-01-01')).toBe(0);
    expect(dayNumberOfDate('2027-08-31')).toBe(dayNumber(new Date('2027-08-31T12:00:00Z')));
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
    expect(isIsoDate('2027-02-29')).toBe(false);
  });

  it('counts age in whole years, birthdays included', () => {
    expect(ageOn('2008-11-22', '2026-11-21')).toBe(17);
    expect(ageOn('2008-11-22', '2026-11-22')).toBe(18);
    expect(ageOn('2008-02-29', '2026-02-28')).toBe(17);
    expect(ageOn('2008-02-29', '2026-03-01')).toBe(18);
  });

  it('ends credentials at the school-year end, or the next one within the issue-ahead window', () => {
    expect(schoolYearEnd('2026-11-22', '08-31', 30)).toBe('2027-08-31');
    expect(schoolYearEnd('2027-06-15', '08-31', 30)).toBe('2027-08-31');
    // from 1 August, cards are for the next school year
    expect(schoolYearEnd('2027-08-01', '08-31', 30)).toBe('2027-08-31');
    expect(schoolYearEnd('2027-08-02', '08-31', 30)).toBe('2028-08-31');
    expect(schoolYearEnd('2027-08-31', '08-31', 0)).toBe('2027-08-31');
    expect(schoolYearEnd('2027-07-06', '07-05', 0)).toBe('2028-07-05');
    expect(() => schoolYearEnd('2027-01-01', '31-08', 0)).toThrow(RangeError);
  });
});

describe('consent rules (pure)', () => {
  const rec = (id: number, party: ConsentRecord['party'], action: ConsentRecord['action']): ConsentRecord => ({
    id,
    studentId: 1,
    party,
    action,
    channel: 'paper',
    noticeVersion: 'v1',
    effectiveAt: '2026-09-01',
    recordedAt: '2026-09-01T08:00:00.000Z',
    recordedBy: 'test',
  });
  const minor = { id: 1, birthDate: '2010-05-01', guardianCount: 2 };

  it('asks each guardian of a minor, the student always, and only the student once of age', () => {
    expect(requiredParties(minor, '2026-11-22', 18)).toEqual(['student', 'guardian1', 'guardian2']);
    expect(requiredParties({ ...minor, guardianCount: 1 }, '2026-11-22', 18)).toEqual(['student', 'guardian1']);
    expect(requiredParties({ ...minor, guardianCount: 0 }, '2026-11-22', 18)).toEqual(['student']);
    expect(requiredParties(minor, '2028-05-01', 18)).toEqual(['student']);
    // a site with another age of majority
    expect(requiredParties(minor, '2026-11-22', 16)).toEqual(['student']);
  });

  it('the latest record of a party decides; a refusal or withdrawal leaves it missing', () => {
    const records = [
      rec(1, 'student', 'grant'),
      rec(2, 'guardian1', 'grant'),
      rec(3, 'guardian2', 'refuse'),
      rec(4, 'guardian2', 'grant'),
    ];
    expect(missingConsents(consentStatusOf(minor, records, '2026-11-22', 18))).toEqual([]);
    const withdrawn = [...records, rec(5, 'guardian1', 'withdraw')];
    expect(missingConsents(consentStatusOf(minor, withdrawn, '2026-11-22', 18))).toEqual([
      { party: 'guardian1', state: 'withdrawn' },
    ]);
    expect(missingConsents(consentStatusOf(minor, [rec(1, 'student', 'refuse')], '2026-11-22', 18))).toEqual([
      { party: 'student', state: 'refused' },
      { party: 'guardian1', state: 'none' },
      { party: 'guardian2', state: 'none' },
    ]);
  });
});
