import { BufferView } from '../transport/node-internals.js';

/**
 * The buffer the last view or copy was made of, with its memory and offset. Reading `buffer` and
 * `byteOffset` costs about as much as making the view, and the
 * views of a read come mostly from one buffer, the engine's read buffer. One buffer is held
 * for the whole process, whatever the number of streams.
 */
let lastBytes: Buffer | null = null;
let lastMemory: ArrayBuffer = new ArrayBuffer(0);
let lastOffset = 0;

function remember(bytes: Buffer): void {
  if (bytes !== lastBytes) {
    lastBytes = bytes;
    lastMemory = bytes.buffer as ArrayBuffer;
    lastOffset = bytes.byteOffset;
  }
}

/**
 * Copies `bytes[from, to)` out of a buffer the engine reuses (its read buffer, a pooled one)
 * into a Buffer of its own: what a codec's decoded frame must hold (the codec contract). One
 * allocation, from Node's pool when small. `TypedArray.set` from a view made with the
 * remembered memory and offset, rather than `bytes.copy`, which checks its arguments and reads
 * both again (the timings are in docs/performance.md).
 */
export function copyOut(bytes: Buffer, from: number, to: number): Buffer {
  remember(bytes);
  const out = Buffer.allocUnsafe(to - from);
  out.set(new Uint8Array(lastMemory, lastOffset + from, to - from));
  return out;
}

/**
 * A Buffer viewing `bytes[from, to)`, sharing its memory: the frame of a codec that borrows its
 * input (`Codec.borrowsInput`). It costs about what a bare `Uint8Array` costs, less than
 * `Buffer.from(arrayBuffer, offset, length)` or `subarray`, thanks to the cache above (the
 * timings are in docs/performance.md).
 */
export function viewOf(bytes: Buffer, from: number, to: number): Buffer {
  remember(bytes);
  return new BufferView(lastMemory, lastOffset + from, to - from) as unknown as Buffer;
}

/** A byte codec's frame of `bytes[from, to)`: a view when it borrows its input, else a copy. */
export function frameBytes(bytes: Buffer, from: number, to: number, borrow: boolean): Buffer {
  return borrow ? viewOf(bytes, from, to) : copyOut(bytes, from, to);
}
