import { RespError, type RespValue } from '../../../src/codec/resp-types.js';
import { command, type CommandSpec, keyed, type Reply } from '../command.js';
import { parseInteger } from '../integers.js';
import type { KvState } from '../kv-state.js';
import { Errors, invalidExpire, unsupportedOption } from '../replies.js';
import type { KvContext } from '../session.js';
import { keyBytes, keyOf, typeName } from '../store.js';
import { isWord } from '../words.js';

const INT64_MAX = 2n ** 63n - 1n;
const GT_AND_LT = new RespError('ERR GT and LT options at the same time are not compatible');

function del(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  let deleted = 0;
  for (let i = 1; i < args.length; i++) if (kv.store.delete(keyOf(args[i] as Buffer))) deleted++;
  return deleted;
}

function exists(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  let count = 0;
  for (let i = 1; i < args.length; i++) if (kv.store.has(keyOf(args[i] as Buffer))) count++;
  return count;
}

const ExpireFlag = { NX: 1, XX: 2, GT: 4, LT: 8 } as const;

/**
 * EXPIRE and PEXPIRE, in Redis 7's order of checks: the time must be an integer, the options
 * known and compatible, the time within range; only then is the key looked at. A time already
 * past deletes the key.
 */
function expire(unitMs: 1 | 1000, name: string) {
  return (kv: KvState, _ctx: KvContext, args: Buffer[]): Reply => {
    const when = parseInteger(args[2] as Buffer);
    if (when === undefined) return Errors.notInteger;
    let flags = 0;
    for (let i = 3; i < args.length; i++) {
      const option = args[i] as Buffer;
      if (isWord(option, 'NX')) flags |= ExpireFlag.NX;
      else if (isWord(option, 'XX')) flags |= ExpireFlag.XX;
      else if (isWord(option, 'GT')) flags |= ExpireFlag.GT;
      else if (isWord(option, 'LT')) flags |= ExpireFlag.LT;
      else return unsupportedOption(option);
    }
    if ((flags & ExpireFlag.NX) !== 0 && (flags & ~ExpireFlag.NX) !== 0)
      return Errors.expireOptions;
    if ((flags & ExpireFlag.GT) !== 0 && (flags & ExpireFlag.LT) !== 0) return GT_AND_LT;
    const big = BigInt(when);
    const now = BigInt(Date.now());
    if (unitMs === 1000 && (big > INT64_MAX / 1000n || big < -INT64_MAX / 1000n)) {
      return invalidExpire(name);
    }
    const ms = big * BigInt(unitMs);
    if (ms > INT64_MAX - now) return invalidExpire(name);
    const deadline = Number(ms + now);
    const key = keyOf(args[1] as Buffer);
    const entry = kv.store.lookup(key);
    if (entry === undefined) return 0;
    const current = entry.expiresAt;
    if ((flags & ExpireFlag.NX) !== 0 && current !== 0) return 0;
    if ((flags & ExpireFlag.XX) !== 0 && current === 0) return 0;
    // No TTL counts as an infinite one: GT never beats it, LT always does.
    if ((flags & ExpireFlag.GT) !== 0 && (current === 0 || deadline <= current)) return 0;
    if ((flags & ExpireFlag.LT) !== 0 && current !== 0 && deadline >= current) return 0;
    if (deadline <= Date.now()) kv.store.delete(key);
    else kv.store.expireAt(key, entry, deadline);
    return 1;
  };
}

function ttl(unitMs: 1 | 1000) {
  return (kv: KvState, _ctx: KvContext, args: Buffer[]): Reply => {
    const entry = kv.store.lookup(keyOf(args[1] as Buffer));
    if (entry === undefined) return -2;
    if (entry.expiresAt === 0) return -1;
    const left = Math.max(0, entry.expiresAt - Date.now());
    return unitMs === 1 ? left : Math.floor((left + 500) / 1000);
  };
}

function persist(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const key = keyOf(args[1] as Buffer);
  const entry = kv.store.lookup(key);
  return entry !== undefined && kv.store.persist(key, entry) ? 1 : 0;
}

function keys(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  return kv.store.keys(keyOf(args[1] as Buffer)).map(keyBytes);
}

function scan(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const cursorArg = args[1] as Buffer;
  // Redis reads the cursor with strtoull: digits only.
  if (
    cursorArg.length === 0 ||
    cursorArg.length > 20 ||
    !/^[0-9]+$/.test(cursorArg.toString('latin1'))
  ) {
    return Errors.invalidCursor;
  }
  const cursor = Number(cursorArg.toString('latin1'));
  let count = 10;
  let pattern: string | undefined;
  let type: string | undefined;
  for (let i = 2; i < args.length; i += 2) {
    const option = args[i] as Buffer;
    const value = args[i + 1];
    if (value === undefined) return Errors.syntax;
    if (isWord(option, 'COUNT')) {
      const parsed = parseInteger(value);
      if (parsed === undefined) return Errors.notInteger;
      if (parsed < 1) return Errors.syntax;
      count = Number(parsed);
    } else if (isWord(option, 'MATCH')) {
      pattern = keyOf(value);
    } else if (isWord(option, 'TYPE')) {
      type = value.toString('latin1').toLowerCase();
    } else {
      return Errors.syntax;
    }
  }
  // `*` matches everything: skip the matcher.
  if (pattern === '*') pattern = undefined;
  const page = kv.store.scan(cursor, count, pattern, type);
  const found: RespValue[] = page.keys.map(keyBytes);
  return [Buffer.from(String(page.cursor), 'latin1'), found];
}

function type(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const entry = kv.store.lookup(keyOf(args[1] as Buffer));
  return entry === undefined ? 'none' : typeName(entry.value);
}

const group = 'generic';

/**
 * DEL, EXISTS, EXPIRE, PEXPIRE, TTL, PTTL, PERSIST, KEYS, SCAN, TYPE.
 *
 * @example
 * ```ts
 * const table = new CommandTable(keyCommands);
 * ```
 */
export const keyCommands: readonly CommandSpec[] = [
  keyed(
    {
      name: 'del',
      arity: -2,
      group,
      flags: ['write'],
      summary: 'Deletes one or more keys.',
      handler: del,
    },
    1,
    -1,
    1,
  ),
  keyed(
    {
      name: 'exists',
      arity: -2,
      group,
      flags: ['readonly', 'fast'],
      summary: 'Determines whether one or more keys exist.',
      handler: exists,
    },
    1,
    -1,
    1,
  ),
  keyed({
    name: 'expire',
    arity: -3,
    group,
    flags: ['write', 'fast'],
    summary: 'Sets the expiration time of a key in seconds.',
    handler: expire(1000, 'expire'),
  }),
  keyed({
    name: 'pexpire',
    arity: -3,
    group,
    flags: ['write', 'fast'],
    summary: 'Sets the expiration time of a key in milliseconds.',
    handler: expire(1, 'pexpire'),
  }),
  keyed({
    name: 'ttl',
    arity: 2,
    group,
    flags: ['readonly', 'fast'],
    summary: 'Returns the expiration time in seconds of a key.',
    handler: ttl(1000),
  }),
  keyed({
    name: 'pttl',
    arity: 2,
    group,
    flags: ['readonly', 'fast'],
    summary: 'Returns the expiration time in milliseconds of a key.',
    handler: ttl(1),
  }),
  keyed({
    name: 'persist',
    arity: 2,
    group,
    flags: ['write', 'fast'],
    summary: 'Removes the expiration time of a key.',
    handler: persist,
  }),
  command({
    name: 'keys',
    arity: 2,
    group,
    flags: ['readonly'],
    summary: 'Returns all key names that match a pattern.',
    handler: keys,
  }),
  command({
    name: 'scan',
    arity: -2,
    group,
    flags: ['readonly'],
    summary: 'Iterates over the key names in the database.',
    handler: scan,
  }),
  keyed({
    name: 'type',
    arity: 2,
    group,
    flags: ['readonly', 'fast'],
    summary: 'Determines the type of value stored at a key.',
    handler: type,
  }),
];
