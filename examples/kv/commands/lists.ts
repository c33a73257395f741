import { RespError } from '../../../src/codec/resp-types.js';
import { type CommandSpec, keyed, type Reply } from '../command.js';
import { parseInteger } from '../integers.js';
import type { KvState } from '../kv-state.js';
import { arityError, Errors, NULL_ARRAY } from '../replies.js';
import type { KvContext } from '../session.js';
import { keyOf } from '../store.js';
import { listAt, popItems, pushItems } from './list-access.js';
import { listEditCommands } from './list-edits.js';
import { listMoveCommands } from './list-moves.js';

/** LPUSH, RPUSH, and LPUSHX / RPUSHX (`onlyExisting`: nothing happens to a missing key). */
function push(left: boolean, onlyExisting: boolean) {
  return (kv: KvState, _ctx: KvContext, args: Buffer[]): Reply => {
    const key = keyOf(args[1] as Buffer);
    const list = listAt(kv, key);
    if (list instanceof RespError) return list;
    if (list === undefined && onlyExisting) return 0;
    return pushItems(kv, key, args.slice(2), left);
  };
}

function pop(left: boolean) {
  return (kv: KvState, _ctx: KvContext, args: Buffer[]): Reply => {
    if (args.length > 3) return arityError(left ? 'lpop' : 'rpop');
    let count = -1;
    if (args.length === 3) {
      const parsed = parseInteger(args[2] as Buffer);
      // Redis words both cases the same way here (getPositiveLongFromObjectOrReply).
      if (parsed === undefined || parsed < 0) return Errors.notPositive;
      count = Number(parsed);
    }
    const key = keyOf(args[1] as Buffer);
    const list = listAt(kv, key);
    if (list instanceof RespError) return list;
    if (list === undefined) return count < 0 ? null : NULL_ARRAY;
    if (count < 0) return popItems(kv, key, list, 1, left)[0] as Buffer;
    if (count === 0) return [];
    return popItems(kv, key, list, count, left);
  };
}

/** Redis's clamp of a start..stop range over a list of `length`; undefined when empty. */
function clampRange(start: number, stop: number, length: number): [number, number] | undefined {
  let from = start < 0 ? length + start : start;
  let to = stop < 0 ? length + stop : stop;
  if (from < 0) from = 0;
  if (from > to || from >= length) return undefined;
  if (to >= length) to = length - 1;
  return [from, to];
}

function lrange(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const start = parseInteger(args[2] as Buffer);
  const stop = parseInteger(args[3] as Buffer);
  if (start === undefined || stop === undefined) return Errors.notInteger;
  const list = listAt(kv, keyOf(args[1] as Buffer));
  if (list instanceof RespError) return list;
  if (list === undefined) return [];
  const range = clampRange(Number(start), Number(stop), list.items.length);
  return range === undefined ? [] : list.items.slice(range[0], range[1]);
}

function llen(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const list = listAt(kv, keyOf(args[1] as Buffer));
  if (list === undefined) return 0;
  return list instanceof RespError ? list : list.items.length;
}

/** LINDEX looks the key up before reading the index, as Redis does. */
function lindex(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const list = listAt(kv, keyOf(args[1] as Buffer));
  if (list === undefined) return null;
  if (list instanceof RespError) return list;
  const index = parseInteger(args[2] as Buffer);
  if (index === undefined) return Errors.notInteger;
  const i = Number(index) < 0 ? list.items.length + Number(index) : Number(index);
  return list.items.at(i) ?? null;
}

const group = 'list';
const write = ['write', 'denyoom', 'fast'];

/**
 * The list commands: LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP, LRANGE, LLEN, LINDEX, and (from
 * their own files) the edits, the moves and the blocking pops.
 *
 * @example
 * ```ts
 * const table = new CommandTable(listCommands);
 * ```
 */
export const listCommands: readonly CommandSpec[] = [
  keyed({
    name: 'lpush',
    arity: -3,
    group,
    flags: write,
    summary: "Prepends one or more elements to a list. Creates the key if it doesn't exist.",
    handler: push(true, false),
  }),
  keyed({
    name: 'rpush',
    arity: -3,
    group,
    flags: write,
    summary: "Appends one or more elements to a list. Creates the key if it doesn't exist.",
    handler: push(false, false),
  }),
  keyed({
    name: 'lpushx',
    arity: -3,
    group,
    flags: write,
    summary: 'Prepends one or more elements to a list only when the list exists.',
    handler: push(true, true),
  }),
  keyed({
    name: 'rpushx',
    arity: -3,
    group,
    flags: write,
    summary: 'Appends an element to a list only when the list exists.',
    handler: push(false, true),
  }),
  keyed({
    name: 'lpop',
    arity: -2,
    group,
    flags: ['write', 'fast'],
    summary:
      'Returns the first elements in a list after removing it. Deletes the list if the last element was popped.',
    handler: pop(true),
  }),
  keyed({
    name: 'rpop',
    arity: -2,
    group,
    flags: ['write', 'fast'],
    summary:
      'Returns and removes the last elements of a list. Deletes the list if the last element was popped.',
    handler: pop(false),
  }),
  keyed({
    name: 'lrange',
    arity: 4,
    group,
    flags: ['readonly'],
    summary: 'Returns a range of elements from a list.',
    handler: lrange,
  }),
  keyed({
    name: 'llen',
    arity: 2,
    group,
    flags: ['readonly', 'fast'],
    summary: 'Returns the length of a list.',
    handler: llen,
  }),
  keyed({
    name: 'lindex',
    arity: 3,
    group,
    flags: ['readonly'],
    summary: 'Returns an element from a list by its index.',
    handler: lindex,
  }),
  ...listEditCommands,
  ...listMoveCommands,
];
