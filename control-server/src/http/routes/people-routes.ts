import fastifyMultipart from '@fastify/multipart';
import { tokenFromText } from '@portail/protocol';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { SITE_ID_PATTERN } from '../../auth/permissions.js';
import {
  CONSENT_CHANNELS,
  CONSENT_PARTIES,
  type ConsentAction,
  type ConsentChannel,
  type ConsentParty,
} from '../../people/consent.js';
import { progressOf } from '../../people/import-jobs.js';
import type { CardKind, PeopleApi } from '../../people/people-api.js';
import type { PeopleError } from '../../people/result.js';
import { auditActor, auditRequest } from '../auth/auth-plugin.js';

/**
 * People of a site over HTTP (people/ services): students (list, search, detail), registry import
 * jobs, consent, enrolment by photo upload, credentials and their cards, withdrawal and departure,
 * and the site's sync state. Site admins only for personal data (`people:read`, `people:write`,
 * `consent:write`, `enrolment:write`); every read of personal data and every write is audited (ids,
 * never names); a denied request is audited by the auth plugin. A student or credential of another
 * site answers 404, never its data. Uploads are multipart, read into memory (never spooled to
 * disk), with their own size limits; the photo bytes are zeroed once templated or refused.
 */

/** Registry exports: ~100 bytes a student, 4 MiB is 40,000 students. */
export const MAX_REGISTRY_UPLOAD_BYTES = 4 * 1024 * 1024;
/** multipart envelope around the file (boundaries, part headers) */
const MULTIPART_OVERHEAD_BYTES = 16 * 1024;

const siteParam = { type: 'string', pattern: SITE_ID_PATTERN.source } as const;
const studentIdParam = { type: 'integer', minimum: 1 } as const;
const credentialIdParam = { type: 'string', pattern: '^[a-z0-9]{4,32}$' } as const;

const params = (props: Record<string, unknown>) =>
  ({ type: 'object', required: Object.keys(props), additionalProperties: false, properties: props }) as const;

const SITE = params({ site: siteParam });
const STUDENT = params({ site: siteParam, studentId: studentIdParam });

const STATUS_OF: Record<string, number> = {
  PEOPLE_UNAVAILABLE: 503,
  PEOPLE_ERR_STUDENT: 404,
  ENROL_ERR_STUDENT: 404,
  ENROL_ERR_CONSENT: 409,
  ENROL_ERR_PHOTO_TOO_LARGE: 413,
  ENROL_ERR_PHOTO_FORMAT: 415,
  ENROL_ERR_MODELS: 503,
  CONSENT_ERR_STUDENT: 404,
  CONSENT_ERR_INPUT: 400,
  CREDENTIAL_ERR_NOT_FOUND: 404,
  CREDENTIAL_ERR_STUDENT: 404,
  CREDENTIAL_ERR_TOKEN: 400,
  CREDENTIAL_ERR_EXISTS: 409,
  CREDENTIAL_ERR_REVOKED: 409,
  CREDENTIAL_ERR_EXPIRED: 409,
  CREDENTIAL_ERR_KEY_NOT_KEPT: 409,
  CREDENTIAL_ERR_SIGNING_KEY: 409,
  CREDENTIAL_ERR_KEY_IN_USE: 409,
  WITHDRAWAL_ERR_STUDENT: 404,
  WITHDRAWAL_ERR_SITE: 404,
  REGISTRY_ERR_TOO_LARGE: 413,
  IMPORT_ERR_RUNNING: 409,
  IMPORT_ERR_NOT_FOUND: 404,
  UPLOAD_ERR_NOT_MULTIPART: 415,
};

/** 4xx of an expected failure: 422 for a photo the models refuse (readable, but not usable). */
function statusOf(code: string): number {
  if (code in STATUS_OF) return STATUS_OF[code]!;
  if (code.startsWith('ENROL_ERR_')) return 422;
  return 400;
}

function sendError(reply: FastifyReply, e: PeopleError): FastifyReply {
  return reply
    .code(statusOf(e.code))
    .send({ error: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) });
}

function peopleOf(app: { deps: { people?: PeopleApi } }, reply: FastifyReply): PeopleApi | null {
  if (app.deps.people) return app.deps.people;
  void sendError(reply, { code: 'PEOPLE_UNAVAILABLE', message: 'the people service is not configured on this server' });
  return null;
}

type Upload = { ok: true; bytes: Buffer; filename: string } | { ok: false; error: PeopleError };

/**
 * The one file of a multipart request, into memory, at most `maxBytes` (a bigger one is refused
 * with `tooLargeCode` without buffering past the limit).
 */
async function readUpload(req: FastifyRequest, maxBytes: number, tooLargeCode: string): Promise<Upload> {
  if (!req.isMultipart()) {
    return {
      ok: false,
      error: { code: 'UPLOAD_ERR_NOT_MULTIPART', message: 'send the file as multipart/form-data' },
    };
  }
  try {
    const file = await req.file({ limits: { fileSize: maxBytes, files: 1, parts: 4, fields: 3, fieldSize: 1024 } });
    if (!file) return { ok: false, error: { code: 'UPLOAD_ERR_NO_FILE', message: 'the form holds no file' } };
    const bytes = await file.toBuffer();
    return { ok: true, bytes, filename: file.filename };
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'FST_REQ_FILE_TOO_LARGE') {
      return { ok: false, error: { code: tooLargeCode, message: `the file is larger than ${maxBytes} bytes` } };
    }
    // a truncated body, too many parts: what the client sent is not a usable form
    return {
      ok: false,
      error: { code: 'UPLOAD_ERR_MALFORMED', message: `unreadable upload: ${(err as Error).message}` },
    };
  }
}

const CARD_FILES: readonly CardKind[] = ['card.png', 'card.pdf', 'qr.png'];

export const peopleRoutes: FastifyPluginAsync = async (app) => {
  // in this plugin's scope only; the files are read with req.file() into memory, never saved
  await app.register(fastifyMultipart, { limits: { files: 1, parts: 4, fields: 3, fieldSize: 1024 } });
  const photoLimit = app.deps.people?.photoLimits.maxBytes ?? 8 * 1024 * 1024;

  app.get<{
    Params: { site: string };
    Querystring: { q?: string; status?: 'active' | 'departed' | 'all'; limit?: number; offset?: number };
  }>(
    '/api/sites/:site/students',
    {
      config: { permission: 'people:read' },
      schema: {
        params: SITE,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            q: { type: 'string', maxLength: 100 },
            status: { type: 'string', enum: ['active', 'departed', 'all'] },
            limit: { type: 'integer', minimum: 1, maximum: 500 },
            offset: { type: 'integer', minimum: 0 },
          },
        },
      },
    },
    async (req, reply) => {
      const people = peopleOf(app, reply);
      if (!people) return reply;
      const { site } = req.params;
      const page = people.listStudents(site, req.query);
      reply.header('cache-control', 'no-store');
      auditRequest(app.deps.audit, req, {
        action: 'people.list',
        outcome: 'ok',
        site,
        target: `site:${site}`,
        // the search words may be a name: only that there was a search, and how many came back
        details: {
          searched: Boolean(req.query.q),
          status: req.query.status ?? 'active',
          returned: page.students.length,
        },
      });
      return page;
    },
  );

  app.get<{ Params: { site: string; studentId: number } }>(
    '/api/sites/:site/students/:studentId',
    { config: { permission: 'people:read' }, schema: { params: STUDENT } },
    async (req, reply) => {
      const people = peopleOf(app, reply);
      if (!people) return reply;
      const { site, studentId } = req.params;
      const detail = people.studentDetail(site, studentId);
      auditRequest(app.deps.audit, req, {
        action: 'people.read',
        outcome: detail ? 'ok' : 'failed',
        site,
        target: `student:${studentId}`,
      });
      if (!detail)
        return sendError(reply, { code: 'PEOPLE_ERR_STUDENT', message: `no student ${studentId} at site ${site}` });
      reply.header('cache-control', 'no-store');
      return detail;
    },
  );

  app.post<{ Params: { site: string }; Querystring: { allowMassDeparture?: boolean } }>(
    '/api/sites/:site/students/imports',
    {
      config: { permission: 'people:write' },
      bodyLimit: MAX_REGISTRY_UPLOAD_BYTES + MULTIPART_OVERHEAD_BYTES,
      schema: {
        params: SITE,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { allowMassDeparture: { type: 'boolean' } },
        },
      },
    },
    async (req, reply) => {
      const people = peopleOf(app, reply);
      if (!people) return reply;
      const { site } = req.params;
      const upload = await readUpload(req, MAX_REGISTRY_UPLOAD_BYTES, 'REGISTRY_ERR_TOO_LARGE');
      const audit = (outcome: 'ok' | 'failed', details: Record<string, unknown>) =>
        auditRequest(app.deps.audit, req, { action: 'people.import', outcome, site, target: `site:${site}`, details });
      if (!upload.ok) {
        audit('failed', { code: upload.error.code });
        return sendError(reply, upload.error);
      }
      const actor = auditActor(req.principal);
      const started = people.imports.start(
        { site, bytes: upload.bytes, actor, allowMassDeparture: req.query.allowMassDeparture === true },
        (job) =>
          audit(job.state === 'done' ? 'ok' : 'failed', {
            job: job.id,
            phase: 'end',
            ...(job.counts ? { counts: job.counts } : {}),
            ...(job.error ? { code: job.error.code } : {}),
          }),
      );
      if (!started.ok) {
        audit('failed', { code: started.error.code });
        return sendError(reply, started.error);
      }
      audit('ok', { job: started.value.id, phase: 'start', bytes: upload.bytes.length });
      return reply
        .code(202)
        .header('location', `/api/sites/${site}/students/imports/${started.value.id}`)
        .send({ job: progressOf(started.value) });
    },
  );

  app.get<{ Params: { site: string; jobId: string } }>(
    '/api/sites/:site/students/imports/:jobId',
    {
      config: { permission: 'people:write' },
      schema: { params: params({ site: siteParam, jobId: { type: 'string', format: 'uuid' } }) },
    },
    async (req, reply) => {
      const people = peopleOf(app, reply);
      if (!people) return reply;
      const { site, jobId } = req.params;
      const job = people.imports.get(site, jobId);
      if (!job)
        return sendError(reply, {
          code: 'IMPORT_ERR_NOT_FOUND',
          message: `no import job ${jobId} at site ${site} (jobs are kept an hour)`,
        });
      reply.header('cache-control', 'no-store');
      if (job.report) {
        // the report names pupils (by id) and lines of the file: a read of personal data
        auditRequest(app.deps.audit, req, {
          action: 'people.import.report',
          outcome: 'ok',
          site,
          target: `site:${site}`,
          details: { job: job.id },
        });
      }
      return { job: progressOf(job), report: job.report };
    },
  );

  app.post<{
    Params: { site: string; studentId: number };
    Body: {
      party: ConsentParty;
      action: ConsentAction;
      channel: ConsentChannel;
      noticeVersion: string;
      effectiveAt?: string;
    };
  }>(
    '/api/sites/:site/students/:studentId/consents',
    {
      config: { permission: 'consent:write' },
      schema: {
        params: STUDENT,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['party', 'action', 'channel', 'noticeVersion'],
          properties: {
            party: { type: 'string', enum: [...CONSENT_PARTIES] },
            action: { type: 'string', enum: ['grant', 'refuse', 'withdraw'] },
            channel: { type: 'string', enum: [...CONSENT_CHANNELS] },
            noticeVersion: { type: 'string', minLength: 1, maxLength: 40 },
            effectiveAt: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
          },
        },
      },
    },
    async (req, reply) => {
      const people = peopleOf(app, reply);
      if (!people) return reply;
      const { site, studentId } = req.params;
      const b = req.body;
      const student = people.studentAt(site, studentId);
      const r = student
        ? people.consent.record({
            studentId,
            party: b.party,
            action: b.action,
            channel: b.channel,
            noticeVersion: b.noticeVersion,
            ...(b.effectiveAt ? { effectiveAt: b.effectiveAt } : {}),
            actor: auditActor(req.principal),
          })
        : ({
            ok: false,
            error: { code: 'CONSENT_ERR_STUDENT', message: `no student ${studentId} at site ${site}` },
          } as const);
      auditRequest(app.deps.audit, req, {
        action: `consent.${b.action}`,
        outcome: r.ok ? 'ok' : 'failed',
        site,
        target: `student:${studentId}`,
        details: r.ok
          ? {
              party: b.party,
              channel: b.channel,
              noticeVersion: b.noticeVersion,
              recordId: r.value.record.id,
              ...(r.value.withdrawal
                ? {
                    templatesDeleted: r.value.withdrawal.templatesDeleted,
                    credentialsRevoked: r.value.withdrawal.credentialsRevoked,
                    receiptId: r.value.withdrawal.receipt?.id ?? null,
                  }
                : {}),
            }
          : { party: b.party, code: r.error.code },
      });
      if (!r.ok) return sendError(reply, r.error);
      if (r.value.withdrawal) people.notify(site);
      return reply.code(201).send({
        record: r.value.record,
        status: r.value.status,
        withdrawal: r.value.withdrawal
          ? {
              templatesDeleted: r.value.withdrawal.templatesDeleted,
              credentialsRevoked: r.value.withdrawal.credentialsRevoked,
              replacement: r.value.withdrawal.replacement
                ? people.credentialView(r.value.withdrawal.replacement)
                : null,
              receipt: r.value.withdrawal.receipt,
            }
          : null,
      });
    },
  );

  app.put<{ Params: { site: string; studentId: number }; Body: { count: 0 | 1 | 2 } }>(
    '/api/sites/:site/students/:studentId/guardians',
    {
      config: { permission: 'consent:write' },
      schema: {
        params: STUDENT,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['count'],
          properties: { count: { type: 'integer', enum: [0, 1, 2] } },
        },
      },
    },
    async (req, reply) => {
      const people = peopleOf(app, reply);
      if (!people) return reply;
      const { site, studentId } = req.params;
      const r = people.studentAt(site, studentId)
        ? people.consent.setGuardianCount(studentId, req.body.count)
        : ({
            ok: false,
            error: { code: 'CONSENT_ERR_STUDENT', message: `no student ${studentId} at site ${site}` },
          } as const);
      auditRequest(app.deps.audit, req, {
        action: 'people.guardians',
        outcome: r.ok ? 'ok' : 'failed',
        site,
        target: `student:${studentId}`,
        details: r.ok ? { count: req.body.count } : { code: r.error.code },
      });
      if (!r.ok) return sendError(reply, r.error);
      return { student: r.value, consent: people.consent.status(studentId) };
    },
  );

  app.post<{ Params: { site: string; studentId: number } }>(
    '/api/sites/:site/students/:studentId/enrolment',
    {
      config: { permission: 'enrolment:write' },
      bodyLimit: photoLimit + MULTIPART_OVERHEAD_BYTES,
      schema: { params: STUDENT },
    },
    async (req, reply) => {
      const people = peopleOf(app, reply);
      if (!people) return reply;
      const { site, studentId } = req.params;
      const audit = (outcome: 'ok' | 'failed', details: Record<string, unknown>) =>
        auditRequest(app.deps.audit, req, {
          action: 'people.enrol',
          outcome,
          site,
          target: `student:${studentId}`,
          details,
        });
      const upload = await readUpload(req, people.photoLimits.maxBytes, 'ENROL_ERR_PHOTO_TOO_LARGE');
      if (!upload.ok) {
        audit('failed', { code: upload.error.code });
        return sendError(reply, upload.error);
      }
      let r: Awaited<ReturnType<PeopleApi['enrol']>>;
      try {
        r = await people.enrol(site, studentId, upload.bytes, auditActor(req.principal));
      } catch (err) {
        // the models could not be opened or failed: nothing was written (the service writes last)
        req.log.error({ err }, 'enrolment failed');
        audit('failed', { code: 'ENROL_ERR_MODELS' });
        return sendError(reply, {
          code: 'ENROL_ERR_MODELS',
          message: 'the face models are not available on this server',
        });
      } finally {
        upload.bytes.fill(0);
      }
      if (!r.ok) {
        audit('failed', { code: r.error.code });
        return sendError(reply, r.error);
      }
      const c = r.value.credential;
      audit('ok', {
        credentialId: c.id,
        revoked: r.value.revoked,
        model: r.value.model.id,
        idPhotoKept: r.value.idPhotoKept,
      });
      return reply.code(201).send({ ...r.value, downloads: downloadsOf(site, c.id, c.downloadableUntil) });
    },
  );

  app.post<{ Params: { site: string; studentId: number } }>(
    '/api/sites/:site/students/:studentId/credentials',
    { config: { permission: 'people:write' }, schema: { params: STUDENT } },
    async (req, reply) => {
      const people = peopleOf(app, reply);
      if (!people) return reply;
      const { site, studentId } = req.params;
      const r = people.issue(site, studentId, auditActor(req.principal));
      auditRequest(app.deps.audit, req, {
        action: 'credential.issue',
        outcome: r.ok ? 'ok' : 'failed',
        site,
        target: `student:${studentId}`,
        details: r.ok ? { credentialId: r.value.id, biometric: false } : { code: r.error.code },
      });
      if (!r.ok) return sendError(reply, r.error);
      return reply
        .code(201)
        .send({ credential: r.value, downloads: downloadsOf(site, r.value.id, r.value.downloadableUntil) });
    },
  );

  app.post<{ Params: { site: string; studentId: number }; Body: { reason?: string; token?: string } | undefined }>(
    '/api/sites/:site/students/:studentId/credentials/reissue',
    {
      config: { permission: 'people:write' },
      schema: {
        params: STUDENT,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            reason: { type: 'string', minLength: 1, maxLength: 60, pattern: '^[\\w .-]+$' },
            // the old card's or phone's QR text, as a scanner types it: keeps the biometrics
            token: { type: 'string', maxLength: 200 },
          },
        },
      },
    },
    async (req, reply) => {
      const people = peopleOf(app, reply);
      if (!people) return reply;
      const { site, studentId } = req.params;
      const body = req.body ?? {};
      let presentedToken: Uint8Array | undefined;
      if (body.token !== undefined) {
        presentedToken = tokenFromText(body.token);
        if (!presentedToken) {
          return sendError(reply, {
            code: 'CREDENTIAL_ERR_TOKEN',
            message: 'the token text is not a Portail credential (base64url, as a scanner types it)',
          });
        }
      }
      const r = people.reissue(site, studentId, {
        actor: auditActor(req.principal),
        reason: body.reason ?? 'reissued',
        ...(presentedToken ? { presentedToken } : {}),
      });
      auditRequest(app.deps.audit, req, {
        action: 'credential.reissue',
        outcome: r.ok ? 'ok' : 'failed',
        site,
        target: `student:${studentId}`,
        details: r.ok
          ? {
              credentialId: r.value.credential.id,
              revoked: r.value.revoked,
              biometrics: r.value.biometrics,
              tokenShown: presentedToken !== undefined,
            }
          : { code: r.error.code },
      });
      if (!r.ok) return sendError(reply, r.error);
      const c = r.value.credential;
      return reply.code(201).send({ ...r.value, downloads: downloadsOf(site, c.id, c.downloadableUntil) });
    },
  );

  app.post<{ Params: { site: string; credentialId: string }; Body: { reason?: string } | undefined }>(
    '/api/sites/:site/credentials/:credentialId/revoke',
    {
      config: { permission: 'people:write' },
      schema: {
        params: params({ site: siteParam, credentialId: credentialIdParam }),
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { reason: { type: 'string', minLength: 1, maxLength: 60, pattern: '^[\\w .-]+$' } },
        },
      },
    },
    async (req, reply) => {
      const people = peopleOf(app, reply);
      if (!people) return reply;
      const { site, credentialId } = req.params;
      const reason = req.body?.reason ?? 'revoked';
      const r = people.revoke(site, credentialId, { actor: auditActor(req.principal), reason });
      auditRequest(app.deps.audit, req, {
        action: 'credential.revoke',
        outcome: r.ok ? 'ok' : 'failed',
        site,
        target: `credential:${credentialId}`,
        details: r.ok ? { reason, templateDeleted: r.value.templateDeleted } : { code: r.error.code },
      });
      if (!r.ok) return sendError(reply, r.error);
      return r.value;
    },
  );

  app.get<{ Params: { site: string; credentialId: string; file: CardKind } }>(
    '/api/sites/:site/credentials/:credentialId/:file',
    {
      config: { permission: 'people:read' },
      schema: {
        params: params({
          site: siteParam,
          credentialId: credentialIdParam,
          file: { type: 'string', enum: [...CARD_FILES] },
        }),
      },
    },
    async (req, reply) => {
      const people = peopleOf(app, reply);
      if (!people) return reply;
      const { site, credentialId, file } = req.params;
      const r = await people.card(site, credentialId, file);
      auditRequest(app.deps.audit, req, {
        action: 'credential.card',
        outcome: r.ok ? 'ok' : 'failed',
        site,
        target: `credential:${credentialId}`,
        details: r.ok ? { file, studentId: r.value.credential.studentId } : { file, code: r.error.code },
      });
      if (!r.ok) return sendError(reply, r.error);
      // the image holds the token (and for an enrolled student the template key): no cache anywhere
      return reply
        .header('cache-control', 'no-store')
        .header('content-disposition', `attachment; filename="${r.value.filename}"`)
        .type(r.value.contentType)
        .send(Buffer.from(r.value.bytes));
    },
  );

  for (const [suffix, action] of [
    ['withdrawal', 'people.withdraw'],
    ['departure', 'people.depart'],
  ] as const) {
    app.post<{ Params: { site: string; studentId: number } }>(
      `/api/sites/:site/students/:studentId/${suffix}`,
      { config: { permission: 'people:write' }, schema: { params: STUDENT } },
      async (req, reply) => {
        const people = peopleOf(app, reply);
        if (!people) return reply;
        const { site, studentId } = req.params;
        const actor = auditActor(req.principal);
        const r =
          suffix === 'withdrawal'
            ? people.withdrawBiometrics(site, studentId, actor)
            : people.depart(site, studentId, actor);
        auditRequest(app.deps.audit, req, {
          action,
          outcome: r.ok ? 'ok' : 'failed',
          site,
          target: `student:${studentId}`,
          details: r.ok
            ? {
                templatesDeleted: r.value.templatesDeleted,
                credentialsRevoked: r.value.credentialsRevoked,
                idPhotoDeleted: r.value.idPhotoDeleted,
                receiptId: r.value.receipt?.id ?? null,
              }
            : { code: r.error.code },
        });
        if (!r.ok) return sendError(reply, r.error);
        const w = r.value;
        return {
          studentId,
          templatesDeleted: w.templatesDeleted,
          credentialsRevoked: w.credentialsRevoked,
          idPhotoDeleted: w.idPhotoDeleted,
          replacement: w.replacement ? people.credentialView(w.replacement) : null,
          receipt: w.receipt,
        };
      },
    );
  }

  // versions only, no personal data: site admins, and regional IT who runs the agents
  app.get<{ Params: { site: string } }>(
    '/api/sites/:site/sync',
    { config: { permission: ['people:read', 'sites:write'] }, schema: { params: SITE } },
    async (req, reply) => {
      const people = peopleOf(app, reply);
      if (!people) return reply;
      return people.syncState(req.params.site);
    },
  );
};

function downloadsOf(site: string, credentialId: string, until: string | null) {
  const base = `/api/sites/${site}/credentials/${credentialId}`;
  return { card: `${base}/card.png`, pdf: `${base}/card.pdf`, qr: `${base}/qr.png`, until };
}
