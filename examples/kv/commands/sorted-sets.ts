import { RespError, type RespValue } from '../../../src/codec/resp-types.js';
import { wakeKey } from '../blocking.js';
import type { CommandSpec, Reply } from '../command.js';
import { groupSpec } from './group-spec.js';
import { parseInteger } from '../integers.js';
import type { KvState } from '../kv-state.js';
import { Errors } from '../replies.js';
import type { KvContext } from '../session.js';
import { KvZset } from '../sorted-set.js';
import { EMPTY_SCAN, parseCursor, parseScanOptions, scanReply } from '../member-scan.js';
import { globMatch } from '../glob.js';
import { keyOf } from '../store.js';
import { parseFloatArg, scanScoreText } from '../floats.js';
import { isWord } from '../words.js';
import {
  MAX_RANDOM_PICKS,
  membersReply,
  parseLexRange,
  parseScoreRange,
  scoreReply,
  ZsetErrors,
  zsetAt,
} from '../zset-replies.js';

const ZaddFlag = { NX: 1, XX: 2, GT: 4, LT: 8, CH: 16, INCR: 32 } as const;
const ZADD_OPTIONS: readonly [string, number][] = [
  ['NX', ZaddFlag.NX],
  ['XX', ZaddFlag.XX],
  ['GT', ZaddFlag.GT],
  ['LT', ZaddFlag.LT],
  ['CH', ZaddFlag.CH],
  ['INCR', ZaddFlag.INCR],
];
const NX_AND_XX = new RespError('ERR XX and NX options at the same time are not compatible');
const GT_LT_NX = new RespError('ERR GT, LT, and/or NX options at the same time are not compatible');
const INCR_PAIRS = new RespError('ERR INCR option supports a single increment-element pair');
const RANDOM_COUNT_RANGE = new RespError(
  'ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807',
);
const RANDOM_COUNT_SCORES = new RespError('ERR value is out of range');

/** What one ZADD element did, as Redis's `zsetAdd` reports it. */
type AddOutcome = 'added' | 'updated' | 'unchanged' | 'skipped' | 'nan';

/**
 * Adds or updates one member under the ZADD flags, in `zsetAdd`'s order: NX skips existing
 * members, INCR adds to the score (a NaN sum fails), GT/LT skip moves the wrong way, XX skips
 * new members. `out.score` is the member's score afterwards (for INCR's reply).
 */
function zsetAdd(
  zset: KvZset,
  member: Buffer,
  score: number,
  flags: number,
  out: { score: number },
): AddOutcome {
  const current = zset.score(member);
  if (current !== undefined) {
    if ((flags & ZaddFlag.NX) !== 0) return 'skipped';
    let next = score;
    if ((flags & ZaddFlag.INCR) !== 0) {
      next = current + score;
      if (Number.isNaN(next)) return 'nan';
    }
    if ((flags & ZaddFlag.LT) !== 0 && next >= current) return 'skipped';
    if ((flags & ZaddFlag.GT) !== 0 && next <= current) return 'skipped';
    out.score = next;
    if (next === current) return 'unchanged';
    zset.add(member, next);
    return 'updated';
  }
  if ((flags & ZaddFlag.XX) !== 0) return 'skipped';
  zset.add(member, score);
  out.score = score;
  return 'added';
}

/** The sorted set at `key`, created for `first` if missing; or the WRONGTYPE error. */
function zsetForWrite(kv: KvState, key: string, first: Buffer): KvZset | RespError {
  const found = zsetAt(kv, key);
  if (found !== undefined) return found;
  const zset = KvZset.forFirstMember(first);
  kv.store.set(key, zset);
  return zset;
}

function zadd(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  let flags = 0;
  let i = 2;
  for (; i < args.length; i++) {
    const option = ZADD_OPTIONS.find(([word]) => isWord(args[i] as Buffer, word));
    if (option === undefined) break;
    flags |= option[1];
  }
  const elements = args.length - i;
  if (elements === 0 || elements % 2 !== 0) return Errors.syntax;
  const has = (flag: number) => (flags & flag) !== 0;
  if (has(ZaddFlag.NX) && has(ZaddFlag.XX)) return NX_AND_XX;
  if ((has(ZaddFlag.GT) ? 1 : 0) + (has(ZaddFlag.LT) ? 1 : 0) + (has(ZaddFlag.NX) ? 1 : 0) > 1)
    return GT_LT_NX;
  if (has(ZaddFlag.INCR) && elements > 2) return INCR_PAIRS;
  const scores: number[] = [];
  for (let j = i; j < args.length; j += 2) {
    const score = parseFloatArg(args[j] as Buffer);
    if (score === undefined) return ZsetErrors.notFloat;
    scores.push(score);
  }
  const key = keyOf(args[1] as Buffer);
  const found = zsetAt(kv, key);
  if (found instanceof RespError) return found;
  if (found === undefined && has(ZaddFlag.XX)) return has(ZaddFlag.INCR) ? null : 0;
  const zset = found ?? zsetForWrite(kv, key, args[i + 1] as Buffer);
  if (zset instanceof RespError) return zset;
  let added = 0;
  let updated = 0;
  let processed = 0;
  const out = { score: 0 };
  for (let j = 0; j < scores.length; j++) {
    const outcome = zsetAdd(zset, args[i + 2 * j + 1] as Buffer, scores[j] as number, flags, out);
    if (outcome === 'nan') {
      if (zset.size === 0) kv.store.delete(key);
      return ZsetErrors.nan;
    }
    if (outcome === 'added') added++;
    else if (outcome === 'updated') updated++;
    if (outcome !== 'skipped') processed++;
  }
  // A key created for an element that NX/XX/GT/LT then skipped must not be left empty.
  if (zset.size === 0) kv.store.delete(key);
  else if (added > 0) wakeKey(kv, key);
  // Every write reaches the store's write hook (WATCH), as Redis signals a modified key.
  if (added + updated > 0) kv.store.written(key);
  if (has(ZaddFlag.INCR)) return processed > 0 ? scoreReply(out.score) : null;
  return has(ZaddFlag.CH) ? added + updated : added;
}

function zincrby(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const increment = parseFloatArg(args[2] as Buffer);
  if (increment === undefined) return ZsetErrors.notFloat;
  const key = keyOf(args[1] as Buffer);
  const member = args[3] as Buffer;
  const zset = zsetForWrite(kv, key, member);
  if (zset instanceof RespError) return zset;
  const out = { score: 0 };
  const outcome = zsetAdd(zset, member, increment, ZaddFlag.INCR, out);
  if (outcome === 'nan') return ZsetErrors.nan;
  if (outcome === 'added') wakeKey(kv, key);
  if (outcome === 'added' || outcome === 'updated') kv.store.written(key);
  return scoreReply(out.score);
}

function zrem(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const key = keyOf(args[1] as Buffer);
  const zset = zsetAt(kv, key);
  if (zset === undefined) return 0;
  if (zset instanceof RespError) return zset;
  let removed = 0;
  for (let i = 2; i < args.length; i++) if (zset.remove(args[i] as Buffer)) removed++;
  if (zset.size === 0) kv.store.delete(key);
  if (removed > 0) kv.store.written(key);
  return removed;
}

function zcard(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const zset = zsetAt(kv, keyOf(args[1] as Buffer));
  return zset instanceof KvZset ? zset.size : (zset ?? 0);
}

/** ZCOUNT and ZLEXCOUNT: the range is parsed (and refused) before the key is looked at. */
function zcount(lex: boolean) {
  return (kv: KvState, _ctx: KvContext, args: Buffer[]): Reply => {
    const min = args[2] as Buffer;
    const max = args[3] as Buffer;
    const scoreRange = lex ? undefined : parseScoreRange(min, max);
    const lexRange = lex ? parseLexRange(min, max) : undefined;
    if (!lex && scoreRange === undefined) return ZsetErrors.rangeNotFloat;
    if (lex && lexRange === undefined) return ZsetErrors.lexRange;
    const zset = zsetAt(kv, keyOf(args[1] as Buffer));
    if (zset === undefined) return 0;
    if (zset instanceof RespError) return zset;
    const [start, end] =
      lexRange !== undefined ? zset.lexRanks(lexRange) : zset.scoreRanks(scoreRange as never);
    return end - start;
  };
}

function zscore(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const zset = zsetAt(kv, keyOf(args[1] as Buffer));
  if (zset === undefined) return null;
  if (zset instanceof RespError) return zset;
  const score = zset.score(args[2] as Buffer);
  return score === undefined ? null : scoreReply(score);
}

function zmscore(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const zset = zsetAt(kv, keyOf(args[1] as Buffer));
  if (zset instanceof RespError) return zset;
  const out: RespValue[] = [];
  for (let i = 2; i < args.length; i++) {
    const score = zset?.score(args[i] as Buffer);
    out.push(score === undefined ? null : scoreReply(score));
  }
  return out;
}

function zrank(reverse: boolean) {
  return (kv: KvState, _ctx: KvContext, args: Buffer[]): Reply => {
    const zset = zsetAt(kv, keyOf(args[1] as Buffer));
    if (zset === undefined) return null;
    if (zset instanceof RespError) return zset;
    const rank = zset.rankOf(args[2] as Buffer);
    if (rank === undefined) return null;
    return reverse ? zset.size - 1 - rank : rank;
  };
}

/**
 * ZRANDMEMBER: one member; `count` distinct members (the whole set if it has no more); or,
 * for a negative count, that many picks that may repeat.
 */
function zrandmember(kv: KvState, ctx: KvContext, args: Buffer[]): Reply {
  const key = keyOf(args[1] as Buffer);
  if (args.length === 2) {
    const zset = zsetAt(kv, key);
    if (zset === undefined) return null;
    if (zset instanceof RespError) return zset;
    return randomNode(zset).member;
  }
  const parsed = parseInteger(args[2] as Buffer);
  if (parsed === undefined) return Errors.notInteger;
  if (parsed < -(2n ** 63n - 1n)) return RANDOM_COUNT_RANGE;
  if (args.length > 4 || (args.length === 4 && !isWord(args[3] as Buffer, 'WITHSCORES')))
    return Errors.syntax;
  const withScores = args.length === 4;
  if (withScores && (parsed < -(2n ** 62n - 1n) || parsed > 2n ** 62n - 1n))
    return RANDOM_COUNT_SCORES;
  const zset = zsetAt(kv, key);
  if (zset === undefined) return [];
  if (zset instanceof RespError) return zset;
  const count = Number(parsed);
  if (count === 0) return [];
  if (count < -MAX_RANDOM_PICKS) return ZsetErrors.tooManyPicks;
  const picks: { member: Buffer; score: number }[] = [];
  if (count < 0 || count === 1) {
    const n = Math.abs(count);
    for (let i = 0; i < n; i++) picks.push(randomNode(zset));
  } else if (count >= zset.size) {
    for (let node = zset.list.first; node !== null; node = node.next) picks.push(node);
    shuffle(picks);
  } else {
    const chosen = new Set<number>();
    while (chosen.size < count) chosen.add(Math.floor(Math.random() * zset.size));
    for (const rank of chosen)
      picks.push(zset.list.byRank(rank) as { member: Buffer; score: number });
  }
  return membersReply(ctx, picks, withScores);
}

function randomNode(zset: KvZset): { member: Buffer; score: number } {
  return zset.list.byRank(Math.floor(Math.random() * zset.size)) as {
    member: Buffer;
    score: number;
  };
}

function shuffle<T>(items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
}

/** ZSCAN: members and their scores, flat, the scores as bulk strings in RESP2 and RESP3 alike. */
function zscan(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const cursor = parseCursor(args[2] as Buffer);
  if (cursor === undefined) return Errors.invalidCursor;
  const zset = zsetAt(kv, keyOf(args[1] as Buffer));
  if (zset === undefined) return EMPTY_SCAN();
  if (zset instanceof RespError) return zset;
  const options = parseScanOptions(args, 3);
  if (options instanceof RespError) return options;
  const page = zset.scan(cursor, options.count);
  const items: Buffer[] = [];
  for (const [member, score] of page.pairs) {
    if (options.pattern !== undefined && !globMatch(options.pattern, member.toString('latin1')))
      continue;
    items.push(member, Buffer.from(scanScoreText(score), 'latin1'));
  }
  return scanReply(page.cursor, items);
}

const group = 'sorted-set';

const spec = groupSpec(group);

/**
 * ZADD, ZINCRBY, ZREM, ZCARD, ZCOUNT, ZLEXCOUNT, ZSCORE, ZMSCORE, ZRANK, ZREVRANK, ZRANDMEMBER
 * and ZSCAN; the range, algebra and pop commands are in files of their own.
 *
 * @example
 * ```ts
 * const table = new CommandTable(sortedSetCommands);
 * ```
 */
export const sortedSetCommands: readonly CommandSpec[] = [
  spec(
    'zadd',
    -4,
    ['write', 'denyoom', 'fast'],
    'Add one or more members to a sorted set, or update its score if it already exists',
    zadd,
  ),
  spec(
    'zincrby',
    4,
    ['write', 'denyoom', 'fast'],
    'Increment the score of a member in a sorted set',
    zincrby,
  ),
  spec('zrem', -3, ['write', 'fast'], 'Remove one or more members from a sorted set', zrem),
  spec('zcard', 2, ['readonly', 'fast'], 'Get the number of members in a sorted set', zcard),
  spec(
    'zcount',
    4,
    ['readonly', 'fast'],
    'Count the members in a sorted set with scores within the given values',
    zcount(false),
  ),
  spec(
    'zlexcount',
    4,
    ['readonly', 'fast'],
    'Count the number of members in a sorted set between a given lexicographical range',
    zcount(true),
  ),
  spec(
    'zscore',
    3,
    ['readonly', 'fast'],
    'Get the score associated with the given member in a sorted set',
    zscore,
  ),
  spec(
    'zmscore',
    -3,
    ['readonly', 'fast'],
    'Get the score associated with the given members in a sorted set',
    zmscore,
  ),
  spec(
    'zrank',
    3,
    ['readonly', 'fast'],
    'Determine the index of a member in a sorted set',
    zrank(false),
  ),
  spec(
    'zrevrank',
    3,
    ['readonly', 'fast'],
    'Determine the index of a member in a sorted set, with scores ordered from high to low',
    zrank(true),
  ),
  spec(
    'zrandmember',
    -2,
    ['readonly'],
    'Get one or multiple random elements from a sorted set',
    zrandmember,
  ),
  spec(
    'zscan',
    -3,
    ['readonly'],
    'Incrementally iterate sorted sets elements and associated scores',
    zscan,
  ),
];
