import { RespError, type RespValue } from '../../../src/codec/resp-types.js';
import { block } from '../blocking.js';
import { command, type CommandSpec, keyed, type Reply } from '../command.js';
import { parseFloatArg } from '../floats.js';
import { parseInteger } from '../integers.js';
import type { KvState } from '../kv-state.js';
import { Errors, NO_REPLY, NULL_ARRAY } from '../replies.js';
import type { KvContext } from '../session.js';
import type { SkipNode } from '../skip-list.js';
import { KvZset } from '../sorted-set.js';
import { keyBytes, keyOf } from '../store.js';
import { isWord } from '../words.js';
import { membersReply, scoreReply, zsetAt } from '../zset-replies.js';

/**
 * ZPOPMIN, ZPOPMAX, ZMPOP and their blocking forms BZPOPMIN, BZPOPMAX, BZMPOP. The blocking
 * ones answer at once when a key has members and otherwise wait (see `blocking.ts`) for a
 * ZADD, ZINCRBY or *STORE to fill one; a timeout answers with a null array (`*-1` in RESP2).
 */

const NUMKEYS = new RespError('ERR numkeys should be greater than 0');
const COUNT_POSITIVE = new RespError('ERR count should be greater than 0');
const TIMEOUT_NOT_FLOAT = new RespError('ERR timeout is not a float or out of range');
const TIMEOUT_NEGATIVE = new RespError('ERR timeout is negative');

/** Pops up to `count` members from the low (min) or high end; deletes an emptied key. */
function popFrom(kv: KvState, key: string, zset: KvZset, count: number, max: boolean): SkipNode[] {
  const n = Math.min(count, zset.size);
  const nodes = max ? zset.nodesFrom(zset.size - 1, n, true) : zset.nodesFrom(0, n, false);
  for (const node of nodes) zset.remove(node.member);
  if (zset.size === 0) kv.store.delete(key);
  if (nodes.length > 0) kv.store.written(key);
  return nodes;
}

/** The first key among `keys` holding a sorted set, or WRONGTYPE for the first that is not. */
function firstZset(kv: KvState, keys: readonly string[]): [string, KvZset] | RespError | undefined {
  for (const key of keys) {
    const zset = zsetAt(kv, key);
    if (zset === undefined) continue;
    return zset instanceof RespError ? zset : [key, zset];
  }
  return undefined;
}

/**
 * A timeout in seconds as Redis reads it, in ms (0: wait for ever); or its error. Redis reads
 * it as a C long double, whose range is far wider than a double's, then casts seconds × 1000
 * to a 64-bit integer; a value past that range (`1e400`, `inf`) comes out negative there.
 */
function parseTimeout(bytes: Buffer): number | RespError {
  const seconds = parseFloatArg(bytes);
  if (seconds === undefined) return longDoubleOnly(bytes.toString('latin1'));
  if (!Number.isFinite(seconds) || Math.abs(seconds * 1000) >= 2 ** 63) return TIMEOUT_NEGATIVE;
  const ms = Math.trunc(seconds * 1000);
  return ms < 0 ? TIMEOUT_NEGATIVE : ms;
}

/** A decimal that only a long double holds: too large casts negative, too small reads 0. */
function longDoubleOnly(text: string): number | RespError {
  const match = /^[+-]?(?:\d+\.?\d*|\.\d+)[eE]([+-]?\d+)$/.exec(text);
  if (match === null) return TIMEOUT_NOT_FLOAT;
  const exponent = Number(match[1]);
  if (exponent > 4931 || exponent < -4950) return TIMEOUT_NOT_FLOAT;
  return exponent > 0 ? TIMEOUT_NEGATIVE : 0;
}

function zpop(max: boolean) {
  return (kv: KvState, ctx: KvContext, args: Buffer[]): Reply => {
    if (args.length > 3) return Errors.syntax;
    let count = 1;
    if (args.length === 3) {
      const parsed = parseInteger(args[2] as Buffer);
      if (parsed === undefined || parsed < 0) return Errors.notPositive;
      count = Number(parsed);
    }
    const key = keyOf(args[1] as Buffer);
    const zset = zsetAt(kv, key);
    if (zset instanceof RespError) return zset;
    if (zset === undefined || count === 0) return [];
    const nodes = popFrom(kv, key, zset, count, max);
    // Without a count RESP3 gets a flat pair, as RESP2 does; with one, [member, score] pairs.
    return args.length === 3 ? membersReply(ctx, nodes, true) : flat(nodes);
  };
}

function flat(nodes: readonly SkipNode[]): RespValue[] {
  const out: RespValue[] = [];
  for (const node of nodes) out.push(node.member, scoreReply(node.score));
  return out;
}

/** BZPOPMIN / BZPOPMAX key [key …] timeout: `[key, member, score]`. */
function bzpop(max: boolean) {
  return (kv: KvState, ctx: KvContext, args: Buffer[]): Reply => {
    const timeout = parseTimeout(args[args.length - 1] as Buffer);
    if (timeout instanceof RespError) return timeout;
    const keys = args.slice(1, -1).map(keyOf);
    const serve = (key: string): RespValue | undefined => {
      const zset = zsetAt(kv, key);
      if (!(zset instanceof KvZset)) return undefined;
      const [node] = popFrom(kv, key, zset, 1, max) as [SkipNode];
      return [keyBytes(key), node.member, scoreReply(node.score)];
    };
    const found = firstZset(kv, keys);
    if (found instanceof RespError) return found;
    if (found !== undefined) return serve(found[0]) as RespValue;
    block(kv, ctx, keys, timeout, serve, NULL_ARRAY);
    return NO_REPLY;
  };
}

/** ZMPOP / BZMPOP: `[key, [[member, score], …]]`, or a null array when nothing is there. */
function zmpop(blocking: boolean) {
  return (kv: KvState, ctx: KvContext, args: Buffer[]): Reply => {
    const at = blocking ? 2 : 1;
    let timeout = 0;
    if (blocking) {
      const parsed = parseTimeout(args[1] as Buffer);
      if (parsed instanceof RespError) return parsed;
      timeout = parsed;
    }
    const numkeys = parseInteger(args[at] as Buffer);
    if (numkeys === undefined || numkeys < 1) return NUMKEYS;
    const whereAt = at + Number(numkeys) + 1;
    if (whereAt >= args.length) return Errors.syntax;
    const where = args[whereAt] as Buffer;
    let max: boolean;
    if (isWord(where, 'MIN')) max = false;
    else if (isWord(where, 'MAX')) max = true;
    else return Errors.syntax;
    let count = -1;
    for (let j = whereAt + 1; j < args.length; j++) {
      if (count === -1 && isWord(args[j] as Buffer, 'COUNT') && j + 1 < args.length) {
        const parsed = parseInteger(args[j + 1] as Buffer);
        if (parsed === undefined || parsed < 1) return COUNT_POSITIVE;
        count = Number(parsed);
        j++;
      } else {
        return Errors.syntax;
      }
    }
    const n = count === -1 ? 1 : count;
    const keys = args.slice(at + 1, whereAt).map(keyOf);
    const serve = (key: string): RespValue | undefined => {
      const zset = zsetAt(kv, key);
      if (!(zset instanceof KvZset)) return undefined;
      return [keyBytes(key), pairs(popFrom(kv, key, zset, n, max))];
    };
    const found = firstZset(kv, keys);
    if (found instanceof RespError) return found;
    if (found !== undefined) return serve(found[0]) as RespValue;
    if (!blocking) return NULL_ARRAY;
    block(kv, ctx, keys, timeout, serve, NULL_ARRAY);
    return NO_REPLY;
  };
}

/** `[member, score]` pairs, in RESP2 and RESP3 alike (ZMPOP always nests them). */
function pairs(nodes: readonly SkipNode[]): RespValue[] {
  return nodes.map((node) => [node.member, scoreReply(node.score)]);
}

const group = 'sorted-set';

/**
 * ZPOPMIN, ZPOPMAX, ZMPOP, BZPOPMIN, BZPOPMAX, BZMPOP.
 *
 * @example
 * ```ts
 * const table = new CommandTable(sortedSetPopCommands);
 * ```
 */
export const sortedSetPopCommands: readonly CommandSpec[] = [
  keyed({
    name: 'zpopmin',
    arity: -2,
    group,
    flags: ['write', 'fast'],
    summary: 'Remove and return members with the lowest scores in a sorted set',
    handler: zpop(false),
  }),
  keyed({
    name: 'zpopmax',
    arity: -2,
    group,
    flags: ['write', 'fast'],
    summary: 'Remove and return members with the highest scores in a sorted set',
    handler: zpop(true),
  }),
  command({
    name: 'zmpop',
    arity: -4,
    group,
    flags: ['write', 'movablekeys'],
    summary: 'Remove and return members with scores in a sorted set',
    handler: zmpop(false),
  }),
  keyed(
    {
      name: 'bzpopmin',
      arity: -3,
      group,
      flags: ['write', 'noscript', 'blocking', 'fast'],
      summary:
        'Remove and return the member with the lowest score from one or more sorted sets, or block until one is available',
      handler: bzpop(false),
    },
    1,
    -2,
    1,
  ),
  keyed(
    {
      name: 'bzpopmax',
      arity: -3,
      group,
      flags: ['write', 'noscript', 'blocking', 'fast'],
      summary:
        'Remove and return the member with the highest score from one or more sorted sets, or block until one is available',
      handler: bzpop(true),
    },
    1,
    -2,
    1,
  ),
  command({
    name: 'bzmpop',
    arity: -5,
    group,
    flags: ['write', 'blocking', 'movablekeys'],
    summary:
      'Remove and return members with scores in a sorted set or block until one is available',
    handler: zmpop(true),
  }),
];
