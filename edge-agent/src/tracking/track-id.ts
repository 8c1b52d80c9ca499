import { randomBytes } from 'node:crypto';

// RFC 4648 base32 alphabet, lower case: ids stay short, case-insensitive and free of MQTT wildcards.
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/**
 * A fresh anonymous track id: 80 random bits as 16 base32 characters. Derived from nothing (no
 * time, no counter, no camera, no appearance), so ids cannot be ordered, linked across tracks or
 * traced back to a person; at 80 bits a repeat is not a practical concern, and the tracker also
 * refuses an id that is still alive.
 */
export function newTrackId(): string {
  const bytes = randomBytes(10);
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(buffer >>> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  return out;
}
