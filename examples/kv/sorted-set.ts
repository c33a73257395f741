import { type SkipNode, SkipList } from './skip-list.js';

/** Member bytes as a Map key: latin1 is one char per byte, so lossless. */
function keyOf(member: Buffer): string {
  return member.toString('latin1');
}

/** Above these, redis-server 7.0 leaves its compact listpack form for a skip list. */
export const ZSET_LISTPACK_ENTRIES = 128;
export const ZSET_LISTPACK_VALUE = 64;

/**
 * A score interval as ZRANGEBYSCORE reads it: `(1.5` is exclusive, `1.5` inclusive.
 *
 * @example
 * ```ts
 * const range: ScoreRange = { min: 1, max: Infinity, minExclusive: true, maxExclusive: false };
 * ```
 */
export interface ScoreRange {
  min: number;
  max: number;
  minExclusive: boolean;
  maxExclusive: boolean;
}

/**
 * A member interval as ZRANGEBYLEX reads it: `-` and `+` are the ends of everything, `[a`
 * inclusive, `(a` exclusive.
 *
 * @example
 * ```ts
 * const range: LexRange = { min: '-', max: Buffer.from('c'), minExclusive: false, maxExclusive: true };
 * ```
 */
export interface LexRange {
  min: Buffer | '-' | '+';
  max: Buffer | '-' | '+';
  minExclusive: boolean;
  maxExclusive: boolean;
}

/**
 * A sorted-set value: each member's score in a Map (member bytes as latin1) and the members in
 * score order in a skip list, so ZSCORE is O(1) and ZADD, ZRANK, and the start of any range
 * O(log n).
 *
 * `listpack` mirrors redis-server's encoding, because it shows in replies: OBJECT ENCODING
 * names it, ZSCAN returns a listpack set whole in one page, and a listpack stores a score as
 * text, so -0 is read back as 0 there while a skip list keeps -0.
 *
 * @example
 * ```ts
 * const zset = new KvZset(true);
 * zset.add(Buffer.from('a'), 1);
 * zset.rankOf(Buffer.from('a')); // 0
 * ```
 */
export class KvZset {
  readonly type = 'zset';
  readonly scores = new Map<string, number>();
  readonly list = new SkipList();
  listpack: boolean;
  #parked: { cursor: number; iterator: Iterator<[string, number]> } | undefined;

  constructor(listpack: boolean) {
    this.listpack = listpack;
  }

  /** A new sorted set in the encoding redis-server gives a key created by ZADD with `first`. */
  static forFirstMember(first: Buffer): KvZset {
    return new KvZset(first.length <= ZSET_LISTPACK_VALUE);
  }

  /**
   * A sorted set built from scratch (the *STORE commands), in the encoding redis-server picks
   * for a result of that shape: listpack when it is small enough.
   */
  static fromPairs(pairs: Iterable<[Buffer, number]>): KvZset {
    const zset = new KvZset(false);
    let longest = 0;
    for (const [member, score] of pairs) {
      zset.add(member, score);
      if (member.length > longest) longest = member.length;
    }
    if (zset.size <= ZSET_LISTPACK_ENTRIES && longest <= ZSET_LISTPACK_VALUE) {
      zset.listpack = true;
      for (let node = zset.list.first; node !== null; node = node.next) {
        if (Object.is(node.score, -0)) zset.#setScore(node, 0);
      }
    }
    return zset;
  }

  get size(): number {
    return this.scores.size;
  }

  get encoding(): 'listpack' | 'skiplist' {
    return this.listpack ? 'listpack' : 'skiplist';
  }

  /** A copy in the same encoding (COPY). */
  clone(): KvZset {
    const copy = new KvZset(this.listpack);
    for (const [key, score] of this.scores) copy.add(Buffer.from(key, 'latin1'), score);
    return copy;
  }

  score(member: Buffer): number | undefined {
    return this.scores.get(keyOf(member));
  }

  /** Adds `member` or moves it to `score`; whether it was new. */
  add(member: Buffer, score: number): boolean {
    const key = keyOf(member);
    const current = this.scores.get(key);
    if (current === undefined) {
      if (
        this.listpack &&
        (this.scores.size + 1 > ZSET_LISTPACK_ENTRIES || member.length > ZSET_LISTPACK_VALUE)
      ) {
        this.listpack = false;
      }
      const stored = this.#stored(score);
      this.scores.set(key, stored);
      this.list.insert(stored, member);
      return true;
    }
    if (current !== score) {
      this.list.delete(current, member);
      const stored = this.#stored(score);
      this.scores.set(key, stored);
      this.list.insert(stored, member);
    }
    return false;
  }

  /** Removes `member`; whether it was there. */
  remove(member: Buffer): boolean {
    const key = keyOf(member);
    const current = this.scores.get(key);
    if (current === undefined) return false;
    this.scores.delete(key);
    this.list.delete(current, member);
    return true;
  }

  /** The 0-based rank of `member` in ascending order, or undefined. */
  rankOf(member: Buffer): number | undefined {
    const score = this.scores.get(keyOf(member));
    return score === undefined ? undefined : this.list.rankOf(score, member);
  }

  /** The ranks `[start, end)` of the members within `range`. */
  scoreRanks(range: ScoreRange): [number, number] {
    const start = this.list.firstWhere((node) =>
      range.minExclusive ? node.score <= range.min : node.score < range.min,
    ).rank;
    const end = this.list.firstWhere((node) =>
      range.maxExclusive ? node.score < range.max : node.score <= range.max,
    ).rank;
    return [start, Math.max(start, end)];
  }

  /** The ranks `[start, end)` of the members within `range` (meaningful when all scores tie). */
  lexRanks(range: LexRange): [number, number] {
    const start = this.list.firstWhere((node) => !lexAtLeastMin(node.member, range)).rank;
    const end = this.list.firstWhere((node) => lexAtMostMax(node.member, range)).rank;
    return [start, Math.max(start, end)];
  }

  /** Up to `count` nodes from 0-based rank `start`, walking down when `reverse`. */
  nodesFrom(start: number, count: number, reverse: boolean): SkipNode[] {
    const nodes: SkipNode[] = [];
    let node = this.list.byRank(start);
    while (node !== null && nodes.length < count) {
      nodes.push(node);
      node = reverse ? node.prev : node.next;
    }
    return nodes;
  }

  /**
   * One ZSCAN step: `[member, score]` pairs and the next cursor (0 when done). A listpack set
   * comes back whole in score order, as Redis sends it. Otherwise the cursor counts members
   * handed out so far, and the live Map iterator of the last scan is parked under it, so a
   * scan that is not interleaved with another visits each member present throughout once.
   */
  scan(cursor: number, count: number): { cursor: number; pairs: [Buffer, number][] } {
    const pairs: [Buffer, number][] = [];
    if (this.listpack) {
      for (let node = this.list.first; node !== null; node = node.next)
        pairs.push([node.member, node.score]);
      return { cursor: 0, pairs };
    }
    let iterator: Iterator<[string, number]>;
    if (this.#parked !== undefined && this.#parked.cursor === cursor) {
      iterator = this.#parked.iterator;
    } else {
      iterator = this.scores.entries();
      for (let skipped = 0; skipped < cursor && iterator.next().done !== true; skipped++);
    }
    this.#parked = undefined;
    while (pairs.length < count) {
      const next = iterator.next();
      if (next.done === true) return { cursor: 0, pairs };
      pairs.push([Buffer.from(next.value[0], 'latin1'), next.value[1]]);
    }
    this.#parked = { cursor: cursor + count, iterator };
    return { cursor: cursor + count, pairs };
  }

  /** A listpack holds scores as text that reads -0 back as 0; a skip list keeps the double. */
  #stored(score: number): number {
    return this.listpack && score === 0 ? 0 : score;
  }

  #setScore(node: SkipNode, score: number): void {
    node.score = score;
    this.scores.set(keyOf(node.member), score);
  }
}

function lexAtLeastMin(member: Buffer, range: LexRange): boolean {
  const min = range.min;
  if (min === '-') return true;
  if (min === '+') return false;
  const cmp = Buffer.compare(member, min);
  return range.minExclusive ? cmp > 0 : cmp >= 0;
}

function lexAtMostMax(member: Buffer, range: LexRange): boolean {
  const max = range.max;
  if (max === '+') return true;
  if (max === '-') return false;
  const cmp = Buffer.compare(member, max);
  return range.maxExclusive ? cmp < 0 : cmp <= 0;
}
