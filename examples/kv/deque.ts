/**
 * A double-ended queue on a ring buffer: push and pop at both ends in O(1) amortized, and
 * indexing in O(1). LPUSH/LPOP on a plain array shift every element; real workloads (job queues)
 * use exactly those, so lists keep their items here.
 *
 * @example
 * ```ts
 * const items = new Deque<string>();
 * items.pushFront('b');
 * items.pushFront('a');
 * items.at(0); // 'a'
 * ```
 */
export class Deque<T> {
  #ring: (T | undefined)[] = new Array(4);
  #head = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  /** The item at `index` (0 is the front), or undefined outside 0..length-1. */
  at(index: number): T | undefined {
    if (index < 0 || index >= this.#length) return undefined;
    return this.#ring[(this.#head + index) & (this.#ring.length - 1)];
  }

  /** Replaces the item at `index` (which must be within 0..length-1). */
  setAt(index: number, item: T): void {
    this.#ring[(this.#head + index) & (this.#ring.length - 1)] = item;
  }

  pushBack(item: T): void {
    if (this.#length === this.#ring.length) this.#grow();
    this.#ring[(this.#head + this.#length) & (this.#ring.length - 1)] = item;
    this.#length++;
  }

  pushFront(item: T): void {
    if (this.#length === this.#ring.length) this.#grow();
    this.#head = (this.#head - 1) & (this.#ring.length - 1);
    this.#ring[this.#head] = item;
    this.#length++;
  }

  popFront(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#ring[this.#head];
    this.#ring[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#ring.length - 1);
    this.#length--;
    return item;
  }

  popBack(): T | undefined {
    if (this.#length === 0) return undefined;
    const at = (this.#head + this.#length - 1) & (this.#ring.length - 1);
    const item = this.#ring[at];
    this.#ring[at] = undefined;
    this.#length--;
    return item;
  }

  /** Items `from` to `to` inclusive (clamped by the caller), front to back. */
  slice(from: number, to: number): T[] {
    const out: T[] = [];
    for (let i = from; i <= to; i++) out.push(this.at(i) as T);
    return out;
  }

  /** Every item, front to back. */
  toArray(): T[] {
    return this.slice(0, this.#length - 1);
  }

  /** Replaces every item (LREM, LINSERT, LTRIM rebuild the list: they are O(n) in Redis too). */
  replace(items: readonly T[], minCapacity = 4): void {
    let capacity = 4;
    while (capacity < items.length || capacity < minCapacity) capacity *= 2;
    this.#ring = new Array(capacity);
    for (let i = 0; i < items.length; i++) this.#ring[i] = items[i];
    this.#head = 0;
    this.#length = items.length;
  }

  #grow(): void {
    this.replace(this.toArray(), this.#ring.length * 2);
  }
}
