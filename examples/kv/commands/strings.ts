import type { RespValue } from '../../../src/codec/resp-types.js';
import { type CommandSpec, keyed, type Reply } from '../command.js';
import { parseInteger } from '../integers.js';
import type { KvState } from '../kv-state.js';
import { arityError, Errors, invalidExpire } from '../replies.js';
import type { KvContext } from '../session.js';
import { keyOf, StringKind } from '../store.js';
import { isWord } from '../words.js';
import { stringNumberCommands } from './string-numbers.js';
import { stringRangeCommands } from './string-ranges.js';

const INT64_MAX = 2n ** 63n - 1n;

/** GET's miss and hit paths are the benchmarked ones: one Map lookup, no allocation. */
function get(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const entry = kv.store.lookup(keyOf(args[1] as Buffer));
  if (entry === undefined) return null;
  return Buffer.isBuffer(entry.value) ? entry.value : Errors.wrongType;
}

const Flag = {
  NX: 1,
  XX: 2,
  GET: 4,
  KEEPTTL: 8,
  EX: 16,
  PX: 32,
  EXAT: 64,
  PXAT: 128,
  PERSIST: 256,
} as const;
const TIME_FLAGS = Flag.EX | Flag.PX | Flag.EXAT | Flag.PXAT;

/** SET's and GETEX's options: the flags and the expiry argument, or Redis's syntax error. */
interface StringOptions {
  flags: number;
  expiry: Buffer | undefined;
}

/**
 * Reads SET's (from argument 3) or GETEX's (from argument 2) options as Redis 7's
 * parseExtendedStringArgumentsOrReply does: each option may repeat, but not clash with another
 * (NX with XX, two different expiry kinds, KEEPTTL or PERSIST with an expiry); an expiry option
 * without a value, or an option of the other command, is a syntax error.
 */
function parseOptions(args: Buffer[], forGetex: boolean): StringOptions | RespValue {
  let flags = 0;
  let expiry: Buffer | undefined;
  for (let i = forGetex ? 2 : 3; i < args.length; i++) {
    const option = args[i] as Buffer;
    const next = args[i + 1];
    if (!forGetex && isWord(option, 'NX') && (flags & Flag.XX) === 0) flags |= Flag.NX;
    else if (!forGetex && isWord(option, 'XX') && (flags & Flag.NX) === 0) flags |= Flag.XX;
    else if (!forGetex && isWord(option, 'GET')) flags |= Flag.GET;
    else if (!forGetex && isWord(option, 'KEEPTTL') && (flags & (Flag.PERSIST | TIME_FLAGS)) === 0)
      flags |= Flag.KEEPTTL;
    else if (forGetex && isWord(option, 'PERSIST') && (flags & (TIME_FLAGS | Flag.KEEPTTL)) === 0)
      flags |= Flag.PERSIST;
    else {
      let unit = 0;
      if (isWord(option, 'EX')) unit = Flag.EX;
      else if (isWord(option, 'PX')) unit = Flag.PX;
      else if (isWord(option, 'EXAT')) unit = Flag.EXAT;
      else if (isWord(option, 'PXAT')) unit = Flag.PXAT;
      const clashes = Flag.KEEPTTL | Flag.PERSIST | (TIME_FLAGS & ~unit);
      if (unit === 0 || next === undefined || (flags & clashes) !== 0) return Errors.syntax;
      flags |= unit;
      expiry = next;
      i++;
    }
  }
  return { flags, expiry };
}

/**
 * The Unix time in ms an expiry option names, as Redis 7's getExpireMillisecondsOrReply: not an
 * integer → not-an-integer error; ≤ 0, too many seconds for int64 ms, or overflowing once now is
 * added → invalid expire time. Deadlines beyond 2^53 ms are kept rounded to a double.
 *
 * @example
 * ```ts
 * expiryDeadline(Buffer.from('10'), Flag.EX, 'set'); // Date.now() + 10_000
 * ```
 */
export function expiryDeadline(value: Buffer, flags: number, name: string): number | RespValue {
  const parsed = parseInteger(value);
  if (parsed === undefined) return Errors.notInteger;
  const seconds = (flags & (Flag.EX | Flag.EXAT)) !== 0;
  if (parsed <= 0 || (seconds && BigInt(parsed) > INT64_MAX / 1000n)) return invalidExpire(name);
  let ms = BigInt(parsed) * (seconds ? 1000n : 1n);
  if ((flags & (Flag.EX | Flag.PX)) !== 0) ms += BigInt(Date.now());
  if (ms > INT64_MAX) return invalidExpire(name);
  return Number(ms);
}

/** Stores a string under `key` as SET does, then applies `deadline` (0: none). */
function store(kv: KvState, key: string, value: Buffer, keepTtl: boolean, deadline: number): void {
  const entry = kv.store.set(key, value, keepTtl, StringKind.Auto);
  if (deadline !== 0) {
    // A deadline already past (EXAT/PXAT) leaves a key that is gone at once, as in Redis.
    if (deadline <= Date.now()) kv.store.delete(key);
    else kv.store.expireAt(key, entry, deadline);
  }
  kv.store.written(key);
}

/** SET with its options, and SETEX / PSETEX / SETNX / GETSET, which are SET with fixed flags. */
function setGeneric(
  kv: KvState,
  args: Buffer[],
  flags: number,
  expiry: Buffer | undefined,
  name: string,
): Reply {
  const key = keyOf(args[1] as Buffer);
  let deadline = 0;
  if (expiry !== undefined) {
    const at = expiryDeadline(expiry, flags, name);
    if (typeof at !== 'number') return at;
    deadline = at;
  }
  let previous: RespValue = null;
  const existing = kv.store.lookup(key);
  if ((flags & Flag.GET) !== 0 && existing !== undefined) {
    if (!Buffer.isBuffer(existing.value)) return Errors.wrongType;
    previous = existing.value;
  }
  if (
    ((flags & Flag.NX) !== 0 && existing !== undefined) ||
    ((flags & Flag.XX) !== 0 && existing === undefined)
  ) {
    return (flags & Flag.GET) !== 0 ? previous : null;
  }
  store(
    kv,
    key,
    args[name === 'set' ? 2 : args.length - 1] as Buffer,
    (flags & Flag.KEEPTTL) !== 0,
    deadline,
  );
  return (flags & Flag.GET) !== 0 ? previous : 'OK';
}

function set(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  if (args.length === 3) {
    const key = keyOf(args[1] as Buffer);
    kv.store.set(key, args[2] as Buffer);
    kv.store.written(key);
    return 'OK';
  }
  const options = parseOptions(args, false);
  if (!isOptions(options)) return options;
  return setGeneric(kv, args, options.flags, options.expiry, 'set');
}

function isOptions(value: StringOptions | RespValue): value is StringOptions {
  return typeof value === 'object' && value !== null && 'flags' in value;
}

function getex(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const options = parseOptions(args, true);
  if (!isOptions(options)) return options;
  const key = keyOf(args[1] as Buffer);
  const entry = kv.store.lookup(key);
  if (entry === undefined) return null;
  if (!Buffer.isBuffer(entry.value)) return Errors.wrongType;
  const value = entry.value;
  if (options.expiry !== undefined) {
    const at = expiryDeadline(options.expiry, options.flags, 'getex');
    if (typeof at !== 'number') return at;
    if (at <= Date.now()) kv.store.delete(key);
    else kv.store.expireAt(key, entry, at);
    kv.store.written(key);
  } else if ((options.flags & Flag.PERSIST) !== 0 && kv.store.persist(key, entry)) {
    kv.store.written(key);
  }
  return value;
}

function getdel(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const key = keyOf(args[1] as Buffer);
  const entry = kv.store.lookup(key);
  if (entry === undefined) return null;
  if (!Buffer.isBuffer(entry.value)) return Errors.wrongType;
  kv.store.delete(key);
  kv.store.written(key);
  return entry.value;
}

function setnx(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const key = keyOf(args[1] as Buffer);
  if (kv.store.lookup(key) !== undefined) return 0;
  store(kv, key, args[2] as Buffer, false, 0);
  return 1;
}

function mget(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const values: RespValue[] = new Array(args.length - 1);
  for (let i = 1; i < args.length; i++) {
    const entry = kv.store.lookup(keyOf(args[i] as Buffer));
    values[i - 1] = entry !== undefined && Buffer.isBuffer(entry.value) ? entry.value : null;
  }
  return values;
}

function mset(onlyNew: boolean) {
  const name = onlyNew ? 'msetnx' : 'mset';
  return (kv: KvState, _ctx: KvContext, args: Buffer[]): Reply => {
    // Key/value pairs: an odd count is an arity error in Redis's words.
    if (args.length % 2 === 0) return arityError(name);
    if (onlyNew) {
      for (let i = 1; i < args.length; i += 2) {
        if (kv.store.lookup(keyOf(args[i] as Buffer)) !== undefined) return 0;
      }
    }
    for (let i = 1; i + 1 < args.length; i += 2) {
      store(kv, keyOf(args[i] as Buffer), args[i + 1] as Buffer, false, 0);
    }
    return onlyNew ? 1 : 'OK';
  };
}

const group = 'string';
const write = ['write', 'denyoom'];

/**
 * The string commands: GET, SET and its variants, MGET, MSET, MSETNX, and (from their own
 * files) the counters and the ranges.
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
    flags: write,
    summary:
      "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
    handler: set,
  }),
  keyed({
    name: 'setnx',
    arity: 3,
    group,
    flags: [...write, 'fast'],
    summary: "Set the string value of a key only when the key doesn't exist.",
    handler: setnx,
  }),
  keyed({
    name: 'setex',
    arity: 4,
    group,
    flags: write,
    summary: 'Sets the string value and expiration time of a key.',
    handler: (kv, _ctx, args) => setGeneric(kv, args, Flag.EX, args[2], 'setex'),
  }),
  keyed({
    name: 'psetex',
    arity: 4,
    group,
    flags: write,
    summary: 'Sets both string value and expiration time in milliseconds of a key.',
    handler: (kv, _ctx, args) => setGeneric(kv, args, Flag.PX, args[2], 'psetex'),
  }),
  keyed({
    name: 'getset',
    arity: 3,
    group,
    flags: [...write, 'fast'],
    summary: 'Returns the previous string value of a key after setting it to a new value.',
    handler: (kv, _ctx, args) => setGeneric(kv, args, Flag.GET, undefined, 'getset'),
  }),
  keyed({
    name: 'getex',
    arity: -2,
    group,
    flags: ['write', 'fast'],
    summary: 'Returns the string value of a key after setting its expiration time.',
    handler: getex,
  }),
  keyed({
    name: 'getdel',
    arity: 2,
    group,
    flags: ['write', 'fast'],
    summary: 'Returns the string value of a key after deleting the key.',
    handler: getdel,
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
      flags: write,
      summary: 'Atomically creates or modifies the string values of one or more keys.',
      handler: mset(false),
    },
    1,
    -1,
    2,
  ),
  keyed(
    {
      name: 'msetnx',
      arity: -3,
      group,
      flags: write,
      summary:
        "Atomically modifies the string values of one or more keys only when all keys don't exist.",
      handler: mset(true),
    },
    1,
    -1,
    2,
  ),
  ...stringNumberCommands,
  ...stringRangeCommands,
];
