import { Socket } from 'node:net';

/**
 * Reading into a buffer the engine owns, for every socket the engine creates or accepts.
 *
 * Node's `onread: { buffer, callback }` option reads a socket into one caller-owned buffer
 * instead of allocating a fresh Buffer per read: at 64 KiB reads that is 64 KiB of garbage
 * less per read, and the garbage is external memory, which V8 collects late (RSS climbs by tens
 * of megabytes under a steady blast before a collection). Node offers the option only to
 * `net.connect`; sockets a `net.Server` accepts always get fresh buffers.
 *
 * Node 20–24 implement `onread` with three per-socket slots keyed by symbols (the buffer, the
 * callback, a buffer generator) that its read path consults on every read, and with a
 * `useUserBuffer` call on the socket's handle. This module finds those slots on a probe socket
 * once and fills them for accepted sockets the way the `onread` option would. Everything is
 * feature-detected: on a Node where the slots, the handle method, or the pause support for them
 * are missing, `readInto` returns false and the engine reads `'data'` events as before.
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

/**
 * Makes `socket` read into `buffer`, calling `onRead(length, buffer)` with the bytes in
 * `buffer[0, length)` on every read; those bytes are overwritten by the next read, so the callee
 * must copy what it keeps. The socket is left paused (call `resume()` to start reading).
 * Returns false, changing nothing, where this Node cannot do it or the socket already has
 * bytes or `'data'` listeners of its own.
 */
export function readInto(
  socket: Socket,
  buffer: Buffer,
  onRead: (length: number, buffer: Buffer) => void,
): boolean {
  if (slots === undefined) slots = findSlots();
  const handle = (socket as unknown as { _handle?: HandleWithUserBuffer | null })._handle;
  if (
    slots === null ||
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
  fields[slots.buffer] = buffer;
  fields[slots.callback] = onRead;
  handle.useUserBuffer(buffer);
  // With the buffer slot filled, pause() stops the handle's reading too.
  socket.pause();
  return true;
}
