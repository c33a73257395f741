import { connect, type Socket } from 'node:net';
import { ConnectionError, ErrorCode } from '../errors.js';
import { type Address, formatAddress, SOCKET_OPTIONS } from './address.js';

/**
 * Opens a TCP or Unix socket connection. Resolves with the connected socket, or rejects with
 * `MAI_CONNECT_REFUSED` (nothing listening), `MAI_CONNECT_TIMEOUT` (no answer within
 * `timeoutMs`; the attempt is destroyed) or `MAI_CONNECT_FAILED` (anything else, with `cause`).
 */
export function dial(address: Address, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket =
      'path' in address
        ? connect({ ...SOCKET_OPTIONS, path: address.path })
        : connect({ ...SOCKET_OPTIONS, port: address.port, host: address.host ?? 'localhost' });
    const where = formatAddress(address);
    const timer = setTimeout(() => {
      socket.off('error', onError);
      socket.on('error', () => {});
      socket.destroy();
      reject(
        new ConnectionError(
          ErrorCode.ConnectTimeout,
          `connect to ${where} timed out after ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
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
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
  });
}
