/**
 * All timeouts of an engine in one min-heap, served by a single Node timer armed for the
 * earliest deadline. 10,000 streams with a timeout each cost 10,000 heap entries, not 10,000
 * Node timers. Cancelling marks the entry; cancelled entries are dropped when they reach the
 * top, and the heap is rebuilt when they outnumber the live ones.
 */

interface Entry {
  deadline: number;
  /** Tie-breaker: timeouts with the same deadline fire in the order they were set. */
  seq: number;
  id: number;
  fire: (() => void) | null;
}

export class TimerQueue {
  #heap: Entry[] = [];
  #byId = new Map<number, Entry>();
  #nextId = 1;
  #seq = 0;
  #timer: NodeJS.Timeout | null = null;
  #armedFor = Number.POSITIVE_INFINITY;
  #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Number of pending timeouts. */
  get size(): number {
    return this.#byId.size;
  }

  /** Calls `fire` after `ms` milliseconds. Returns an id for `cancel`. */
  add(ms: number, fire: () => void): number {
    const entry: Entry = {
      deadline: this.#now() + Math.max(0, ms),
      seq: this.#seq++,
      id: this.#nextId++,
      fire,
    };
    this.#byId.set(entry.id, entry);
    this.#push(entry);
    if (entry.deadline < this.#armedFor) this.#arm();
    return entry.id;
  }

  /** Cancels a pending timeout. Returns whether it was pending. */
  cancel(id: number): boolean {
    const entry = this.#byId.get(id);
    if (entry === undefined) return false;
    this.#byId.delete(id);
    entry.fire = null;
    if (this.#byId.size === 0) {
      this.#heap.length = 0;
      this.#disarm();
    } else if (this.#heap.length > 64 && this.#heap.length > 2 * this.#byId.size) {
      this.#heap = this.#heap.filter((e) => e.fire !== null);
      this.#heap.sort(compare);
    }
    return true;
  }

  /** Cancels everything. */
  clear(): void {
    for (const entry of this.#heap) entry.fire = null;
    this.#heap.length = 0;
    this.#byId.clear();
    this.#disarm();
  }

  #run = (): void => {
    this.#timer = null;
    this.#armedFor = Number.POSITIVE_INFINITY;
    const now = this.#now();
    for (;;) {
      const top = this.#heap[0];
      if (top === undefined || top.deadline > now) break;
      this.#pop();
      const fire = top.fire;
      if (fire === null) continue;
      top.fire = null;
      this.#byId.delete(top.id);
      fire();
    }
    this.#dropCancelledTop();
    if (this.#heap.length > 0) this.#arm();
  };

  #arm(): void {
    this.#dropCancelledTop();
    const top = this.#heap[0];
    if (top === undefined) {
      this.#disarm();
      return;
    }
    if (this.#timer !== null && this.#armedFor === top.deadline) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#armedFor = top.deadline;
    this.#timer = setTimeout(this.#run, Math.max(0, top.deadline - this.#now()));
  }

  #disarm(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#armedFor = Number.POSITIVE_INFINITY;
  }

  #dropCancelledTop(): void {
    while (this.#heap.length > 0 && this.#heap[0]?.fire === null) this.#pop();
  }

  #push(entry: Entry): void {
    const heap = this.#heap;
    let i = heap.push(entry) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as Entry;
      if (compare(p, entry) <= 0) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = entry;
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    let i = 0;
    const n = heap.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && compare(heap[right] as Entry, heap[left] as Entry) < 0) child = right;
      const c = heap[child] as Entry;
      if (compare(last, c) <= 0) break;
      heap[i] = c;
      i = child;
    }
    heap[i] = last;
  }
}

function compare(a: Entry, b: Entry): number {
  return a.deadline - b.deadline || a.seq - b.seq;
}
