import { RespError, type RespValue } from '../../../src/codec/resp-types.js';
import { type CommandSpec, keyed, type Reply } from '../command.js';
import { addInteger, parseInteger } from '../integers.js';
import type { KvState } from '../kv-state.js';
import { addLongDouble, formatLongDouble, parseLongDouble } from '../long-double.js';
import { Errors } from '../replies.js';
import type { KvContext } from '../session.js';
import { keyOf, StringKind } from '../store.js';

const DECREMENT_OVERFLOW = new RespError('ERR decrement would overflow');

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
    entry.kind = StringKind.Auto;
  }
  kv.store.written(key);
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

function byArg(negate: boolean) {
  return (kv: KvState, _ctx: KvContext, args: Buffer[]): Reply => {
    const by = incrementArg(args, negate);
    return typeof by === 'number' || typeof by === 'bigint'
      ? incrementBy(kv, args[1] as Buffer, by)
      : by;
  };
}

/**
 * INCRBYFLOAT in Redis's order: the key's type, then its value, then the increment must read
 * as floats; the sum is a long double, refused when infinite, stored as `%.17Lf` prints it.
 */
function incrbyfloat(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const key = keyOf(args[1] as Buffer);
  const entry = kv.store.lookup(key);
  if (entry !== undefined && !Buffer.isBuffer(entry.value)) return Errors.wrongType;
  const current =
    entry === undefined ? { negative: false, m: 0n, e: 0 } : parseLongDouble(entry.value as Buffer);
  if (current === undefined) return Errors.notFloat;
  const by = parseLongDouble(args[2] as Buffer);
  if (by === undefined) return Errors.notFloat;
  const sum = addLongDouble(current, by);
  if (sum === 'nan' || 'infinite' in sum) return Errors.nanOrInfinity;
  const bytes = Buffer.from(formatLongDouble(sum), 'latin1');
  if (entry === undefined) kv.store.set(key, bytes, false, StringKind.NoInt);
  else {
    entry.value = bytes;
    entry.kind = StringKind.NoInt;
  }
  kv.store.written(key);
  return bytes;
}

const group = 'string';
const flags = ['write', 'denyoom', 'fast'];

/**
 * INCR, DECR, INCRBY, DECRBY (64-bit integers, as Redis's string2ll reads them) and
 * INCRBYFLOAT (long doubles).
 *
 * @example
 * ```ts
 * const table = new CommandTable(stringNumberCommands);
 * ```
 */
export const stringNumberCommands: readonly CommandSpec[] = [
  keyed({
    name: 'incr',
    arity: 2,
    group,
    flags,
    summary: 'Increments the integer value of a key by one.',
    handler: (kv, _ctx, args) => incrementBy(kv, args[1] as Buffer, 1),
  }),
  keyed({
    name: 'decr',
    arity: 2,
    group,
    flags,
    summary: 'Decrements the integer value of a key by one.',
    handler: (kv, _ctx, args) => incrementBy(kv, args[1] as Buffer, -1),
  }),
  keyed({
    name: 'incrby',
    arity: 3,
    group,
    flags,
    summary: 'Increments the integer value of a key by a number.',
    handler: byArg(false),
  }),
  keyed({
    name: 'decrby',
    arity: 3,
    group,
    flags,
    summary: 'Decrements a number from the integer value of a key.',
    handler: byArg(true),
  }),
  keyed({
    name: 'incrbyfloat',
    arity: 3,
    group,
    flags,
    summary: 'Increment the floating point value of a key by a number.',
    handler: incrbyfloat,
  }),
];
