import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  agentConfigSchema,
  buildTopic,
  encodePayload,
  validate,
  type AgentConfig,
  type ConfigState,
  type ModelInfo,
  type Status,
} from '@portail/protocol';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createAuditLog } from '../audit/audit-log.js';
import type { RoleGrant } from '../auth/permissions.js';
import { createIngest } from '../ingest/ingest-service.js';
import { findStudent } from '../people/people-store.js';
import { importRegistry } from '../people/registry-import.js';
import { generateStudents, openPeopleTestEnv, registryCsv, type PeopleTestEnv } from '../people/testing.js';
import { createAgentRepository } from '../repositories/agent-repository.js';
import { createEventRepository } from '../repositories/event-repository.js';
import { createUserRepository } from '../repositories/user-repository.js';
import { createLiveBus } from '../services/live-bus.js';
import { createAgentConfigObserver } from './agent-config-observer.js';
import { createPrivacyService, type PrivacyService } from './privacy-service.js';
import { ROLE_FR } from './register.js';
import { SERVER_RETENTION_LIMITS, SITE_RETENTION_LIMITS } from './retention-policy.js';
import { storeBiometricData } from './testing.js';

/**
 * Acceptance 5: the register of the demo site lists every camera, model, retention value and role
 * actually configured. The configuration is the demo's own file (config/demo-agent.yaml) and the
 * models manifest; the agent's status and its retained configuration reach the server as MQTT
 * messages; the test reads the register's tables back and compares them with that configuration.
 */

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const T0 = Date.parse('2026-03-02T10:00:00.000Z');

interface DemoCamera {
  id: string;
  role?: 'gate' | 'tracking' | 'both';
  locationType?: string;
  trackingEnabled?: boolean;
  rules?: { zones?: unknown[]; lines?: unknown[]; tailgating?: unknown[] };
}
interface DemoConfig {
  site: string;
  agent: string;
  vision: { face: { enabled: boolean }; person: { enabled: boolean; model: string } };
  cameras: DemoCamera[];
}
interface ManifestModel {
  name: string;
  sha256: string;
}

/** The rows of the Markdown table that follows `heading` (cells unescaped). */
function tableAfter(md: string, heading: string): string[][] {
  const lines = md.split('\n');
  const start = lines.findIndex((l) => l.startsWith('## ') && l.includes(heading));
  expect(start, `section ${heading}`).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  let i = start + 1;
  while (i < lines.length && !lines[i]!.startsWith('|')) i++;
  for (; i < lines.length && lines[i]!.startsWith('|'); i++) {
    const cells = lines[i]!.slice(2, -2)
      .split(/(?<!\\) \| /)
      .map((c) => c.replace(/\\\|/g, '|').replace(/\\\\/g, '\\'));
    rows.push(cells);
  }
  // header and rule
  return rows.slice(2);
}

describe('register of the demo site (real SQLite, demo configuration)', () => {
  let env: PeopleTestEnv;
  let privacy: PrivacyService;
  let md: string;
  const demo = parseYaml(readFileSync(path.join(REPO_ROOT, 'config', 'demo-agent.yaml'), 'utf8')) as DemoConfig;
  const manifest = (
    JSON.parse(readFileSync(path.join(REPO_ROOT, 'models', 'manifest.json'), 'utf8')) as { models: ManifestModel[] }
  ).models;
  // what the demo agent runs: YuNet (the edge's face detector) for its gate camera, its configured person model
  const models: ModelInfo[] = [
    ...(demo.vision.face.enabled ? ['yunet-2023mar-dynamic'] : []),
    ...(demo.vision.person.enabled ? [demo.vision.person.model] : []),
  ].map((name) => {
    const m = manifest.find((x) => x.name === name);
    if (!m) throw new Error(`model ${name} is not in models/manifest.json`);
    return { name: m.name, sha256: m.sha256, provider: 'cpu' };
  });
  const retention = {
    accessEventsDays: 14,
    movementEventsDays: 7,
    cameraEventsDays: 60,
    visitorsDays: 45,
    departedStudentsDays: 20,
  };
  const grants: Record<string, RoleGrant[]> = {
    accueil1: [{ role: 'reception', site: demo.site }],
    accueil2: [{ role: 'reception', site: demo.site }],
    cpe: [{ role: 'supervisor', site: demo.site }],
    proviseur: [
      { role: 'site_admin', site: demo.site },
      { role: 'supervisor', site: demo.site },
    ],
    dsi: [{ role: 'regional_it', site: '*' }],
    // not counted: another site, or a disabled account
    ailleurs: [
      { role: 'reception', site: 'autre-lycee' },
      { role: 'regional_it', site: 'autre-lycee' },
    ],
    ancien: [{ role: 'site_admin', site: demo.site }],
  };
  const students = generateStudents(4, 9);

  beforeAll(async () => {
    env = openPeopleTestEnv('portail-privacy-register-');
    const now = () => new Date(T0);
    const audit = createAuditLog(env.db, { now: () => T0 });
    const agents = createAgentRepository(env.db);
    const observer = createAgentConfigObserver();
    const ingest = createIngest({
      agents,
      events: createEventRepository(env.db),
      bus: createLiveBus(),
      logger: pino({ level: 'silent' }),
      now,
    });
    // what the server receives over MQTT: the configuration it gave (retained), the status, the answer
    const config: AgentConfig = agentConfigSchema.parse({
      v: 1,
      site: demo.site,
      agent: demo.agent,
      ts: new Date(T0).toISOString(),
      configVersion: 3,
      cameras: demo.cameras.map((c) => ({
        id: c.id,
        ...(c.locationType ? { locationType: c.locationType } : {}),
        ...(c.trackingEnabled !== undefined ? { trackingEnabled: c.trackingEnabled } : {}),
        ...(c.rules ?? {}),
      })),
    });
    const status: Status = {
      v: 1,
      site: demo.site,
      agent: demo.agent,
      state: 'online',
      ts: new Date(T0).toISOString(),
      reason: 'started',
      version: '0.1.0',
      models,
      cameras: demo.cameras.map((c) => ({ id: c.id, role: c.role ?? 'gate', state: 'online' })),
      configVersion: 3,
    };
    const configState: ConfigState = {
      v: 1,
      site: demo.site,
      agent: demo.agent,
      ts: new Date(T0).toISOString(),
      appliedVersion: 3,
      result: 'applied',
      receivedVersion: 3,
    };
    expect(validate('status', status).ok).toBe(true);
    const messages: Array<[string, string]> = [
      [buildTopic('config', demo.site, demo.agent), encodePayload('config', config)],
      [buildTopic('status', demo.site, demo.agent), encodePayload('status', status)],
      [buildTopic('configState', demo.site, demo.agent), encodePayload('configState', configState)],
    ];
    for (const [topic, text] of messages) {
      const bytes = Buffer.from(text);
      ingest.handle(topic, bytes);
      observer.observe(topic, bytes);
    }

    const users = createUserRepository(env.db);
    for (const [username, roles] of Object.entries(grants)) {
      const r = users.create(
        { username, passwordHash: '$argon2id$not-a-real-hash', roles },
        new Date(T0).toISOString(),
      );
      if (!r.ok) throw new Error(r.error);
      if (username === 'ancien') users.setDisabled(r.user.id, true, new Date(T0).toISOString());
    }
    expect(
      importRegistry(env.db, { site: demo.site, bytes: Buffer.from(registryCsv(students)), actor: 'test', now: now() })
        .ok,
    ).toBe(true);
    await storeBiometricData(env.db, env.keys, findStudent(env.db, demo.site, students[0]!.externalId)!.id, {
      now: now(),
      modelId: 'mobilefacenet-128d',
      modelSha256: manifest.find((m) => m.name === 'mobilefacenet-128d')!.sha256,
    });

    privacy = createPrivacyService({
      db: env.db,
      audit,
      keys: env.keys,
      agents,
      agentConfigs: observer,
      now,
      authMode: 'required',
    });
    expect(privacy.setRetention(demo.site, retention, 'proviseur').ok).toBe(true);
    expect(privacy.setServerRetention({ auditLogDays: 200 }, 'cli:root').ok).toBe(true);
    expect(
      privacy.setRegisterInfo(
        demo.site,
        {
          controller: 'Lycée de démonstration, 1 rue de l’École, 13000 Marseille',
          dpoContact: 'dpo@ac-exemple.fr',
          processors: [{ name: 'Région (DSI)', service: 'hébergement et maintenance', location: 'France' }],
        },
        'proviseur',
      ).ok,
    ).toBe(true);
    md = privacy.register(demo.site).markdown;
  });
  afterAll(() => env.close());

  it('lists every camera of the demo configuration, with its use, location type, tracking and rules', () => {
    const rows = tableAfter(md, 'Caméras');
    const LOCATION: Record<string, string> = { entrance: 'entrée', circulation: 'zone de circulation', other: 'autre' };
    const USE: Record<string, string> = {
      gate: 'portail (badge + visage)',
      tracking: 'suivi anonyme',
      both: 'portail et suivi anonyme',
    };
    const expected = demo.cameras
      .map((c) => [
        demo.agent,
        c.id,
        USE[c.role ?? 'gate']!,
        LOCATION[c.locationType ?? 'other']!,
        c.trackingEnabled ? 'activé' : 'désactivé',
        `${c.rules?.zones?.length ?? 0} / ${c.rules?.lines?.length ?? 0} / ${c.rules?.tailgating?.length ?? 0}`,
        'online',
      ])
      .sort((a, b) => a[1]!.localeCompare(b[1]!));
    expect(rows).toEqual(expected);
    // the demo's hall camera tracks; the register says so in its purposes too
    expect(md).toContain('suivi anonyme (boîtes et identifiants éphémères');
  });

  it('lists every model the agent runs with its sha256 and provider, and the models of stored templates', () => {
    const rows = tableAfter(md, 'Modèles');
    expect(rows).toEqual(models.map((m) => [demo.agent, m.name, m.sha256, m.provider]));
    expect(md).toContain(
      `| mobilefacenet-128d | ${manifest.find((m) => m.name === 'mobilefacenet-128d')!.sha256} | 1 |`,
    );
    expect(md).toMatch(/\| gate-1 \| online \| 0\.1\.0 \| .+ \| 3 \/ 3 \|/);
  });

  it('shows every retention value in force, with its maximum', () => {
    const rows = tableAfter(md, 'Durées de conservation');
    const byLabel = new Map(rows.map((r) => [r[0]!, r]));
    const check = (label: string, days: number, max: number) => {
      const r = byLabel.get(label);
      expect(r, label).toBeDefined();
      expect(r![1]).toMatch(new RegExp(`^${days} jours`));
      expect(r![2]).toBe(`${max} jours`);
    };
    check('Passages aux portails', retention.accessEventsDays, SITE_RETENTION_LIMITS.accessEventsDays.maxDays);
    check('Alertes de circulation', retention.movementEventsDays, SITE_RETENTION_LIMITS.movementEventsDays.maxDays);
    check('État des caméras', retention.cameraEventsDays, SITE_RETENTION_LIMITS.cameraEventsDays.maxDays);
    check('Visiteurs', retention.visitorsDays, SITE_RETENTION_LIMITS.visitorsDays.maxDays);
    check(
      'Élèves partis (identité, consentements)',
      retention.departedStudentsDays,
      SITE_RETENTION_LIMITS.departedStudentsDays.maxDays,
    );
    check('Journal d’audit (tous sites)', 200, SERVER_RETENTION_LIMITS.auditLogDays.maxDays);
  });

  it('counts the roles actually granted (active accounts only), never naming anyone', () => {
    const rows = tableAfter(md, 'Destinataires');
    const expected = new Map<string, number>();
    for (const [username, gs] of Object.entries(grants)) {
      if (username === 'ancien') continue;
      for (const g of gs) {
        if (g.site !== demo.site && g.site !== '*') continue;
        const key = `${ROLE_FR[g.role]}|${g.site === '*' ? 'tous les sites' : `site ${demo.site}`}`;
        expected.set(key, (expected.get(key) ?? 0) + 1);
      }
    }
    expect(new Map(rows.map((r) => [`${r[0]}|${r[1]}`, Number(r[2])]))).toEqual(expected);
    for (const username of Object.keys(grants)) expect(md).not.toMatch(new RegExp(`\\b${username}\\b`));
  });

  it('holds no personal data and fills the controller, processors and data counts', () => {
    for (const s of students) {
      expect(md).not.toContain(s.externalId);
      expect(md).not.toContain(`${s.lastName} ${s.firstName}`);
    }
    expect(md).toContain('Lycée de démonstration');
    expect(tableAfter(md, 'Sous-traitants')).toEqual([['Région (DSI)', 'hébergement et maintenance', 'France']]);
    const data = new Map(tableAfter(md, 'catégories de données').map((r) => [r[0]!, r[2]!]));
    expect(data.get('Élèves scolarisés')).toBe(String(students.length));
    expect(data.get('Gabarits biométriques')).toBe('1');
    expect(md).toContain('authentification exigée');
    // every camera's location type was declared to the server: nothing to check on site
    expect(md).toMatch(/## 13\. Points à vérifier\n\nAucun\./);
  });

  it('says what it does not know: a camera the server has no declaration for', () => {
    const bare = createPrivacyService({
      db: env.db,
      audit: createAuditLog(env.db),
      keys: env.keys,
      agents: createAgentRepository(env.db),
      now: () => new Date(T0),
    });
    const text = bare.register(demo.site).markdown;
    expect(tableAfter(text, 'Caméras').every((r) => r[3] === 'non déclaré au serveur')).toBe(true);
    expect(text).toContain('type de lieu et suivi non déclarés au serveur');
    expect(text).toContain('non connue de cet export');
  });
});
