import { RespError, type RespValue } from '../../../src/codec/resp-types.js';
import { type CommandSpec, keyed, type Reply } from '../command.js';
import { parseInteger } from '../integers.js';
import type { KvState } from '../kv-state.js';
import { arityError, Errors } from '../replies.js';
import type { KvContext } from '../session.js';
import { KvList, keyOf } from '../store.js';

/** The list at `key`, undefined if none, or the WRONGTYPE error. */
function listAt(kv: KvState, key: string): KvList | undefined | RespError {
  const entry = kv.store.lookup(key);
  if (entry === undefined) return undefined;
  return entry.value instanceof KvList ? entry.value : Errors.wrongType;
}

function push(left: boolean) {
  return (kv: KvState, _ctx: KvContext, args: Buffer[]): Reply => {
    const key = keyOf(args[1] as Buffer);
    let list = listAt(kv, key);
    if (list instanceof RespError) return list;
    if (list === undefined) {
      list = new KvList();
      kv.store.set(key, list);
    }
    // LPUSH k a b c inserts a, then b, then c at the head: the list reads c b a.
    for (let i = 2; i < args.length; i++) {
      if (left) list.items.unshift(args[i] as Buffer);
      else list.items.push(args[i] as Buffer);
    }
    kv.store.modified(key);
    return list.items.length;
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
    // Redis sends a null array (*-1) here to RESP2 clients; RespCodec writes null as $-1.
    if (list === undefined) return null;
    const items = list.items;
    const before = items.length;
    let reply: RespValue;
    if (count < 0) {
      reply = (left ? items.shift() : items.pop()) ?? null;
    } else {
      const n = Math.min(count, items.length);
      const popped = left ? items.splice(0, n) : items.splice(items.length - n, n).reverse();
      reply = popped;
    }
    if (items.length === 0) kv.store.delete(key);
    else if (items.length !== before) kv.store.modified(key);
    return reply;
  };
}

function lrange(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const start = parseInteger(args[2] as Buffer);
  const stop = parseInteger(args[3] as Buffer);
  if (start === undefined || stop === undefined) return Errors.notInteger;
  const list = listAt(kv, keyOf(args[1] as Buffer));
  if (list instanceof RespError) return list;
  if (list === undefined) return [];
  const length = list.items.length;
  let from = Number(start);
  let to = Number(stop);
  if (from < 0) from = Math.max(0, length + from);
  if (to < 0) to = length + to;
  if (to >= length) to = length - 1;
  if (from > to || from >= length) return [];
  return list.items.slice(from, to + 1);
}

function llen(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const list = listAt(kv, keyOf(args[1] as Buffer));
  if (list === undefined) return 0;
  return list instanceof KvList ? list.items.length : list;
}

function lindex(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const index = parseInteger(args[2] as Buffer);
  if (index === undefined) return Errors.notInteger;
  const list = listAt(kv, keyOf(args[1] as Buffer));
  if (list === undefined) return null;
  if (list instanceof RespError) return list;
  const i = Number(index) < 0 ? list.items.length + Number(index) : Number(index);
  return list.items[i] ?? null;
}

const group = 'list';

/**
 * LPUSH, RPUSH, LPOP, RPOP, LRANGE, LLEN, LINDEX.
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
    flags: ['write', 'denyoom', 'fast'],
    summary: "Prepends one or more elements to a list. Creates the key if it doesn't exist.",
    handler: push(true),
  }),
  keyed({
    name: 'rpush',
    arity: -3,
    group,
    flags: ['write', 'denyoom', 'fast'],
    summary: "Appends one or more elements to a list. Creates the key if it doesn't exist.",
    handler: push(false),
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
];
