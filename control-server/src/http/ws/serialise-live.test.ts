import { describe, expect, it } from 'vitest';
import { createEventRepository } from '../../repositories/event-repository.js';
import type { LiveMessage } from '../../services/live-bus.js';
import { openDatabase } from '../../store/database.js';
import { makeAccessEvent, makeCameraEvent, makeMovementEvent, makeTempDir } from '../../test-support/fixtures.js';
import { serialiseLive } from './live-hub.js';

describe('serialiseLive', () => {
  it('gives exactly JSON.stringify of the message, with or without the JSON the insert kept', () => {
    const tmp = makeTempDir();
    const db = openDatabase({ dataDir: tmp.dir });
    try {
      const events = createEventRepository(db);
      const at = '2026-11-22T07:55:00.123Z';
      const inserted = [
        events.insert('access', makeAccessEvent('lycee-a', 'gate-1', { passageId: 'p "quoted" \\ \u2028 é 😀', modelId: '</script>' }), at),
        events.insert('movement', makeMovementEvent('lycee-a', 'gate-1'), at),
        events.insert('camera', makeCameraEvent('lycee-b', 'gate-2', { reason: 'tab\there\nnewline' }), at),
      ];
      for (const { inserted: fresh, event } of inserted) {
        expect(fresh).toBe(true);
        const msg = { type: 'event', kind: event.kind, event } as LiveMessage;
        expect(serialiseLive(msg)).toBe(JSON.stringify(msg));
      }
      // a replay returns the stored copy (read back, not inserted now): plain JSON.stringify
      const again = events.insert('movement', inserted[1]!.event.payload as never, at);
      expect(again.inserted).toBe(false);
      const replayMsg = { type: 'event', kind: again.event.kind, event: again.event } as LiveMessage;
      expect(serialiseLive(replayMsg)).toBe(JSON.stringify(replayMsg));
      // and any other message
      const other = { type: 'health', site: 's', agent: 'a', health: { x: 1 } } as never as LiveMessage;
      expect(serialiseLive(other)).toBe(JSON.stringify(other));
    } finally {
      db.close();
      tmp.remove();
    }
  });
});
