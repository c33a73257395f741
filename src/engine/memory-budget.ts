import type { BufferPool } from '../buffer/buffer-pool.js';

/** What the budget needs of a stream. */
export interface BudgetedStream {
  /** Pooled bytes the stream holds: kept input and queued output. */
  readonly heldBytes: number;
  pauseForMemory(): void;
  resumeFromMemory(): void;
}

/**
 * The engine's bound on pooled bytes (`memoryBudget`). Over it, reading pauses on the streams
 * holding the most until usage falls below 3/4 of it; growth stops there, and what the paused
 * streams hold drains as their output is written and their frames complete.
 *
 * | state     | entered when                                 | left when                        |
 * |-----------|----------------------------------------------|----------------------------------|
 * | under     | usage ≤ budget                               | a read takes usage over          |
 * | relieving | over: the heaviest streams paused            | usage ≤ 3/4: all resume          |
 * | stuck     | relieving, and every stream holding memory   | usage ≤ 3/4, or the privileged   |
 * |           | is paused: the heaviest alone reads on        | stream closes (another is chosen)|
 *
 * @example
 * ```ts
 * const budget = new MemoryBudget(pool, 64 * 1024 * 1024, () => connections.values());
 * ```
 */
export class MemoryBudget<S extends BudgetedStream> {
  readonly #pool: BufferPool;
  readonly #budget: number;
  readonly #streams: () => Iterable<S>;
  readonly #paused = new Set<S>();
  /** Under memory pressure, the one stream allowed to read on (see `shrank`). */
  #privileged: S | null = null;

  constructor(pool: BufferPool, budget: number, streams: () => Iterable<S>) {
    this.#pool = pool;
    this.#budget = budget;
    this.#streams = streams;
  }

  /** A read grew the pool: over the budget, pause the heaviest streams until they hold the excess. */
  grew(): void {
    const used = this.#pool.leasedBytes;
    if (used <= this.#budget) return;
    let excess = used - this.#budget;
    const heaviest = [...this.#streams()]
      .filter((stream) => !this.#paused.has(stream) && stream !== this.#privileged)
      .sort((a, b) => b.heldBytes - a.heldBytes);
    for (const stream of heaviest) {
      if (excess <= 0) break;
      excess -= stream.heldBytes;
      this.#paused.add(stream);
      stream.pauseForMemory();
    }
    this.shrank();
  }

  /**
   * Buffers were released. Below 3/4 of the budget again: every paused stream reads again.
   * Still above it, but every stream that holds memory is paused: nobody can free anything,
   * since a stream frees its read buffer only by completing its frame. Then the heaviest paused
   * stream (the one with most of a frame) alone reads on, so at least one stream progresses.
   */
  shrank(): void {
    if (this.#paused.size === 0) return;
    if (this.#pool.leasedBytes <= (this.#budget * 3) / 4) {
      const paused = [...this.#paused];
      this.#paused.clear();
      this.#privileged = null;
      for (const stream of paused) stream.resumeFromMemory();
      return;
    }
    let heaviest: S | null = null;
    for (const stream of this.#streams()) {
      if (!this.#paused.has(stream)) {
        if (stream.heldBytes > 0) return; // someone can still free memory
      } else if (heaviest === null || stream.heldBytes > heaviest.heldBytes) {
        heaviest = stream;
      }
    }
    if (heaviest === null) return;
    this.#paused.delete(heaviest);
    this.#privileged = heaviest;
    heaviest.resumeFromMemory();
  }

  /** A stream closed: it no longer counts, and its memory may let others read. */
  forget(stream: S): void {
    this.#paused.delete(stream);
    if (this.#privileged === stream) this.#privileged = null;
    this.shrank();
  }
}
