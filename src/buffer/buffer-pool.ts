/**
 * A pool of equally sized byte buffers shared by every stream of an engine.
 *
 * The pool starts with `initialPoolSize` buffers of `bufferSize` bytes and keeps at most
 * `maxPoolSize` idle buffers: a release beyond that lets the buffer go to the garbage collector.
 * Requests larger than `bufferSize` (a frame that outgrew the standard buffer) get a buffer of
 * their own that is counted as leased but never pooled: keeping rare giants around would pin
 * memory for the common case.
 *
 * Every `lease` must be matched by exactly one `release`; `stats().leased` is the number of
 * buffers out, which tests assert is 0 when all streams are closed.
 *
 * Debug mode fills released buffers with a canary byte (0xdd) so that a view someone kept past
 * its lease shows the canary rather than plausible stale bytes, records the call site of every
 * lease (see `outstanding()`), and refuses a double release.
 */

export interface BufferPoolOptions {
  /** Size of a pooled buffer in bytes (the seed's `InitialBufferSize`). */
  bufferSize: number;
  /** Buffers allocated up front (the seed's `InitialBufferPoolSize`). */
  initialPoolSize: number;
  /** Idle buffers kept at most (the seed's `MaxBufferPoolSize`). */
  maxPoolSize: number;
  /** Canary fill on release and lease-site tracking. Slower; for tests and debugging. */
  debug?: boolean;
}

export interface BufferPoolStats {
  /** Buffers currently leased (standard and oversized). */
  leased: number;
  /** Bytes currently leased. */
  leasedBytes: number;
  /** Standard buffers sitting idle in the pool. */
  idle: number;
  /** Buffers ever allocated by the pool (standard and oversized). */
  allocated: number;
}

/** The byte released buffers are filled with in debug mode. */
export const CANARY_BYTE = 0xdd;

/** The memory of every engine's pooled and read buffers (see `isEngineMemory`). */
const engineMemory = new WeakSet<ArrayBufferLike>();

/** Records `buffer`'s memory as the engine's: it is reused, so never sent by reference. */
export function markEngineMemory(buffer: Buffer): void {
  engineMemory.add(buffer.buffer);
}

/**
 * Whether `memory` belongs to a buffer some engine reuses (a pooled buffer, a read buffer): a
 * borrowed frame's bytes. Such bytes are copied when sent, never written by reference, since
 * they change as soon as the engine reuses the buffer.
 */
export function isEngineMemory(memory: ArrayBufferLike): boolean {
  return engineMemory.has(memory);
}

export class BufferPool {
  readonly bufferSize: number;
  readonly maxPoolSize: number;
  readonly debug: boolean;
  #idle: Buffer[] = [];
  #leased = 0;
  #leasedBytes = 0;
  #allocated = 0;
  #sites = new Map<Buffer, string>();

  constructor(options: BufferPoolOptions) {
    this.bufferSize = options.bufferSize;
    this.maxPoolSize = options.maxPoolSize;
    this.debug = options.debug ?? false;
    const initial = Math.min(options.initialPoolSize, options.maxPoolSize);
    for (let i = 0; i < initial; i++) this.#idle.push(this.#allocate(this.bufferSize));
  }

  /** A buffer of at least `minSize` bytes (exactly `bufferSize` when `minSize` fits in it). */
  lease(minSize = this.bufferSize): Buffer {
    let buffer: Buffer;
    if (minSize <= this.bufferSize) {
      buffer = this.#idle.pop() ?? this.#allocate(this.bufferSize);
    } else {
      buffer = this.#allocate(minSize);
    }
    this.#leased++;
    this.#leasedBytes += buffer.length;
    if (this.debug) this.#sites.set(buffer, new Error('leased here').stack ?? '');
    return buffer;
  }

  /** Gives a leased buffer back. The caller must not touch it afterwards. */
  release(buffer: Buffer): void {
    if (this.debug) {
      if (!this.#sites.delete(buffer)) {
        throw new Error('BufferPool: release of a buffer that is not leased (double release?)');
      }
      buffer.fill(CANARY_BYTE);
    }
    this.#leased--;
    this.#leasedBytes -= buffer.length;
    if (buffer.length === this.bufferSize && this.#idle.length < this.maxPoolSize) {
      this.#idle.push(buffer);
    }
  }

  /** Bytes currently leased (what `stats().leasedBytes` says, without building the object). */
  get leasedBytes(): number {
    return this.#leasedBytes;
  }

  stats(): BufferPoolStats {
    return {
      leased: this.#leased,
      leasedBytes: this.#leasedBytes,
      idle: this.#idle.length,
      allocated: this.#allocated,
    };
  }

  /** In debug mode, the stack of every lease not yet released (for leak reports). */
  outstanding(): string[] {
    return [...this.#sites.values()];
  }

  #allocate(size: number): Buffer {
    this.#allocated++;
    // allocUnsafeSlow: a buffer of its own, not a slice of Node's shared 8 KiB slab, so that
    // releasing it really frees (or reuses) exactly these bytes.
    const buffer = Buffer.allocUnsafeSlow(size);
    markEngineMemory(buffer);
    if (this.debug) buffer.fill(CANARY_BYTE);
    return buffer;
  }
}
