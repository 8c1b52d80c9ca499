import { isReservedAgentId, isValidId, SITE_TOPICS, TOPICS } from '@portail/protocol';

/**
 * Who may publish and read what on the site broker: the ONE definition of the rules, used by the
 * embedded broker's hooks (embedded-broker.ts) and by the generator of Mosquitto's `acl_file`
 * (`portail-admin mqtt export`). Pure: no I/O.
 *
 * Rules (docs/security.md, "MQTT broker"):
 * - an agent account `{site}.{agent}` publishes only the agent topics of the protocol registry below
 *   `portail/v1/{site}/{agent}/` (status, health, events, config/state, sync/state), and reads only
 *   its own `config` and its site's `portail/v1/{site}/sync/#`;
 * - a server account reads `portail/v1/#` and writes only the server topics: every agent's `config`
 *   and every site's sync topics;
 * - nothing else (no `$SYS`, no topics outside the contract).
 *
 * The grants are derived from `TOPICS` / `SITE_TOPICS`, so a topic added to the protocol gets its
 * ACL line with the next `mqtt export`.
 */

const ROOT = 'portail/v1';

export type MqttPrincipal =
  { kind: 'server'; username: string } | { kind: 'agent'; username: string; site: string; agent: string };

export type AclAccess = 'read' | 'write';

export interface AclGrant {
  access: AclAccess;
  /** MQTT topic filter (`+` / `#` allowed) */
  filter: string;
}

/** The username of an agent account. `.` is not allowed in ids, so the split is unambiguous. */
export function agentUsername(site: string, agent: string): string {
  return `${site}.${agent}`;
}

/** The agent's site and id from its username; null when it is not an agent username. */
export function parseAgentUsername(username: string): { site: string; agent: string } | null {
  const parts = username.split('.');
  if (parts.length !== 2) return null;
  const [site, agent] = parts as [string, string];
  if (!isValidId(site) || !isValidId(agent) || isReservedAgentId(agent)) return null;
  return { site, agent };
}

/**
 * The MQTT client id the edge agent uses (edge-agent/src/transport/mqtt-transport.ts). The embedded
 * broker binds an agent account to it, so one agent cannot take over another's session. Two
 * accounts could share one (`a-b`.`c` and `a`.`b-c`): provisioning refuses the second.
 */
export function agentClientId(site: string, agent: string): string {
  return `portail-agent-${site}-${agent}`;
}

/** Server usernames never contain a `.`, so they can never be mistaken for an agent's. */
export const SERVER_USERNAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const DEFAULT_SERVER_USERNAME = 'portail-server';

const agentPublishSuffixes = (): string[] =>
  Object.values(TOPICS)
    .filter((t) => t.publisher === 'agent')
    .map((t) => t.suffix);
const serverAgentSuffixes = (): string[] =>
  Object.values(TOPICS)
    .filter((t) => t.publisher === 'server')
    .map((t) => t.suffix);
const siteSuffixFilters = (): string[] => Object.values(SITE_TOPICS).map((t) => t.suffix.replace('{index}', '+'));

/** Grants computed once per principal object (the broker keeps one per connection): every delivery checks them. */
const grantCache = new WeakMap<MqttPrincipal, readonly AclGrant[]>();

/** Every grant of a principal, in a stable order. */
export function grantsFor(p: MqttPrincipal): readonly AclGrant[] {
  let grants = grantCache.get(p);
  if (!grants) {
    grants = computeGrants(p);
    grantCache.set(p, grants);
  }
  return grants;
}

function computeGrants(p: MqttPrincipal): AclGrant[] {
  if (p.kind === 'server') {
    return [
      { access: 'read', filter: `${ROOT}/#` },
      ...serverAgentSuffixes().map((s) => ({ access: 'write' as const, filter: `${ROOT}/+/+/${s}` })),
      ...siteSuffixFilters().map((s) => ({ access: 'write' as const, filter: `${ROOT}/+/${s}` })),
    ];
  }
  const base = `${ROOT}/${p.site}/${p.agent}`;
  return [
    ...agentPublishSuffixes().map((s) => ({ access: 'write' as const, filter: `${base}/${s}` })),
    ...serverAgentSuffixes().map((s) => ({ access: 'read' as const, filter: `${base}/${s}` })),
    { access: 'read', filter: `${ROOT}/${p.site}/sync/#` },
  ];
}

/** MQTT topic matching (a concrete topic against a filter), per MQTT 3.1.1 §4.7. */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.includes('+') || topic.includes('#')) return false;
  // `$` topics are never matched by a filter starting with a wildcard (§4.7.2)
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i]!;
    if (level === '#') return i === f.length - 1;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * True when every topic the subscription filter `sub` can match is also matched by `grant`: a
 * subscription is allowed only when it cannot bring anything the account may not read.
 */
export function filterCovers(grant: string, sub: string): boolean {
  const g = grant.split('/');
  const s = sub.split('/');
  for (let i = 0; i < g.length; i++) {
    const gl = g[i]!;
    if (gl === '#') return true;
    if (i >= s.length) return false;
    const sl = s[i]!;
    if (sl === '#') return false;
    if (gl === '+') continue;
    if (sl === '+' || sl !== gl) return false;
  }
  return g.length === s.length;
}

/** A valid MQTT filter: `#` only as the last level, wildcards only as whole levels. */
export function isValidFilter(filter: string): boolean {
  if (filter.length === 0) return false;
  const levels = filter.split('/');
  return levels.every((l, i) =>
    l.includes('#') ? l === '#' && i === levels.length - 1 : !l.includes('+') || l === '+',
  );
}

/** `$share/{group}/{filter}` (MQTT 5 shared subscription) → `{filter}`; other filters unchanged. */
export function stripSharePrefix(filter: string): string | null {
  if (!filter.startsWith('$share/')) return filter;
  const rest = filter.slice('$share/'.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return null;
  const group = rest.slice(0, slash);
  if (group.includes('+') || group.includes('#')) return null;
  return rest.slice(slash + 1) || null;
}

export function canPublish(p: MqttPrincipal, topic: string): boolean {
  return grantsFor(p).some((g) => g.access === 'write' && topicMatches(g.filter, topic));
}

/** May this message be delivered to the principal (a second check at delivery, after the subscribe one)? */
export function canRead(p: MqttPrincipal, topic: string): boolean {
  return grantsFor(p).some((g) => g.access === 'read' && topicMatches(g.filter, topic));
}

export function canSubscribe(p: MqttPrincipal, filter: string): boolean {
  const f = stripSharePrefix(filter);
  if (f === null || !isValidFilter(f)) return false;
  return grantsFor(p).some((g) => g.access === 'read' && filterCovers(g.filter, f));
}

/** An agent account must use its own client id; a server account any id that is not an agent's. */
export function clientIdAllowed(p: MqttPrincipal, clientId: string): boolean {
  if (p.kind === 'agent') return clientId === agentClientId(p.site, p.agent);
  return clientId.length > 0 && !clientId.startsWith('portail-agent-');
}

export interface MosquittoAccount {
  principal: MqttPrincipal;
  /** `$7$…` (PBKDF2-SHA512) as acl-password.ts makes it */
  passwordHash: string;
}

/**
 * Mosquitto's `acl_file`: one `user` block per active account, no pattern lines and no anonymous
 * section (an anonymous client, if one were let in, would get nothing). Generated from the same
 * grants as the embedded broker's hooks.
 */
export function mosquittoAclFile(principals: readonly MqttPrincipal[], header = ''): string {
  const lines: string[] = [];
  if (header) lines.push(...header.split('\n').map((l) => `# ${l}`.trimEnd()), '');
  const sorted = [...principals].sort((a, b) => a.username.localeCompare(b.username));
  for (const p of sorted) {
    lines.push(`user ${p.username}`);
    for (const g of grantsFor(p)) lines.push(`topic ${g.access} ${g.filter}`);
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

/** Mosquitto's `password_file`: `username:$7$…` per active account. */
export function mosquittoPasswordFile(accounts: readonly MosquittoAccount[]): string {
  const sorted = [...accounts].sort((a, b) => a.principal.username.localeCompare(b.principal.username));
  return sorted.map((a) => `${a.principal.username}:${a.passwordHash}\n`).join('');
}
