/** Where to listen or connect: a TCP port (and host), or a Unix socket path. */
export type Address = { port: number; host?: string } | { path: string };

/** Human-readable form: `host:port`, `[v6]:port`, or the path. */
export function formatAddress(address: Address): string {
  if ('path' in address) return address.path;
  const host = address.host ?? 'localhost';
  return host.includes(':') ? `[${host}]:${address.port}` : `${host}:${address.port}`;
}

/** Socket options mai sets on every socket it creates or accepts. */
export const SOCKET_OPTIONS = {
  /** mai batches writes itself; Nagle would only add latency. */
  noDelay: true,
  /** mai sequences the close: a peer's FIN must not end our side before replies are flushed. */
  allowHalfOpen: true,
} as const;
