/**
 * Watches the bytes of one MQTT connection and says when a packet announces a remaining length
 * above the limit, from its fixed header (MQTT 3.1.1 §2.2.3: 1 to 4 length bytes, 7 bits each), so
 * the connection can be dropped before a huge packet is buffered. aedes has no such limit of its
 * own (mqtt-packet accepts up to 256 MiB). Pure state machine: feed it every chunk in order.
 */
export interface PacketSizeGuard {
  /** false once a packet is too large or its length field is malformed (then it stays false) */
  feed(chunk: Uint8Array): boolean;
}

export function createPacketSizeGuard(maxRemainingBytes: number): PacketSizeGuard {
  // header: waiting for the type byte; length: reading the variable-length field; body: skipping bytes
  let phase: 'header' | 'length' | 'body' = 'header';
  let value = 0;
  let multiplier = 1;
  let lengthBytes = 0;
  let remaining = 0;
  let failed = false;
  return {
    feed(chunk) {
      if (failed) return false;
      let i = 0;
      while (i < chunk.length) {
        if (phase === 'header') {
          i += 1;
          phase = 'length';
          value = 0;
          multiplier = 1;
          lengthBytes = 0;
        } else if (phase === 'length') {
          const b = chunk[i]!;
          i += 1;
          value += (b & 0x7f) * multiplier;
          multiplier *= 128;
          lengthBytes += 1;
          if (value > maxRemainingBytes || (lengthBytes === 4 && b & 0x80)) {
            failed = true;
            return false;
          }
          if ((b & 0x80) === 0) {
            remaining = value;
            phase = remaining === 0 ? 'header' : 'body';
          }
        } else {
          const take = Math.min(remaining, chunk.length - i);
          i += take;
          remaining -= take;
          if (remaining === 0) phase = 'header';
        }
      }
      return true;
    },
  };
}
