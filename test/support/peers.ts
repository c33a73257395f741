import { connect, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { Address } from '../../src/index.js';

/** A plain `net` client (not mai) for tests that need exact control of the bytes on the wire. */
export function rawConnect(address: Address): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket =
      'path' in address
        ? connect({ path: address.path, allowHalfOpen: true })
        : connect({ port: address.port, host: address.host ?? '127.0.0.1', allowHalfOpen: true });
    socket.setNoDelay(true);
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

/**
 * Collects everything a socket receives until the peer's FIN (then ends our side too, as a
 * well-behaved peer does) or until the socket closes.
 */
export function readAll(socket: Socket): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.once('end', () => socket.end());
    socket.once('close', () => resolve(Buffer.concat(chunks)));
  });
}

/** Writes `bytes` in pieces of `size` bytes, yielding to the event loop between pieces. */
export async function writeInPieces(socket: Socket, bytes: Buffer, size: number): Promise<void> {
  for (let i = 0; i < bytes.length; i += size) {
    socket.write(bytes.subarray(i, i + size));
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** 4-byte big-endian length prefix + payload, the wire form of U32Codec. */
export function u32Frame(payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const frame = Buffer.allocUnsafe(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, 4);
  return frame;
}

/**
 * An in-memory byte stream for `manage()`: `feed()` pushes inbound bytes in chunks of a chosen
 * size, `written` collects what the engine wrote, with one entry per write/writev call so tests
 * can see how writes were batched.
 */
export class MemoryStream extends Duplex {
  readonly writes: Buffer[][] = [];

  constructor() {
    super({ allowHalfOpen: true });
  }

  /** Pushes `bytes` as chunks of `size` bytes (each a separate 'data' event), then optionally EOF. */
  feed(bytes: Buffer, size = bytes.length, end = false): void {
    for (let i = 0; i < bytes.length; i += size)
      this.push(Buffer.from(bytes.subarray(i, i + size)));
    if (end) this.push(null);
  }

  get written(): Buffer {
    return Buffer.concat(this.writes.flat());
  }

  override _read(): void {}

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    this.writes.push([Buffer.from(chunk)]);
    callback();
  }

  override _writev(
    chunks: { chunk: Buffer; encoding: BufferEncoding }[],
    callback: (error?: Error | null) => void,
  ): void {
    this.writes.push(chunks.map(({ chunk }) => Buffer.from(chunk)));
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    callback();
  }
}
