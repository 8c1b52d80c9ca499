import {
  agentConfigSchema,
  buildTopic,
  decodePayload,
  encodePayload,
  MAX_PAYLOAD_BYTES,
  parseTopic,
  PROTOCOL_VERSION,
  TOPICS,
  type AgentConfig,
} from '@portail/protocol';
import type { Database } from 'better-sqlite3';
import type { Logger } from 'pino';
import { canonicalJson } from '../audit/audit-log.js';

/**
 * Each agent's configuration (the retained `portail/v1/{site}/{agent}/config` topic) owned by the
 * server: every version is stored (who, when), the highest one is published retained through the
 * server's MQTT client, and the agent answers on `config/state` (tracked by ingest in the agents
 * table). The server is the only publisher of this topic; what it finds there without having
 * published it (a configuration written by hand or by an older tool) is imported as a version
 * rather than overwritten: on first sight when the server has none, or when it is newer than the
 * server's. After every (re)connect the broker re-delivers the retained configurations; once they
 * have settled, whatever the broker lacks or holds stale is published again.
 */

export type AgentConfigBody = Pick<AgentConfig, 'cameras' | 'thresholds'>;
export type AgentConfigSource = 'console' | 'imported';

export interface AgentConfigVersion {
  site: string;
  agent: string;
  version: number;
  body: AgentConfigBody;
  source: AgentConfigSource;
  createdBy: string;
  createdAt: string;
}

/** One validation problem, `path` in the dotted form of the body (`cameras.0.zones.1.polygon`). */
export interface ConfigIssue {
  path: string;
  message: string;
}

export interface Publication {
  version: number;
  /** when the broker acknowledged it; null while in flight */
  publishedAt: string | null;
  error?: string;
}

/** What the agent runs, from its status: the cameras a configuration may name, and their roles. */
export interface AgentCameraInfo {
  id: string;
  role: 'gate' | 'tracking' | 'both';
}

export type SaveError =
  | { code: 'CONFIG_INVALID'; message: string; issues: ConfigIssue[] }
  | { code: 'CONFIG_CONFLICT'; message: string; currentVersion: number };

export type SaveResult =
  | {
      ok: true;
      value: { version: number; unchanged: boolean; before: AgentConfigVersion | null; after: AgentConfigVersion };
    }
  | { ok: false; error: SaveError };

export interface SaveInput {
  /** the version the editor started from; a different current version is a conflict (409) */
  baseVersion?: number | null;
  cameras: unknown;
  thresholds?: unknown;
}

export interface AgentConfigServiceDeps {
  db: Database;
  publish(topic: string, payload: string, o: { qos: 0 | 1; retain: boolean }): Promise<void>;
  logger: Logger;
  now?: () => Date;
  /** how long after a (re)connect the retained configurations are given to arrive; default 2000 ms */
  settleMs?: number;
  /** scale-out: only these sites are published (all when absent) */
  sites?: readonly string[];
}

export interface AgentConfigService {
  current(site: string, agent: string): AgentConfigVersion | null;
  /** newest first */
  history(site: string, agent: string, limit?: number): AgentConfigVersion[];
  /** what this process last published for the agent (null before any publication) */
  publication(site: string, agent: string): Publication | null;
  /** version of the retained configuration last seen on the broker (null when none was seen) */
  brokerVersion(site: string, agent: string): number | null;
  /** validate and store a new version (N+1), then publish it; an identical body stores nothing */
  save(
    site: string,
    agent: string,
    input: SaveInput,
    actor: string,
    cameras?: readonly AgentCameraInfo[] | null,
  ): SaveResult;
  /** feed every MQTT message; true when it was this agent's retained configuration */
  observe(topic: string, payload: Uint8Array): boolean;
  /** after every (re)connect of the server's MQTT client */
  onConnect(): void;
  /** publish what the broker lacks or holds stale (run by onConnect after settling; tests call it) */
  reconcile(): void;
  /** resolves when no publication is in flight (tests) */
  idle(): Promise<void>;
  stop(): void;
}

interface ConfigRow {
  site: string;
  agent: string;
  version: number;
  body: string;
  source: AgentConfigSource;
  created_by: string;
  created_at: string;
}

const toVersion = (r: ConfigRow): AgentConfigVersion => ({
  site: r.site,
  agent: r.agent,
  version: r.version,
  body: JSON.parse(r.body) as AgentConfigBody,
  source: r.source,
  createdBy: r.created_by,
  createdAt: r.created_at,
});

const keyOf = (site: string, agent: string) => `${site}\u0000${agent}`;
const bodyJson = (b: AgentConfigBody) => canonicalJson({ cameras: b.cameras, thresholds: b.thresholds });

/** Which permissions a change needs: rules (zones, lines, tailgating) vs cameras and thresholds. */
export function classifyChange(
  before: AgentConfigBody | null,
  after: AgentConfigBody,
): { rules: boolean; cameras: boolean } {
  const rulesOf = (b: AgentConfigBody | null) =>
    canonicalJson(
      (b?.cameras ?? [])
        .filter((c) => c.zones.length + c.lines.length + c.tailgating.length > 0)
        .map((c) => [c.id, c.zones, c.lines, c.tailgating])
        .sort(),
    );
  const camerasOf = (b: AgentConfigBody | null) =>
    canonicalJson({
      cameras: (b?.cameras ?? []).map((c) => [c.id, c.locationType, c.trackingEnabled]).sort(),
      thresholds: b?.thresholds ?? {},
    });
  return { rules: rulesOf(before) !== rulesOf(after), cameras: camerasOf(before) !== camerasOf(after) };
}

/** Validate a body as the agent will: the protocol schema, plus what the agent's status tells. */
export function validateConfigBody(
  site: string,
  agent: string,
  version: number,
  input: { cameras: unknown; thresholds?: unknown },
  cameras: readonly AgentCameraInfo[] | null | undefined,
  now: Date,
): { ok: true; value: AgentConfig } | { ok: false; issues: ConfigIssue[] } {
  const parsed = agentConfigSchema.safeParse({
    v: PROTOCOL_VERSION,
    site,
    agent,
    ts: now.toISOString(),
    configVersion: version,
    cameras: input.cameras,
    thresholds: input.thresholds ?? {},
  });
  if (!parsed.success) {
    return {
      ok: false,
      issues: parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
    };
  }
  const issues: ConfigIssue[] = [];
  if (Buffer.byteLength(JSON.stringify(parsed.data)) > MAX_PAYLOAD_BYTES) {
    issues.push({
      path: 'cameras',
      message: `the configuration exceeds the ${MAX_PAYLOAD_BYTES / 1024} KiB an MQTT message may carry`,
    });
  }
  // the agent refuses a camera it does not run and tracking on a gate-only camera: say so before publishing
  if (cameras && cameras.length > 0) {
    parsed.data.cameras.forEach((c, i) => {
      const local = cameras.find((x) => x.id === c.id);
      if (!local) issues.push({ path: `cameras.${i}.id`, message: `agent ${agent} has no camera "${c.id}"` });
      else if (c.trackingEnabled && local.role === 'gate')
        issues.push({
          path: `cameras.${i}.trackingEnabled`,
          message: `camera "${c.id}" has the gate role: tracking needs role tracking or both`,
        });
    });
  }
  return issues.length ? { ok: false, issues } : { ok: true, value: parsed.data };
}

export function createAgentConfigService(deps: AgentConfigServiceDeps): AgentConfigService {
  const { db, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const settleMs = deps.settleMs ?? 2_000;
  const owned = deps.sites ? new Set(deps.sites) : null;
  const publications = new Map<string, Publication>();
  /** retained configuration seen on the broker since the last (re)connect */
  const onBroker = new Map<string, { version: number; body: string } | null>();
  const inFlight = new Set<Promise<void>>();
  let settleTimer: NodeJS.Timeout | undefined;
  let stopped = false;

  const currentStmt = db.prepare<[string, string], ConfigRow>(
    'SELECT * FROM agent_configs WHERE site = ? AND agent = ? ORDER BY version DESC LIMIT 1',
  );
  const historyStmt = db.prepare<[string, string, number], ConfigRow>(
    'SELECT * FROM agent_configs WHERE site = ? AND agent = ? ORDER BY version DESC LIMIT ?',
  );
  const insertStmt = db.prepare(
    `INSERT INTO agent_configs (site, agent, version, body, source, created_by, created_at)
     VALUES (@site, @agent, @version, @body, @source, @createdBy, @createdAt)`,
  );
  const allCurrentStmt = db.prepare<[], ConfigRow>(
    `SELECT c.* FROM agent_configs c
      WHERE c.version = (SELECT max(version) FROM agent_configs m WHERE m.site = c.site AND m.agent = c.agent)`,
  );

  const current = (site: string, agent: string) => {
    const row = currentStmt.get(site, agent);
    return row ? toVersion(row) : null;
  };

  function insert(v: AgentConfigVersion): void {
    insertStmt.run({ ...v, body: JSON.stringify(v.body) });
  }

  function publish(v: AgentConfigVersion): void {
    if (stopped || (owned && !owned.has(v.site))) return;
    const key = keyOf(v.site, v.agent);
    const payload = encodePayload('config', {
      v: PROTOCOL_VERSION,
      site: v.site,
      agent: v.agent,
      ts: now().toISOString(),
      configVersion: v.version,
      ...v.body,
    });
    publications.set(key, { version: v.version, publishedAt: null });
    const p = deps
      .publish(buildTopic('config', v.site, v.agent), payload, { qos: TOPICS.config.qos, retain: true })
      .then(
        () => {
          if (publications.get(key)?.version === v.version)
            publications.set(key, { version: v.version, publishedAt: now().toISOString() });
          logger.info({ site: v.site, agent: v.agent, configVersion: v.version }, 'agent configuration published');
        },
        (err: unknown) => {
          // mqtt.js holds QoS 1 messages while disconnected; a failure here is a closed client: the next connect reconciles
          publications.set(key, { version: v.version, publishedAt: null, error: (err as Error).message });
          logger.warn(
            { site: v.site, agent: v.agent, configVersion: v.version, err: (err as Error).message },
            'agent configuration not published',
          );
        },
      )
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }

  function importFromBroker(c: AgentConfig, why: string): void {
    const v: AgentConfigVersion = {
      site: c.site,
      agent: c.agent,
      version: c.configVersion,
      body: { cameras: c.cameras, thresholds: c.thresholds },
      source: 'imported',
      createdBy: 'broker',
      createdAt: now().toISOString(),
    };
    insert(v);
    logger.info(
      { site: c.site, agent: c.agent, configVersion: c.configVersion, why },
      'agent configuration imported from the broker',
    );
  }

  function reconcile(): void {
    for (const row of allCurrentStmt.all()) {
      const v = toVersion(row);
      const seen = onBroker.get(keyOf(v.site, v.agent));
      if (seen && seen.version === v.version && seen.body === bodyJson(v.body)) continue;
      publish(v);
    }
  }

  return {
    current,
    history(site, agent, limit = 50) {
      return historyStmt.all(site, agent, limit).map(toVersion);
    },
    publication: (site, agent) => publications.get(keyOf(site, agent)) ?? null,
    brokerVersion: (site, agent) => onBroker.get(keyOf(site, agent))?.version ?? null,

    save(site, agent, input, actor, cameras) {
      const before = current(site, agent);
      const base = input.baseVersion ?? null;
      if (base !== null && before && base !== before.version) {
        return {
          ok: false,
          error: {
            code: 'CONFIG_CONFLICT',
            message: `the configuration changed meanwhile: version ${before.version} is in force, not ${base}`,
            currentVersion: before.version,
          },
        };
      }
      if (base !== null && !before && base !== 0) {
        return {
          ok: false,
          error: { code: 'CONFIG_CONFLICT', message: `no configuration yet, not version ${base}`, currentVersion: 0 },
        };
      }
      const version = (before?.version ?? 0) + 1;
      const checked = validateConfigBody(site, agent, version, input, cameras, now());
      if (!checked.ok) {
        return {
          ok: false,
          error: {
            code: 'CONFIG_INVALID',
            message: checked.issues.map((i) => `${i.path}: ${i.message}`).join('; '),
            issues: checked.issues,
          },
        };
      }
      const body: AgentConfigBody = { cameras: checked.value.cameras, thresholds: checked.value.thresholds };
      if (before && bodyJson(before.body) === bodyJson(body)) {
        return { ok: true, value: { version: before.version, unchanged: true, before, after: before } };
      }
      const after: AgentConfigVersion = {
        site,
        agent,
        version,
        body,
        source: 'console',
        createdBy: actor,
        createdAt: now().toISOString(),
      };
      insert(after);
      publish(after);
      return { ok: true, value: { version, unchanged: false, before, after } };
    },

    observe(topic, payload) {
      const parsed = parseTopic(topic);
      if (!parsed || parsed.key !== 'config') return false;
      const key = keyOf(parsed.site, parsed.agent);
      if (payload.byteLength === 0) {
        // the retained configuration was cleared: the next reconcile publishes ours again
        onBroker.set(key, null);
        return true;
      }
      const decoded = decodePayload('config', payload);
      // an invalid configuration is the agent's to reject; the server neither imports nor fights it
      if (!decoded.ok || decoded.value.site !== parsed.site || decoded.value.agent !== parsed.agent) return false;
      const seen = decoded.value;
      const seenBody = bodyJson(seen);
      onBroker.set(key, { version: seen.configVersion, body: seenBody });
      const ours = current(parsed.site, parsed.agent);
      if (!ours) {
        importFromBroker(seen, 'first sight: the server had no configuration for this agent');
        return true;
      }
      if (seen.configVersion > ours.version) {
        importFromBroker(seen, "newer than the server's: published by another tool");
        return true;
      }
      if (seen.configVersion === ours.version && seenBody === bodyJson(ours.body)) {
        // our own publication coming back: the broker holds it
        const pub = publications.get(key);
        if (!pub || pub.version !== ours.version)
          publications.set(key, { version: ours.version, publishedAt: now().toISOString() });
        return true;
      }
      // older, or the same number with other rules: the stored history is the truth
      logger.warn(
        { site: parsed.site, agent: parsed.agent, onBroker: seen.configVersion, ours: ours.version },
        'stale agent configuration on the broker, publishing ours',
      );
      publish(ours);
      return true;
    },

    onConnect() {
      onBroker.clear();
      clearTimeout(settleTimer);
      settleTimer = setTimeout(reconcile, settleMs);
      settleTimer.unref();
    },

    reconcile,

    async idle() {
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    },

    stop() {
      stopped = true;
      clearTimeout(settleTimer);
    },
  };
}
