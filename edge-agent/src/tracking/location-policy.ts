/**
 * Where anonymous tracking may run at all. The site declares what each camera looks at; tracking
 * can be turned on only for an entrance or a circulation area. Following pupils where they spend
 * their day (playground, classroom, canteen) is disproportionate to a security purpose, which is
 * what the CNIL found in 2019 about the Région PACA experiment; the edge refuses it itself, even if
 * a server sent such a configuration.
 */
import { isTrackableLocationType, LOCATION_TYPES, type LocationType } from '@portail/protocol';

export type TrackingPolicyErrorCode = 'TRACKING_ERR_LOCATION_NOT_ALLOWED';

export type TrackingPolicyResult =
  { ok: true } | { ok: false; error: { code: TrackingPolicyErrorCode; message: string } };

/** Whether tracking may be enabled on a camera of this declared location type. Pure. */
export function canEnableTracking(locationType: LocationType): TrackingPolicyResult {
  if (isTrackableLocationType(locationType)) return { ok: true };
  // the type allows only known values, but the value may come from JSON: say so plainly
  const known = (LOCATION_TYPES as readonly string[]).includes(locationType);
  const what = known
    ? `a camera at a location of type "${locationType}"`
    : `a camera of unknown location type "${String(locationType)}"`;
  return {
    ok: false,
    error: {
      code: 'TRACKING_ERR_LOCATION_NOT_ALLOWED',
      message:
        `tracking cannot be enabled for ${what}: only entrances and circulation areas may be tracked; ` +
        'playgrounds, classrooms and canteens are never tracked (CNIL proportionality)',
    },
  };
}
