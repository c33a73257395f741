import { RespError, type RespValue } from '../../../src/codec/resp-types.js';
import { type CommandSpec, keyed, type Reply } from '../command.js';
import { addInteger, parseInteger } from '../integers.js';
import type { KvState } from '../kv-state.js';
import { arityError, Errors, invalidExpire } from '../replies.js';
import type { KvContext } from '../session.js';
import { keyOf } from '../store.js';
import { isWord } from '../words.js';

const INT64_MAX = 2n ** 63n - 1n;
const DECREMENT_OVERFLOW = new RespError('ERR decrement would overflow');

/** GET's miss and hit paths are the benchmarked ones: one Map lookup, no allocation. */
function get(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const entry = kv.store.lookup(keyOf(args[1] as Buffer));
  if (entry === undefined) return null;
  return Buffer.isBuffer(entry.value) ? entry.value : Errors.wrongType;
}

const SetFlag = {
  NX: 1,
  XX: 2,
  GET: 4,
  KEEPTTL: 8,
  EX: 16,
  PX: 32,
  EXAT: 64,
  PXAT: 128,
} as const;
const EXPIRY_FLAGS = SetFlag.KEEPTTL | SetFlag.EX | SetFlag.PX | SetFlag.EXAT | SetFlag.PXAT;

/**
 * Reads `EX 10` style expiry into a Unix time in ms, as Redis 7's getExpireMillisecondsOrReply:
 * not an integer → not-an-integer error; ≤ 0 or overflowing → invalid expire time. TTLs whose
 * deadline would pass 2^53 ms are refused too (a documented difference: Redis allows int64).
 *
 * @example
 * ```ts
 * expiryDeadline(Buffer.from('10'), 1000, false, 'set'); // Date.now() + 10_000
 * ```
 */
export function expiryDeadline(
  value: Buffer,
  unitMs: 1 | 1000,
  absolute: boolean,
  name: string,
): number | RespValue {
  const parsed = parseInteger(value);
  if (parsed === undefined) return Errors.notInteger;
  if (parsed <= 0) return invalidExpire(name);
  const ms = BigInt(parsed) * BigInt(unitMs) + (absolute ? 0n : BigInt(Date.now()));
  if (ms > INT64_MAX || ms > BigInt(Number.MAX_SAFE_INTEGER)) return invalidExpire(name);
  return Number(ms);
}

function set(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const key = keyOf(args[1] as Buffer);
  const value = args[2] as Buffer;
  if (args.length === 3) {
    kv.store.set(key, value);
    return 'OK';
  }
  let flags = 0;
  let expiryArg: Buffer | undefined;
  for (let i = 3; i < args.length; i++) {
    const option = args[i] as Buffer;
    const next = args[i + 1];
    if (isWord(option, 'NX') && (flags & SetFlag.XX) === 0) flags |= SetFlag.NX;
    else if (isWord(option, 'XX') && (flags & SetFlag.NX) === 0) flags |= SetFlag.XX;
    else if (isWord(option, 'GET')) flags |= SetFlag.GET;
    else if (isWord(option, 'KEEPTTL') && (flags & (EXPIRY_FLAGS & ~SetFlag.KEEPTTL)) === 0)
      flags |= SetFlag.KEEPTTL;
    else {
      let unit = 0;
      if (isWord(option, 'EX')) unit = SetFlag.EX;
      else if (isWord(option, 'PX')) unit = SetFlag.PX;
      else if (isWord(option, 'EXAT')) unit = SetFlag.EXAT;
      else if (isWord(option, 'PXAT')) unit = SetFlag.PXAT;
      if (unit === 0 || next === undefined || (flags & (EXPIRY_FLAGS & ~unit)) !== 0) {
        return Errors.syntax;
      }
      flags |= unit;
      expiryArg = next;
      i++;
    }
  }
  let deadline = 0;
  if (expiryArg !== undefined) {
    const relative = (flags & (SetFlag.EX | SetFlag.PX)) !== 0;
    const seconds = (flags & (SetFlag.EX | SetFlag.EXAT)) !== 0;
    const at = expiryDeadline(expiryArg, seconds ? 1000 : 1, !relative, 'set');
    if (typeof at !== 'number') return at;
    deadline = at;
  }
  const store = kv.store;
  let previous: RespValue = null;
  const existing = store.lookup(key);
  if ((flags & SetFlag.GET) !== 0 && existing !== undefined) {
    if (!Buffer.isBuffer(existing.value)) return Errors.wrongType;
    previous = existing.value;
  }
  if (
    ((flags & SetFlag.NX) !== 0 && existing !== undefined) ||
    ((flags & SetFlag.XX) !== 0 && existing === undefined)
  ) {
    return previous;
  }
  const entry = store.set(key, value, (flags & SetFlag.KEEPTTL) !== 0);
  if (deadline !== 0) {
    // An absolute time in the past deletes the key at once, as in Redis.
    if (deadline <= Date.now()) store.delete(key);
    else store.expireAt(key, entry, deadline);
  }
  return (flags & SetFlag.GET) !== 0 ? previous : 'OK';
}

function mget(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const values: RespValue[] = new Array(args.length - 1);
  for (let i = 1; i < args.length; i++) {
    const entry = kv.store.lookup(keyOf(args[i] as Buffer));
    values[i - 1] = entry !== undefined && Buffer.isBuffer(entry.value) ? entry.value : null;
  }
  return values;
}

function mset(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  // Key/value pairs: an odd count is an arity error in Redis's words.
  if (args.length % 2 === 0) return arityError('mset');
  for (let i = 1; i + 1 < args.length; i += 2)
    kv.store.set(keyOf(args[i] as Buffer), args[i + 1] as Buffer);
  return 'OK';
}

function incrementBy(kv: KvState, keyBytes: Buffer, by: number | bigint): Reply {
  const key = keyOf(keyBytes);
  const entry = kv.store.lookup(key);
  let current: number | bigint = 0;
  if (entry !== undefined) {
    if (!Buffer.isBuffer(entry.value)) return Errors.wrongType;
    const parsed = parseInteger(entry.value);
    if (parsed === undefined) return Errors.notInteger;
    current = parsed;
  }
  const next = addInteger(current, by);
  if (next === undefined) return Errors.overflow;
  const bytes = Buffer.from(String(next), 'latin1');
  if (entry === undefined) kv.store.set(key, bytes);
  else {
    entry.value = bytes;
    kv.store.modified(key);
  }
  return next;
}

function incrementArg(args: Buffer[], negate: boolean): number | bigint | RespValue {
  const by = parseInteger(args[2] as Buffer);
  if (by === undefined) return Errors.notInteger;
  if (!negate) return by;
  // -(-2^63) does not fit int64; Redis says so in its own words.
  if (by === -(2n ** 63n)) return DECREMENT_OVERFLOW;
  return typeof by === 'bigint' ? -by : -by;
}

function append(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const key = keyOf(args[1] as Buffer);
  const entry = kv.store.lookup(key);
  if (entry === undefined) {
    kv.store.set(key, args[2] as Buffer);
    return (args[2] as Buffer).length;
  }
  if (!Buffer.isBuffer(entry.value)) return Errors.wrongType;
  entry.value = Buffer.concat([entry.value, args[2] as Buffer]);
  kv.store.modified(key);
  return entry.value.length;
}

function strlen(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const entry = kv.store.lookup(keyOf(args[1] as Buffer));
  if (entry === undefined) return 0;
  return Buffer.isBuffer(entry.value) ? entry.value.length : Errors.wrongType;
}

const group = 'string';

/**
 * GET, SET, MGET, MSET, INCR, DECR, INCRBY, DECRBY, APPEND, STRLEN.
 *
 * @example
 * ```ts
 * const table = new CommandTable(stringCommands);
 * ```
 */
export const stringCommands: readonly CommandSpec[] = [
  keyed({
    name: 'get',
    arity: 2,
    group,
    flags: ['readonly', 'fast'],
    summary: 'Returns the string value of a key.',
    handler: get,
  }),
  keyed({
    name: 'set',
    arity: -3,
    group,
    flags: ['write', 'denyoom'],
    summary:
      "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
    handler: set,
  }),
  keyed(
    {
      name: 'mget',
      arity: -2,
      group,
      flags: ['readonly', 'fast'],
      summary: 'Atomically returns the string values of one or more keys.',
      handler: mget,
    },
    1,
    -1,
    1,
  ),
  keyed(
    {
      name: 'mset',
      arity: -3,
      group,
      flags: ['write', 'denyoom'],
      summary: 'Atomically creates or modifies the string values of one or more keys.',
      handler: mset,
    },
    1,
    -1,
    2,
  ),
  keyed({
    name: 'incr',
    arity: 2,
    group,
    flags: ['write', 'denyoom', 'fast'],
    summary: 'Increments the integer value of a key by one.',
    handler: (kv, _ctx, args) => incrementBy(kv, args[1] as Buffer, 1),
  }),
  keyed({
    name: 'decr',
    arity: 2,
    group,
    flags: ['write', 'denyoom', 'fast'],
    summary: 'Decrements the integer value of a key by one.',
    handler: (kv, _ctx, args) => incrementBy(kv, args[1] as Buffer, -1),
  }),
  keyed({
    name: 'incrby',
    arity: 3,
    group,
    flags: ['write', 'denyoom', 'fast'],
    summary: 'Increments the integer value of a key by a number.',
    handler: (kv, _ctx, args) => {
      const by = incrementArg(args, false);
      return typeof by === 'number' || typeof by === 'bigint'
        ? incrementBy(kv, args[1] as Buffer, by)
        : by;
    },
  }),
  keyed({
    name: 'decrby',
    arity: 3,
    group,
    flags: ['write', 'denyoom', 'fast'],
    summary: 'Decrements a number from the integer value of a key.',
    handler: (kv, _ctx, args) => {
      const by = incrementArg(args, true);
      return typeof by === 'number' || typeof by === 'bigint'
        ? incrementBy(kv, args[1] as Buffer, by)
        : by;
    },
  }),
  keyed({
    name: 'append',
    arity: 3,
    group,
    flags: ['write', 'denyoom', 'fast'],
    summary: "Appends a string to the value of a key. Creates the key if it doesn't exist.",
    handler: append,
  }),
  keyed({
    name: 'strlen',
    arity: 2,
    group,
    flags: ['readonly', 'fast'],
    summary: 'Returns the length of a string value.',
    handler: strlen,
  }),
];
