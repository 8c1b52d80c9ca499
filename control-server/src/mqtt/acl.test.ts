import { buildSiteTopic, buildTopic, siteSyncFilter, agentTopicsFilter } from '@portail/protocol';
import { describe, expect, it } from 'vitest';
import {
  agentClientId,
  agentUsername,
  canPublish,
  canRead,
  canSubscribe,
  clientIdAllowed,
  filterCovers,
  grantsFor,
  mosquittoAclFile,
  mosquittoPasswordFile,
  parseAgentUsername,
  topicMatches,
  type MqttPrincipal,
} from './acl.js';
import { hashMqttPassword, newMqttPassword, verifyMqttPassword } from './acl-password.js';
import { createPacketSizeGuard } from './packet-size-guard.js';

const gateA: MqttPrincipal = { kind: 'agent', username: 'lycee-a.gate-1', site: 'lycee-a', agent: 'gate-1' };
const server: MqttPrincipal = { kind: 'server', username: 'portail-server' };

describe('agent rules', () => {
  it('publishes every agent topic of its own id, and nothing of another agent or site', () => {
    for (const key of ['status', 'health', 'access', 'movement', 'camera', 'configState', 'syncState'] as const) {
      expect(canPublish(gateA, buildTopic(key, 'lycee-a', 'gate-1')), key).toBe(true);
      expect(canPublish(gateA, buildTopic(key, 'lycee-a', 'gate-2')), key).toBe(false);
      expect(canPublish(gateA, buildTopic(key, 'lycee-b', 'gate-1')), key).toBe(false);
    }
  });

  it('cannot write its own configuration nor the site sync (server topics)', () => {
    expect(canPublish(gateA, buildTopic('config', 'lycee-a', 'gate-1'))).toBe(false);
    expect(canPublish(gateA, buildSiteTopic('syncManifest', 'lycee-a'))).toBe(false);
    expect(canPublish(gateA, buildSiteTopic('syncChunk', 'lycee-a', 3))).toBe(false);
    expect(canPublish(gateA, 'portail/v1/lycee-a/gate-1/anything/else')).toBe(false);
    expect(canPublish(gateA, '$SYS/broker/uptime')).toBe(false);
  });

  it('reads its configuration and its site sync only', () => {
    expect(canSubscribe(gateA, buildTopic('config', 'lycee-a', 'gate-1'))).toBe(true);
    expect(canSubscribe(gateA, siteSyncFilter('lycee-a'))).toBe(true);
    expect(canSubscribe(gateA, 'portail/v1/lycee-a/sync/templates/+')).toBe(true);
    expect(canSubscribe(gateA, siteSyncFilter('lycee-b'))).toBe(false);
    expect(canSubscribe(gateA, buildTopic('config', 'lycee-a', 'gate-2'))).toBe(false);
    expect(canSubscribe(gateA, 'portail/v1/lycee-a/+/config')).toBe(false);
    expect(canSubscribe(gateA, 'portail/v1/+/sync/#')).toBe(false);
    expect(canSubscribe(gateA, agentTopicsFilter())).toBe(false);
    expect(canSubscribe(gateA, '#')).toBe(false);
    expect(canSubscribe(gateA, '$share/g/portail/v1/lycee-b/sync/#')).toBe(false);
    expect(canRead(gateA, buildSiteTopic('syncManifest', 'lycee-a'))).toBe(true);
    expect(canRead(gateA, buildSiteTopic('syncManifest', 'lycee-b'))).toBe(false);
    expect(canRead(gateA, buildTopic('access', 'lycee-a', 'gate-2'))).toBe(false);
  });

  it('is bound to its own client id', () => {
    expect(clientIdAllowed(gateA, agentClientId('lycee-a', 'gate-1'))).toBe(true);
    expect(clientIdAllowed(gateA, agentClientId('lycee-a', 'gate-2'))).toBe(false);
    expect(clientIdAllowed(server, 'portail-control-server')).toBe(true);
    expect(clientIdAllowed(server, agentClientId('lycee-a', 'gate-1'))).toBe(false);
  });
});

describe('server rules', () => {
  it('reads every agent topic (plain and shared subscription) and writes config and sync only', () => {
    expect(canSubscribe(server, agentTopicsFilter())).toBe(true);
    expect(canSubscribe(server, '$share/portail/portail/v1/lycee-a/+/#')).toBe(true);
    expect(canSubscribe(server, '#')).toBe(false);
    expect(canPublish(server, buildTopic('config', 'lycee-a', 'gate-1'))).toBe(true);
    expect(canPublish(server, buildSiteTopic('syncChunk', 'lycee-b', 255))).toBe(true);
    expect(canPublish(server, buildSiteTopic('syncManifest', 'lycee-b'))).toBe(true);
    expect(canPublish(server, buildTopic('access', 'lycee-a', 'gate-1'))).toBe(false);
    expect(canPublish(server, buildTopic('status', 'lycee-a', 'gate-1'))).toBe(false);
  });
});

describe('topic filters', () => {
  it('matches per MQTT 3.1.1 §4.7', () => {
    expect(topicMatches('a/+/c', 'a/b/c')).toBe(true);
    expect(topicMatches('a/#', 'a')).toBe(true);
    expect(topicMatches('a/#', 'a/b/c')).toBe(true);
    expect(topicMatches('a/+', 'a/b/c')).toBe(false);
    expect(topicMatches('+/b', '$SYS/b')).toBe(false);
    expect(topicMatches('a/b', 'a/+')).toBe(false);
  });

  it('covers a subscription only when the grant includes every topic it can match', () => {
    expect(filterCovers('a/#', 'a/b/+')).toBe(true);
    expect(filterCovers('a/+/c', 'a/x/c')).toBe(true);
    expect(filterCovers('a/+/c', 'a/+/c')).toBe(true);
    expect(filterCovers('a/x/c', 'a/+/c')).toBe(false);
    expect(filterCovers('a/+', 'a/#')).toBe(false);
    expect(filterCovers('a/b/#', 'a/#')).toBe(false);
  });

  it('usernames: {site}.{agent}, parsed back; server names cannot be read as agents', () => {
    expect(agentUsername('lycee-a', 'gate-1')).toBe('lycee-a.gate-1');
    expect(parseAgentUsername('lycee-a.gate-1')).toEqual({ site: 'lycee-a', agent: 'gate-1' });
    expect(parseAgentUsername('portail-server')).toBeNull();
    expect(parseAgentUsername('lycee-a.sync')).toBeNull();
    expect(parseAgentUsername('a.b.c')).toBeNull();
  });
});

describe('Mosquitto files', () => {
  it('writes one user block per account from the same grants', () => {
    const text = mosquittoAclFile([server, gateA]);
    const blockA = text.slice(text.indexOf('user lycee-a.gate-1'), text.indexOf('user portail-server'));
    expect(blockA).toContain('topic write portail/v1/lycee-a/gate-1/status');
    expect(blockA).toContain('topic read portail/v1/lycee-a/gate-1/config');
    expect(blockA).toContain('topic read portail/v1/lycee-a/sync/#');
    expect(blockA).not.toContain('topic write portail/v1/lycee-a/gate-1/config\n');
    expect(blockA.split('\n').filter((l) => l.startsWith('topic')).length).toBe(grantsFor(gateA).length);
    expect(text).toContain('user portail-server\ntopic read portail/v1/#\n');
    expect(text).not.toMatch(/^pattern/m);
  });

  it('password file lines carry the $7$ hash', () => {
    const hash = hashMqttPassword('x'.repeat(20));
    expect(mosquittoPasswordFile([{ principal: gateA, passwordHash: hash }])).toBe(`lycee-a.gate-1:${hash}\n`);
  });
});

describe('MQTT password hashes', () => {
  it('reproduces a hash made by mosquitto_passwd 2.0.11 (PBKDF2-SHA512, 101 iterations)', () => {
    // `mosquitto_passwd -c -b f test secret123` on Debian 12
    const stored =
      '$7$101$4lRDE08kDktGoyZo$boKrWtYR5+gpGBIcWWfEsWE51ONqjMovDDwUIwwr5WczopyNzjvww/Z8k27BODGjLJRzgLS3C2NBqId90Kw4zQ==';
    expect(verifyMqttPassword('secret123', stored)).toBe(true);
    expect(verifyMqttPassword('secret124', stored)).toBe(false);
    expect(hashMqttPassword('secret123', { salt: Buffer.from('4lRDE08kDktGoyZo', 'base64') })).toBe(stored);
  });

  it('round-trips a new password and refuses malformed hashes', () => {
    const pw = newMqttPassword();
    expect(pw).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const h = hashMqttPassword(pw);
    expect(verifyMqttPassword(pw, h)).toBe(true);
    expect(verifyMqttPassword(pw, 'plain')).toBe(false);
    expect(verifyMqttPassword(pw, '$6$abc$def')).toBe(false);
  });
});

describe('packet size guard', () => {
  const publishHeader = (remaining: number): number[] => {
    const out = [0x30];
    let x = remaining;
    do {
      let b = x % 128;
      x = Math.floor(x / 128);
      if (x > 0) b |= 0x80;
      out.push(b);
    } while (x > 0);
    return out;
  };

  it('lets packets up to the limit through, across chunk boundaries', () => {
    const g = createPacketSizeGuard(300);
    const pkt = [...publishHeader(300), ...new Array<number>(300).fill(7)];
    const stream = [...pkt, 0xc0, 0x00, ...pkt];
    for (let i = 0; i < stream.length; i += 37) expect(g.feed(Uint8Array.from(stream.slice(i, i + 37)))).toBe(true);
  });

  it('stops at the header of a larger packet, and at a 5-byte length field', () => {
    const g = createPacketSizeGuard(300);
    expect(g.feed(Uint8Array.from([0xc0, 0x00, ...publishHeader(301)]))).toBe(false);
    expect(g.feed(Uint8Array.from([0xc0]))).toBe(false);
    const h = createPacketSizeGuard(Number.MAX_SAFE_INTEGER);
    expect(h.feed(Uint8Array.from([0x30, 0xff, 0xff, 0xff, 0xff]))).toBe(false);
  });
});
