import { PROTOCOL_VERSION, type SyncState } from '@portail/protocol';
import type { Logger } from 'pino';
import type { EdgeStore } from '../store/edge-store.js';
import { CredentialKeyError, keyMap, type CredentialTrustHolder } from './credential-trust.js';
import { SyncAssembler } from './sync-assembler.js';

export interface EdgeSyncDeps {
  site: string;
  agent: string;
  store: Pick<EdgeStore, 'applySync' | 'heldSync' | 'templateCount' | 'revoked'>;
  trust: CredentialTrustHolder;
  /** the retained `sync/state` answer; fire and forget (the transport logs a failure) */
  publishState(state: SyncState): void;
  logger: Logger;
  now?: () => Date;
}

export interface EdgeSync {
  /** a message on the site's sync topics (`portail/v1/{site}/sync/#`) */
  onMessage(topic: string, payload: Uint8Array): void;
  /** the last state published, null before the first complete snapshot or rejection */
  state(): SyncState | null;
}

const MAX_ERRORS = 50;
const MAX_ERROR_CHARS = 512;

/**
 * The agent side of the site sync: retained manifest and template chunks in, one atomic apply to
 * agent.sqlite per complete snapshot, the gate's keys and site code swapped, and the version held
 * acknowledged on `sync/state`. A snapshot older than the one held, or inconsistent, is refused
 * and the one in force stays.
 */
export function createEdgeSync(deps: EdgeSyncDeps): EdgeSync {
  const { store, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const assembler = new SyncAssembler(deps.site);
  let appliedIdentity: string | undefined;
  let rejectedIdentity: string | undefined;
  let last: SyncState | null = null;
  /** when the first message of a snapshot not yet applied arrived: sync latency as the agent sees it */
  let pendingSince: number | undefined;

  const publish = (result: SyncState['result'], receivedVersion: number | null, errors?: string[]) => {
    last = {
      v: PROTOCOL_VERSION,
      site: deps.site,
      agent: deps.agent,
      ts: now().toISOString(),
      appliedVersion: store.heldSync()?.version ?? null,
      result,
      receivedVersion,
      templateCount: store.templateCount(),
      revocationCount: store.revoked().size,
      ...(errors?.length ? { errors: errors.slice(0, MAX_ERRORS).map((e) => e.slice(0, MAX_ERROR_CHARS)) } : {}),
    };
    deps.publishState(last);
  };

  function onMessage(topic: string, payload: Uint8Array): void {
    const step = assembler.accept(topic, payload);
    switch (step.kind) {
      case 'ignored':
        return;
      case 'incomplete':
        pendingSince ??= performance.now();
        logger.debug({ version: step.version, missing: step.missing }, 'sync snapshot incomplete, waiting for chunks');
        return;
      case 'invalid':
        logger.error({ receivedVersion: step.receivedVersion, errors: step.errors.slice(0, 5) }, 'sync message rejected, keeping the snapshot in force');
        publish('rejected', step.receivedVersion, step.errors);
        return;
      case 'complete':
        break;
    }
    const s = step.snapshot;
    if (s.identity === appliedIdentity) {
      pendingSince = undefined;
      // the same snapshot again (the retained manifest at a reconnect): say again what is held
      if (step.manifest) publish('applied', s.version);
      return;
    }
    if (s.identity === rejectedIdentity && !step.manifest) return;
    let keys: ReturnType<typeof keyMap>;
    try {
      // before anything is stored: keys the gate could not use must not replace the ones in force
      keys = keyMap(s.publicKeys);
    } catch (err) {
      if (!(err instanceof CredentialKeyError)) throw err;
      rejectedIdentity = s.identity;
      logger.error({ version: s.version, err: err.message }, 'sync snapshot rejected, keeping the one in force');
      publish('rejected', s.version, [err.message]);
      return;
    }
    let result: ReturnType<typeof store.applySync>;
    try {
      result = store.applySync(s);
    } catch (err) {
      // the database failed (disk full, I/O): nothing was changed, the next message tries again
      logger.error({ version: s.version, err: (err as Error).message }, 'sync snapshot could not be stored');
      publish('rejected', s.version, [`store: ${(err as Error).message}`]);
      return;
    }
    if (!result.ok) {
      rejectedIdentity = s.identity;
      logger.error({ version: s.version, code: result.error.code, heldVersion: result.error.heldVersion }, result.error.message);
      publish('rejected', s.version, [result.error.message]);
      return;
    }
    appliedIdentity = s.identity;
    rejectedIdentity = undefined;
    const trust = deps.trust.fromServer(s, keys);
    const r = result.value;
    const assembleMs = pendingSince === undefined ? 0 : Math.round(performance.now() - pendingSince);
    pendingSince = undefined;
    logger.info(
      {
        version: r.version,
        templates: r.templateCount,
        written: r.templatesWritten,
        deleted: r.templatesDeleted,
        refused: r.templatesRefused,
        revocationsAdded: r.revocationsAdded,
        revocations: r.revocationCount,
        keys: [...trust.publicKeys.keys()],
        siteCode: trust.siteCode,
        assembleMs,
      },
      'sync snapshot applied',
    );
    publish('applied', s.version);
  }

  return { onMessage, state: () => last };
}
