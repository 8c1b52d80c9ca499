import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

export interface LocalHealth {
  ok: boolean;
  [key: string]: unknown;
}

export interface LocalEndpoint {
  /** bound port, or null when it could not listen (the agent runs on without it) */
  port: number | null;
  close(): Promise<void>;
}

/**
 * The box's own endpoint, for its supervisor (systemd watchdog, a monitoring agent): `/healthz`
 * (200 when healthy, 503 otherwise, JSON either way) and `/metrics` (Prometheus text). Loopback by
 * default; failing to listen is logged and never stops the agent.
 */
export async function startLocalEndpoint(opts: { host: string; port: number; health: () => LocalHealth; registry: Registry; logger: Logger }): Promise<LocalEndpoint> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (path === '/healthz') {
      const h = opts.health();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(h));
      return;
    }
    if (path === '/metrics') {
      opts.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': opts.registry.contentType }).end(text),
        (err: unknown) => {
          opts.logger.warn({ err: (err as Error).message }, 'metrics collection failed');
          res.writeHead(500).end();
        },
      );
      return;
    }
    res.writeHead(404).end();
  });
  const port = await new Promise<number | null>((resolve) => {
    server.once('error', (err) => {
      opts.logger.warn({ err: err.message, host: opts.host, port: opts.port }, 'local health endpoint not started');
      resolve(null);
    });
    server.listen(opts.port, opts.host, () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : null);
    });
  });
  if (port !== null) opts.logger.info({ url: `http://${opts.host}:${port}` }, 'local health endpoint');
  return {
    port,
    close: () => new Promise((resolve) => (port === null ? resolve() : server.close(() => resolve()))),
  };
}
