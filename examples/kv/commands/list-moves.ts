import { RespError, type RespValue } from '../../../src/codec/resp-types.js';
import { blockOn } from '../blocking.js';
import { type CommandSpec, keyed, type Reply } from '../command.js';
import { parseInteger } from '../integers.js';
import type { KvState } from '../kv-state.js';
import { parseLongDouble } from '../long-double.js';
import { Errors, NO_REPLY, NULL_ARRAY } from '../replies.js';
import type { KvContext } from '../session.js';
import { keyBytes, keyOf, KvList } from '../store.js';
import { isWord } from '../words.js';
import { listAt, popItems, pushItems, sideOf } from './list-access.js';

const NUMKEYS = new RespError('ERR numkeys should be greater than 0');
const COUNT_POSITIVE = new RespError('ERR count should be greater than 0');

/**
 * LMOVE's work once the source is known to be a non-empty list: the destination is checked
 * (WRONGTYPE leaves the source alone), then one element moves. Same-key rotation works because
 * the destination is looked up before the pop.
 */
function move(kv: KvState, from: string, to: string, left: boolean, toLeft: boolean): RespValue {
  const source = kv.store.peek(from)?.value as KvList;
  const target = listAt(kv, to);
  if (target instanceof RespError) return target;
  const value = (left ? source.items.popFront() : source.items.popBack()) as Buffer;
  if (from !== to && source.items.length === 0) kv.store.delete(from);
  kv.store.written(from);
  pushItems(kv, to, [value], toLeft);
  return value;
}

/** The source list of a move, undefined when missing or empty, or WRONGTYPE. */
function moveSource(kv: KvState, key: string): KvList | undefined | RespError {
  const list = listAt(kv, key);
  return list instanceof KvList && list.items.length === 0 ? undefined : list;
}

/** A blocking command's timeout in ms (seconds, fractional allowed), or Redis's error. */
function timeoutOf(bytes: Buffer): number | RespError {
  const parsed = parseLongDouble(bytes);
  if (parsed === undefined) return Errors.timeoutNotFloat;
  // C truncates the product to an integer; an infinity converts to LLONG_MIN on x86-64.
  const seconds =
    'infinite' in parsed
      ? Number.NEGATIVE_INFINITY
      : Number(parsed.m) * 2 ** parsed.e * (parsed.negative ? -1 : 1);
  const ms = Math.trunc(seconds * 1000);
  if (!(ms >= 0)) return Errors.timeoutNegative;
  return ms;
}

function lmove(
  kv: KvState,
  args: Buffer[],
  left: boolean | RespError,
  toLeft: boolean | RespError,
): Reply {
  if (left instanceof RespError) return left;
  if (toLeft instanceof RespError) return toLeft;
  const from = keyOf(args[1] as Buffer);
  const source = moveSource(kv, from);
  if (source === undefined) return null;
  if (source instanceof RespError) return source;
  return move(kv, from, keyOf(args[2] as Buffer), left, toLeft);
}

function blmove(
  kv: KvState,
  ctx: KvContext,
  args: Buffer[],
  left: boolean | RespError,
  toLeft: boolean | RespError,
  timeoutArg: Buffer,
): Reply {
  if (left instanceof RespError) return left;
  if (toLeft instanceof RespError) return toLeft;
  const timeout = timeoutOf(timeoutArg);
  if (timeout instanceof RespError) return timeout;
  const from = keyOf(args[1] as Buffer);
  const to = keyOf(args[2] as Buffer);
  const source = moveSource(kv, from);
  if (source instanceof RespError) return source;
  if (source !== undefined) return move(kv, from, to, left, toLeft);
  // Inside EXEC, redis-server answers a null bulk string here, not the null array a timeout
  // gets.
  if (ctx.session.inExec) return null;
  blockOn(
    kv,
    ctx,
    [from],
    () => (moveSource(kv, from) instanceof KvList ? move(kv, from, to, left, toLeft) : undefined),
    timeout,
    NULL_ARRAY,
  );
  return NO_REPLY;
}

/** BLPOP / BRPOP key... timeout: the first key holding a non-empty list is popped. */
function bpop(left: boolean) {
  return (kv: KvState, ctx: KvContext, args: Buffer[]): Reply => {
    const timeout = timeoutOf(args[args.length - 1] as Buffer);
    if (timeout instanceof RespError) return timeout;
    const keys = args.slice(1, -1).map(keyOf);
    for (const key of keys) {
      const list = listAt(kv, key);
      if (list instanceof RespError) return list;
      if (list !== undefined && list.items.length > 0) {
        return [keyBytes(key), popItems(kv, key, list, 1, left)[0] as Buffer];
      }
    }
    const serve = (key: string): RespValue | undefined => {
      const list = kv.store.peek(key)?.value;
      if (!(list instanceof KvList) || list.items.length === 0) return undefined;
      return [keyBytes(key), popItems(kv, key, list, 1, left)[0] as Buffer];
    };
    blockOn(kv, ctx, keys, serve, timeout, NULL_ARRAY);
    return NO_REPLY;
  };
}

interface MpopArgs {
  keys: string[];
  left: boolean;
  count: number;
}

/** LMPOP's and BLMPOP's `numkeys key... LEFT|RIGHT [COUNT n]` from argument `at`. */
function parseMpop(args: Buffer[], at: number): MpopArgs | RespError {
  const numkeys = parseInteger(args[at] as Buffer);
  if (numkeys === undefined || numkeys < 1) return NUMKEYS;
  const whereAt = at + Number(numkeys) + 1;
  if (whereAt >= args.length) return Errors.syntax;
  const left = sideOf(args[whereAt] as Buffer);
  if (left instanceof RespError) return left;
  let count = -1;
  for (let i = whereAt + 1; i < args.length; i++) {
    if (count === -1 && isWord(args[i] as Buffer, 'COUNT') && i + 1 < args.length) {
      const parsed = parseInteger(args[i + 1] as Buffer);
      if (parsed === undefined || parsed < 1) return COUNT_POSITIVE;
      count = Number(parsed);
      i++;
    } else return Errors.syntax;
  }
  return { keys: args.slice(at + 1, whereAt).map(keyOf), left, count: count === -1 ? 1 : count };
}

function mpopFrom(kv: KvState, key: string, options: MpopArgs): RespValue | undefined {
  const list = kv.store.peek(key)?.value;
  if (!(list instanceof KvList) || list.items.length === 0) return undefined;
  return [keyBytes(key), popItems(kv, key, list, options.count, options.left)];
}

function mpop(kv: KvState, options: MpopArgs): RespValue | undefined {
  for (const key of options.keys) {
    const list = listAt(kv, key);
    if (list instanceof RespError) return list;
    const reply = mpopFrom(kv, key, options);
    if (reply !== undefined) return reply;
  }
  return undefined;
}

function lmpop(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const options = parseMpop(args, 1);
  if (options instanceof RespError) return options;
  return mpop(kv, options) ?? NULL_ARRAY;
}

function blmpop(kv: KvState, ctx: KvContext, args: Buffer[]): Reply {
  const options = parseMpop(args, 2);
  if (options instanceof RespError) return options;
  const timeout = timeoutOf(args[1] as Buffer);
  if (timeout instanceof RespError) return timeout;
  const reply = mpop(kv, options);
  if (reply !== undefined) return reply;
  blockOn(kv, ctx, options.keys, (key) => mpopFrom(kv, key, options), timeout, NULL_ARRAY);
  return NO_REPLY;
}

const group = 'list';
const write = ['write', 'denyoom'];
const blocking = ['write', 'blocking'];

/**
 * LMOVE, RPOPLPUSH, LMPOP and the blocking BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP.
 *
 * @example
 * ```ts
 * const table = new CommandTable(listMoveCommands);
 * ```
 */
export const listMoveCommands: readonly CommandSpec[] = [
  keyed(
    {
      name: 'lmove',
      arity: 5,
      group,
      flags: write,
      summary:
        'Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.',
      handler: (kv, _ctx, args) =>
        lmove(kv, args, sideOf(args[3] as Buffer), sideOf(args[4] as Buffer)),
    },
    1,
    2,
    1,
  ),
  keyed(
    {
      name: 'rpoplpush',
      arity: 3,
      group,
      flags: write,
      summary:
        'Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.',
      handler: (kv, _ctx, args) => lmove(kv, args, false, true),
    },
    1,
    2,
    1,
  ),
  keyed(
    {
      name: 'lmpop',
      arity: -4,
      group,
      flags: ['write'],
      summary:
        'Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.',
      handler: lmpop,
    },
    2,
    -1,
    1,
  ),
  keyed(
    {
      name: 'blpop',
      arity: -3,
      group,
      flags: blocking,
      summary:
        'Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.',
      handler: bpop(true),
    },
    1,
    -2,
    1,
  ),
  keyed(
    {
      name: 'brpop',
      arity: -3,
      group,
      flags: blocking,
      summary:
        'Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.',
      handler: bpop(false),
    },
    1,
    -2,
    1,
  ),
  keyed(
    {
      name: 'blmove',
      arity: 6,
      group,
      flags: [...blocking, 'denyoom'],
      summary:
        'Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.',
      handler: (kv, ctx, args) =>
        blmove(
          kv,
          ctx,
          args,
          sideOf(args[3] as Buffer),
          sideOf(args[4] as Buffer),
          args[5] as Buffer,
        ),
    },
    1,
    2,
    1,
  ),
  keyed(
    {
      name: 'brpoplpush',
      arity: 4,
      group,
      flags: [...blocking, 'denyoom'],
      summary:
        'Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.',
      handler: (kv, ctx, args) => blmove(kv, ctx, args, false, true, args[3] as Buffer),
    },
    1,
    2,
    1,
  ),
  keyed(
    {
      name: 'blmpop',
      arity: -5,
      group,
      flags: blocking,
      summary:
        'Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.',
      handler: blmpop,
    },
    3,
    -1,
    1,
  ),
];
