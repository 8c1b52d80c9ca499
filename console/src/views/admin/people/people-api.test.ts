import { describe, expect, it } from 'vitest';
import type { SessionInfo } from '../../../auth/session.js';
import {
  cardDownloadable,
  formatDay,
  importPercent,
  knownError,
  laterJob,
  peopleSitesOf,
  type CredentialView,
} from './people-api.js';

const session = (
  permissions: SessionInfo['permissions'],
  authMode: SessionInfo['authMode'] = 'required',
): SessionInfo => ({
  authMode,
  user: null,
  permissions,
  csrfToken: 'x',
  expiresAt: null,
  idleTimeoutMs: null,
});

describe('people section helpers', () => {
  it('lists the sites where the account reads people, every site for a global grant or disabled auth', () => {
    expect(peopleSitesOf(session({ 'people:read': ['s2', 's1'], 'agents:read': ['s3'] }))).toEqual(['s1', 's2']);
    expect(peopleSitesOf(session({ 'agents:read': '*' }))).toEqual([]);
    expect(peopleSitesOf(session({ 'people:read': '*' }))).toBe('*');
    expect(peopleSitesOf(session({}, 'disabled'))).toBe('*');
  });

  it('maps an import job to a progress percent: parse is the first tenth, the write the rest', () => {
    expect(importPercent({ state: 'queued', phase: 'parse', done: 0, total: 10 })).toBe(0);
    expect(importPercent({ state: 'running', phase: 'parse', done: 5, total: 10 })).toBe(5);
    expect(importPercent({ state: 'running', phase: 'write', done: 50, total: 100 })).toBe(55);
    expect(importPercent({ state: 'running', phase: 'write', done: 0, total: 0 })).toBe(10);
    expect(importPercent({ state: 'failed', phase: 'write', done: 1, total: 100 })).toBe(100);
  });

  it('keeps the later of a pushed and a polled view of a job', () => {
    type J = { state: 'queued' | 'running' | 'done' | 'failed'; phase: 'parse' | 'write' | null; done: number };
    const running: J = { state: 'running', phase: 'write', done: 40 };
    const further: J = { ...running, done: 80 };
    const done: J = { state: 'done', phase: 'write', done: 100 };
    expect(laterJob(running, further)).toBe(further);
    expect(laterJob(further, running)).toBe(further);
    expect(laterJob(done, further)).toBe(done);
    expect(laterJob(null, running)).toBe(running);
    expect(laterJob(running, null)).toBe(running);
  });

  it('offers a card while its token is held, or for a live badge-only credential', () => {
    const now = Date.parse('2026-03-02T08:00:00Z');
    const c: CredentialView = {
      id: 'cabc',
      biometric: true,
      validUntil: '2026-08-31',
      issuedAt: '2026-03-02T07:59:00Z',
      revokedAt: null,
      revokedReason: null,
      hasTemplate: true,
      downloadableUntil: '2026-03-02T08:10:00Z',
    };
    expect(cardDownloadable(c, now)).toBe(true);
    expect(cardDownloadable({ ...c, downloadableUntil: '2026-03-02T07:59:30Z' }, now)).toBe(false);
    expect(cardDownloadable({ ...c, biometric: false, downloadableUntil: null }, now)).toBe(true);
    expect(cardDownloadable({ ...c, revokedAt: '2026-03-02T08:00:00Z' }, now)).toBe(false);
  });

  it('knows the refusal codes it explains, and formats form dates', () => {
    expect(knownError('ENROL_ERR_SPOOF')).toBe('ENROL_ERR_SPOOF');
    expect(knownError('SOMETHING_ELSE')).toBeNull();
    expect(formatDay('2026-03-02', 'fr')).toBe('02/03/2026');
    expect(formatDay('2026-03-02', 'en')).toBe('2026-03-02');
    expect(formatDay(null, 'fr')).toBe('—');
  });
});
