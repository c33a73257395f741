import { RespDouble, RespError, type RespValue } from '../../src/codec/resp-types.js';
import { wakeKey } from './blocking.js';
import { formatDouble, parseRangeFloat } from './floats.js';
import type { KvState } from './kv-state.js';
import { Errors } from './replies.js';
import type { KvContext } from './session.js';
import type { SkipNode } from './skip-list.js';
import { KvZset, type LexRange, type ScoreRange } from './sorted-set.js';

/**
 * What the sorted-set command files share: finding a sorted set, the score and member-list
 * reply shapes of RESP2 and RESP3, and the parsing of score and lex bounds, each with Redis's
 * error texts.
 */

export const ZsetErrors = {
  notFloat: new RespError('ERR value is not a valid float'),
  rangeNotFloat: new RespError('ERR min or max is not a float'),
  lexRange: new RespError('ERR min or max not valid string range item'),
  nan: new RespError('ERR resulting score is not a number (NaN)'),
  weight: new RespError('ERR weight value is not a float'),
  /** Not Redis's: it would try to send the reply (see `MAX_RANDOM_PICKS`). */
  tooManyPicks: new RespError('ERR count is too large: at most 4194304 picks with repetition'),
} as const;

/**
 * The most members SRANDMEMBER or ZRANDMEMBER sends for a negative count (picks that may
 * repeat, so the set's size does not bound them). Redis has no such bound and would try to
 * build a reply of up to 2^63 members; here one request cannot exhaust the server's memory.
 */
export const MAX_RANDOM_PICKS = 1 << 22;

/**
 * The sorted set at `key`: undefined if none, or the WRONGTYPE error.
 *
 * @example
 * ```ts
 * const zset = zsetAt(kv, 'board');
 * if (zset instanceof RespError) return zset;
 * ```
 */
export function zsetAt(kv: KvState, key: string): KvZset | undefined | RespError {
  const entry = kv.store.lookup(key);
  if (entry === undefined) return undefined;
  return entry.value instanceof KvZset ? entry.value : Errors.wrongType;
}

/**
 * A score as Redis 7.0 sends it: `%.17g` text, a bulk string in RESP2 and a double in RESP3.
 *
 * @example
 * ```ts
 * scoreReply(0.1); // RESP2 $19 0.10000000000000001, RESP3 ,0.10000000000000001
 * ```
 */
export function scoreReply(score: number): RespDouble {
  return new RespDouble(score, formatDouble(score));
}

/**
 * Members, with their scores if asked: flat `member score …` in RESP2, `[member, score]` pairs
 * in RESP3, as ZRANGE WITHSCORES replies.
 *
 * @example
 * ```ts
 * return membersReply(ctx, zset.nodesFrom(0, 10, false), true);
 * ```
 */
export function membersReply(
  ctx: KvContext,
  nodes: readonly Pick<SkipNode, 'member' | 'score'>[],
  withScores: boolean,
): RespValue[] {
  const out: RespValue[] = [];
  const pairs = ctx.session.protocol === 3;
  for (const node of nodes) {
    if (!withScores) out.push(node.member);
    else if (pairs) out.push([node.member, scoreReply(node.score)]);
    else out.push(node.member, scoreReply(node.score));
  }
  return out;
}

/**
 * A ZRANGEBYSCORE min/max pair, `(` marking an exclusive end; undefined when either is not a
 * float as Redis reads one.
 *
 * @example
 * ```ts
 * parseScoreRange(Buffer.from('(1'), Buffer.from('+inf')); // { min: 1, minExclusive: true, … }
 * ```
 */
export function parseScoreRange(min: Buffer, max: Buffer): ScoreRange | undefined {
  const low = parseBound(min.toString('latin1'));
  const high = parseBound(max.toString('latin1'));
  if (low === undefined || high === undefined) return undefined;
  return { min: low[0], minExclusive: low[1], max: high[0], maxExclusive: high[1] };
}

function parseBound(text: string): [number, boolean] | undefined {
  const exclusive = text.startsWith('(');
  const value = parseRangeFloat(exclusive ? text.slice(1) : text);
  return value === undefined ? undefined : [value, exclusive];
}

/**
 * A ZRANGEBYLEX min/max pair: `-`, `+`, `[member` or `(member`; undefined otherwise.
 *
 * @example
 * ```ts
 * parseLexRange(Buffer.from('[a'), Buffer.from('+'));
 * ```
 */
export function parseLexRange(min: Buffer, max: Buffer): LexRange | undefined {
  const low = parseLexItem(min);
  const high = parseLexItem(max);
  if (low === undefined || high === undefined) return undefined;
  return { min: low[0], minExclusive: low[1], max: high[0], maxExclusive: high[1] };
}

function parseLexItem(item: Buffer): [Buffer | '-' | '+', boolean] | undefined {
  const first = item[0];
  // Redis reads `+` and `-` as C strings, so a NUL right after them ends the item.
  const alone = item.length === 1 || item[1] === 0;
  if (first === 0x2b) return alone ? ['+', true] : undefined;
  if (first === 0x2d) return alone ? ['-', true] : undefined;
  if (first === 0x28) return [item.subarray(1), true];
  if (first === 0x5b) return [item.subarray(1), false];
  return undefined;
}

/**
 * Stores a computed sorted set at `key` (the *STORE commands): an empty result deletes the
 * key instead, as Redis does. Returns the stored size.
 *
 * @example
 * ```ts
 * return storeZset(kv, 'dst', pairs);
 * ```
 */
export function storeZset(kv: KvState, key: string, pairs: Iterable<[Buffer, number]>): number {
  const zset = KvZset.fromPairs(pairs);
  if (zset.size === 0) {
    if (kv.store.delete(key)) kv.store.written(key);
  } else {
    kv.store.set(key, zset);
    // The write hook (WATCH) first; then the clients blocked on `key` are served.
    kv.store.written(key);
    wakeKey(kv, key);
  }
  return zset.size;
}
