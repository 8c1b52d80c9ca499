import type { Database } from 'better-sqlite3';

/**
 * The database side of the fleet view: counts and version numbers only (no event payload, no
 * credential id, no name leaves here). Alerts are the events a supervisor is alerted about:
 * face mismatch and spoof suspected (access), tailgating, restricted zone and wrong way (movement),
 * camera offline or stalled.
 */

export const FLEET_ALERT_KINDS = ['mismatch', 'spoof', 'tailgating', 'zone', 'wrongWay', 'cameraOffline'] as const;
export type FleetAlertKind = (typeof FLEET_ALERT_KINDS)[number];

export interface FleetQueries {
  /** alerts of `site` received since `sinceIso`, by kind (kinds with none are absent) */
  alertCounts(site: string, sinceIso: string): Partial<Record<FleetAlertKind, number>>;
  /** per site, the site sync version last published to its agents */
  publishedSyncVersions(): Map<string, number>;
}

export function createFleetQueries(db: Database): FleetQueries {
  // one range scan per event kind on (site, kind, received_at): the last hour of one site only
  const alerts = db.prepare<[string, string, string], { k: FleetAlertKind | null; n: number }>(
    `SELECT CASE
        WHEN kind = 'access' AND json_extract(payload, '$.decision') = 'mismatch' THEN 'mismatch'
        WHEN kind = 'access' AND json_extract(payload, '$.decision') = 'spoof_suspected' THEN 'spoof'
        WHEN kind = 'movement' AND json_extract(payload, '$.kind') = 'tailgating' THEN 'tailgating'
        WHEN kind = 'movement' AND json_extract(payload, '$.kind') = 'zone_entry' THEN 'zone'
        WHEN kind = 'movement' AND json_extract(payload, '$.kind') = 'wrong_way' THEN 'wrongWay'
        WHEN kind = 'camera' AND json_extract(payload, '$.state') IN ('offline', 'stalled') THEN 'cameraOffline'
      END AS k, count(*) AS n
     FROM events WHERE site = ? AND kind = ? AND received_at >= ? GROUP BY k`,
  );
  const published = db.prepare<[], { site: string; version: number }>('SELECT site, version FROM sync_publications');
  return {
    alertCounts(site, sinceIso) {
      const out: Partial<Record<FleetAlertKind, number>> = {};
      for (const kind of ['access', 'movement', 'camera']) {
        for (const r of alerts.all(site, kind, sinceIso)) if (r.k !== null) out[r.k] = r.n;
      }
      return out;
    },
    publishedSyncVersions() {
      return new Map(published.all().map((r) => [r.site, r.version]));
    },
  };
}
