import { createHash } from 'node:crypto';
import { buildSiteTopic, SITE_TOPICS, type SyncState } from '@portail/protocol';
import type { Database } from 'better-sqlite3';
import type { Logger } from 'pino';
import { getPeopleSite, nextSyncVersion } from './people-sites.js';
import { readPublicSigningKeys } from './signing-key-store.js';
import { planSyncPublication, type SyncPlan } from './sync-plan.js';
import { readSyncSet } from './withdrawal.js';

/**
 * Publishes each site's sync set for its agents, retained, on `portail/v1/{site}/sync/manifest`
 * and `portail/v1/{site}/sync/templates/{index}`, whenever it changes, and at startup.
 *
 * Changes are found by polling (a cheap read of each site's sync version and of the signing-key
 * list) because `portail-admin` changes people data from another process; an in-process change
 * may call `notify` to skip the wait. Each enrolment, withdrawal, departure, re-issue or
 * revocation raises the site's sync version in its own transaction; a change of signing keys
 * (rotation, retirement) raises it here, so that agents acknowledge the new keys with a new
 * version. Each publication is a full snapshot (changed chunks, then the manifest): an agent
 * that was away a week gets the current state from the retained messages, with no replay.
 */
export interface SyncPublisherDeps {
  db: Database;
  /** the server's data directory (signing keys in `keys/credential-signing/keys.json`) */
  dataDir: string;
  publish(topic: string, payload: string, o: { qos: 0 | 1; retain: boolean }): Promise<void>;
  logger: Logger;
  /** how often to look for changes made by another process; default 1000 ms */
  pollMs?: number;
  now?: () => Date;
  chunkTargetBytes?: number;
}

export interface SitePublication {
  site: string;
  version: number;
  chunkCount: number;
  templateCount: number;
  revocationCount: number;
  publishedAt: string;
}

export interface SyncPublisher {
  /** publish every site now, then poll for changes */
  start(): void;
  /** a change made in this process: publish without waiting for the next poll */
  notify(site?: string): void;
  /** the broker may have lost its retained messages (it came back without our session): send everything again */
  republishAll(): void;
  /**
   * An agent's acknowledgement. One holding a version above the site's (the server was restored
   * from a backup) would refuse every snapshot as older: the site's version is raised past it.
   */
  onAgentState(state: SyncState): void;
  /** what was last published for a site (null before the first publication) */
  published(site: string): SitePublication | null;
  /** resolves when no publication is running (tests) */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

interface Published extends SitePublication {
  keysDigest: string;
  chunkDigests: string[];
}

interface PublicationRow {
  site: string;
  keys_digest: string;
  version: number;
  chunk_count: number;
  published_at: string | null;
}

const STOP_WAIT_MS = 2_000;

export function createSyncPublisher(deps: SyncPublisherDeps): SyncPublisher {
  const { db, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const pollMs = deps.pollMs ?? 1_000;
  const published = new Map<string, Published>();
  /** sites whose last try failed or that were notified: tried at the next cycle whatever their version */
  const dirty = new Set<string>();
  /** a plan that cannot be published (too large): not tried again until the version changes */
  const refused = new Map<string, number>();
  let running: Promise<void> | null = null;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let keysError = false;

  const sitesStmt = db.prepare<[], { site: string; sync_version: number }>(
    'SELECT site, sync_version FROM people_sites ORDER BY site',
  );
  const getPubStmt = db.prepare<[string], PublicationRow>('SELECT * FROM sync_publications WHERE site = ?');
  const upsertPubStmt = db.prepare(
    `INSERT INTO sync_publications (site, keys_digest, version, chunk_count, published_at) VALUES (@site, @keysDigest, @version, @chunkCount, @publishedAt)
     ON CONFLICT (site) DO UPDATE SET keys_digest = excluded.keys_digest, version = excluded.version,
       chunk_count = excluded.chunk_count, published_at = excluded.published_at`,
  );
  const raiseStmt = db.prepare<[number, string, number]>(
    'UPDATE people_sites SET sync_version = ? WHERE site = ? AND sync_version < ?',
  );

  function readKeys(): { list: { keyId: number; pem: string }[]; digest: string } | null {
    try {
      const keys = readPublicSigningKeys(deps.dataDir);
      if (keysError) logger.info('signing keys readable again');
      keysError = false;
      if (!keys || keys.length === 0) return null;
      const list = keys.map((k) => ({ keyId: k.keyId, pem: k.publicKeyPem }));
      return { list, digest: createHash('sha256').update(JSON.stringify(list)).digest('hex') };
    } catch (err) {
      // a key list being rewritten or broken: keep what the agents have, try again at the next poll
      if (!keysError) logger.error({ err: (err as Error).message }, 'signing keys unreadable, site sync paused');
      keysError = true;
      return null;
    }
  }

  /** Read and plan in one transaction: the version, the keys it carries and the set agree. */
  function prepare(site: string, keys: { list: { keyId: number; pem: string }[]; digest: string }) {
    return db.transaction(() => {
      const row = getPubStmt.get(site);
      if (row && row.keys_digest !== keys.digest) {
        const v = nextSyncVersion(db, site);
        logger.info(
          { site, version: v, keys: keys.list.map((k) => k.keyId) },
          'signing keys changed: new site sync version',
        );
      }
      const set = readSyncSet(db, site, now());
      if (!set.ok) return { set, row };
      upsertPubStmt.run({
        site,
        keysDigest: keys.digest,
        version: row?.version ?? set.value.version,
        chunkCount: row?.chunk_count ?? 0,
        publishedAt: row?.published_at ?? null,
      });
      return { set, row };
    })();
  }

  async function publishSite(
    site: string,
    keys: { list: { keyId: number; pem: string }[]; digest: string },
  ): Promise<void> {
    const t0 = performance.now();
    const { set, row } = prepare(site, keys);
    if (!set.ok) return;
    const ts = now().toISOString();
    const previousChunkCount = published.get(site)?.chunkCount ?? row?.chunk_count ?? undefined;
    const planned = planSyncPublication({
      set: set.value,
      publicKeys: keys.list,
      ts,
      ...(previousChunkCount ? { previousChunkCount } : {}),
      ...(deps.chunkTargetBytes !== undefined ? { targetBytes: deps.chunkTargetBytes } : {}),
    });
    if (!planned.ok) {
      if (refused.get(site) !== set.value.version)
        logger.error({ site, code: planned.error.code }, planned.error.message);
      refused.set(site, set.value.version);
      return;
    }
    refused.delete(site);
    const plan: SyncPlan = planned.value;
    const before = published.get(site);
    const retainedBefore = Math.max(before?.chunkDigests.length ?? 0, row?.chunk_count ?? 0);
    const changed = plan.chunks.filter((c) => before?.chunkDigests[c.index] !== c.digest);
    const spec = SITE_TOPICS.syncChunk;
    // chunks first, the manifest last: an agent never holds a manifest whose chunks are not out yet
    await Promise.all([
      ...changed.map((c) =>
        deps.publish(buildSiteTopic('syncChunk', site, c.index), c.payload, { qos: spec.qos, retain: spec.retain }),
      ),
      // an empty retained payload deletes a chunk the site no longer uses
      ...Array.from({ length: Math.max(0, retainedBefore - plan.chunks.length) }, (_, i) =>
        deps.publish(buildSiteTopic('syncChunk', site, plan.chunks.length + i), '', { qos: spec.qos, retain: true }),
      ),
    ]);
    await deps.publish(buildSiteTopic('syncManifest', site), plan.manifestPayload, {
      qos: SITE_TOPICS.syncManifest.qos,
      retain: SITE_TOPICS.syncManifest.retain,
    });
    const entry: Published = {
      site,
      version: plan.manifest.version,
      chunkCount: plan.chunks.length,
      templateCount: plan.manifest.templateCount,
      revocationCount: plan.manifest.revocations.length,
      publishedAt: ts,
      keysDigest: keys.digest,
      chunkDigests: plan.chunks.map((c) => c.digest),
    };
    published.set(site, entry);
    upsertPubStmt.run({
      site,
      keysDigest: keys.digest,
      version: entry.version,
      chunkCount: entry.chunkCount,
      publishedAt: ts,
    });
    logger.info(
      {
        site,
        version: entry.version,
        templates: entry.templateCount,
        revocations: entry.revocationCount,
        chunks: entry.chunkCount,
        chunksSent: changed.length,
        ms: Math.round(performance.now() - t0),
      },
      'site sync published',
    );
  }

  async function cycle(): Promise<void> {
    const keys = readKeys();
    // no signing key yet: no credential exists that an agent could check
    if (!keys) return;
    for (const { site, sync_version: version } of sitesStmt.all()) {
      if (stopped) return;
      const p = published.get(site);
      const due = dirty.has(site) || !p || p.version !== version || p.keysDigest !== keys.digest;
      if (!due || refused.get(site) === version) continue;
      dirty.delete(site);
      try {
        await publishSite(site, keys);
      } catch (err) {
        // the broker refused or the connection closed mid-way: the whole snapshot goes again next time
        dirty.add(site);
        logger.warn({ site, err: (err as Error).message }, 'site sync not published, retrying');
      }
    }
  }

  function kick(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = cycle()
      .catch((err: unknown) => {
        // a database error reading the sites: logged, the next poll tries again
        logger.error({ err: (err as Error).message }, 'site sync cycle failed');
      })
      .finally(() => {
        running = null;
        if (again) {
          again = false;
          kick();
        }
      });
  }

  return {
    start() {
      kick();
      timer = setInterval(kick, pollMs);
      timer.unref();
    },
    notify(site) {
      if (site) dirty.add(site);
      else for (const { site: s } of sitesStmt.all()) dirty.add(s);
      kick();
    },
    republishAll() {
      published.clear();
      kick();
    },
    onAgentState(state) {
      const held = state.appliedVersion;
      if (held === null) return;
      const site = getPeopleSite(db, state.site);
      if (!site || held <= site.syncVersion) return;
      const raised = raiseStmt.run(held + 1, state.site, held + 1).changes > 0;
      if (raised) {
        logger.warn(
          {
            site: state.site,
            agent: state.agent,
            agentVersion: held,
            serverVersion: site.syncVersion,
            version: held + 1,
          },
          'an agent holds a newer site sync version than the server (restored from a backup?): version raised past it',
        );
        dirty.add(state.site);
        kick();
      }
    },
    published(site) {
      const p = published.get(site);
      if (!p) return null;
      const { keysDigest: _k, chunkDigests: _c, ...pub } = p;
      return pub;
    },
    async idle() {
      while (running) await running;
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      // a publication waiting for a broker that is gone must not hold the shutdown
      if (running) await Promise.race([running, new Promise((r) => setTimeout(r, STOP_WAIT_MS).unref())]);
    },
  };
}
