import { parseInteger } from './integers.js';

/** Above this many members, redis-server 7.0 leaves its compact intset form for a hash table. */
export const SET_INTSET_ENTRIES = 512;

interface Slot {
  readonly bytes: Buffer;
  /** Insertion number: the Map iterates slots in this order, so SSCAN cursors are made of it. */
  readonly seq: number;
  /** Where the member's key sits in `#items`, for O(1) random picks and removal. */
  index: number;
}

/**
 * A one-page SSCAN result: the cursor to continue from (0 when done) and the members.
 *
 * @example
 * ```ts
 * const { cursor, members } = set.scan(0, 10);
 * ```
 */
export interface SetScanPage {
  cursor: number;
  members: Buffer[];
}

/**
 * A set value: members keyed by their bytes as latin1 (one char per byte, so binary-safe).
 *
 * Two views of one membership: a Map in insertion order (iteration, SSCAN) and an array of the
 * same keys (a uniformly random member in O(1) for SPOP and SRANDMEMBER; removal swaps the
 * last key into the hole).
 *
 * `intset` mirrors redis-server's encoding while every member is an integer and there are few:
 * Redis keeps such a set sorted by value and hands it out in that order (SMEMBERS, SSCAN in one
 * page), and OBJECT ENCODING names it. A set leaves that form for good once it no longer fits.
 *
 * @example
 * ```ts
 * const set = new KvSet();
 * set.add(Buffer.from('3'));
 * set.add(Buffer.from('1'));
 * set.members(); // [<Buffer 31>, <Buffer 33>]: an intset, in numeric order
 * ```
 */
export class KvSet {
  readonly type = 'set';
  readonly #slots = new Map<string, Slot>();
  readonly #items: string[] = [];
  #seq = 1;
  #intset = true;
  /** The iterator of the last SSCAN, parked under the cursor it resumes at. */
  #parked: { cursor: number; iterator: Iterator<Slot>; next: Slot } | undefined;

  get size(): number {
    return this.#slots.size;
  }

  get encoding(): 'intset' | 'hashtable' {
    return this.#intset ? 'intset' : 'hashtable';
  }

  /** A copy in the same encoding (COPY): Redis duplicates the encoding it has. */
  clone(): KvSet {
    const copy = new KvSet();
    for (const key of this.#items) {
      const slot = this.#slots.get(key);
      if (slot !== undefined) copy.add(slot.bytes);
    }
    copy.#intset = this.#intset;
    return copy;
  }

  has(member: Buffer): boolean {
    return this.#slots.has(member.toString('latin1'));
  }

  /** Adds `member`; whether it was new. */
  add(member: Buffer): boolean {
    const key = member.toString('latin1');
    if (this.#slots.has(key)) return false;
    if (
      this.#intset &&
      (this.#slots.size + 1 > SET_INTSET_ENTRIES || parseInteger(member) === undefined)
    ) {
      this.#intset = false;
    }
    this.#slots.set(key, { bytes: member, seq: this.#seq++, index: this.#items.length });
    this.#items.push(key);
    return true;
  }

  /** Removes `member`; whether it was there. */
  remove(member: Buffer): boolean {
    return this.#removeKey(member.toString('latin1'));
  }

  /** Every member, in the order redis-server would list them where that order is defined. */
  members(): Buffer[] {
    const out: Buffer[] = [];
    for (const slot of this.#slots.values()) out.push(slot.bytes);
    if (this.#intset) out.sort(byIntegerValue);
    return out;
  }

  /** A uniformly random member (the set must not be empty). */
  random(): Buffer {
    const key = this.#items[Math.floor(Math.random() * this.#items.length)] as string;
    return (this.#slots.get(key) as Slot).bytes;
  }

  /** Removes and returns a uniformly random member (the set must not be empty). */
  popRandom(): Buffer {
    const key = this.#items[Math.floor(Math.random() * this.#items.length)] as string;
    const bytes = (this.#slots.get(key) as Slot).bytes;
    this.#removeKey(key);
    return bytes;
  }

  /**
   * One SSCAN step. An intset comes back whole, sorted, as Redis sends it; otherwise up to
   * `count` members from `cursor` on. Cursors are insertion numbers, so a member present for
   * the whole scan is returned exactly once.
   */
  scan(cursor: number, count: number): SetScanPage {
    if (this.#intset) return { cursor: 0, members: this.members() };
    let iterator: Iterator<Slot>;
    let pending: Slot | undefined;
    const parked = this.#parked;
    if (parked !== undefined && parked.cursor === cursor) {
      iterator = parked.iterator;
      pending = parked.next;
    } else {
      iterator = this.#slots.values();
    }
    this.#parked = undefined;
    const members: Buffer[] = [];
    for (;;) {
      let slot: Slot;
      if (pending !== undefined) {
        slot = pending;
        pending = undefined;
      } else {
        const next = iterator.next();
        if (next.done === true) return { cursor: 0, members };
        slot = next.value;
      }
      // A parked read-ahead may have been removed since; a forged cursor skips ahead.
      if (slot.seq < cursor || this.#slots.get(slot.bytes.toString('latin1')) !== slot) continue;
      if (members.length === count) {
        this.#parked = { cursor: slot.seq, iterator, next: slot };
        return { cursor: slot.seq, members };
      }
      members.push(slot.bytes);
    }
  }

  #removeKey(key: string): boolean {
    const slot = this.#slots.get(key);
    if (slot === undefined) return false;
    this.#slots.delete(key);
    const lastKey = this.#items.pop() as string;
    if (lastKey !== key) {
      this.#items[slot.index] = lastKey;
      (this.#slots.get(lastKey) as Slot).index = slot.index;
    }
    return true;
  }
}

/** Orders integer members by value (they are canonical integers, as `parseInteger` accepts). */
function byIntegerValue(a: Buffer, b: Buffer): number {
  const x = parseInteger(a) as number | bigint;
  const y = parseInteger(b) as number | bigint;
  return x < y ? -1 : x > y ? 1 : 0;
}
