import net from 'node:net';
import { IncompleteFrame } from '../../src/codec/codec.js';
import { RespDecoder } from '../../src/codec/resp-decode.js';

/**
 * A request as the wire carries it: an array of bulk strings (string parts are latin1, so
 * `'\xff'` is the byte 0xff), or raw bytes (an inline command, a malformed request).
 *
 * @example
 * ```ts
 * const requests: WireRequest[] = [['SET', 'k', 'v'], { raw: 'GET k\r\n' }];
 * ```
 */
export type WireRequest = readonly (string | Buffer)[] | { raw: string };

/**
 * Encodes a command as RESP, byte for byte.
 *
 * @example
 * ```ts
 * encodeRequest(['GET', 'k']); // *2\r\n$3\r\nGET\r\n$1\r\nk\r\n
 * ```
 */
export function encodeRequest(request: WireRequest): Buffer {
  if ('raw' in request) return Buffer.from(request.raw, 'latin1');
  const parts: Buffer[] = [Buffer.from(`*${request.length}\r\n`, 'latin1')];
  for (const arg of request) {
    const bytes = typeof arg === 'string' ? Buffer.from(arg, 'latin1') : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`, 'latin1'), bytes, Buffer.from('\r\n', 'latin1'));
  }
  return Buffer.concat(parts);
}

/**
 * Sends every request on one connection (pipelined: all written at once) and resolves with
 * the raw bytes of each reply, split at reply boundaries. `replies` is how many replies to
 * wait for (a SUBSCRIBE of two channels answers twice).
 *
 * @example
 * ```ts
 * const [pong] = await exchange(port, [['PING']], 1); // <Buffer 2b 50 4f 4e 47 0d 0a>
 * ```
 */
export function exchange(
  port: number,
  requests: readonly WireRequest[],
  replies: number,
  timeoutMs = 10_000,
): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const decoder = new RespDecoder({
      maxBulkLength: 1 << 30,
      maxArrayLength: 1 << 20,
      maxDepth: 16,
    });
    const chunks: Buffer[] = [];
    const out: Buffer[] = [];
    let buffered: Buffer = Buffer.alloc(0);
    let offset = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(
          `timed out with ${out.length} of ${replies} replies: ${out.map((b) => JSON.stringify(b.toString('latin1'))).join(' ')}`,
        ),
      );
    }, timeoutMs);
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      buffered = Buffer.concat([buffered, chunk]);
      while (out.length < replies) {
        const result = decoder.decode(buffered, offset, buffered.length);
        if (result === IncompleteFrame) break;
        out.push(Buffer.from(buffered.subarray(offset, offset + result.bytesRead)));
        offset += result.bytesRead;
      }
      if (out.length === replies) {
        clearTimeout(timer);
        socket.destroy();
        resolve(out);
      }
    });
    socket.write(Buffer.concat(requests.map(encodeRequest)));
  });
}

/**
 * A connection that sends one request at a time and resolves with each raw reply.
 *
 * @example
 * ```ts
 * const conn: RespConnection = await connectResp(port);
 * ```
 */
export interface RespConnection {
  readonly socket: net.Socket;
  call(request: WireRequest): Promise<Buffer>;
  close(): void;
}

/**
 * Opens a connection for request/reply exchanges (replies are split with `RespDecoder`).
 *
 * @example
 * ```ts
 * const conn = await connectResp(port);
 * await conn.call(['PING']); // +PONG\r\n
 * conn.close();
 * ```
 */
export function connectResp(port: number): Promise<RespConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const decoder = new RespDecoder({
      maxBulkLength: 1 << 30,
      maxArrayLength: 1 << 20,
      maxDepth: 16,
    });
    let buffered: Buffer = Buffer.alloc(0);
    const waiting: ((reply: Buffer) => void)[] = [];
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      for (;;) {
        const result = decoder.decode(buffered, 0, buffered.length);
        if (result === IncompleteFrame) break;
        const reply = Buffer.from(buffered.subarray(0, result.bytesRead));
        buffered = buffered.subarray(result.bytesRead);
        waiting.shift()?.(reply);
      }
    });
    socket.once('error', reject);
    socket.once('connect', () =>
      resolve({
        socket,
        call: (request) =>
          new Promise((done) => {
            waiting.push(done);
            socket.write(encodeRequest(request));
          }),
        close: () => socket.destroy(),
      }),
    );
  });
}
