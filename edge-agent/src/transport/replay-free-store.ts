import { Store, type IStore } from 'mqtt';

// an empty mqtt.js store: its stream is what mqtt.js replays on reconnect, i.e. nothing
const EMPTY = new Store();

type Packet = Parameters<IStore['put']>[0];

/**
 * mqtt.js outgoing store that never replays. mqtt.js re-sends everything in its outgoing store at
 * each reconnect; the SQLite outbox does that job (in order, across restarts), so a second replay
 * would only duplicate it. Packets are still kept while in flight because mqtt.js reads them back
 * on PUBACK; `clear()` forgets them when the connection they were sent on is gone.
 */
export class ReplayFreeStore implements IStore {
  private readonly inflight = new Map<number, Packet>();

  put(packet: Packet, cb: (err?: Error) => void): this {
    if (packet.messageId !== undefined) this.inflight.set(packet.messageId, packet);
    cb();
    return this;
  }

  createStream(): ReturnType<IStore['createStream']> {
    return EMPTY.createStream();
  }

  del(packet: Pick<Packet, 'messageId'>, cb: (err?: Error, packet?: Packet) => void): this {
    const found = packet.messageId === undefined ? undefined : this.inflight.get(packet.messageId);
    if (!found) {
      cb(new Error('missing packet'));
      return this;
    }
    this.inflight.delete(packet.messageId!);
    cb(undefined, found);
    return this;
  }

  get(packet: Pick<Packet, 'messageId'>, cb: (err?: Error, packet?: Packet) => void): this {
    const found = packet.messageId === undefined ? undefined : this.inflight.get(packet.messageId);
    if (found) cb(undefined, found);
    else cb(new Error('missing packet'));
    return this;
  }

  close(cb: (err?: Error) => void): void {
    this.inflight.clear();
    cb();
  }

  clear(): void {
    this.inflight.clear();
  }

  get size(): number {
    return this.inflight.size;
  }
}
