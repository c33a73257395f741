import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { ErrorCode, MaiError } from '../errors.js';
import { type Address, formatAddress, SOCKET_OPTIONS } from './address.js';

/** A listening server socket owned by an engine. */
export interface Listener {
  /** What it is bound to; for `port: 0`, the port the system chose. */
  readonly address: Address;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections closed at once because `maxConnections` streams were open. */
  readonly refused: number;
  /** TLS only: connections dropped because their handshake failed or timed out. */
  readonly handshakeFailures: number;
  /** Stops accepting. Streams already accepted stay managed by the engine. */
  close(): Promise<void>;
}

/** How a listener accepts: its queue, its limit, and TLS if it speaks it. */
export interface AcceptOptions {
  backlog: number;
  maxConnections: number | undefined;
  /** Node's TLS server options (key, cert, ca, requestCert, ALPN, …); TLS when present. */
  tls?: TlsOptions | undefined;
  /** TLS only: the default handshake timeout, when `tls.handshakeTimeout` does not say. */
  handshakeTimeoutMs: number;
}

/**
 * Binds a TCP or Unix socket server, with TLS on top when `tls` is given, and hands each
 * accepted socket (for TLS, once its handshake is done) to `onSocket`.
 * Rejects with `MAI_LISTEN_FAILED` (cause: the system error, e.g. EADDRINUSE).
 */
export function bindListener(
  address: Address,
  { backlog, maxConnections, tls, handshakeTimeoutMs }: AcceptOptions,
  onSocket: (socket: Socket, listener: ServerListener) => void,
  onClosed: (listener: ServerListener) => void,
): Promise<ServerListener> {
  const server =
    tls === undefined
      ? createServer({ ...SOCKET_OPTIONS, pauseOnConnect: false })
      : createTlsServer({ handshakeTimeout: handshakeTimeoutMs, ...tls, ...SOCKET_OPTIONS });
  const listener = new ServerListener(server, address, onClosed);
  if (maxConnections !== undefined) {
    // Node accepts and closes connections beyond the limit itself, and says so with 'drop'.
    server.maxConnections = maxConnections;
    server.on('drop', () => {
      listener.refused++;
    });
  }
  const accept = (socket: Socket): void => {
    listener.accepted++;
    socket.setNoDelay(true);
    onSocket(socket, listener);
  };
  if (tls === undefined) {
    server.on('connection', accept);
  } else {
    // A stream exists for the engine only once its handshake is done; a failed handshake is
    // counted, not reported per stream, and its socket destroyed below.
    server.on('secureConnection', accept);
    // With this listener attached, Node leaves the socket open (a handshake timeout, say).
    server.on('tlsClientError', (_error: Error, socket: Socket) => {
      listener.handshakeFailures++;
      socket.destroy();
    });
  }
  return new Promise((resolve, reject) => {
    const fail = (error: Error): void => {
      reject(
        new MaiError(
          ErrorCode.ListenFailed,
          `cannot listen on ${formatAddress(address)}: ${error.message}`,
          {
            cause: error,
          },
        ),
      );
    };
    server.once('error', fail);
    const ready = (): void => {
      server.off('error', fail);
      // Later server errors (EMFILE on accept, say) must not crash the process: Node retries
      // accepting by itself; we only need a listener so the event is not unhandled.
      server.on('error', () => {});
      listener.bound();
      resolve(listener);
    };
    if ('path' in address) server.listen({ path: address.path, backlog }, ready);
    else server.listen({ port: address.port, host: address.host ?? 'localhost', backlog }, ready);
  });
}

export class ServerListener implements Listener {
  accepted = 0;
  refused = 0;
  handshakeFailures = 0;
  #server: Server;
  #address: Address;
  #onClosed: (listener: ServerListener) => void;
  #closing: Promise<void> | null = null;

  constructor(server: Server, address: Address, onClosed: (listener: ServerListener) => void) {
    this.#server = server;
    this.#address = address;
    this.#onClosed = onClosed;
  }

  get address(): Address {
    return this.#address;
  }

  /** Records the real address once bound (the chosen port for port 0). */
  bound(): void {
    const bound = this.#server.address();
    if (bound !== null && typeof bound === 'object') {
      this.#address = { port: bound.port, host: bound.address };
    }
  }

  close(): Promise<void> {
    if (this.#closing === null) {
      this.#closing = new Promise((resolve) => {
        // server.close() stops accepting at once; its callback would wait for every accepted
        // socket to end, which is the engine's business, not the listener's.
        this.#server.close();
        this.#onClosed(this);
        setImmediate(resolve);
      });
    }
    return this.#closing;
  }
}
