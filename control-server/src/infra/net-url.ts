/** Address to reach a listener bound to `host` from this machine (wildcards become loopback). */
export function localHostFor(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '::1';
  return host;
}

/** `host:port` for a URL, with IPv6 literals bracketed. */
export function hostPort(host: string, port: number): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `${h}:${port}`;
}
