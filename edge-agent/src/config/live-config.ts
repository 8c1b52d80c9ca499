import { decodePayload, type AgentConfig } from '@portail/protocol';

export interface LiveConfigContext {
  site: string;
  agent: string;
  /** the cameras this agent runs (from its local file: sources stay local) */
  cameras: readonly { id: string; role: 'gate' | 'tracking' | 'both' }[];
}

export type LiveConfigResult =
  | { ok: true; config: AgentConfig }
  | { ok: false; receivedVersion: number | null; errors: string[] };

/**
 * Validate a configuration received on the retained `config` topic before anything is applied:
 * the protocol schema (which already refuses tracking outside entrances and circulation areas),
 * then what only the agent knows: that it is addressed to this agent and names its own cameras,
 * with a role that can track. All or nothing: one problem rejects the whole configuration.
 */
export function evaluateLiveConfig(raw: Uint8Array | string, ctx: LiveConfigContext): LiveConfigResult {
  const decoded = decodePayload('config', raw);
  if (!decoded.ok) return { ok: false, receivedVersion: readableVersion(raw), errors: decoded.error.messages };
  const c = decoded.value;
  const errors: string[] = [];
  if (c.site !== ctx.site || c.agent !== ctx.agent) errors.push(`site/agent: addressed to ${c.site}/${c.agent}, this agent is ${ctx.site}/${ctx.agent}`);
  c.cameras.forEach((cam, i) => {
    const local = ctx.cameras.find((l) => l.id === cam.id);
    if (!local) errors.push(`cameras.${i}.id: this agent has no camera "${cam.id}"`);
    else if (cam.trackingEnabled && local.role === 'gate') errors.push(`cameras.${i}.trackingEnabled: camera "${cam.id}" has the gate role; tracking needs role tracking or both`);
  });
  return errors.length ? { ok: false, receivedVersion: c.configVersion, errors } : { ok: true, config: c };
}

/** The configVersion of a payload that failed validation, when it can still be read. */
function readableVersion(raw: Uint8Array | string): number | null {
  try {
    const v = (JSON.parse(typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8')) as { configVersion?: unknown }).configVersion;
    return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : null;
  } catch {
    // not JSON at all: there is no version to report
    return null;
  }
}
