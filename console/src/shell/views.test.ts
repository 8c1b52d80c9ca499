import { describe, expect, it } from 'vitest';
import type { SessionInfo } from '../auth/session.js';
import { homeView, viewOfPath, visibleViews } from './views.js';

const session = (permissions: Record<string, '*' | string[]>): SessionInfo => ({
  authMode: 'required',
  user: { id: 1, username: 'u', roles: [], totpEnabled: false },
  permissions,
  csrfToken: 'x',
  expiresAt: null,
  idleTimeoutMs: null,
});

describe('console views by permission', () => {
  it('reception sees the gate only, and lands there', () => {
    const s = session({ 'overrides:write': ['s1'], 'visitors:write': ['s1'], 'agents:read': ['s1'] });
    expect(visibleViews(s).map((v) => v.id)).toEqual(['gate']);
    expect(homeView(s)?.id).toBe('gate');
  });
  it('a supervisor sees the live view, no admin menu', () => {
    const s = session({ 'alerts:ack': ['s1'], 'events.movement:read': ['s1'] });
    expect(visibleViews(s).map((v) => v.id)).toEqual(['live']);
  });
  it('regional IT sees admin and fleet, not the gate', () => {
    const s = session({ 'sites:write': '*', 'stats:read': '*', 'agents:provision': '*', 'cameras:write': '*' });
    expect(visibleViews(s).map((v) => v.id)).toEqual(['fleet', 'admin']);
  });
  it('an account with no permission gets no view', () => {
    expect(homeView(session({}))).toBeNull();
  });
  it('auth disabled opens everything', () => {
    expect(visibleViews({ ...session({}), authMode: 'disabled', user: null }).length).toBe(4);
  });
  it('maps nested paths to their view', () => {
    expect(viewOfPath('/admin/people/12')?.id).toBe('admin');
    expect(viewOfPath('/administrator')).toBeNull();
    expect(viewOfPath('/gate')?.id).toBe('gate');
  });
});
