import net from 'node:net';

/**
 * What a server sent back to some raw bytes: everything it wrote until it closed the
 * connection, or until it had been quiet for a while (then `closed` is false).
 *
 * @example
 * ```ts
 * const { bytes, closed } = await sendRaw(port, Buffer.from('*x\r\n'));
 * ```
 */
export interface RawOutcome {
  bytes: Buffer;
  closed: boolean;
}

/**
 * Writes `request` on a new connection and collects the answer until the server closes or
 * stays silent `quietMs` after its last byte (or after the write, if it sends none). Bounded:
 * gives up after `maxMs` in all.
 *
 * @example
 * ```ts
 * await sendRaw(port, Buffer.from('PING\r\n'), 200); // { bytes: <+PONG\r\n>, closed: false }
 * ```
 */
export function sendRaw(
  port: number,
  request: Buffer,
  quietMs = 300,
  maxMs = 20_000,
): Promise<RawOutcome> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let quiet: NodeJS.Timeout | undefined;
    const finish = (closed: boolean) => {
      clearTimeout(quiet);
      clearTimeout(overall);
      socket.destroy();
      resolve({ bytes: Buffer.concat(chunks), closed });
    };
    const rearm = () => {
      clearTimeout(quiet);
      quiet = setTimeout(() => finish(false), quietMs);
    };
    const overall = setTimeout(() => finish(false), maxMs);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      rearm();
    });
    socket.on('close', () => finish(true));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // A server that closes while we still write resets the connection: that is a close.
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') finish(true);
      else reject(error);
    });
    socket.on('connect', () => {
      socket.write(request, () => rearm());
    });
  });
}
