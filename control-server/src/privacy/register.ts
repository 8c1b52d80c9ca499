import type { AgentConfig, ModelInfo } from '@portail/protocol';
import type { Database } from 'better-sqlite3';
import type { AuditHead } from '../audit/audit-log.js';
import { ROLES, type Role } from '../auth/permissions.js';
import { getPeopleSite, type PeopleSiteSettings } from '../people/people-sites.js';
import { localDate } from '../people/school-calendar.js';
import type { AgentRecord } from '../repositories/agent-repository.js';
import type { EqualServiceReport } from './equal-service.js';
import { localDateTime, numberFr, table } from './markdown.js';
import { pilotState, type Pilot, type PilotState } from './pilot.js';
import type { RegisterInfo } from './register-info.js';
import {
  SERVER_RETENTION_LIMITS,
  SITE_RETENTION_LIMITS,
  type ServerRetentionPolicy,
  type SiteRetentionPolicy,
} from './retention-policy.js';

/**
 * The register of processing activities (RGPD art. 30) and the facts an impact assessment (art. 35)
 * needs, for one site, built from what is actually configured and running: the retention policy in
 * force, the agents' cameras (role from their status; location type, tracking and rules from the
 * configuration they were given), their models (name, sha256, execution provider), the roles
 * granted (counts, never usernames), the pilot, the equal-service figures. No personal data.
 * `collectRegisterInputs` reads; `renderRegisterMarkdown` is pure.
 */

export interface RegisterCamera {
  agent: string;
  camera: string;
  /** gate / tracking / both, from the agent's status; null when only the configuration names it */
  role: string | null;
  state: string | null;
  /** from the camera registry when the camera is registered, else from the configuration the agent was given; null when neither */
  locationType: string | null;
  trackingEnabled: boolean | null;
  rules: { zones: number; lines: number; tailgating: number } | null;
  /** declared in the server's camera registry (cameras/camera-registry.ts) */
  registered?: boolean;
}

/** What the register reads of the camera registry (no source URL). */
export interface RegisterCameraDeclaration {
  agent: string;
  camera: string;
  role: string;
  locationType: string;
  trackingEnabled: boolean;
}

export interface RegisterAgent {
  agent: string;
  state: string;
  softwareVersion: string | null;
  lastSeen: string | null;
  models: ModelInfo[];
  /** version the server asked for (retained configuration) and the agent's answer */
  config: { requested: number | null; applied: number | null; result: string | null; errors: string[] };
}

export interface RegisterInputs {
  site: string;
  generatedAt: string;
  timeZone: string;
  info: RegisterInfo;
  retention: SiteRetentionPolicy;
  serverRetention: ServerRetentionPolicy;
  people: PeopleSiteSettings | null;
  agents: RegisterAgent[];
  cameras: RegisterCamera[];
  /** enrolled templates stored at the site, per model */
  templateModels: Array<{ modelId: string; modelSha256: string; count: number }>;
  /** active accounts holding each role at this site, and on every site (`*`) */
  roles: Array<{ role: Role; scope: 'site' | 'all-sites'; accounts: number }>;
  counts: Record<
    | 'studentsActive'
    | 'studentsDeparted'
    | 'consentRecords'
    | 'credentialsLive'
    | 'templates'
    | 'idPhotos'
    | 'visitors'
    | 'accessEvents'
    | 'movementEvents'
    | 'cameraEvents'
    | 'deletionReceipts',
    number
  >;
  pilot: { pilot: Pilot; state: PilotState } | null;
  equalService: EqualServiceReport;
  security: {
    authMode: 'required' | 'disabled' | null;
    auditHead: AuditHead;
    auditStart: AuditHead;
    totpAccounts: number;
  };
}

export interface CollectDeps {
  db: Database;
  agents: readonly AgentRecord[];
  agentConfigs: ReadonlyMap<string, AgentConfig>;
  /** the site's cameras in the server's registry: their declaration wins over the agent configuration */
  registeredCameras?: readonly RegisterCameraDeclaration[];
  info: RegisterInfo;
  retention: SiteRetentionPolicy;
  serverRetention: ServerRetentionPolicy;
  pilot: Pilot | undefined;
  equalService: EqualServiceReport;
  timeZone: string;
  authMode: 'required' | 'disabled' | null;
  auditHead: AuditHead;
  auditStart: AuditHead;
}

const count = (db: Database, sql: string, ...params: Array<string | number>): number =>
  db.prepare<Array<string | number>, { n: number }>(sql).get(...params)!.n;

/** Cameras from the status (what runs) merged with the configuration (what was declared). */
export function mergeCameras(
  agents: readonly AgentRecord[],
  configs: ReadonlyMap<string, AgentConfig>,
  registered: readonly RegisterCameraDeclaration[] = [],
): RegisterCamera[] {
  const out: RegisterCamera[] = [];
  const names = new Set([...agents.map((a) => a.agent), ...configs.keys(), ...registered.map((r) => r.agent)]);
  for (const agent of [...names].sort()) {
    const status = agents.find((a) => a.agent === agent)?.status ?? null;
    const declared = configs.get(agent);
    const inRegistry = registered.filter((r) => r.agent === agent);
    const ids = new Set([
      ...(status?.cameras ?? []).map((c) => c.id),
      ...(declared?.cameras ?? []).map((c) => c.id),
      ...inRegistry.map((r) => r.camera),
    ]);
    for (const id of [...ids].sort()) {
      const s = status?.cameras?.find((c) => c.id === id);
      const d = declared?.cameras.find((c) => c.id === id);
      const r = inRegistry.find((c) => c.camera === id);
      out.push({
        agent,
        camera: id,
        role: s?.role ?? r?.role ?? null,
        state: s?.state ?? null,
        locationType: r?.locationType ?? d?.locationType ?? null,
        trackingEnabled: r ? r.trackingEnabled : d ? d.trackingEnabled : null,
        rules: d ? { zones: d.zones.length, lines: d.lines.length, tailgating: d.tailgating.length } : null,
        ...(r ? { registered: true } : {}),
      });
    }
  }
  return out;
}

export function collectRegisterInputs(site: string, deps: CollectDeps, now: Date): RegisterInputs {
  const { db } = deps;
  const siteAgents = deps.agents.filter((a) => a.site === site);
  const agents: RegisterAgent[] = siteAgents.map((a) => ({
    agent: a.agent,
    state: a.state,
    softwareVersion: a.status?.version ?? null,
    lastSeen: a.lastSeen,
    models: a.status?.models ?? [],
    config: {
      requested: deps.agentConfigs.get(a.agent)?.configVersion ?? null,
      applied: a.configState?.appliedVersion ?? a.status?.configVersion ?? null,
      result: a.configState?.result ?? null,
      errors: a.configState?.errors ?? [],
    },
  }));
  const roleRows = db
    .prepare<[string], { role: Role; site: string; n: number }>(
      `SELECT r.role, r.site, count(DISTINCT r.user_id) AS n FROM user_roles r JOIN users u ON u.id = r.user_id
       WHERE u.disabled = 0 AND (r.site = ? OR r.site = '*') GROUP BY r.role, r.site`,
    )
    .all(site);
  const roles: RegisterInputs['roles'] = [];
  for (const role of ROLES) {
    for (const scope of ['site', 'all-sites'] as const) {
      const n = roleRows.find((r) => r.role === role && (scope === 'site' ? r.site === site : r.site === '*'))?.n ?? 0;
      if (n > 0) roles.push({ role, scope, accounts: n });
    }
  }
  const totpAccounts = count(
    db,
    `SELECT count(DISTINCT u.id) AS n FROM users u JOIN user_roles r ON r.user_id = u.id
     WHERE u.disabled = 0 AND u.totp_secret IS NOT NULL AND (r.site = ? OR r.site = '*')`,
    site,
  );
  const templateModels = db
    .prepare<[string], { modelId: string; modelSha256: string; count: number }>(
      `SELECT model_id AS modelId, model_sha256 AS modelSha256, count(*) AS count FROM templates WHERE site = ?
       GROUP BY model_id, model_sha256 ORDER BY model_id`,
    )
    .all(site);
  const events = (kind: string) =>
    count(db, 'SELECT count(*) AS n FROM events WHERE site = ? AND kind = ?', site, kind);
  return {
    site,
    generatedAt: now.toISOString(),
    timeZone: deps.timeZone,
    info: deps.info,
    retention: deps.retention,
    serverRetention: deps.serverRetention,
    people: getPeopleSite(db, site)?.settings ?? null,
    agents,
    cameras: mergeCameras(siteAgents, deps.agentConfigs, deps.registeredCameras ?? []),
    templateModels,
    roles,
    counts: {
      studentsActive: count(db, "SELECT count(*) AS n FROM students WHERE site = ? AND status = 'active'", site),
      studentsDeparted: count(db, "SELECT count(*) AS n FROM students WHERE site = ? AND status = 'departed'", site),
      consentRecords: count(
        db,
        'SELECT count(*) AS n FROM consent_records c JOIN students s ON s.id = c.student_id WHERE s.site = ?',
        site,
      ),
      credentialsLive: count(db, 'SELECT count(*) AS n FROM credentials WHERE site = ? AND revoked_at IS NULL', site),
      templates: count(db, 'SELECT count(*) AS n FROM templates WHERE site = ?', site),
      idPhotos: count(db, 'SELECT count(*) AS n FROM id_photos WHERE site = ?', site),
      visitors: count(db, 'SELECT count(*) AS n FROM visitors WHERE site = ?', site),
      accessEvents: events('access'),
      movementEvents: events('movement'),
      cameraEvents: events('camera'),
      deletionReceipts: count(db, 'SELECT count(*) AS n FROM deletion_receipts WHERE site = ?', site),
    },
    pilot: deps.pilot ? { pilot: deps.pilot, state: pilotState(deps.pilot, localDate(now, deps.timeZone)) } : null,
    equalService: deps.equalService,
    security: {
      authMode: deps.authMode,
      auditHead: deps.auditHead,
      auditStart: deps.auditStart,
      totpAccounts,
    },
  };
}

export const ROLE_FR: Record<Role, string> = {
  reception: 'accueil (vue du portail)',
  supervisor: 'surveillance (console du site)',
  site_admin: 'administration du site',
  regional_it: 'informatique régionale (sans accès aux données personnelles)',
};

const LOCATION_FR: Record<string, string> = {
  entrance: 'entrée',
  circulation: 'zone de circulation',
  playground: 'cour',
  classroom: 'salle de classe',
  canteen: 'cantine',
  other: 'autre',
};
const CAMERA_ROLE_FR: Record<string, string> = {
  gate: 'portail (badge + visage)',
  tracking: 'suivi anonyme',
  both: 'portail et suivi anonyme',
};

const days = (n: number) => `${n} jour${n > 1 ? 's' : ''}`;

/** Pure: the register as Markdown, French headings. */
export function renderRegisterMarkdown(x: RegisterInputs): string {
  const at = (iso: string | null) => (iso ? localDateTime(iso, x.timeZone) : '—');
  const todo = '_à compléter par l’établissement_';
  const gaps: string[] = [];
  const o: string[] = [];
  const tracking = x.cameras.filter((c) => c.trackingEnabled === true);
  const biometricsOn = x.counts.templates > 0 || x.pilot?.state === 'running' || x.pilot?.state === 'scheduled';

  o.push(`# Registre des activités de traitement — site \`${x.site}\``);
  o.push('');
  o.push(
    `Généré le ${at(x.generatedAt)} (${x.timeZone}) à partir de la configuration en service : politique de conservation, ` +
      'caméras et modèles déclarés par les agents, rôles attribués. Ce document ne contient aucune donnée personnelle ' +
      '(effectifs seulement) ; il sert de base au registre (RGPD art. 30) et à l’analyse d’impact (art. 35).',
  );
  o.push('');

  o.push('## 1. Responsable du traitement');
  o.push('');
  if (!x.info.controller) gaps.push('Responsable du traitement non renseigné (`privacy register-info`).');
  if (!x.info.dpoContact) gaps.push('Contact du délégué à la protection des données non renseigné.');
  o.push(
    table(
      ['Rôle', 'Identité'],
      [
        ['Responsable du traitement', x.info.controller ?? 'l’établissement (nom à compléter)'],
        ['Représenté par', x.info.representative ?? 'le chef d’établissement'],
        ['Délégué à la protection des données', x.info.dpoContact ?? 'à compléter (DPO académique)'],
      ],
    ),
  );
  o.push('');
  o.push(
    'La Région équipe l’établissement ; elle n’a pas accès aux données personnelles (rôle « informatique régionale »).',
  );
  o.push('');

  o.push('## 2. Finalités');
  o.push('');
  o.push('- Contrôler l’accès à l’établissement par badge (QR code sur carte ou téléphone), vérifié sur place.');
  o.push(
    `- Vérification faciale 1:1, facultative, sur consentement : comparer le visage présenté au seul gabarit du badge présenté ` +
      `(jamais de recherche parmi les passants). ${biometricsOn ? 'En service sur ce site.' : 'Non utilisée actuellement sur ce site.'}`,
  );
  o.push('- Accueillir et enregistrer les visiteurs (pass à la journée).');
  o.push(
    tracking.length
      ? `- Sécurité des circulations : suivi anonyme (boîtes et identifiants éphémères, sans lien avec un badge ni un visage) sur ${tracking.length} caméra(s) d’entrée ou de circulation.`
      : '- Suivi anonyme des circulations : désactivé sur toutes les caméras.',
  );
  o.push('- Tracer les accès aux données et les actions d’administration (journal d’audit).');
  o.push('');

  o.push('## 3. Bases légales');
  o.push('');
  o.push(
    '- Contrôle d’accès par badge, visiteurs, journal : mission d’intérêt public de l’établissement (art. 6-1-e).',
  );
  o.push(
    '- Vérification faciale : consentement explicite de l’élève et, s’il est mineur, de chaque responsable légal (art. 9-2-a), ' +
      'retirable à tout moment ; le refus ne change rien d’autre (même badge, même file).',
  );
  o.push('');

  o.push('## 4. Personnes concernées et catégories de données');
  o.push('');
  o.push(
    table(
      ['Catégorie', 'Données', 'Effectif actuel'],
      [
        [
          'Élèves scolarisés',
          'nom, prénom, classe, date de naissance, identifiant élève',
          numberFr(x.counts.studentsActive),
        ],
        ['Élèves partis (en attente d’effacement)', 'idem', numberFr(x.counts.studentsDeparted)],
        [
          'Consentements (élèves, responsables légaux)',
          'partie, décision, canal, version de la notice, dates',
          numberFr(x.counts.consentRecords),
        ],
        [
          'Badges en cours',
          'identifiant pseudonyme, validité, révocation (jamais le jeton)',
          numberFr(x.counts.credentialsLive),
        ],
        [
          'Gabarits biométriques',
          'vecteur chiffré par une clé que seul le badge porte (type 2)',
          numberFr(x.counts.templates),
        ],
        [
          'Photos d’identité',
          x.people?.keepIdPhotos
            ? 'photo réduite, chiffrée, pour l’écran d’accueil'
            : 'non conservées (option désactivée)',
          numberFr(x.counts.idPhotos),
        ],
        [
          'Visiteurs',
          `nom, prénom, objet, personne visitée, type de pièce vérifiée${x.people?.visitorIdNumberAllowed ? ' et son numéro' : ''}`,
          numberFr(x.counts.visitors),
        ],
        ['Passages', 'identifiant de badge, décision, scores, temps (aucune image)', numberFr(x.counts.accessEvents)],
        [
          'Alertes de circulation',
          'anonymes : règle, direction, boîte, identifiant éphémère',
          numberFr(x.counts.movementEvents),
        ],
        ['État des caméras', 'aucune donnée personnelle', numberFr(x.counts.cameraEvents)],
        ['Reçus de suppression', 'identifiants seulement, jamais de nom', numberFr(x.counts.deletionReceipts)],
      ],
    ),
  );
  o.push('');
  o.push('Aucune image n’est enregistrée : les images des caméras restent en mémoire le temps de l’analyse.');
  o.push('');

  o.push('## 5. Destinataires (rôles attribués)');
  o.push('');
  o.push(
    x.roles.length
      ? table(
          ['Rôle', 'Portée', 'Comptes actifs'],
          x.roles.map((r) => [ROLE_FR[r.role], r.scope === 'site' ? `site ${x.site}` : 'tous les sites', r.accounts]),
        )
      : 'Aucun compte n’a de rôle sur ce site.',
  );
  o.push('');

  o.push('## 6. Sous-traitants et transferts');
  o.push('');
  const processors = x.info.processors ?? [];
  if (processors.length === 0) gaps.push('Sous-traitants non renseignés (hébergement, maintenance).');
  o.push(
    processors.length
      ? table(
          ['Sous-traitant', 'Prestation', 'Lieu de traitement'],
          processors.map((p) => [p.name, p.service, p.location]),
        )
      : todo,
  );
  o.push('');
  o.push('Transferts hors de l’Union européenne : aucun (serveur et agents dans l’établissement ou chez la Région).');
  o.push('');

  o.push('## 7. Durées de conservation (appliquées par le logiciel)');
  o.push('');
  const r = x.retention;
  o.push(
    table(
      ['Donnée', 'Durée en vigueur', 'Maximum', 'Effacement'],
      [
        [
          'Passages aux portails',
          days(r.accessEventsDays),
          days(SITE_RETENTION_LIMITS.accessEventsDays.maxDays),
          'purge automatique',
        ],
        [
          'Alertes de circulation',
          days(r.movementEventsDays),
          days(SITE_RETENTION_LIMITS.movementEventsDays.maxDays),
          'purge automatique',
        ],
        [
          'État des caméras',
          days(r.cameraEventsDays),
          days(SITE_RETENTION_LIMITS.cameraEventsDays.maxDays),
          'purge automatique',
        ],
        [
          'Visiteurs',
          days(r.visitorsDays),
          days(SITE_RETENTION_LIMITS.visitorsDays.maxDays),
          'purge automatique, reçu',
        ],
        [
          'Élèves partis (identité, consentements)',
          `${days(r.departedStudentsDays)} après le départ`,
          days(SITE_RETENTION_LIMITS.departedStudentsDays.maxDays),
          'effacement, reçu',
        ],
        [
          'Gabarits biométriques',
          'jusqu’au retrait du consentement, au départ, à la fin de validité du badge ou à la fin du pilote',
          '—',
          'effacement, révocation, reçu',
        ],
        [
          'Photos d’identité',
          x.people?.keepIdPhotos
            ? `${days(x.people.idPhotoRetentionDays)} au plus, et au départ ou au retrait`
            : 'non conservées',
          '—',
          'effacement, reçu',
        ],
        [
          'Journal d’audit (tous sites)',
          days(x.serverRetention.auditLogDays),
          days(SERVER_RETENTION_LIMITS.auditLogDays.maxDays),
          'purge par le début de la chaîne, point de reprise conservé',
        ],
        ['Reçus de suppression', 'conservés (preuve des suppressions)', '—', '—'],
      ],
    ),
  );
  o.push('');

  o.push('## 8. Caméras');
  o.push('');
  if (x.cameras.length === 0) {
    o.push('Aucune caméra connue du serveur pour ce site.');
  } else {
    o.push(
      table(
        ['Agent', 'Caméra', 'Usage', 'Type de lieu', 'Suivi anonyme', 'Règles (zones / lignes / talonnage)', 'État'],
        x.cameras.map((c) => [
          c.agent,
          c.camera,
          c.role ? (CAMERA_ROLE_FR[c.role] ?? c.role) : 'non signalée par l’agent',
          c.locationType ? (LOCATION_FR[c.locationType] ?? c.locationType) : 'non déclaré au serveur',
          c.trackingEnabled === null ? 'non déclaré au serveur' : c.trackingEnabled ? 'activé' : 'désactivé',
          c.rules ? `${c.rules.zones} / ${c.rules.lines} / ${c.rules.tailgating}` : '—',
          c.state ?? '—',
        ]),
      ),
    );
    for (const c of x.cameras) {
      if (c.locationType === null) {
        gaps.push(
          `Caméra \`${c.agent}/${c.camera}\` : type de lieu et suivi non déclarés au serveur (configuration locale de l’agent) ; à vérifier sur place.`,
        );
      }
    }
  }
  o.push('');
  o.push(
    'Le suivi anonyme ne peut être activé que pour une entrée ou une zone de circulation (jamais cour, classe ou cantine).',
  );
  o.push('');

  o.push('## 9. Modèles d’intelligence artificielle');
  o.push('');
  const modelRows = x.agents.flatMap((a) => a.models.map((m) => [a.agent, m.name, m.sha256, m.provider ?? '—']));
  o.push(
    modelRows.length
      ? table(['Agent', 'Modèle', 'Empreinte sha256', 'Fournisseur d’exécution'], modelRows)
      : 'Aucun modèle signalé par les agents de ce site.',
  );
  o.push('');
  if (x.templateModels.length) {
    o.push('Gabarits enregistrés, par modèle :');
    o.push('');
    o.push(
      table(
        ['Modèle', 'Empreinte sha256', 'Gabarits'],
        x.templateModels.map((m) => [m.modelId, m.modelSha256, m.count]),
      ),
    );
    o.push('');
  }
  o.push(
    table(
      ['Agent', 'État', 'Version du logiciel', 'Dernier contact', 'Configuration demandée / appliquée'],
      x.agents.map((a) => [
        a.agent,
        a.state,
        a.softwareVersion,
        at(a.lastSeen),
        `${a.config.requested ?? '—'} / ${a.config.applied ?? '—'}${a.config.result === 'rejected' ? ' (rejetée)' : ''}`,
      ]),
    ),
  );
  o.push('');
  for (const a of x.agents) {
    if (a.state !== 'online')
      gaps.push(`Agent \`${a.agent}\` : ${a.state} ; ses caméras et modèles sont ceux de son dernier état connu.`);
    if (a.config.result === 'rejected')
      gaps.push(`Agent \`${a.agent}\` : dernière configuration rejetée (${a.config.errors.join(' ; ')}).`);
  }

  o.push('## 10. Mode pilote');
  o.push('');
  if (!x.pilot) {
    o.push('Aucun pilote déclaré.');
    o.push('');
  } else {
    const p = x.pilot.pilot;
    const stateFr: Record<PilotState, string> = {
      scheduled: 'à venir',
      running: 'en cours',
      due: 'terminé, effacement à la prochaine purge',
      ended: `terminé, données biométriques effacées le ${at(p.endedAt)}`,
    };
    o.push(`Pilote du ${p.startsOn} au ${p.endsOn} : ${stateFr[x.pilot.state]}.`);
    o.push('');
    if (p.summary) {
      const s = p.summary;
      o.push(
        table(
          ['Indicateur', 'Valeur'],
          [
            ['Passages', numberFr(s.passages)],
            ['dont avec vérification faciale', numberFr(s.biometricPassages)],
            ['Visages confirmés', numberFr(s.confirmations)],
            ['Visages non concordants', numberFr(s.mismatches)],
            ['Taux de non-concordance', s.mismatchRate === null ? '—' : `${numberFr(s.mismatchRate * 100, 2)} %`],
            [
              'Temps médian badge seul',
              s.timing.badgeOnly.medianMs === null ? '—' : `${numberFr(s.timing.badgeOnly.medianMs, 1)} ms`,
            ],
            [
              'Temps médian avec visage',
              s.timing.biometric.medianMs === null ? '—' : `${numberFr(s.timing.biometric.medianMs, 1)} ms`,
            ],
            ...s.criteria.map((c) => [
              `Critère ${c.criterion} (cible ${c.target})`,
              `${c.value ?? '—'} : ${c.met ? 'atteint' : 'non atteint'}`,
            ]),
          ],
        ),
      );
      o.push('');
    }
  }

  o.push('## 11. Égalité de service');
  o.push('');
  const es = x.equalService;
  o.push(
    `Temps jusqu’au verdict, du ${at(es.from)} au ${at(es.to)}, mesuré depuis l’image où le badge a été lu : ` +
      'badge seul = vérification du badge ; avec visage = vérification du badge + fenêtre de capture + comparaison ' +
      '(un passage interrompu avant la fin de sa fenêtre n’est pas chronométré) ; médiane, et 95e centile au rang le plus proche. ' +
      'Un élève qui refuse la biométrie doit passer aussi vite qu’un autre.',
  );
  o.push('');
  const ms = (v: number | null) => (v === null ? '—' : numberFr(v, 1));
  o.push(
    es.gates.length
      ? table(
          [
            'Portail',
            'Caméra',
            'Passages badge seul',
            'Médiane / p95 (ms)',
            'Passages avec visage',
            'Médiane / p95 (ms)',
            'Rapport des médianes',
          ],
          [...es.gates, { agent: 'tous', camera: '—', ...es.all }].map((g) => [
            g.agent,
            g.camera,
            g.badgeOnly.passages,
            `${ms(g.badgeOnly.medianMs)} / ${ms(g.badgeOnly.p95Ms)}`,
            g.biometric.passages,
            `${ms(g.biometric.medianMs)} / ${ms(g.biometric.p95Ms)}`,
            g.medianRatio === null ? '—' : numberFr(g.medianRatio, 2),
          ]),
        )
      : 'Aucun passage sur la période.',
  );
  o.push('');

  o.push('## 12. Mesures de sécurité');
  o.push('');
  const head = x.security.auditHead;
  o.push(
    [
      `- Comptes nominatifs, rôles par site, mots de passe argon2id ; authentification ${
        x.security.authMode === 'required'
          ? 'exigée'
          : x.security.authMode === 'disabled'
            ? '**désactivée (développement seulement)**'
            : 'non connue de cet export'
      } ; second facteur (TOTP) activé pour ${x.security.totpAccounts} compte(s) habilité(s) sur ce site.`,
      '- Sessions : cookie HttpOnly SameSite=Strict, expiration d’inactivité et absolue, jeton CSRF.',
      '- Gabarits chiffrés (AES-256-GCM) avec une clé que seul le badge porte : le serveur ne peut pas les lire ; révocation et effacement propagés aux agents.',
      '- Vérification 1:1 uniquement, déclenchée par la présentation du badge ; aucune image conservée ; aucune analyse de comportement ou d’émotion.',
      x.people?.keepIdPhotos
        ? '- Photos d’identité chiffrées (AES-256-GCM, clé du serveur), sans métadonnées.'
        : '- Pas de photo d’identité conservée.',
      `- Journal d’audit chaîné (SHA-256), en ajout seul ; tête actuelle ${head.seq}:${head.hash.slice(0, 16)}…${
        x.security.auditStart.seq > 0
          ? ` ; lignes 1 à ${x.security.auditStart.seq} purgées (point de reprise conservé)`
          : ''
      }.`,
      '- Purge de conservation au démarrage et périodiquement, un reçu par purge dans le journal d’audit.',
    ].join('\n'),
  );
  if (x.security.authMode === 'disabled')
    gaps.push('Authentification désactivée : ne pas utiliser ainsi en production.');
  o.push('');

  o.push('## 13. Points à vérifier');
  o.push('');
  o.push(gaps.length ? gaps.map((g) => `- ${g}`).join('\n') : 'Aucun.');
  o.push('');
  return `${o.join('\n')}\n`;
}
