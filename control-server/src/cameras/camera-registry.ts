import { LOCATION_TYPES, isTrackableLocationType, isValidId, type LocationType } from '@portail/protocol';
import type { Database } from 'better-sqlite3';
import { fail, ok, type Result } from '../people/result.js';
import { parseCameraUrl, redactCameraUrl, type CameraSource } from './camera-url.js';
import { openSealedCameraUrl, sealCameraUrl, type CameraRef, type CameraSecretKey } from './camera-secret.js';

/**
 * The camera registry: what a site declares about each camera of its agents (name, role, location
 * type, whether anonymous tracking is on) and the camera's source URL, a secret stored encrypted
 * (camera-secret.ts). Reads never return the URL: `hasUrl` and the redacted form only. The clear
 * URL leaves through `sourceOf`, for the server's own ffmpeg, and nowhere else.
 */

export const CAMERA_ROLES = ['gate', 'tracking'] as const;
export type CameraRole = (typeof CAMERA_ROLES)[number];

export interface RegisteredCamera {
  site: string;
  agent: string;
  camera: string;
  name: string;
  role: CameraRole;
  locationType: LocationType;
  trackingEnabled: boolean;
  hasUrl: boolean;
  /** the URL with its password replaced by *** (null without a URL) */
  url: string | null;
  createdAt: string;
  updatedAt: string;
  updatedBy: string;
}

export interface CameraInput {
  name: string;
  role: CameraRole;
  locationType: LocationType;
  trackingEnabled: boolean;
  /** absent: keep the stored URL; null: remove it; a string: replace it */
  rtspUrl?: string | null;
}

export type CameraRegistryErrorCode = 'CAMERA_ERR_INVALID' | 'CAMERA_ERR_URL';

export interface CameraRegistry {
  list(site: string): RegisteredCamera[];
  get(ref: CameraRef): RegisteredCamera | null;
  /** insert or replace; `created` tells which */
  put(
    ref: CameraRef,
    input: CameraInput,
    o: { actor: string; now?: Date },
  ): Result<{ camera: RegisteredCamera; created: boolean; urlChanged: boolean }, CameraRegistryErrorCode>;
  remove(ref: CameraRef): boolean;
  /**
   * The decrypted source of a registered camera: null when unknown, `{ source: null }` when it has no URL.
   * For the server's own ffmpeg only; the result is never logged or returned.
   */
  sourceOf(ref: CameraRef): { source: CameraSource | null; url: string | null } | null;
}

interface CameraRow {
  site: string;
  agent: string;
  camera: string;
  name: string;
  role: CameraRole;
  location_type: LocationType;
  tracking_enabled: number;
  url_redacted: string | null;
  url_key_id: string | null;
  url_iv: Buffer | null;
  url_ciphertext: Buffer | null;
  url_tag: Buffer | null;
  created_at: string;
  updated_at: string;
  updated_by: string;
}

function toCamera(r: CameraRow): RegisteredCamera {
  return {
    site: r.site,
    agent: r.agent,
    camera: r.camera,
    name: r.name,
    role: r.role,
    locationType: r.location_type,
    trackingEnabled: r.tracking_enabled === 1,
    hasUrl: r.url_ciphertext !== null,
    url: r.url_redacted,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    updatedBy: r.updated_by,
  };
}

/** Pure: the first problem with a camera declaration, or null. */
export function checkCameraInput(ref: CameraRef, input: CameraInput): string | null {
  for (const k of ['site', 'agent', 'camera'] as const) {
    if (!isValidId(ref[k])) return `invalid ${k} id ${JSON.stringify(ref[k])}`;
  }
  const name = input.name.trim();
  if (name.length === 0 || name.length > 100) return 'name: 1 to 100 characters';
  if (!(CAMERA_ROLES as readonly string[]).includes(input.role)) return `role: one of ${CAMERA_ROLES.join(', ')}`;
  if (!(LOCATION_TYPES as readonly string[]).includes(input.locationType)) {
    return `locationType: one of ${LOCATION_TYPES.join(', ')}`;
  }
  if (input.trackingEnabled && !isTrackableLocationType(input.locationType)) {
    return `tracking cannot be enabled at a "${input.locationType}" location: only entrances and circulation areas are tracked`;
  }
  return null;
}

export function createCameraRegistry(
  db: Database,
  key: CameraSecretKey,
  o: { allowFileUrls: boolean } = { allowFileUrls: false },
): CameraRegistry {
  const listStmt = db.prepare<[string], CameraRow>('SELECT * FROM cameras WHERE site = ? ORDER BY agent, camera');
  const getStmt = db.prepare<[string, string, string], CameraRow>(
    'SELECT * FROM cameras WHERE site = ? AND agent = ? AND camera = ?',
  );
  const upsertStmt = db.prepare(
    `INSERT INTO cameras (site, agent, camera, name, role, location_type, tracking_enabled, url_redacted, url_key_id,
       url_iv, url_ciphertext, url_tag, created_at, updated_at, updated_by)
     VALUES (@site, @agent, @camera, @name, @role, @locationType, @trackingEnabled, @urlRedacted, @keyId,
       @iv, @ciphertext, @tag, @now, @now, @actor)
     ON CONFLICT (site, agent, camera) DO UPDATE SET name = excluded.name, role = excluded.role,
       location_type = excluded.location_type, tracking_enabled = excluded.tracking_enabled,
       url_redacted = excluded.url_redacted, url_key_id = excluded.url_key_id, url_iv = excluded.url_iv,
       url_ciphertext = excluded.url_ciphertext, url_tag = excluded.url_tag, updated_at = excluded.updated_at,
       updated_by = excluded.updated_by`,
  );
  const deleteStmt = db.prepare('DELETE FROM cameras WHERE site = ? AND agent = ? AND camera = ?');

  return {
    list: (site) => listStmt.all(site).map(toCamera),
    get(ref) {
      const r = getStmt.get(ref.site, ref.agent, ref.camera);
      return r ? toCamera(r) : null;
    },
    put(ref, input, opts) {
      const problem = checkCameraInput(ref, input);
      if (problem) return fail('CAMERA_ERR_INVALID', problem);
      let sealed:
        | {
            urlRedacted: string | null;
            keyId: string | null;
            iv: Buffer | null;
            ciphertext: Buffer | null;
            tag: Buffer | null;
          }
        | undefined;
      if (typeof input.rtspUrl === 'string') {
        const parsed = parseCameraUrl(input.rtspUrl, o);
        if (!parsed.ok) return parsed;
        const s = sealCameraUrl(key, ref, input.rtspUrl.trim());
        sealed = {
          urlRedacted: redactCameraUrl(input.rtspUrl),
          keyId: s.keyId,
          iv: s.iv,
          ciphertext: s.ciphertext,
          tag: s.tag,
        };
      } else if (input.rtspUrl === null) {
        sealed = { urlRedacted: null, keyId: null, iv: null, ciphertext: null, tag: null };
      }
      const at = (opts.now ?? new Date()).toISOString();
      return db.transaction(() => {
        const before = getStmt.get(ref.site, ref.agent, ref.camera);
        const keep = sealed ?? {
          urlRedacted: before?.url_redacted ?? null,
          keyId: before?.url_key_id ?? null,
          iv: before?.url_iv ?? null,
          ciphertext: before?.url_ciphertext ?? null,
          tag: before?.url_tag ?? null,
        };
        upsertStmt.run({
          ...ref,
          name: input.name.trim(),
          role: input.role,
          locationType: input.locationType,
          trackingEnabled: input.trackingEnabled ? 1 : 0,
          ...keep,
          now: at,
          actor: opts.actor,
        });
        const camera = toCamera(getStmt.get(ref.site, ref.agent, ref.camera)!);
        return ok({ camera, created: before === undefined, urlChanged: sealed !== undefined });
      })();
    },
    remove: (ref) => deleteStmt.run(ref.site, ref.agent, ref.camera).changes > 0,
    sourceOf(ref) {
      const r = getStmt.get(ref.site, ref.agent, ref.camera);
      if (!r) return null;
      if (!r.url_ciphertext || !r.url_iv || !r.url_tag || !r.url_key_id) return { source: null, url: null };
      const url = openSealedCameraUrl(key, ref, {
        keyId: r.url_key_id,
        iv: r.url_iv,
        ciphertext: r.url_ciphertext,
        tag: r.url_tag,
      });
      // parsed again with today's policy: a file URL stored while allowed is refused once it is not
      const parsed = parseCameraUrl(url, o);
      return { source: parsed.ok ? parsed.value : null, url };
    },
  };
}
