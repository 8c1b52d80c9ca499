import { useI18n, type MessageKey } from '../../../i18n/i18n.js';
import { defaultSchedule, WEEKDAYS, type Schedule, type SchedulePeriod, type Weekday } from './editor-model.js';

interface Props {
  /** undefined: the rule is on at all times */
  value: Schedule | undefined;
  onChange: (next: Schedule | undefined) => void;
  /** unique prefix for the inputs' ids and test ids */
  idPrefix: string;
  errors: readonly string[];
  disabled?: boolean;
}

const DAY_KEYS: Record<Weekday, MessageKey> = {
  mon: 'admin.sites.day.mon',
  tue: 'admin.sites.day.tue',
  wed: 'admin.sites.day.wed',
  thu: 'admin.sites.day.thu',
  fri: 'admin.sites.day.fri',
  sat: 'admin.sites.day.sat',
  sun: 'admin.sites.day.sun',
};

/** A rule's weekly schedule: always on, or periods (days, start, end) in the schedule's time zone. */
export function ScheduleEditor({ value, onChange, idPrefix, errors, disabled }: Props) {
  const { t } = useI18n();
  const setPeriod = (i: number, patch: Partial<SchedulePeriod>) =>
    value && onChange({ ...value, periods: value.periods.map((p, k) => (k === i ? { ...p, ...patch } : p)) });
  return (
    <fieldset className="schedule-editor" data-testid={`${idPrefix}-schedule`} disabled={disabled}>
      <legend>{t('admin.sites.schedule.title')}</legend>
      <label className="inline">
        <input
          type="checkbox"
          checked={value === undefined}
          onChange={(e) => onChange(e.target.checked ? undefined : defaultSchedule())}
          data-testid={`${idPrefix}-always`}
        />{' '}
        {t('admin.sites.schedule.always')}
      </label>
      {value ? (
        <>
          <label className="field">
            <span>{t('admin.sites.schedule.timeZone')}</span>
            <input value={value.timeZone} onChange={(e) => onChange({ ...value, timeZone: e.target.value })} />
          </label>
          {value.periods.map((p, i) => (
            <div className="schedule-period" key={i} data-testid={`${idPrefix}-period-${i}`}>
              <div className="days" role="group" aria-label={t('admin.sites.schedule.days')}>
                {WEEKDAYS.map((d) => (
                  <label key={d} className="day">
                    <input
                      type="checkbox"
                      checked={p.days.includes(d)}
                      onChange={(e) =>
                        setPeriod(i, {
                          days: e.target.checked
                            ? WEEKDAYS.filter((x) => x === d || p.days.includes(x))
                            : p.days.filter((x) => x !== d),
                        })
                      }
                    />
                    {t(DAY_KEYS[d])}
                  </label>
                ))}
              </div>
              <label className="inline">
                {t('admin.sites.schedule.start')}{' '}
                <input type="time" value={p.start} onChange={(e) => setPeriod(i, { start: e.target.value })} />
              </label>{' '}
              <label className="inline">
                {t('admin.sites.schedule.end')}{' '}
                <input
                  type="text"
                  className="time-end"
                  pattern="([01]\d|2[0-3]):[0-5]\d|24:00"
                  value={p.end}
                  onChange={(e) => setPeriod(i, { end: e.target.value })}
                />
              </label>{' '}
              <button
                type="button"
                className="link"
                disabled={value.periods.length <= 1}
                onClick={() => onChange({ ...value, periods: value.periods.filter((_, k) => k !== i) })}
              >
                {t('admin.sites.schedule.removePeriod')}
              </button>
            </div>
          ))}
          <button
            type="button"
            onClick={() =>
              onChange({
                ...value,
                periods: [
                  ...value.periods,
                  { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '08:00', end: '17:00' },
                ],
              })
            }
          >
            {t('admin.sites.schedule.addPeriod')}
          </button>
        </>
      ) : null}
      {errors.map((e, i) => (
        <p key={i} className="field-error" role="alert">
          {e}
        </p>
      ))}
    </fieldset>
  );
}
