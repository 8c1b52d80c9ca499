import { decodePayload, parseTopic, type AgentConfig } from '@portail/protocol';

/**
 * What each agent was told to apply: the retained `config` topic (server → agent) carries, per
 * camera, the location type, whether tracking is on, and the rules. Ingest ignores that topic (it
 * is not the agents' own data), so the register learns it here. The broker re-delivers retained
 * messages at every subscription, so memory is enough: after a restart the map fills again.
 */
export interface AgentConfigObserver {
  /** Feed every MQTT message; returns true when it was a configuration (stored or cleared). */
  observe(topic: string, payload: Uint8Array): boolean;
  /** The configurations of a site's agents, by agent id. */
  forSite(site: string): ReadonlyMap<string, AgentConfig>;
}

export function createAgentConfigObserver(): AgentConfigObserver {
  const bySite = new Map<string, Map<string, AgentConfig>>();
  return {
    observe(topic, payload) {
      const parsed = parseTopic(topic);
      if (!parsed || parsed.key !== 'config') return false;
      const agents = bySite.get(parsed.site) ?? new Map<string, AgentConfig>();
      bySite.set(parsed.site, agents);
      // an empty retained payload clears the topic: the agent has no configuration from the server any more
      if (payload.byteLength === 0) {
        agents.delete(parsed.agent);
        return true;
      }
      const decoded = decodePayload('config', payload);
      // an invalid configuration is refused by the agent too: the last valid one stays in force there
      if (!decoded.ok || decoded.value.site !== parsed.site || decoded.value.agent !== parsed.agent) return false;
      agents.set(parsed.agent, decoded.value);
      return true;
    },
    forSite(site) {
      return bySite.get(site) ?? new Map();
    },
  };
}
