import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { tokenFromText } from '@portail/protocol';
import type { Logger } from 'pino';

/**
 * A line-based credential scanner: a keyboard-wedge or serial (USB CDC) reader configured to send
 * each code as one line of text (the base64url form of the token). Lines that are not a token are
 * counted and logged (never their content, which may be anything a person scanned).
 */
export interface LineScanner {
  /** tokens read since the last call, oldest first */
  drain(): Uint8Array[];
  readonly rejectedLines: number;
  close(): void;
}

const MAX_PENDING = 16;
const MAX_LINE_CHARS = 512;

export function createLineScanner(input: Readable, logger?: Logger): LineScanner {
  const pending: Uint8Array[] = [];
  let rejectedLines = 0;
  const rl = createInterface({ input, crlfDelay: Infinity, terminal: false });
  rl.on('line', (line) => {
    const token = line.length <= MAX_LINE_CHARS ? tokenFromText(line) : undefined;
    if (!token) {
      rejectedLines++;
      logger?.warn({ chars: line.length, rejectedLines }, 'scanner line is not a credential');
      return;
    }
    pending.push(token);
    // a scanner cannot outpace a gate by much; keep the newest if something floods it
    if (pending.length > MAX_PENDING) pending.shift();
  });
  input.on('error', (err) => logger?.warn({ err: err.message }, 'scanner input error'));
  return {
    drain: () => pending.splice(0),
    get rejectedLines() {
      return rejectedLines;
    },
    close: () => {
      rl.close();
      input.destroy();
    },
  };
}

/** Open a scanner device or FIFO by path (serial speed is set by the OS, e.g. `stty -F`). */
export function openLineScanner(path: string, logger?: Logger): LineScanner {
  return createLineScanner(createReadStream(path, { encoding: 'utf8' }), logger);
}
