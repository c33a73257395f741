import { RespError } from '../../../src/codec/resp-types.js';
import type { CommandSpec, Reply } from '../command.js';
import { groupSpec } from './group-spec.js';
import { parseInteger } from '../integers.js';
import type { KvState } from '../kv-state.js';
import { Errors } from '../replies.js';
import type { KvContext } from '../session.js';
import type { SkipNode } from '../skip-list.js';
import type { KvZset } from '../sorted-set.js';
import { keyOf } from '../store.js';
import { isWord } from '../words.js';
import {
  membersReply,
  parseLexRange,
  parseScoreRange,
  storeZset,
  ZsetErrors,
  zsetAt,
} from '../zset-replies.js';

/**
 * ZRANGE in all its forms (and the older ZREVRANGE, Z[REV]RANGEBYSCORE, Z[REV]RANGEBYLEX and
 * ZRANGESTORE, which are ZRANGE with some options fixed), and ZREMRANGEBYRANK/SCORE/LEX.
 * Checks run in Redis's order: options, their conflicts, the range, and only then the key.
 */

type RangeKind = 'rank' | 'score' | 'lex';

const LIMIT_NEEDS_BY = new RespError(
  'ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX',
);
const LEX_NO_SCORES = new RespError(
  'ERR syntax error, WITHSCORES not supported in combination with BYLEX',
);

/** What a command fixes before its options are read. */
interface RangeForm {
  kind?: RangeKind;
  reverse?: boolean;
  store?: boolean;
}

/**
 * Rank bounds as Redis clamps them: negatives count from the end; undefined for an empty range.
 */
function clampRanks(start: number, end: number, length: number): [number, number] | undefined {
  let from = start < 0 ? length + start : start;
  let to = end < 0 ? length + end : end;
  if (from < 0) from = 0;
  if (from > to || from >= length) return undefined;
  if (to >= length) to = length - 1;
  return [from, to];
}

function asInteger(bytes: Buffer): number | undefined {
  const parsed = parseInteger(bytes);
  return parsed === undefined ? undefined : Number(parsed);
}

function zrangeGeneric(form: RangeForm) {
  return (kv: KvState, ctx: KvContext, args: Buffer[]): Reply => {
    const at = form.store === true ? 2 : 1;
    let kind = form.kind;
    let reverse = form.reverse;
    let withScores = false;
    let offset = 0;
    let limit = -1;
    let limited = false;
    for (let j = at + 3; j < args.length; j++) {
      const option = args[j] as Buffer;
      if (isWord(option, 'WITHSCORES') && form.store !== true) {
        withScores = true;
      } else if (isWord(option, 'LIMIT') && args.length - j - 1 >= 2) {
        const o = asInteger(args[j + 1] as Buffer);
        const l = asInteger(args[j + 2] as Buffer);
        if (o === undefined || l === undefined) return Errors.notInteger;
        offset = o;
        limit = l;
        limited = true;
        j += 2;
      } else if (reverse === undefined && isWord(option, 'REV')) {
        reverse = true;
      } else if (kind === undefined && isWord(option, 'BYLEX')) {
        kind = 'lex';
      } else if (kind === undefined && isWord(option, 'BYSCORE')) {
        kind = 'score';
      } else {
        return Errors.syntax;
      }
    }
    kind ??= 'rank';
    reverse ??= false;
    // Redis reads a LIMIT of -1 as "none" too, so only an explicit other value conflicts.
    if (limited && limit !== -1 && kind === 'rank') return LIMIT_NEEDS_BY;
    if (withScores && kind === 'lex') return LEX_NO_SCORES;
    let low = args[at + 1] as Buffer;
    let high = args[at + 2] as Buffer;
    // Reversed score and lex ranges are written max first.
    if (reverse && kind !== 'rank') [low, high] = [high, low];
    let pick: (zset: KvZset) => SkipNode[];
    if (kind === 'rank') {
      const start = asInteger(low);
      const end = asInteger(high);
      if (start === undefined || end === undefined) return Errors.notInteger;
      pick = (zset) => byRank(zset, start, end, reverse as boolean);
    } else {
      const ranks = kind === 'score' ? scoreRanker(low, high) : lexRanker(low, high);
      if (ranks === undefined)
        return kind === 'score' ? ZsetErrors.rangeNotFloat : ZsetErrors.lexRange;
      pick = (zset) => byRanks(zset, ranks(zset), offset, limit, reverse as boolean);
    }
    const found = zsetAt(kv, keyOf(args[at] as Buffer));
    if (found instanceof RespError) return found;
    const nodes = found === undefined ? [] : pick(found);
    if (form.store === true) {
      return storeZset(
        kv,
        keyOf(args[1] as Buffer),
        nodes.map((node): [Buffer, number] => [node.member, node.score]),
      );
    }
    return membersReply(ctx, nodes, withScores);
  };
}

function scoreRanker(low: Buffer, high: Buffer): ((zset: KvZset) => [number, number]) | undefined {
  const range = parseScoreRange(low, high);
  return range === undefined ? undefined : (zset) => zset.scoreRanks(range);
}

function lexRanker(low: Buffer, high: Buffer): ((zset: KvZset) => [number, number]) | undefined {
  const range = parseLexRange(low, high);
  return range === undefined ? undefined : (zset) => zset.lexRanks(range);
}

function byRank(zset: KvZset, start: number, end: number, reverse: boolean): SkipNode[] {
  const ranks = clampRanks(start, end, zset.size);
  if (ranks === undefined) return [];
  const count = ranks[1] - ranks[0] + 1;
  return reverse
    ? zset.nodesFrom(zset.size - 1 - ranks[0], count, true)
    : zset.nodesFrom(ranks[0], count, false);
}

/**
 * The members of ranks `[start, end)`, skipping `offset` from the near end and taking up to
 * `limit` (negative: all). A negative offset walks off the list in Redis: nothing.
 */
function byRanks(
  zset: KvZset,
  [start, end]: [number, number],
  offset: number,
  limit: number,
  reverse: boolean,
): SkipNode[] {
  if (offset < 0) return [];
  const available = end - start - offset;
  if (available <= 0) return [];
  const count = limit < 0 ? available : Math.min(limit, available);
  return reverse
    ? zset.nodesFrom(end - 1 - offset, count, true)
    : zset.nodesFrom(start + offset, count, false);
}

/** ZREMRANGEBYRANK, ZREMRANGEBYSCORE and ZREMRANGEBYLEX: how many members went. */
function zremrange(kind: RangeKind) {
  return (kv: KvState, _ctx: KvContext, args: Buffer[]): Reply => {
    const low = args[2] as Buffer;
    const high = args[3] as Buffer;
    let ranks: (zset: KvZset) => [number, number] | undefined;
    if (kind === 'rank') {
      const start = asInteger(low);
      const end = asInteger(high);
      if (start === undefined || end === undefined) return Errors.notInteger;
      ranks = (zset) => {
        const clamped = clampRanks(start, end, zset.size);
        return clamped === undefined ? undefined : [clamped[0], clamped[1] + 1];
      };
    } else {
      const ranker = kind === 'score' ? scoreRanker(low, high) : lexRanker(low, high);
      if (ranker === undefined)
        return kind === 'score' ? ZsetErrors.rangeNotFloat : ZsetErrors.lexRange;
      ranks = ranker;
    }
    const key = keyOf(args[1] as Buffer);
    const zset = zsetAt(kv, key);
    if (zset === undefined) return 0;
    if (zset instanceof RespError) return zset;
    const span = ranks(zset);
    if (span === undefined || span[1] <= span[0]) return 0;
    const doomed = zset.nodesFrom(span[0], span[1] - span[0], false);
    for (const node of doomed) zset.remove(node.member);
    if (zset.size === 0) kv.store.delete(key);
    kv.store.written(key);
    return doomed.length;
  };
}

const group = 'sorted-set';
const READ = ['readonly'];

const spec = groupSpec(group);

/**
 * ZRANGE, ZRANGESTORE, ZREVRANGE, ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX,
 * ZREVRANGEBYLEX, ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX.
 *
 * @example
 * ```ts
 * const table = new CommandTable(sortedSetRangeCommands);
 * ```
 */
export const sortedSetRangeCommands: readonly CommandSpec[] = [
  spec('zrange', -4, READ, 'Return a range of members in a sorted set', zrangeGeneric({})),
  spec(
    'zrangestore',
    -5,
    ['write', 'denyoom'],
    'Store a range of members from sorted set into another key',
    zrangeGeneric({ store: true }),
    2,
  ),
  spec(
    'zrevrange',
    -4,
    READ,
    'Return a range of members in a sorted set, by index, with scores ordered from high to low',
    zrangeGeneric({ kind: 'rank', reverse: true }),
  ),
  spec(
    'zrangebyscore',
    -4,
    READ,
    'Return a range of members in a sorted set, by score',
    zrangeGeneric({ kind: 'score', reverse: false }),
  ),
  spec(
    'zrevrangebyscore',
    -4,
    READ,
    'Return a range of members in a sorted set, by score, with scores ordered from high to low',
    zrangeGeneric({ kind: 'score', reverse: true }),
  ),
  spec(
    'zrangebylex',
    -4,
    READ,
    'Return a range of members in a sorted set, by lexicographical range',
    zrangeGeneric({ kind: 'lex', reverse: false }),
  ),
  spec(
    'zrevrangebylex',
    -4,
    READ,
    'Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.',
    zrangeGeneric({ kind: 'lex', reverse: true }),
  ),
  spec(
    'zremrangebyrank',
    4,
    ['write'],
    'Remove all members in a sorted set within the given indexes',
    zremrange('rank'),
  ),
  spec(
    'zremrangebyscore',
    4,
    ['write'],
    'Remove all members in a sorted set within the given scores',
    zremrange('score'),
  ),
  spec(
    'zremrangebylex',
    4,
    ['write'],
    'Remove all members in a sorted set between the given lexicographical range',
    zremrange('lex'),
  ),
];
