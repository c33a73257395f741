import { RespError } from '../../../src/codec/resp-types.js';
import { type CommandSpec, keyed, type Reply } from '../command.js';
import { parseInteger } from '../integers.js';
import type { KvState } from '../kv-state.js';
import { Errors, invalidExpire, unsupportedOption } from '../replies.js';
import type { KvContext } from '../session.js';
import { keyOf } from '../store.js';
import { isWord } from '../words.js';

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
const GT_AND_LT = new RespError('ERR GT and LT options at the same time are not compatible');

const ExpireFlag = { NX: 1, XX: 2, GT: 4, LT: 8 } as const;

/**
 * EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT in Redis 7's order of checks: the options must be known
 * and compatible, then the time an integer within range once converted to an absolute ms time;
 * only then is the key looked at. A time already past deletes the key (and answers 1).
 */
function expire(unitMs: 1 | 1000, absolute: boolean, name: string) {
  return (kv: KvState, _ctx: KvContext, args: Buffer[]): Reply => {
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
    const when = parseInteger(args[2] as Buffer);
    if (when === undefined) return Errors.notInteger;
    let ms = BigInt(when);
    if (unitMs === 1000) {
      if (ms > INT64_MAX / 1000n || ms < INT64_MIN / 1000n) return invalidExpire(name);
      ms *= 1000n;
    }
    const base = absolute ? 0n : BigInt(Date.now());
    if (ms > INT64_MAX - base) return invalidExpire(name);
    const deadline = Number(ms + base);
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
    kv.store.written(key);
    return 1;
  };
}

/** TTL and PTTL (time left), EXPIRETIME and PEXPIRETIME (the deadline); seconds round. */
function ttl(unitMs: 1 | 1000, absolute: boolean) {
  return (kv: KvState, _ctx: KvContext, args: Buffer[]): Reply => {
    const entry = kv.store.lookup(keyOf(args[1] as Buffer));
    if (entry === undefined) return -2;
    if (entry.expiresAt === 0) return -1;
    const value = absolute ? entry.expiresAt : Math.max(0, entry.expiresAt - Date.now());
    return unitMs === 1 ? value : Math.floor((value + 500) / 1000);
  };
}

function persist(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const key = keyOf(args[1] as Buffer);
  const entry = kv.store.lookup(key);
  if (entry === undefined || !kv.store.persist(key, entry)) return 0;
  kv.store.written(key);
  return 1;
}

const group = 'generic';
const write = ['write', 'fast'];
const read = ['readonly', 'fast'];

/**
 * The expiry commands: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (with NX/XX/GT/LT), TTL, PTTL,
 * EXPIRETIME, PEXPIRETIME, PERSIST.
 *
 * @example
 * ```ts
 * const table = new CommandTable(expiryCommands);
 * ```
 */
export const expiryCommands: readonly CommandSpec[] = [
  keyed({
    name: 'expire',
    arity: -3,
    group,
    flags: write,
    summary: 'Sets the expiration time of a key in seconds.',
    handler: expire(1000, false, 'expire'),
  }),
  keyed({
    name: 'pexpire',
    arity: -3,
    group,
    flags: write,
    summary: 'Sets the expiration time of a key in milliseconds.',
    handler: expire(1, false, 'pexpire'),
  }),
  keyed({
    name: 'expireat',
    arity: -3,
    group,
    flags: write,
    summary: 'Sets the expiration time of a key to a Unix timestamp.',
    handler: expire(1000, true, 'expireat'),
  }),
  keyed({
    name: 'pexpireat',
    arity: -3,
    group,
    flags: write,
    summary: 'Sets the expiration time of a key to a Unix milliseconds timestamp.',
    handler: expire(1, true, 'pexpireat'),
  }),
  keyed({
    name: 'ttl',
    arity: 2,
    group,
    flags: read,
    summary: 'Returns the expiration time in seconds of a key.',
    handler: ttl(1000, false),
  }),
  keyed({
    name: 'pttl',
    arity: 2,
    group,
    flags: read,
    summary: 'Returns the expiration time in milliseconds of a key.',
    handler: ttl(1, false),
  }),
  keyed({
    name: 'expiretime',
    arity: 2,
    group,
    flags: read,
    summary: 'Returns the expiration time of a key as a Unix timestamp.',
    handler: ttl(1000, true),
  }),
  keyed({
    name: 'pexpiretime',
    arity: 2,
    group,
    flags: read,
    summary: 'Returns the expiration time of a key as a Unix milliseconds timestamp.',
    handler: ttl(1, true),
  }),
  keyed({
    name: 'persist',
    arity: 2,
    group,
    flags: write,
    summary: 'Removes the expiration time of a key.',
    handler: persist,
  }),
];
