import { globMatch } from './glob.js';
import type { KvSet } from './sets.js';
import type { KvZset } from './sorted-set.js';

import { Deque } from './deque.js';

/** Redis's hash-max-listpack-entries and hash-max-listpack-value defaults. */
const LISTPACK_MAX_ENTRIES = 128;
const LISTPACK_MAX_VALUE = 64;

/**
 * A hash value: fields keyed by their bytes read as latin1 (one char per byte, so binary-safe),
 * each holding its value's bytes. A Map keeps insertion order, which is the order Redis gives
 * while a hash is a listpack (small); `encoding` follows Redis's conversion rule so OBJECT
 * ENCODING answers as Redis does, and once `hashtable` it stays so, as in Redis.
 *
 * @example
 * ```ts
 * const hash = new KvHash();
 * hash.put('name', Buffer.from('mai'));
 * ```
 */
export class KvHash {
  readonly type = 'hash';
  readonly fields = new Map<string, Buffer>();
  encoding: 'listpack' | 'hashtable' = 'listpack';

  /** Sets a field; whether it is new. Converts the encoding as Redis would. */
  put(field: string, value: Buffer): boolean {
    const added = !this.fields.has(field);
    this.fields.set(field, value);
    if (
      this.encoding === 'listpack' &&
      (field.length > LISTPACK_MAX_VALUE ||
        value.length > LISTPACK_MAX_VALUE ||
        this.fields.size > LISTPACK_MAX_ENTRIES)
    ) {
      this.encoding = 'hashtable';
    }
    return added;
  }

  clone(): KvHash {
    const copy = new KvHash();
    for (const [field, value] of this.fields) copy.fields.set(field, value);
    copy.encoding = this.encoding;
    return copy;
  }
}

/**
 * A list value, on a deque so pushes and pops at both ends are O(1). Redis 7.0 reports every
 * list as `quicklist`.
 *
 * @example
 * ```ts
 * const list = new KvList();
 * list.items.pushBack(Buffer.from('a'));
 * ```
 */
export class KvList {
  readonly type = 'list';
  readonly encoding = 'quicklist';
  readonly items = new Deque<Buffer>();

  clone(): KvList {
    const copy = new KvList();
    copy.items.replace(this.items.toArray());
    return copy;
  }
}

/** What a key can hold. */
export type KvValue = Buffer | KvHash | KvList | KvSet | KvZset;

/**
 * How a string value was made, which decides its OBJECT ENCODING: values Redis runs through
 * tryObjectEncoding (SET, MSET, INCR…) are `int` when they read as an integer; INCRBYFLOAT's
 * are never `int`; APPEND and SETRANGE make `raw` strings whatever their length. COPY of an
 * `int` makes an unshared one (`IntCopy`: OBJECT REFCOUNT 1 even for 0..9999).
 */
export const StringKind = { Auto: 0, NoInt: 1, Raw: 2, IntCopy: 3 } as const;
export type StringKind = (typeof StringKind)[keyof typeof StringKind];

/**
 * One key's slot. Overwriting a key reuses its entry (so SET on an existing key allocates
 * nothing here) and keeps its `seq`, which is what SCAN cursors are made of.
 *
 * @example
 * ```ts
 * const entry = store.lookup('k');
 * if (entry !== undefined && Buffer.isBuffer(entry.value)) reply(entry.value);
 * ```
 */
export class KvEntry {
  value: KvValue;
  /** Unix time in ms when the key expires, or 0 for never. */
  expiresAt = 0;
  /** Creation order, strictly increasing: the store's Map iterates entries in this order. */
  readonly seq: number;
  /** For strings: how the value was made (OBJECT ENCODING). */
  kind: StringKind = StringKind.Auto;
  /** The store's coarse clock at the last access (OBJECT IDLETIME). */
  accessedAt: number;

  constructor(value: KvValue, seq: number, now: number) {
    this.value = value;
    this.seq = seq;
    this.accessedAt = now;
  }
}

/**
 * The type name TYPE and SCAN TYPE use.
 *
 * @example
 * ```ts
 * typeName(Buffer.from('x')); // 'string'
 * ```
 */
export function typeName(value: KvValue): string {
  return Buffer.isBuffer(value) ? 'string' : value.type;
}

/**
 * One page of SCAN: the next cursor (0 when done) and the keys, as latin1 strings.
 *
 * @example
 * ```ts
 * const { cursor, keys } = store.scan(0, 10, 'user:*', undefined);
 * ```
 */
export interface ScanPage {
  cursor: number;
  keys: string[];
}

/** A SCAN iterator kept between calls, keyed by the cursor it resumes at. */
interface ParkedScan {
  iterator: Iterator<[string, KvEntry]>;
  /** The entry read ahead to learn the cursor; returned first when the scan resumes. */
  next: [string, KvEntry];
}

const MAX_PARKED_SCANS = 16;

/**
 * The keyspace: keys (bytes as latin1 strings) to entries, with expiry.
 *
 * Expiry is lazy and periodic, as in Redis: `lookup` deletes a key found expired, and `sweep`
 * (run from a timer) samples keys that have a TTL and deletes the expired ones, so keys nobody
 * reads again do not stay forever.
 *
 * SCAN cursors are entry sequence numbers: the Map iterates in creation order, which never
 * changes for a key that lives on, so a cursor "every entry with seq ≥ c is still to come"
 * gives Redis's guarantee (a key present for the whole scan is returned, once). The live
 * iterator of each recent scan is parked under its cursor, so a full scan is O(keys); a cursor
 * not parked (evicted, or forged) is resumed by skipping, O(keys) for that call.
 *
 * @example
 * ```ts
 * const store = new KvStore();
 * store.set('k', Buffer.from('v'));
 * store.lookup('k')?.value; // <Buffer 76>
 * ```
 */
export class KvStore {
  readonly #entries = new Map<string, KvEntry>();
  /** Keys that have a TTL, for `sweep` and INFO's `expires=`. */
  readonly #volatile = new Set<string>();
  #sweepCursor: Iterator<string> | undefined;
  readonly #parked = new Map<number, ParkedScan>();
  #seq = 1;
  /** A clock in ms refreshed by `sweep` (and each write): cheap to read on every lookup. */
  clock = Date.now();
  /**
   * Called with each key a command modified, after the change (the one place WATCH and
   * blocked-client wake-ups can hook): every write command calls `written`.
   */
  readonly writeListeners: ((key: string) => void)[] = [];
  /** Keys deleted because they expired (lazily or by `sweep`). */
  expiredKeys = 0;
  keyspaceHits = 0;
  keyspaceMisses = 0;

  get size(): number {
    return this.#entries.size;
  }

  get volatileCount(): number {
    return this.#volatile.size;
  }

  /** The live entry of `key`, deleting it first if it has expired. Counts hits and misses. */
  lookup(key: string): KvEntry | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) {
      this.keyspaceMisses++;
      return undefined;
    }
    if (entry.expiresAt !== 0 && entry.expiresAt <= Date.now()) {
      this.#expire(key);
      this.keyspaceMisses++;
      return undefined;
    }
    this.keyspaceHits++;
    entry.accessedAt = this.clock;
    return entry;
  }

  /** Tells the write listeners that `key` was modified. */
  written(key: string): void {
    const listeners = this.writeListeners;
    for (let i = 0; i < listeners.length; i++) (listeners[i] as (key: string) => void)(key);
  }

  /** The live entry of `key` without counting or touching it (OBJECT, TTL-free peeks). */
  peek(key: string): KvEntry | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== 0 && entry.expiresAt <= Date.now()) {
      this.#expire(key);
      return undefined;
    }
    return entry;
  }

  /** Whether `key` exists (expiring it if due), without touching the hit counters. */
  has(key: string): boolean {
    const entry = this.#entries.get(key);
    if (entry === undefined) return false;
    if (entry.expiresAt !== 0 && entry.expiresAt <= Date.now()) {
      this.#expire(key);
      return false;
    }
    return true;
  }

  /**
   * Stores `value` under `key`, clearing any TTL unless `keepTtl`. Returns the entry, reused if
   * the key existed.
   */
  set(key: string, value: KvValue, keepTtl = false, kind: StringKind = StringKind.Auto): KvEntry {
    const entry = this.#entries.get(key);
    if (entry === undefined) {
      const created = new KvEntry(value, this.#seq++, this.clock);
      created.kind = kind;
      this.#entries.set(key, created);
      return created;
    }
    if (entry.expiresAt !== 0 && entry.expiresAt <= Date.now()) {
      // An expired key is a new key: it gets a new place in SCAN order, and no TTL.
      this.#expire(key);
      return this.set(key, value, false, kind);
    }
    entry.value = value;
    entry.kind = kind;
    entry.accessedAt = this.clock;
    if (!keepTtl && entry.expiresAt !== 0) this.persist(key, entry);
    return entry;
  }

  /** A live key chosen uniformly at random (RANDOMKEY), or undefined when there is none. */
  randomKey(): string | undefined {
    const now = Date.now();
    // Bounded: each round deletes nothing it keeps, so a keyspace of only expired keys ends.
    for (let attempt = 0; attempt < 100 && this.#entries.size > 0; attempt++) {
      let skip = Math.floor(Math.random() * this.#entries.size);
      for (const [key, entry] of this.#entries) {
        if (skip-- > 0) continue;
        if (entry.expiresAt !== 0 && entry.expiresAt <= now) {
          this.#expire(key);
          break;
        }
        return key;
      }
    }
    return undefined;
  }

  /** Deletes `key`; whether it existed (an expired key did not). */
  delete(key: string): boolean {
    const entry = this.#entries.get(key);
    if (entry === undefined) return false;
    const live = entry.expiresAt === 0 || entry.expiresAt > Date.now();
    this.#entries.delete(key);
    if (entry.expiresAt !== 0) this.#volatile.delete(key);
    if (!live) this.expiredKeys++;
    return live;
  }

  /** Sets the TTL of a live entry to the Unix time `at` (ms). */
  expireAt(key: string, entry: KvEntry, at: number): void {
    entry.expiresAt = at;
    this.#volatile.add(key);
  }

  /** Removes the TTL of a live entry; whether it had one. */
  persist(key: string, entry: KvEntry): boolean {
    if (entry.expiresAt === 0) return false;
    entry.expiresAt = 0;
    this.#volatile.delete(key);
    return true;
  }

  /** Drops every key (FLUSHDB). */
  clear(): void {
    for (const key of this.#entries.keys()) this.written(key);
    this.#entries.clear();
    this.#volatile.clear();
    this.#parked.clear();
    this.#sweepCursor = undefined;
  }

  /** Every live key matching `pattern` (KEYS). */
  keys(pattern: string | undefined): string[] {
    const now = Date.now();
    const keys: string[] = [];
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt !== 0 && entry.expiresAt <= now) continue;
      if (pattern === undefined || globMatch(pattern, key)) keys.push(key);
    }
    return keys;
  }

  /**
   * One SCAN step from `cursor`: visits up to `count` entries and returns those matching
   * `pattern` and `type`, and the cursor to continue from (0 when the scan is complete).
   */
  scan(
    cursor: number,
    count: number,
    pattern: string | undefined,
    type: string | undefined,
  ): ScanPage {
    let iterator: Iterator<[string, KvEntry]>;
    let pending: [string, KvEntry] | undefined;
    const parked = this.#parked.get(cursor);
    if (parked !== undefined) {
      this.#parked.delete(cursor);
      iterator = parked.iterator;
      pending = parked.next;
    } else {
      iterator = this.#entries.entries();
    }
    const now = Date.now();
    const keys: string[] = [];
    let visited = 0;
    for (;;) {
      let item: [string, KvEntry];
      if (pending !== undefined) {
        item = pending;
        pending = undefined;
      } else {
        const next = iterator.next();
        if (next.done === true) return { cursor: 0, keys };
        item = next.value;
      }
      const [key, entry] = item;
      // A read-ahead entry may have been deleted while parked; a forged cursor skips ahead.
      if (entry.seq < cursor || this.#entries.get(key) !== entry) continue;
      if (visited === count) {
        this.#park(entry.seq, { iterator, next: item });
        return { cursor: entry.seq, keys };
      }
      visited++;
      if (entry.expiresAt !== 0 && entry.expiresAt <= now) continue;
      if (pattern !== undefined && !globMatch(pattern, key)) continue;
      if (type !== undefined && typeName(entry.value) !== type) continue;
      keys.push(key);
    }
  }

  /**
   * Deletes expired keys among those with a TTL, sampling as Redis's active expiry does: up to
   * `sample` keys per round, another round while more than a quarter of a sample had expired,
   * and never past `budgetMs`. Returns how many keys it deleted.
   */
  sweep(sample = 20, budgetMs = 1): number {
    this.clock = Date.now();
    if (this.#volatile.size === 0) return 0;
    const started = Date.now();
    let deleted = 0;
    for (let round = 0; round < 1000; round++) {
      let seen = 0;
      let expired = 0;
      const now = Date.now();
      while (seen < sample) {
        this.#sweepCursor ??= this.#volatile.values();
        const next = this.#sweepCursor.next();
        if (next.done === true) {
          this.#sweepCursor = undefined;
          break;
        }
        seen++;
        const entry = this.#entries.get(next.value);
        if (entry !== undefined && entry.expiresAt !== 0 && entry.expiresAt <= now) {
          this.#expire(next.value);
          expired++;
        }
      }
      deleted += expired;
      if (seen === 0 || expired * 4 <= seen || Date.now() - started >= budgetMs) break;
    }
    return deleted;
  }

  #expire(key: string): void {
    this.#entries.delete(key);
    this.#volatile.delete(key);
    this.expiredKeys++;
    // An expiry is a change WATCH must see, as Redis's signalModifiedKey on expire is.
    this.written(key);
  }

  #park(cursor: number, scan: ParkedScan): void {
    if (this.#parked.size >= MAX_PARKED_SCANS) {
      const oldest = this.#parked.keys().next();
      if (oldest.done !== true) this.#parked.delete(oldest.value);
    }
    this.#parked.set(cursor, scan);
  }
}

/**
 * A key's bytes as the store's Map key: latin1 maps each byte to one char, so this is
 * lossless and binary-safe.
 *
 * @example
 * ```ts
 * keyOf(Buffer.from([0xff, 0x00])); // 'ÿ\u0000'
 * ```
 */
export function keyOf(bytes: Buffer): string {
  return bytes.toString('latin1');
}

/**
 * The bytes of a store key, for replies.
 *
 * @example
 * ```ts
 * keyBytes('ÿ\u0000'); // <Buffer ff 00>
 * ```
 */
export function keyBytes(key: string): Buffer {
  return Buffer.from(key, 'latin1');
}
