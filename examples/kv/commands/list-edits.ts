import { RespError, type RespValue } from '../../../src/codec/resp-types.js';
import { type CommandSpec, keyed, type Reply } from '../command.js';
import { parseInteger } from '../integers.js';
import type { KvState } from '../kv-state.js';
import { Errors } from '../replies.js';
import type { KvContext } from '../session.js';
import { keyOf } from '../store.js';
import { isWord } from '../words.js';
import { listAt } from './list-access.js';

const RANK_ZERO = new RespError(
  "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
);
const COUNT_NEGATIVE = new RespError("ERR COUNT can't be negative");
const MAXLEN_NEGATIVE = new RespError("ERR MAXLEN can't be negative");

function lset(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const key = keyOf(args[1] as Buffer);
  const list = listAt(kv, key);
  if (list === undefined) return Errors.noSuchKey;
  if (list instanceof RespError) return list;
  const index = parseInteger(args[2] as Buffer);
  if (index === undefined) return Errors.notInteger;
  const i = Number(index) < 0 ? list.items.length + Number(index) : Number(index);
  if (i < 0 || i >= list.items.length) return Errors.indexRange;
  list.items.setAt(i, args[3] as Buffer);
  kv.store.written(key);
  return 'OK';
}

function linsert(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const where = args[2] as Buffer;
  const after = isWord(where, 'AFTER');
  if (!after && !isWord(where, 'BEFORE')) return Errors.syntax;
  const key = keyOf(args[1] as Buffer);
  const list = listAt(kv, key);
  if (list === undefined) return 0;
  if (list instanceof RespError) return list;
  const items = list.items.toArray();
  const at = items.findIndex((item) => item.equals(args[3] as Buffer));
  if (at < 0) return -1;
  items.splice(after ? at + 1 : at, 0, args[4] as Buffer);
  list.items.replace(items);
  kv.store.written(key);
  return items.length;
}

/** LREM: a positive count removes from the head, a negative one from the tail, 0 all. */
function lrem(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const count = parseInteger(args[2] as Buffer);
  if (count === undefined) return Errors.notInteger;
  const key = keyOf(args[1] as Buffer);
  const list = listAt(kv, key);
  if (list === undefined) return 0;
  if (list instanceof RespError) return list;
  const element = args[3] as Buffer;
  const items = list.items.toArray();
  const fromTail = count < 0;
  const limit = Number(fromTail ? -count : count);
  if (fromTail) items.reverse();
  const kept: Buffer[] = [];
  let removed = 0;
  for (const item of items) {
    if ((limit === 0 || removed < limit) && item.equals(element)) removed++;
    else kept.push(item);
  }
  if (removed === 0) return 0;
  if (fromTail) kept.reverse();
  if (kept.length === 0) kv.store.delete(key);
  else list.items.replace(kept);
  kv.store.written(key);
  return removed;
}

function ltrim(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const startArg = parseInteger(args[2] as Buffer);
  const stopArg = parseInteger(args[3] as Buffer);
  if (startArg === undefined || stopArg === undefined) return Errors.notInteger;
  const key = keyOf(args[1] as Buffer);
  const list = listAt(kv, key);
  if (list === undefined) return 'OK';
  if (list instanceof RespError) return list;
  const length = list.items.length;
  let start = Number(startArg);
  let stop = Number(stopArg);
  if (start < 0) start = length + start;
  if (stop < 0) stop = length + stop;
  if (start < 0) start = 0;
  if (start > stop || start >= length) {
    kv.store.delete(key);
  } else {
    if (stop >= length) stop = length - 1;
    list.items.replace(list.items.slice(start, stop));
  }
  kv.store.written(key);
  return 'OK';
}

/** A non-negative integer option of LPOS, worded as Redis words its errors. */
function nonNegative(bytes: Buffer, error: RespError): number | RespError {
  const parsed = parseInteger(bytes);
  if (parsed === undefined || parsed < 0) return error;
  return Number(parsed);
}

/** LPOS key element [RANK r] [COUNT n] [MAXLEN m]. */
function lpos(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  let rank = 1;
  let count = -1;
  let maxlen = 0;
  for (let i = 3; i < args.length; i++) {
    const option = args[i] as Buffer;
    const value = args[i + 1];
    if (value !== undefined && isWord(option, 'RANK')) {
      const parsed = parseInteger(value);
      if (parsed === undefined) return Errors.notInteger;
      if (parsed === 0) return RANK_ZERO;
      rank = Number(parsed);
    } else if (value !== undefined && isWord(option, 'COUNT')) {
      const parsed = nonNegative(value, COUNT_NEGATIVE);
      if (parsed instanceof RespError) return parsed;
      count = parsed;
    } else if (value !== undefined && isWord(option, 'MAXLEN')) {
      const parsed = nonNegative(value, MAXLEN_NEGATIVE);
      if (parsed instanceof RespError) return parsed;
      maxlen = parsed;
    } else return Errors.syntax;
    i++;
  }
  const list = listAt(kv, keyOf(args[1] as Buffer));
  if (list === undefined) return count !== -1 ? [] : null;
  if (list instanceof RespError) return list;
  const fromTail = rank < 0;
  const skip = Math.abs(rank);
  const element = args[2] as Buffer;
  const length = list.items.length;
  const found: RespValue[] = [];
  let matches = 0;
  for (let seen = 0; seen < length && (maxlen === 0 || seen < maxlen); seen++) {
    const index = fromTail ? length - 1 - seen : seen;
    if (!(list.items.at(index) as Buffer).equals(element)) continue;
    matches++;
    if (matches < skip) continue;
    if (count === -1) return index;
    found.push(index);
    if (count !== 0 && found.length >= count) break;
  }
  return count === -1 ? null : found;
}

const group = 'list';

/**
 * LSET, LINSERT, LREM, LTRIM, LPOS.
 *
 * @example
 * ```ts
 * const table = new CommandTable(listEditCommands);
 * ```
 */
export const listEditCommands: readonly CommandSpec[] = [
  keyed({
    name: 'lset',
    arity: 4,
    group,
    flags: ['write', 'denyoom'],
    summary: 'Sets the value of an element in a list by its index.',
    handler: lset,
  }),
  keyed({
    name: 'linsert',
    arity: 5,
    group,
    flags: ['write', 'denyoom'],
    summary: 'Inserts an element before or after another element in a list.',
    handler: linsert,
  }),
  keyed({
    name: 'lrem',
    arity: 4,
    group,
    flags: ['write'],
    summary: 'Removes elements from a list. Deletes the list if the last element was removed.',
    handler: lrem,
  }),
  keyed({
    name: 'ltrim',
    arity: 4,
    group,
    flags: ['write'],
    summary:
      'Removes elements from both ends a list. Deletes the list if all elements were trimmed.',
    handler: ltrim,
  }),
  keyed({
    name: 'lpos',
    arity: -3,
    group,
    flags: ['readonly'],
    summary: 'Returns the index of matching elements in a list.',
    handler: lpos,
  }),
];
