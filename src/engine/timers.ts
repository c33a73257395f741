/**
 * All timeouts of an engine in one hierarchical timer wheel, served by a single Node timer armed
 * for the earliest deadline. Arming and cancelling are O(1) whatever the number of timeouts:
 * 10,000 streams with a timeout each cost 10,000 wheel entries, not 10,000 Node timers.
 *
 * The wheel (the design of tokio's time driver, with 32 slots a level): level 0 has 32 slots of
 * 1 ms, level 1 has 32 slots of 32 ms, … level 5 has 32 slots of 32^5 ms (~9.3 h), so the
 * wheel spans 2^30 ms (~12.4 days) from "now". A timeout goes to the lowest level whose slot
 * width separates its deadline from now: the highest bit in which the two differ picks the
 * level. A 32-bit mask per level says which slots hold entries, so the next deadline is found
 * with a count of trailing zeros per level, not a scan. When time reaches a slot of a level
 * above 0, its entries move down to the levels their deadlines now belong to; level-0 slots
 * fire. Deadlines further than the wheel's span wait in the top level and move down as it
 * turns; the origin of the wheel's clock moves forward before its offsets outgrow 31 bits.
 *
 * Timeouts fire in deadline order, and those with the same deadline (in ms) in the order they
 * were set.
 */

const SLOT_BITS = 5;
const SLOTS = 1 << SLOT_BITS;
const SLOT_MASK = SLOTS - 1;
const LEVELS = 6;
/** What the wheel spans from now: 2^30 ms. */
const SPAN = 2 ** (SLOT_BITS * LEVELS);
/** Width of a top-level slot. */
const TOP_WIDTH = 2 ** (SLOT_BITS * (LEVELS - 1));
/** Offsets stay below 2^31 so 32-bit operations apply to them: rebase past this. */
const REBASE_AT = 2 ** 30;
/** Node's longest timer delay. */
const MAX_DELAY = 2 ** 31 - 1;

interface Entry {
  /** Deadline in ms since the wheel's origin. */
  when: number;
  id: number;
  fire: (() => void) | null;
  prev: Entry | null;
  next: Entry | null;
  /** Where it is linked: level * SLOTS + slot, or -1 when in no slot. */
  home: number;
}

export class TimerQueue {
  /** Heads of the slot lists, level by level (LEVELS * SLOTS). */
  readonly #heads: (Entry | null)[] = new Array(LEVELS * SLOTS).fill(null);
  readonly #tails: (Entry | null)[] = new Array(LEVELS * SLOTS).fill(null);
  /** Per level, bit i set when slot i holds an entry. */
  readonly #occupied = new Int32Array(LEVELS);
  readonly #byId = new Map<number, Entry>();
  readonly #now: () => number;
  /** Absolute time (ms) of offset 0. */
  #origin: number;
  /** Offset up to which the wheel has turned: every deadline at or before it has fired. */
  #elapsed = 0;
  #nextId = 1;
  #firing = false;
  #timer: NodeJS.Timeout | null = null;
  #armedFor = Number.POSITIVE_INFINITY;

  constructor(now: () => number = Date.now) {
    this.#now = now;
    this.#origin = Math.floor(now());
  }

  /** The clock deadlines are measured on (Date.now unless the queue was given another). */
  now(): number {
    return this.#now();
  }

  /** Number of pending timeouts. */
  get size(): number {
    return this.#byId.size;
  }

  /** Calls `fire` after `ms` milliseconds (at least 1). Returns an id for `cancel`. */
  add(ms: number, fire: () => void): number {
    const time = this.#now();
    // An empty wheel restarts its clock at now, which keeps offsets small.
    if (this.#byId.size === 0 && !this.#firing) {
      this.#origin = Math.floor(time);
      this.#elapsed = 0;
    }
    const now = this.#offset(time);
    // Deadlines are whole ms, at least one past the last turn (as Node's own timers).
    const when = Math.max(this.#elapsed + 1, Math.ceil(now + Math.max(0, ms)));
    const entry: Entry = {
      when,
      id: this.#nextId++,
      fire,
      prev: null,
      next: null,
      home: -1,
    };
    this.#byId.set(entry.id, entry);
    this.#place(entry);
    const at = this.#origin + when;
    if (at < this.#armedFor) this.#arm(at);
    return entry.id;
  }

  /** Cancels a pending timeout. Returns whether it was pending. */
  cancel(id: number): boolean {
    const entry = this.#byId.get(id);
    if (entry === undefined) return false;
    this.#byId.delete(id);
    entry.fire = null;
    this.#unlink(entry);
    if (this.#byId.size === 0) this.#disarm();
    return true;
  }

  /** Cancels everything. */
  clear(): void {
    for (const entry of this.#byId.values()) entry.fire = null;
    this.#byId.clear();
    this.#heads.fill(null);
    this.#tails.fill(null);
    this.#occupied.fill(0);
    this.#disarm();
  }

  /**
   * Fires every timeout whose deadline has come, in order, and arms the Node timer for the next
   * one. The Node timer calls it; tests with their own clock call it directly.
   */
  fireDue(): number {
    if (this.#firing) return 0; // a callback called it: the loop below carries on
    this.#firing = true;
    let fired = 0;
    try {
      let now = this.#offset(this.#now());
      for (;;) {
        const next = this.#nextSlot();
        if (next < 0) break;
        const level = Math.floor(next / SLOTS);
        const deadline = this.#slotStart(level, next & SLOT_MASK);
        if (deadline > now) break;
        this.#elapsed = deadline;
        if (level === 0) fired += this.#fireSlot(next);
        else this.#cascade(next);
        if (this.#elapsed >= REBASE_AT) {
          now -= this.#elapsed;
          this.#rebase();
        }
      }
      if (now > this.#elapsed) this.#elapsed = Math.floor(now);
      if (this.#elapsed >= REBASE_AT) this.#rebase();
    } finally {
      this.#firing = false;
    }
    this.#armNext();
    return fired;
  }

  readonly #run = (): void => {
    this.#timer = null;
    this.#armedFor = Number.POSITIVE_INFINITY;
    this.fireDue();
  };

  #offset(time: number): number {
    return time - this.#origin;
  }

  /** Links an entry into the slot its deadline belongs to, seen from #elapsed. */
  #place(entry: Entry): void {
    const elapsed = this.#elapsed;
    // Beyond the span: wait in the top level's furthest slot (the one before the current one,
    // a full turn away) and move down as the wheel turns.
    const when = Math.min(entry.when, elapsed - (elapsed % TOP_WIDTH) + SPAN - 1);
    const differs = (elapsed ^ when) | SLOT_MASK;
    const level = Math.min(LEVELS - 1, Math.floor((31 - Math.clz32(differs)) / SLOT_BITS));
    const slot = (when >>> (level * SLOT_BITS)) & SLOT_MASK;
    const home = level * SLOTS + slot;
    entry.home = home;
    entry.next = null;
    const tail = this.#tails[home] ?? null;
    entry.prev = tail;
    if (tail === null) this.#heads[home] = entry;
    else tail.next = entry;
    this.#tails[home] = entry;
    (this.#occupied[level] as number) |= 1 << slot;
  }

  #unlink(entry: Entry): void {
    const home = entry.home;
    if (home < 0) return;
    if (entry.prev === null) this.#heads[home] = entry.next;
    else entry.prev.next = entry.next;
    if (entry.next === null) this.#tails[home] = entry.prev;
    else entry.next.prev = entry.prev;
    entry.prev = null;
    entry.next = null;
    entry.home = -1;
    if (this.#heads[home] === null) {
      const level = Math.floor(home / SLOTS);
      (this.#occupied[level] as number) &= ~(1 << (home & SLOT_MASK));
    }
  }

  /** Detaches a slot's whole list and returns its first entry. */
  #take(home: number): Entry | null {
    const head = this.#heads[home] ?? null;
    this.#heads[home] = null;
    this.#tails[home] = null;
    const level = Math.floor(home / SLOTS);
    (this.#occupied[level] as number) &= ~(1 << (home & SLOT_MASK));
    return head;
  }

  /**
   * Fires a level-0 slot: every entry in it is due now. They are in the order they were set: an
   * entry reaches level 0 only when the wheel turns into its 32 ms window, before any entry set
   * later for the same window can be placed there (and rebasing places entries in set order).
   */
  #fireSlot(home: number): number {
    let entry = this.#take(home);
    if (entry === null) return 0;
    const due: Entry[] = [];
    while (entry !== null) {
      const next: Entry | null = entry.next;
      entry.prev = null;
      entry.next = null;
      entry.home = -1;
      due.push(entry);
      entry = next;
    }
    let fired = 0;
    for (const item of due) {
      const fire = item.fire;
      if (fire === null) continue; // cancelled by an earlier callback of this slot
      item.fire = null;
      this.#byId.delete(item.id);
      fired++;
      try {
        fire();
      } catch (error) {
        // As from a Node timer of its own: uncaught, but the other timeouts still fire.
        process.nextTick(() => {
          throw error;
        });
      }
    }
    return fired;
  }

  /** Time reached a slot above level 0: its entries move down to where they now belong. */
  #cascade(home: number): void {
    let entry = this.#take(home);
    while (entry !== null) {
      const next: Entry | null = entry.next;
      this.#place(entry);
      entry = next;
    }
  }

  /** Offset at which a slot of a level starts, the next time it comes round. */
  #slotStart(level: number, slot: number): number {
    const width = 2 ** (level * SLOT_BITS);
    const range = width * SLOTS;
    const elapsed = this.#elapsed;
    const levelStart = elapsed - (elapsed % range);
    let start = levelStart + slot * width;
    if (start < elapsed - (elapsed % width)) start += range;
    return Math.max(start, elapsed);
  }

  /**
   * The occupied slot (level * SLOTS + slot) that comes round first: the lowest level with an
   * occupied slot, at or after the wheel's position in that level. -1 when the wheel is empty.
   */
  #nextSlot(): number {
    const elapsed = this.#elapsed;
    for (let level = 0; level < LEVELS; level++) {
      const occupied = this.#occupied[level] as number;
      if (occupied === 0) continue;
      const position = Math.floor(elapsed / 2 ** (level * SLOT_BITS)) & SLOT_MASK;
      // Rotate so that the current position is bit 0, then find the lowest set bit.
      const rotated = ((occupied >>> position) | (occupied << (SLOTS - position))) >>> 0;
      const ahead = 31 - Math.clz32(rotated & -rotated);
      return level * SLOTS + ((position + ahead) & SLOT_MASK);
    }
    return -1;
  }

  /** Moves the origin to now so offsets stay small; every entry is placed again. */
  #rebase(): void {
    const shift = this.#elapsed;
    this.#origin += shift;
    this.#elapsed = 0;
    this.#heads.fill(null);
    this.#tails.fill(null);
    this.#occupied.fill(0);
    // The map holds entries in the order they were set.
    for (const entry of this.#byId.values()) {
      entry.when = Math.max(1, entry.when - shift);
      this.#place(entry);
    }
  }

  #armNext(): void {
    const next = this.#nextSlot();
    if (next < 0) {
      this.#disarm();
      return;
    }
    const at = this.#origin + this.#slotStart(Math.floor(next / SLOTS), next & SLOT_MASK);
    this.#arm(at);
  }

  #arm(at: number): void {
    if (this.#timer !== null && this.#armedFor === at) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#armedFor = at;
    // The wheel's furthest slot starts within 2^30 ms, below Node's 2^31 - 1 ms limit.
    this.#timer = setTimeout(this.#run, Math.min(MAX_DELAY, Math.max(1, at - this.#now())));
  }

  #disarm(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#armedFor = Number.POSITIVE_INFINITY;
  }
}
