import type { Database } from 'better-sqlite3';

/**
 * What reception did about a passage (table `gate_passage_actions`, migration 80): an acknowledgement
 * (once per passage, optional note) and manual overrides of the verdict (each with its reason; the
 * latest one stands). Rows go with their access event when the retention purge deletes it.
 */
export const OVERRIDE_DECISIONS = ['allow', 'deny'] as const;
export type OverrideDecision = (typeof OVERRIDE_DECISIONS)[number];

export interface PassageAck {
  by: string;
  at: string;
  note: string | null;
}

export interface PassageOverride {
  decision: OverrideDecision;
  reason: string;
  by: string;
  at: string;
}

/** The state of a passage as the gate consoles show it. */
export interface PassageActions {
  ack: PassageAck | null;
  override: PassageOverride | null;
}

interface ActionRow {
  event_id: string;
  action: 'ack' | 'override';
  decision: OverrideDecision | null;
  note: string | null;
  actor: string;
  at: string;
}

const NONE: PassageActions = Object.freeze({ ack: null, override: null });

export function createPassageActionStore(db: Database) {
  const insertAck = db.prepare<[string, string, string | null, string, string]>(
    `INSERT INTO gate_passage_actions (event_id, site, action, note, actor, at) VALUES (?, ?, 'ack', ?, ?, ?)
     ON CONFLICT DO NOTHING`,
  );
  const insertOverride = db.prepare<[string, string, OverrideDecision, string, string, string]>(
    `INSERT INTO gate_passage_actions (event_id, site, action, decision, note, actor, at)
     VALUES (?, ?, 'override', ?, ?, ?, ?)`,
  );

  /** Actions of each event id (ids without any are absent from the map). */
  function of(eventIds: readonly string[]): Map<string, PassageActions> {
    const out = new Map<string, PassageActions>();
    // chunks well under SQLite's bound on host parameters
    for (let i = 0; i < eventIds.length; i += 500) {
      const chunk = eventIds.slice(i, i + 500);
      const rows = db
        .prepare<string[], ActionRow>(
          `SELECT event_id, action, decision, note, actor, at FROM gate_passage_actions
           WHERE event_id IN (${chunk.map(() => '?').join(', ')}) ORDER BY id`,
        )
        .all(...chunk);
      for (const r of rows) {
        const cur = out.get(r.event_id) ?? { ack: null, override: null };
        if (r.action === 'ack') cur.ack = { by: r.actor, at: r.at, note: r.note };
        // ordered by id: the latest override wins
        else cur.override = { decision: r.decision!, reason: r.note!, by: r.actor, at: r.at };
        out.set(r.event_id, cur);
      }
    }
    return out;
  }

  return {
    of,
    get(eventId: string): PassageActions {
      return of([eventId]).get(eventId) ?? NONE;
    },
    /** false when the passage was already acknowledged (the first acknowledgement stands) */
    ack(a: { eventId: string; site: string; note: string | null; actor: string; at: string }): boolean {
      return insertAck.run(a.eventId, a.site, a.note, a.actor, a.at).changes === 1;
    },
    override(o: {
      eventId: string;
      site: string;
      decision: OverrideDecision;
      reason: string;
      actor: string;
      at: string;
    }): void {
      insertOverride.run(o.eventId, o.site, o.decision, o.reason, o.actor, o.at);
    },
  };
}

export type PassageActionStore = ReturnType<typeof createPassageActionStore>;
