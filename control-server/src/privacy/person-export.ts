import type { Database } from 'better-sqlite3';
import type { ConsentRecord, ConsentStatus } from '../people/consent.js';
import { credentialsOfStudent, getStudent, type Student } from '../people/people-store.js';
import { DECISION_FR, cell, decisionFr, localDateTime, table, yesNo } from './markdown.js';
import { siteTimeZone } from './pilot.js';
import type { SiteRetentionPolicy } from './retention-policy.js';

/**
 * Right of access (RGPD art. 15): everything the server holds about one student, as JSON (complete,
 * machine-readable) and as a Markdown summary in French (what a family reads). Never the token,
 * the template key, the ciphertext or the photo itself: the export says a template or a photo
 * exists, with its model and dates; the photo can be shown at the desk. Reading the data is
 * written to the audit log by the caller (privacy-service).
 */

export const PERSON_EXPORT_FORMAT = 'portail-person-export/1';

export interface PersonExport {
  format: typeof PERSON_EXPORT_FORMAT;
  generatedAt: string;
  site: string;
  timeZone: string;
  student: Student;
  consent: { status: ConsentStatus | null; history: ConsentRecord[] };
  credentials: Array<{
    id: string;
    biometric: boolean;
    keyId: number;
    validUntil: string;
    issuedAt: string;
    issuedBy: string;
    revokedAt: string | null;
    revokedReason: string | null;
    replacedBy: string | null;
  }>;
  /** presence of encrypted templates: model and date only */
  templates: Array<{ credentialId: string; modelId: string; modelSha256: string; encoding: string; createdAt: string }>;
  idPhoto: { kept: false } | { kept: true; createdAt: string; retainUntil: string };
  accessEvents: Array<{
    id: string;
    ts: string;
    receivedAt: string;
    agent: string;
    camera: string;
    credentialId: string;
    decision: string;
    biometric: boolean;
    scores?: Record<string, number>;
    timingsMs?: Record<string, number>;
    modelId?: string;
  }>;
  deletionReceipts: Array<{ id: number; what: Record<string, unknown>; reason: string; actor: string; at: string }>;
  retention: SiteRetentionPolicy;
}

export interface PersonExportSources {
  consentStatus(studentId: number): ConsentStatus | undefined;
  consentHistory(studentId: number): ConsentRecord[];
  retention(site: string): SiteRetentionPolicy;
}

/** The export, or undefined when the student does not exist at that site. */
export function buildPersonExport(
  db: Database,
  site: string,
  studentId: number,
  sources: PersonExportSources,
  now: Date,
): PersonExport | undefined {
  const student = getStudent(db, studentId);
  if (!student || student.site !== site) return undefined;
  return db.transaction((): PersonExport => {
    const credentials = credentialsOfStudent(db, studentId);
    const ids = credentials.map((c) => c.id);
    const inList = ids.map(() => '?').join(', ');
    const templates = ids.length
      ? db
          .prepare<
            string[],
            { credential_id: string; model_id: string; model_sha256: string; encoding: string; created_at: string }
          >(
            `SELECT credential_id, model_id, model_sha256, encoding, created_at FROM templates
             WHERE credential_id IN (${inList}) ORDER BY created_at`,
          )
          .all(...ids)
          .map((t) => ({
            credentialId: t.credential_id,
            modelId: t.model_id,
            modelSha256: t.model_sha256,
            encoding: t.encoding,
            createdAt: t.created_at,
          }))
      : [];
    const photo = db
      .prepare<[number], { created_at: string; retain_until: string }>(
        'SELECT created_at, retain_until FROM id_photos WHERE student_id = ?',
      )
      .get(studentId);
    const events = ids.length
      ? db
          .prepare<
            string[],
            { id: string; ts: string; received_at: string; agent: string; camera: string; payload: string }
          >(
            `SELECT id, ts, received_at, agent, camera, payload FROM events
             WHERE kind = 'access' AND site = ? AND json_extract(payload, '$.credentialId') IN (${inList})
             ORDER BY ts, id`,
          )
          .all(site, ...ids)
      : [];
    const receipts = db
      .prepare<[string, string], { id: number; what: string; reason: string; actor: string; at: string }>(
        'SELECT id, what, reason, actor, at FROM deletion_receipts WHERE site = ? AND subject = ? ORDER BY id',
      )
      .all(site, `student:${studentId}`);
    return {
      format: PERSON_EXPORT_FORMAT,
      generatedAt: now.toISOString(),
      site,
      timeZone: siteTimeZone(db, site),
      student,
      consent: { status: sources.consentStatus(studentId) ?? null, history: sources.consentHistory(studentId) },
      credentials: credentials.map((c) => ({
        id: c.id,
        biometric: c.biometric,
        keyId: c.keyId,
        validUntil: c.validUntil,
        issuedAt: c.issuedAt,
        issuedBy: c.issuedBy,
        revokedAt: c.revokedAt,
        revokedReason: c.revokedReason,
        replacedBy: c.replacedBy,
      })),
      templates,
      idPhoto: photo ? { kept: true, createdAt: photo.created_at, retainUntil: photo.retain_until } : { kept: false },
      accessEvents: events.map((e) => {
        const p = JSON.parse(e.payload) as {
          credentialId: string;
          decision: string;
          biometric: boolean;
          scores?: Record<string, number>;
          timingsMs?: Record<string, number>;
          modelId?: string;
        };
        return {
          id: e.id,
          ts: e.ts,
          receivedAt: e.received_at,
          agent: e.agent,
          camera: e.camera,
          credentialId: p.credentialId,
          decision: p.decision,
          biometric: p.biometric,
          ...(p.scores ? { scores: p.scores } : {}),
          ...(p.timingsMs ? { timingsMs: p.timingsMs } : {}),
          ...(p.modelId ? { modelId: p.modelId } : {}),
        };
      }),
      deletionReceipts: receipts.map((r) => ({ ...r, what: JSON.parse(r.what) as Record<string, unknown> })),
      retention: sources.retention(site),
    };
  })();
}

const PARTY_FR: Record<string, string> = {
  student: 'l’élève',
  guardian1: 'responsable légal 1',
  guardian2: 'responsable légal 2',
};
const CONSENT_STATE_FR: Record<string, string> = {
  granted: 'accordé',
  refused: 'refusé',
  withdrawn: 'retiré',
  none: 'non recueilli',
};
const CONSENT_ACTION_FR: Record<string, string> = { grant: 'accord', refuse: 'refus', withdraw: 'retrait' };
const CHANNEL_FR: Record<string, string> = {
  paper: 'papier',
  online: 'en ligne',
  in_person: 'en personne',
  email: 'courriel',
  mail: 'courrier',
};

/** The readable summary, in French, of an export. Pure. */
export function personExportMarkdown(x: PersonExport): string {
  const tz = x.timeZone;
  const s = x.student;
  const at = (iso: string | null) => (iso ? localDateTime(iso, tz) : '—');
  const out: string[] = [];
  out.push(`# Données détenues sur un élève`);
  out.push('');
  out.push(
    `Export du ${at(x.generatedAt)} (heure du site, ${tz}) — site \`${x.site}\`, identifiant interne ${s.id}. ` +
      `Le même contenu, complet, figure dans le fichier JSON (format \`${x.format}\`).`,
  );
  out.push('');
  out.push('## Identité (issue du logiciel de vie scolaire)');
  out.push('');
  out.push(
    table(
      ['Donnée', 'Valeur'],
      [
        ['Nom', s.lastName],
        ['Prénom', s.firstName],
        ['Classe', s.className],
        ['Date de naissance', s.birthDate],
        ['Identifiant élève', s.externalId],
        ['Responsables légaux consultés', s.guardianCount],
        ['Statut', s.status === 'active' ? 'scolarisé' : `parti le ${at(s.departedAt)}`],
        ['Enregistré le', at(s.createdAt)],
        ['Dernière mise à jour', at(s.updatedAt)],
      ],
    ),
  );
  out.push('');
  out.push('## Consentement à la vérification faciale');
  out.push('');
  out.push(
    'La vérification faciale est facultative : sans elle, le badge donne le même accès, par la même file. ' +
      'Le consentement peut être retiré à tout moment, sans autre conséquence.',
  );
  out.push('');
  if (x.consent.status) {
    out.push(
      table(
        ['Partie', 'Requis', 'État'],
        x.consent.status.parties.map((p) => [
          PARTY_FR[p.party] ?? p.party,
          yesNo(p.required),
          CONSENT_STATE_FR[p.state] ?? p.state,
        ]),
      ),
    );
    out.push('');
  }
  if (x.consent.history.length) {
    out.push(
      table(
        ['Date du formulaire', 'Partie', 'Décision', 'Canal', 'Version de la notice', 'Enregistré le'],
        x.consent.history.map((r) => [
          r.effectiveAt,
          PARTY_FR[r.party] ?? r.party,
          CONSENT_ACTION_FR[r.action] ?? r.action,
          CHANNEL_FR[r.channel] ?? r.channel,
          r.noticeVersion,
          at(r.recordedAt),
        ]),
      ),
    );
  } else {
    out.push('Aucun consentement enregistré.');
  }
  out.push('');
  out.push('## Badges (identifiants)');
  out.push('');
  out.push(
    'Le serveur garde l’identifiant de chaque badge, sa validité et sa révocation ; jamais le contenu du QR code ni la clé qu’il porte.',
  );
  out.push('');
  out.push(
    x.credentials.length
      ? table(
          ['Identifiant', 'Vérification faciale', 'Valable jusqu’au', 'Émis le', 'Révoqué le', 'Motif'],
          x.credentials.map((c) => [
            c.id,
            yesNo(c.biometric),
            c.validUntil,
            at(c.issuedAt),
            at(c.revokedAt),
            c.revokedReason,
          ]),
        )
      : 'Aucun badge émis.',
  );
  out.push('');
  out.push('## Gabarit biométrique');
  out.push('');
  if (x.templates.length) {
    out.push(
      'Un gabarit (vecteur calculé à partir d’une photo, qui ne permet pas de la reconstituer) est conservé, chiffré avec une clé que seul ' +
        'le badge porte. Il n’est pas reproduit ici.',
    );
    out.push('');
    out.push(
      table(
        ['Badge', 'Modèle', 'Empreinte du modèle (sha256)', 'Créé le'],
        x.templates.map((t) => [t.credentialId, t.modelId, `${t.modelSha256.slice(0, 16)}…`, at(t.createdAt)]),
      ),
    );
  } else {
    out.push('Aucun gabarit biométrique conservé.');
  }
  out.push('');
  out.push('## Photo d’identité');
  out.push('');
  out.push(
    x.idPhoto.kept
      ? `Une photo d’identité est conservée (chiffrée) depuis le ${at(x.idPhoto.createdAt)}, au plus tard jusqu’au ${x.idPhoto.retainUntil} ; ` +
          'elle peut être montrée à l’accueil sur demande.'
      : 'Aucune photo conservée : la photo d’enrôlement, s’il y en a eu une, a été supprimée après le calcul du gabarit.',
  );
  out.push('');
  out.push('## Passages aux portails');
  out.push('');
  if (x.accessEvents.length) {
    out.push(
      `${x.accessEvents.length} passage(s) enregistré(s), conservé(s) ${x.retention.accessEventsDays} jours. ` +
        'Aucune image n’est enregistrée.',
    );
    out.push('');
    out.push(
      table(
        ['Date et heure', 'Portail', 'Caméra', 'Badge', 'Décision', 'Vérification faciale'],
        x.accessEvents.map((e) => [
          at(e.ts),
          e.agent,
          e.camera,
          e.credentialId,
          decisionFr(e.decision),
          yesNo(e.biometric),
        ]),
      ),
    );
  } else {
    out.push(`Aucun passage enregistré (les passages sont conservés ${x.retention.accessEventsDays} jours).`);
  }
  out.push('');
  out.push('## Suppressions déjà effectuées');
  out.push('');
  out.push(
    x.deletionReceipts.length
      ? table(
          ['Date', 'Motif', 'Par', 'Détail'],
          x.deletionReceipts.map((r) => [at(r.at), r.reason, r.actor, JSON.stringify(r.what)]),
        )
      : 'Aucune.',
  );
  out.push('');
  out.push('## Durées de conservation');
  out.push('');
  out.push(
    table(
      ['Donnée', 'Durée'],
      [
        ['Passages aux portails', `${x.retention.accessEventsDays} jours`],
        ['Identité et consentements après le départ', `${x.retention.departedStudentsDays} jours après le départ`],
        [
          'Gabarit biométrique',
          'jusqu’au retrait du consentement, au départ, à la fin de validité du badge ou à la fin du pilote',
        ],
      ],
    ),
  );
  out.push('');
  out.push('## Vos droits');
  out.push('');
  out.push(
    '- **Accès** : le présent document et le fichier JSON qui l’accompagne.\n' +
      '- **Rectification** : l’identité vient du logiciel de vie scolaire ; adressez-vous au secrétariat.\n' +
      '- **Retrait du consentement** : à tout moment, auprès de l’établissement ; le gabarit est alors effacé et un badge simple remis.\n' +
      '- **Effacement** : sur demande auprès du chef d’établissement ; un reçu de suppression est conservé (identifiants seulement).\n' +
      '- **Réclamation** : auprès de la CNIL (www.cnil.fr).',
  );
  out.push('');
  out.push(
    `_Légende des décisions : ${Object.entries(DECISION_FR)
      .map(([k, v]) => `${cell(k)} = ${v}`)
      .join(' ; ')}._`,
  );
  return `${out.join('\n')}\n`;
}
