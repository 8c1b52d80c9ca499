import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import type { Logger } from 'pino';

export interface EmbeddedBrokerOptions {
  host: string;
  /** 0 picks a free port; the bound one is in `port` after start */
  port: number;
  logger: Logger;
}

export interface EmbeddedBroker {
  readonly host: string;
  readonly port: number;
  readonly connectedClients: number;
  close(): Promise<void>;
}

/**
 * aedes over a plain TCP server: the single-machine default. Retained messages and QoS 1 sessions
 * live in aedes' in-memory persistence, so they are lost when the server stops; agents republish
 * their retained status on reconnect and replay their outbox, so nothing durable depends on it.
 */
export async function startEmbeddedBroker(opts: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const log = opts.logger;
  const aedes = await Aedes.createBroker();
  aedes.on('clientError', (client, err) => log.debug({ clientId: client.id, err: err.message }, 'mqtt client error'));
  aedes.on('connectionError', (_client, err) => log.debug({ err: err.message }, 'mqtt connection error'));
  aedes.on('client', (client) => log.debug({ clientId: client.id }, 'mqtt client connected'));
  aedes.on('clientDisconnect', (client) => log.debug({ clientId: client.id }, 'mqtt client disconnected'));

  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    aedes.handle(socket);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    throw err;
  }
  server.on('error', (err) => log.error({ err }, 'embedded broker socket error'));
  const port = (server.address() as AddressInfo).port;
  log.info({ host: opts.host, port }, 'embedded mqtt broker listening');

  let closing: Promise<void> | null = null;
  return {
    host: opts.host,
    port,
    get connectedClients() {
      return aedes.connectedClients;
    },
    close() {
      closing ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        await new Promise<void>((resolve) => aedes.close(() => resolve()));
        // aedes closes the clients it knows; a socket still mid-CONNECT is not one of them yet
        for (const s of sockets) s.destroy();
        await serverClosed;
        log.info('embedded mqtt broker closed');
      })();
      return closing;
    },
  };
}
