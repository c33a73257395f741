import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * Every use the engine makes of Node's internals, in one place, each feature-detected with a
 * documented fallback. `nodeInternals()` says which paths this Node takes; a test asserts it on
 * every Node the project supports, so an upgrade that removes one is seen, not silently slower.
 *
 * | path              | what it uses                                   | fallback                   |
 * |-------------------|------------------------------------------------|----------------------------|
 * | `readInto`        | the `onread` slots of `net.Socket` (`kBuffer`, | `'data'` events, one fresh |
 * |                   | `kBufferCb`, `kBufferGen`) and `useUserBuffer`  | Buffer per read            |
 * | `beforeDestroy`   | an own `_destroy` on the stream, called first  | none needed (public hook)  |
 * | `bytesInHandle`   | `_handle.writeQueueSize` (bytes libuv holds)   | the whole batch is unsent  |
 * | `BufferView`      | `Buffer.prototype` on a `Uint8Array` subclass  | none needed                |
 */

// ---- Reading into a buffer the engine owns ----------------------------------------------------

/*
 * Node's `onread: { buffer, callback }` option reads a socket into one caller-owned buffer
 * instead of allocating a fresh Buffer per read: at 64 KiB reads that is 64 KiB of garbage less
 * per read, and the garbage is external memory, which V8 collects late (RSS climbs under a
 * steady blast before a collection). Node offers the option only to `net.connect`; sockets a
 * `net.Server` accepts always get fresh buffers. Node 20–24 implement `onread` with three
 * per-socket slots keyed by symbols (the buffer, the callback, a buffer generator) that the read
 * path consults on every read, and a `useUserBuffer` call on the socket's handle. The slots are
 * found on a probe socket once and filled for accepted sockets the way the option would.
 */
interface UserBufferSlots {
  readonly buffer: symbol;
  readonly callback: symbol;
}

interface HandleWithUserBuffer {
  useUserBuffer?: (buffer: Uint8Array) => void;
}

let slots: UserBufferSlots | null | undefined;

function findSlots(): UserBufferSlots | null {
  const probe = new Socket();
  try {
    const own = Object.getOwnPropertySymbols(probe);
    const named = (name: string): symbol | undefined =>
      own.find(
        (symbol) =>
          symbol.description === name &&
          (probe as unknown as Record<symbol, unknown>)[symbol] === null,
      );
    const buffer = named('kBuffer');
    const callback = named('kBufferCb');
    // The read path calls the generator when its slot is not null: it must exist and be empty.
    const generator = named('kBufferGen');
    if (buffer === undefined || callback === undefined || generator === undefined) return null;
    // pause() and resume() must stop and restart a user-buffer read (they do since Node 12).
    if (!Socket.prototype.pause.toString().includes('kBuffer')) return null;
    return { buffer, callback };
  } finally {
    probe.destroy();
  }
}

function userBufferSlots(): UserBufferSlots | null {
  if (slots === undefined) slots = findSlots();
  return slots;
}

/**
 * Makes `socket` read into `buffer`, calling `onRead(length, buffer)` (with the socket as `this`,
 * so one function can serve every socket) with the bytes in
 * `buffer[0, length)` on every read; those bytes are overwritten by the next read, so the callee
 * must copy what it keeps. The socket is left paused (call `resume()` to start reading).
 * Returns false, changing nothing, where this Node cannot do it or the socket already has
 * bytes or `'data'` listeners of its own (the caller then reads `'data'` events).
 *
 * @example
 * ```ts
 * if (!readInto(socket, shared, (length, bytes) => decode(bytes, 0, length))) {
 *   socket.on('data', (chunk) => decode(chunk, 0, chunk.length));
 * }
 * ```
 */
export function readInto(
  socket: Socket,
  buffer: Buffer,
  onRead: (this: Socket, length: number, buffer: Buffer) => void,
): boolean {
  const found = userBufferSlots();
  const handle = (socket as unknown as { _handle?: HandleWithUserBuffer | null })._handle;
  if (
    found === null ||
    // A TLS socket's handle decrypts; its reads are not the kernel's and keep their own path.
    (socket as { encrypted?: boolean }).encrypted === true ||
    typeof handle?.useUserBuffer !== 'function' ||
    socket.readableLength > 0 ||
    socket.listenerCount('data') > 0 ||
    socket.destroyed
  ) {
    return false;
  }
  const fields = socket as unknown as Record<symbol, unknown>;
  fields[found.buffer] = buffer;
  fields[found.callback] = onRead;
  handle.useUserBuffer(buffer);
  // With the buffer slot filled, pause() stops the handle's reading too.
  socket.pause();
  return true;
}

// ---- The moment before a stream is destroyed --------------------------------------------------

/**
 * Calls `before()` first whenever `stream` is destroyed — by the engine, by the user, or by Node
 * itself on a peer's reset — while the socket's handle is still open. That is the one moment a
 * dying socket can still say how much of the last write it holds (`bytesInHandle`); by 'close',
 * Node has cancelled the writes and calls them back with no error.
 *
 * @example
 * ```ts
 * beforeDestroy(socket, { beforeDestroy: () => settleInFlight() });
 * ```
 */
export function beforeDestroy(stream: Duplex, before: { beforeDestroy(): void }): void {
  const destroy = stream._destroy;
  stream._destroy = (error, callback) => {
    before.beforeDestroy();
    destroy.call(stream, error, callback);
  };
}

/**
 * Bytes the socket's handle still holds of what was written to it, not yet in the kernel:
 * libuv's `writeQueueSize`. `Infinity` where the stream cannot tell (no libuv handle, or TLS,
 * whose handle queues ciphertext that says nothing about how many plaintext bytes left).
 *
 * @example
 * ```ts
 * const unsent = Math.min(bytesInHandle(socket), batchBytes);
 * ```
 */
export function bytesInHandle(stream: Duplex): number {
  const fields = stream as { _handle?: { writeQueueSize?: unknown } | null; encrypted?: boolean };
  const size = fields._handle?.writeQueueSize;
  return typeof size === 'number' && fields.encrypted !== true ? size : Number.POSITIVE_INFINITY;
}

// ---- Buffers as Node makes its own ------------------------------------------------------------

/**
 * A Buffer as Node makes its own: a `Uint8Array` whose prototype is `Buffer.prototype`, so it
 * has every Buffer method, `Buffer.isBuffer` and `instanceof Buffer` hold, and `constructor` is
 * `Buffer`. Node's class for this (`FastBuffer`) is internal; constructing this one directly
 * skips the argument checks of `Buffer.from(arrayBuffer, offset, length)`.
 *
 * @example
 * ```ts
 * const view = new BufferView(memory, offset, length) as unknown as Buffer;
 * ```
 */
export class BufferView extends Uint8Array {}
Object.setPrototypeOf(BufferView.prototype, Buffer.prototype);
Object.defineProperty(BufferView.prototype, 'constructor', {
  value: Buffer,
  writable: true,
  configurable: true,
});

// ---- Which paths are active --------------------------------------------------------------------

/** Which of the internal paths this Node takes (see the table at the top of this module). */
export interface NodeInternals {
  /** Accepted and dialled TCP/Unix sockets read into the engine's buffer. */
  readonly readInto: boolean;
  /** `BufferView`s pass for Buffers (`Buffer.isBuffer`, `instanceof`, `constructor`). */
  readonly bufferView: boolean;
}

/**
 * Probes the internal paths that need no connected socket (for `bytesInHandle`, ask a connected
 * one: it returns a finite number where the path works).
 *
 * @example
 * ```ts
 * if (!nodeInternals().readInto) console.warn('this Node reads with a fresh Buffer per read');
 * ```
 */
export function nodeInternals(): NodeInternals {
  const view = new BufferView(new ArrayBuffer(1), 0, 1);
  return {
    readInto: userBufferSlots() !== null,
    bufferView: Buffer.isBuffer(view) && view instanceof Buffer && view.constructor === Buffer,
  };
}
