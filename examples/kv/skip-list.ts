/**
 * The ordered half of a sorted set: members sorted by score, then by their bytes, in a skip
 * list whose links carry spans (how many nodes each link jumps), so the rank of a node and the
 * node at a rank are found in O(log n) as well as the first node at or after a score.
 *
 * The score of each member is also kept in a Map by the sorted set (`KvZset`), so ZSCORE and
 * "is it a member" never walk the list.
 */

const MAX_LEVEL = 32;
/** The chance that a node reaches one level higher: 1 in 4, as in Redis. */
const LEVEL_P = 0.25;

/**
 * One member in the list. `next`/`prev` are the level-0 neighbours, for walking a range.
 *
 * @example
 * ```ts
 * for (let node = list.first; node !== null; node = node.next) console.log(node.score);
 * ```
 */
export class SkipNode {
  readonly member: Buffer;
  score: number;
  /** Forward links, one per level; `span[i]` is how many level-0 steps `forward[i]` skips. */
  readonly forward: (SkipNode | null)[];
  readonly span: number[];
  prev: SkipNode | null = null;

  constructor(level: number, score: number, member: Buffer) {
    this.score = score;
    this.member = member;
    this.forward = new Array<SkipNode | null>(level).fill(null);
    this.span = new Array<number>(level).fill(0);
  }

  get next(): SkipNode | null {
    return this.forward[0] ?? null;
  }
}

/**
 * Whether (scoreA, memberA) sorts before (scoreB, memberB): by score, ties by bytes.
 *
 * @example
 * ```ts
 * before(1, Buffer.from('b'), 1, Buffer.from('c')); // true
 * ```
 */
export function before(scoreA: number, memberA: Buffer, scoreB: number, memberB: Buffer): boolean {
  return scoreA < scoreB || (scoreA === scoreB && Buffer.compare(memberA, memberB) < 0);
}

/**
 * A skip list of (score, member) pairs, with ranks. Callers keep members unique (the sorted set
 * checks its Map first); ranks here are 0-based.
 *
 * @example
 * ```ts
 * const list = new SkipList();
 * list.insert(2, Buffer.from('b'));
 * list.insert(1, Buffer.from('a'));
 * list.byRank(0)?.member; // <Buffer 61>
 * ```
 */
export class SkipList {
  readonly #head = new SkipNode(MAX_LEVEL, 0, Buffer.alloc(0));
  #tail: SkipNode | null = null;
  #level = 1;
  #length = 0;
  /** Scratch arrays for insert/delete, reused so that neither allocates per call. */
  readonly #update: SkipNode[] = new Array<SkipNode>(MAX_LEVEL);
  readonly #rank: number[] = new Array<number>(MAX_LEVEL).fill(0);

  get length(): number {
    return this.#length;
  }

  get first(): SkipNode | null {
    return this.#head.forward[0] ?? null;
  }

  get last(): SkipNode | null {
    return this.#tail;
  }

  /** Adds a pair that is not in the list yet. */
  insert(score: number, member: Buffer): SkipNode {
    const update = this.#update;
    const rank = this.#rank;
    let x = this.#head;
    for (let i = this.#level - 1; i >= 0; i--) {
      rank[i] = i === this.#level - 1 ? 0 : (rank[i + 1] as number);
      let next = x.forward[i] ?? null;
      while (next !== null && before(next.score, next.member, score, member)) {
        rank[i] = (rank[i] as number) + (x.span[i] as number);
        x = next;
        next = x.forward[i] ?? null;
      }
      update[i] = x;
    }
    const level = randomLevel();
    if (level > this.#level) {
      for (let i = this.#level; i < level; i++) {
        rank[i] = 0;
        update[i] = this.#head;
        this.#head.span[i] = this.#length;
      }
      this.#level = level;
    }
    const node = new SkipNode(level, score, member);
    for (let i = 0; i < level; i++) {
      const u = update[i] as SkipNode;
      node.forward[i] = u.forward[i] ?? null;
      u.forward[i] = node;
      // The new node splits u's link: it takes the part of the span after its own position.
      const steps = (rank[0] as number) - (rank[i] as number);
      node.span[i] = (u.span[i] as number) - steps;
      u.span[i] = steps + 1;
    }
    for (let i = level; i < this.#level; i++) {
      const u = update[i] as SkipNode;
      u.span[i] = (u.span[i] as number) + 1;
    }
    node.prev = update[0] === this.#head ? null : (update[0] as SkipNode);
    const after = node.forward[0] ?? null;
    if (after !== null) after.prev = node;
    else this.#tail = node;
    this.#length++;
    return node;
  }

  /** Removes the pair; whether it was there. */
  delete(score: number, member: Buffer): boolean {
    const update = this.#update;
    let x = this.#head;
    for (let i = this.#level - 1; i >= 0; i--) {
      let next = x.forward[i] ?? null;
      while (next !== null && before(next.score, next.member, score, member)) {
        x = next;
        next = x.forward[i] ?? null;
      }
      update[i] = x;
    }
    const target = x.forward[0] ?? null;
    if (target === null || target.score !== score || !target.member.equals(member)) return false;
    for (let i = 0; i < this.#level; i++) {
      const u = update[i] as SkipNode;
      if (u.forward[i] === target) {
        u.span[i] = (u.span[i] as number) + (target.span[i] as number) - 1;
        u.forward[i] = target.forward[i] ?? null;
      } else {
        u.span[i] = (u.span[i] as number) - 1;
      }
    }
    const after = target.forward[0] ?? null;
    if (after !== null) after.prev = target.prev;
    else this.#tail = target.prev;
    while (this.#level > 1 && this.#head.forward[this.#level - 1] == null) this.#level--;
    this.#length--;
    return true;
  }

  /** The 0-based rank of a pair in the list. */
  rankOf(score: number, member: Buffer): number {
    let x = this.#head;
    let rank = 0;
    for (let i = this.#level - 1; i >= 0; i--) {
      let next = x.forward[i] ?? null;
      while (
        next !== null &&
        (before(next.score, next.member, score, member) ||
          (next.score === score && next.member.equals(member)))
      ) {
        rank += x.span[i] as number;
        x = next;
        next = x.forward[i] ?? null;
      }
    }
    return rank - 1;
  }

  /** The node at 0-based `rank`, or null past the end. */
  byRank(rank: number): SkipNode | null {
    if (rank < 0 || rank >= this.#length) return null;
    let x = this.#head;
    let traversed = 0;
    const target = rank + 1;
    for (let i = this.#level - 1; i >= 0; i--) {
      let next = x.forward[i] ?? null;
      while (next !== null && traversed + (x.span[i] as number) <= target) {
        traversed += x.span[i] as number;
        x = next;
        next = x.forward[i] ?? null;
      }
      if (traversed === target) return x;
    }
    return null;
  }

  /**
   * The first node for which `past(node)` is false, given that `past` is true for a prefix of
   * the list and false after it (e.g. "score below min"), and that node's 0-based rank.
   */
  firstWhere(past: (node: SkipNode) => boolean): { node: SkipNode | null; rank: number } {
    let x = this.#head;
    let rank = 0;
    for (let i = this.#level - 1; i >= 0; i--) {
      let next = x.forward[i] ?? null;
      while (next !== null && past(next)) {
        rank += x.span[i] as number;
        x = next;
        next = x.forward[i] ?? null;
      }
    }
    return { node: x.forward[0] ?? null, rank };
  }
}

/** A level from 1 to MAX_LEVEL, each one higher with probability LEVEL_P. */
function randomLevel(): number {
  let level = 1;
  while (level < MAX_LEVEL && Math.random() < LEVEL_P) level++;
  return level;
}
