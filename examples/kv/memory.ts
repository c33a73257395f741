import { getHeapStatistics } from 'node:v8';

/** Bytes of write-command arguments after which the estimate is taken again. */
const RESAMPLE_BYTES = 256 * 1024;
/** What an argument costs beyond its bytes: a Buffer object and its slot in the store. */
const ARGUMENT_OVERHEAD = 64;

/**
 * The server's used-memory estimate and the `maxmemory` verdict that write commands test.
 *
 * The estimate is V8's: heap in use (`used_heap_size`, which counts garbage until the
 * collector runs) plus memory held outside the heap by Buffers and other external objects
 * (`external_memory`). It is what the process holds for everything (keys, values, queued
 * replies, the code), as Redis's `used_memory` is what its allocator handed out. Reading it
 * costs about a microsecond, so it is taken on the 100 ms sweep and again once write commands
 * have brought `RESAMPLE_BYTES` of arguments since the last reading; between readings, the
 * verdict (`oom`) is a flag.
 *
 * @example
 * ```ts
 * const memory = new MemoryGuard();
 * memory.sample(64 * 1024 * 1024);
 * if (memory.oom) reply(OOM);
 * ```
 */
export class MemoryGuard {
  /** The last estimate, in bytes. */
  used = 0;
  /** The highest estimate seen. */
  peak = 0;
  /** True while the last estimate is above a non-zero `maxmemory`. */
  oom = false;
  #pending = 0;

  /** Takes the estimate again and decides `oom` against `maxmemory` (0: no limit). */
  sample(maxmemory: number): number {
    const heap = getHeapStatistics();
    this.used = heap.used_heap_size + heap.external_memory;
    if (this.used > this.peak) this.peak = this.used;
    this.oom = maxmemory > 0 && this.used > maxmemory;
    this.#pending = 0;
    return this.used;
  }

  /**
   * Whether a command that may grow memory (`denyoom`) may run under `maxmemory` (non-zero):
   * counts its arguments toward the next reading, taking it once enough have come.
   */
  admits(args: readonly Buffer[], maxmemory: number): boolean {
    let bytes = 0;
    for (let i = 1; i < args.length; i++) bytes += (args[i] as Buffer).length + ARGUMENT_OVERHEAD;
    this.#pending += bytes;
    if (this.#pending >= RESAMPLE_BYTES || this.oom) this.sample(maxmemory);
    return !this.oom;
  }
}
