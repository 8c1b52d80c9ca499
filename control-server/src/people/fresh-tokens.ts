/**
 * Tokens just issued, held in process memory for a short while so that the operator can download
 * the card (PNG, PDF) and the phone QR right after an enrolment or a re-issue. The token of an
 * enrolled student carries the template key, which the server never stores: it lives here only,
 * never on disk, and is zeroed when it expires, when the credential is revoked or at shutdown.
 * After that, a biometric card cannot be produced again (re-issue it, see README "lost card").
 */
export interface FreshTokens {
  /** keep a copy of `token` for `credentialId` (the caller zeroes its own) */
  put(credentialId: string, token: Uint8Array): void;
  /** a copy of the token, to zero after use; undefined when expired or never held */
  get(credentialId: string): Uint8Array | undefined;
  /** when the held token expires (ISO), or null */
  expiresAt(credentialId: string): string | null;
  drop(credentialId: string): void;
  close(): void;
}

export const DEFAULT_FRESH_TOKEN_TTL_MS = 15 * 60_000;

export function createFreshTokens(opts: { ttlMs?: number; now?: () => number } = {}): FreshTokens {
  const ttlMs = opts.ttlMs ?? DEFAULT_FRESH_TOKEN_TTL_MS;
  const now = opts.now ?? Date.now;
  const held = new Map<string, { token: Uint8Array; expiresAtMs: number }>();
  const drop = (id: string) => {
    held.get(id)?.token.fill(0);
    held.delete(id);
  };
  const sweep = () => {
    const t = now();
    for (const [id, h] of held) if (h.expiresAtMs <= t) drop(id);
  };
  // a sweep every minute zeroes expired tokens even when nobody asks for them again
  const timer = setInterval(sweep, 60_000);
  timer.unref();
  return {
    put(credentialId, token) {
      drop(credentialId);
      held.set(credentialId, { token: Uint8Array.from(token), expiresAtMs: now() + ttlMs });
    },
    get(credentialId) {
      sweep();
      const h = held.get(credentialId);
      return h ? Uint8Array.from(h.token) : undefined;
    },
    expiresAt(credentialId) {
      sweep();
      const h = held.get(credentialId);
      return h ? new Date(h.expiresAtMs).toISOString() : null;
    },
    drop,
    close() {
      clearInterval(timer);
      for (const id of [...held.keys()]) drop(id);
    },
  };
}
