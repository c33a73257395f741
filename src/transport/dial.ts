import { connect, isIP, type Socket } from 'node:net';
import { type ConnectionOptions, connect as connectTls } from 'node:tls';
import { ConnectionError, ErrorCode } from '../errors.js';
import { type Address, formatAddress, SOCKET_OPTIONS } from './address.js';

/** First and last pause between attempts when a Unix socket's accept queue is full. */
const RETRY_FIRST_MS = 2;
const RETRY_MAX_MS = 100;

/**
 * Opens a TCP or Unix socket connection. Resolves with the connected socket, or rejects with
 * `MAI_CONNECT_REFUSED` (nothing listening), `MAI_CONNECT_TIMEOUT` (no answer within
 * `timeoutMs`; the attempt is destroyed) or `MAI_CONNECT_FAILED` (anything else, with `cause`).
 *
 * A Unix socket whose accept queue is full fails a connect at once with EAGAIN, where TCP would
 * wait in the SYN queue. A busy server is not an absent one, so EAGAIN is retried, with
 * growing pauses, until the deadline.
 */
export async function dial(
  address: Address,
  timeoutMs: number,
  tls?: ConnectionOptions,
): Promise<Socket> {
  const deadline = Date.now() + timeoutMs;
  let pause = RETRY_FIRST_MS;
  for (;;) {
    try {
      return await attempt(address, deadline - Date.now(), timeoutMs, tls);
    } catch (error) {
      const cause = (error as { cause?: NodeJS.ErrnoException }).cause;
      if (cause?.code !== 'EAGAIN' || Date.now() + pause >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, RETRY_MAX_MS);
    }
  }
}

/**
 * One connection attempt. With `tls`, the socket is a TLS socket and the attempt succeeds once
 * the handshake is done (the certificate checked as `tls` says); a handshake or certificate
 * failure is `MAI_CONNECT_FAILED` with the TLS error as `cause`.
 */
function attempt(
  address: Address,
  remainingMs: number,
  timeoutMs: number,
  tls: ConnectionOptions | undefined,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const target =
      'path' in address
        ? { path: address.path }
        : { port: address.port, host: address.host ?? 'localhost' };
    const socket =
      tls === undefined
        ? connect({ ...SOCKET_OPTIONS, ...target })
        : connectTls({
            // The name the certificate must carry: the host connected to, unless tls says.
            ...('host' in target && isIP(target.host) === 0 ? { servername: target.host } : {}),
            ...tls,
            ...SOCKET_OPTIONS,
            ...target,
          });
    const where = formatAddress(address);
    const timer = setTimeout(
      () => {
        socket.off('error', onError);
        socket.on('error', () => {});
        socket.destroy();
        reject(
          new ConnectionError(
            ErrorCode.ConnectTimeout,
            `connect to ${where} timed out after ${timeoutMs} ms`,
          ),
        );
      },
      Math.max(1, remainingMs),
    );
    const onError = (error: NodeJS.ErrnoException): void => {
      clearTimeout(timer);
      const refused = error.code === 'ECONNREFUSED' || error.code === 'ENOENT';
      reject(
        new ConnectionError(
          refused ? ErrorCode.ConnectRefused : ErrorCode.ConnectFailed,
          `connect to ${where} failed: ${error.message}`,
          { cause: error },
        ),
      );
    };
    socket.once('error', onError);
    socket.once(tls === undefined ? 'connect' : 'secureConnect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
  });
}
