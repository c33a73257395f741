import { RespError, RespSet, type RespValue } from '../../../src/codec/resp-types.js';
import { command, type CommandSpec, type Reply } from '../command.js';
import { groupSpec } from './group-spec.js';
import { globMatch } from '../glob.js';
import { parseInteger } from '../integers.js';
import type { KvState } from '../kv-state.js';
import { EMPTY_SCAN, parseCursor, parseScanOptions, scanReply } from '../member-scan.js';
import { Errors } from '../replies.js';
import type { KvContext } from '../session.js';
import { KvSet } from '../sets.js';
import { MAX_RANDOM_PICKS, ZsetErrors } from '../zset-replies.js';
import { keyOf } from '../store.js';
import { isWord } from '../words.js';

/**
 * The set commands. Member order in replies is Redis's where Redis defines one (an all-integer
 * set, which Redis keeps as a sorted intset, lists in numeric order); otherwise it is this
 * server's own, as Redis's follows its hash table. Whole-set replies (SMEMBERS, SINTER,
 * SUNION, SDIFF, SPOP with a count) are RESP3 sets, as in Redis; SRANDMEMBER's are arrays.
 */

const NUMKEYS = new RespError('ERR numkeys should be greater than 0');
const TOO_MANY_KEYS = new RespError("ERR Number of keys can't be greater than number of args");
const LIMIT_NEGATIVE = new RespError("ERR LIMIT can't be negative");
const RANDOM_COUNT_RANGE = new RespError(
  'ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807',
);

/** The set at `key`, undefined if none, or the WRONGTYPE error. */
function setAt(kv: KvState, key: string): KvSet | undefined | RespError {
  const entry = kv.store.lookup(key);
  if (entry === undefined) return undefined;
  return entry.value instanceof KvSet ? entry.value : Errors.wrongType;
}

function sadd(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const key = keyOf(args[1] as Buffer);
  let set = setAt(kv, key);
  if (set instanceof RespError) return set;
  if (set === undefined) {
    set = new KvSet();
    kv.store.set(key, set);
  }
  let added = 0;
  for (let i = 2; i < args.length; i++) if (set.add(args[i] as Buffer)) added++;
  // Every write reaches the store's write hook (WATCH), as Redis signals a modified key.
  if (added > 0) kv.store.written(key);
  return added;
}

function srem(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const key = keyOf(args[1] as Buffer);
  const set = setAt(kv, key);
  if (set === undefined) return 0;
  if (set instanceof RespError) return set;
  let removed = 0;
  for (let i = 2; i < args.length; i++) if (set.remove(args[i] as Buffer)) removed++;
  if (set.size === 0) kv.store.delete(key);
  if (removed > 0) kv.store.written(key);
  return removed;
}

function smembers(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const set = setAt(kv, keyOf(args[1] as Buffer));
  if (set === undefined) return new RespSet([]);
  if (set instanceof RespError) return set;
  return new RespSet(set.members());
}

function sismember(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const set = setAt(kv, keyOf(args[1] as Buffer));
  if (set === undefined) return 0;
  if (set instanceof RespError) return set;
  return set.has(args[2] as Buffer) ? 1 : 0;
}

function smismember(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const set = setAt(kv, keyOf(args[1] as Buffer));
  if (set instanceof RespError) return set;
  const out: RespValue[] = [];
  for (let i = 2; i < args.length; i++) out.push(set?.has(args[i] as Buffer) === true ? 1 : 0);
  return out;
}

function scard(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const set = setAt(kv, keyOf(args[1] as Buffer));
  return set instanceof KvSet ? set.size : (set ?? 0);
}

/** SPOP key [count]: one random member, or up to `count` distinct ones as a set. */
function spop(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  if (args.length > 3) return Errors.syntax;
  const key = keyOf(args[1] as Buffer);
  if (args.length === 2) {
    const set = setAt(kv, key);
    if (set === undefined) return null;
    if (set instanceof RespError) return set;
    const member = set.popRandom();
    if (set.size === 0) kv.store.delete(key);
    kv.store.written(key);
    return member;
  }
  const parsed = parseInteger(args[2] as Buffer);
  if (parsed === undefined || parsed < 0) return Errors.notPositive;
  const set = setAt(kv, key);
  if (set === undefined) return new RespSet([]);
  if (set instanceof RespError) return set;
  const count = Number(parsed);
  if (count === 0) return new RespSet([]);
  if (count >= set.size) {
    kv.store.delete(key);
    kv.store.written(key);
    return new RespSet(set.members());
  }
  const popped: Buffer[] = [];
  for (let i = 0; i < count; i++) popped.push(set.popRandom());
  kv.store.written(key);
  return new RespSet(popped);
}

/** SRANDMEMBER key [count]: distinct members for a positive count, repeats for a negative one. */
function srandmember(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  if (args.length > 3) return Errors.syntax;
  const key = keyOf(args[1] as Buffer);
  if (args.length === 2) {
    const set = setAt(kv, key);
    if (set === undefined) return null;
    if (set instanceof RespError) return set;
    return set.random();
  }
  const parsed = parseInteger(args[2] as Buffer);
  if (parsed === undefined) return Errors.notInteger;
  if (parsed < -(2n ** 63n - 1n)) return RANDOM_COUNT_RANGE;
  const set = setAt(kv, key);
  if (set === undefined) return [];
  if (set instanceof RespError) return set;
  const count = Number(parsed);
  if (count === 0) return [];
  if (count < 0) {
    if (count < -MAX_RANDOM_PICKS) return ZsetErrors.tooManyPicks;
    const picks: Buffer[] = [];
    for (let i = 0; i < -count; i++) picks.push(set.random());
    return picks;
  }
  if (count >= set.size) return set.members();
  const picked = new Map<string, Buffer>();
  while (picked.size < count) {
    const member = set.random();
    picked.set(member.toString('latin1'), member);
  }
  return [...picked.values()];
}

function smove(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const sourceKey = keyOf(args[1] as Buffer);
  const destinationKey = keyOf(args[2] as Buffer);
  const member = args[3] as Buffer;
  const source = setAt(kv, sourceKey);
  if (source === undefined) return 0;
  if (source instanceof RespError) return source;
  const destination = setAt(kv, destinationKey);
  if (destination instanceof RespError) return destination;
  if (source === destination) return source.has(member) ? 1 : 0;
  if (!source.remove(member)) return 0;
  if (source.size === 0) kv.store.delete(sourceKey);
  let target = destination;
  if (target === undefined) {
    target = new KvSet();
    kv.store.set(destinationKey, target);
  }
  target.add(member);
  kv.store.written(sourceKey);
  kv.store.written(destinationKey);
  return 1;
}

/**
 * The sets at `keys` (a missing key is an empty set, undefined here); WRONGTYPE if any key
 * holds something else, checked for every key before any work, as Redis does.
 */
function setsAt(kv: KvState, keys: readonly Buffer[]): (KvSet | undefined)[] | RespError {
  const sets: (KvSet | undefined)[] = [];
  for (const key of keys) {
    const set = setAt(kv, keyOf(key));
    if (set instanceof RespError) return set;
    sets.push(set);
  }
  return sets;
}

/** The members in every one of `sets`, walking the smallest; stops at `limit` (0: none). */
function intersect(sets: readonly (KvSet | undefined)[], limit: number): Buffer[] {
  if (sets.some((set) => set === undefined)) return [];
  const ordered = [...(sets as KvSet[])].sort((a, b) => a.size - b.size);
  const [smallest, ...rest] = ordered as [KvSet, ...KvSet[]];
  const out: Buffer[] = [];
  for (const member of smallest.members()) {
    if (rest.every((set) => set.has(member))) {
      out.push(member);
      if (limit > 0 && out.length >= limit) break;
    }
  }
  return out;
}

function combine(op: 'union' | 'diff', sets: readonly (KvSet | undefined)[]): KvSet {
  const out = new KvSet();
  if (op === 'union') {
    for (const set of sets) for (const member of set?.members() ?? []) out.add(member);
    return out;
  }
  const [first, ...rest] = sets;
  for (const member of first?.members() ?? []) {
    if (!rest.some((set) => set?.has(member) === true)) out.add(member);
  }
  return out;
}

/** The result of SINTER/SUNION/SDIFF over `keys`, as a set built the way Redis builds it. */
function operate(
  kv: KvState,
  op: 'inter' | 'union' | 'diff',
  keys: readonly Buffer[],
): KvSet | RespError {
  const sets = setsAt(kv, keys);
  if (sets instanceof RespError) return sets;
  if (op !== 'inter') return combine(op, sets);
  const out = new KvSet();
  for (const member of intersect(sets, 0)) out.add(member);
  return out;
}

function setAlgebra(op: 'inter' | 'union' | 'diff', store: boolean) {
  return (kv: KvState, _ctx: KvContext, args: Buffer[]): Reply => {
    const result = operate(kv, op, args.slice(store ? 2 : 1));
    if (result instanceof RespError) return result;
    if (!store) return new RespSet(result.members());
    const destination = keyOf(args[1] as Buffer);
    if (result.size > 0) kv.store.set(destination, result);
    if (result.size > 0 || kv.store.delete(destination)) kv.store.written(destination);
    return result.size;
  };
}

function sintercard(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const numkeys = parseInteger(args[1] as Buffer);
  if (numkeys === undefined || numkeys < 1) return NUMKEYS;
  if (numkeys > args.length - 2) return TOO_MANY_KEYS;
  const count = Number(numkeys);
  let limit = 0;
  for (let i = 2 + count; i < args.length; i++) {
    if (isWord(args[i] as Buffer, 'LIMIT') && i + 1 < args.length) {
      const parsed = parseInteger(args[i + 1] as Buffer);
      if (parsed === undefined || parsed < 0) return LIMIT_NEGATIVE;
      limit = Number(parsed);
      i++;
    } else {
      return Errors.syntax;
    }
  }
  const sets = setsAt(kv, args.slice(2, 2 + count));
  if (sets instanceof RespError) return sets;
  return intersect(sets, limit).length;
}

function sscan(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const cursor = parseCursor(args[2] as Buffer);
  if (cursor === undefined) return Errors.invalidCursor;
  const set = setAt(kv, keyOf(args[1] as Buffer));
  if (set === undefined) return EMPTY_SCAN();
  if (set instanceof RespError) return set;
  const options = parseScanOptions(args, 3);
  if (options instanceof RespError) return options;
  const page = set.scan(cursor, options.count);
  const pattern = options.pattern;
  const members =
    pattern === undefined
      ? page.members
      : page.members.filter((member) => globMatch(pattern, member.toString('latin1')));
  return scanReply(page.cursor, members);
}

const group = 'set';

const spec = groupSpec(group);

const READ = ['readonly'];
const WRITE = ['write', 'denyoom'];

/**
 * SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SPOP, SRANDMEMBER, SMOVE, SINTER,
 * SINTERCARD, SINTERSTORE, SUNION, SUNIONSTORE, SDIFF, SDIFFSTORE, SSCAN.
 *
 * @example
 * ```ts
 * const table = new CommandTable(setCommands);
 * ```
 */
export const setCommands: readonly CommandSpec[] = [
  spec('sadd', -3, ['write', 'denyoom', 'fast'], 'Add one or more members to a set', sadd),
  spec('srem', -3, ['write', 'fast'], 'Remove one or more members from a set', srem),
  spec('smembers', 2, READ, 'Get all the members in a set', smembers),
  spec(
    'sismember',
    3,
    ['readonly', 'fast'],
    'Determine if a given value is a member of a set',
    sismember,
  ),
  spec(
    'smismember',
    -3,
    ['readonly', 'fast'],
    'Returns the membership associated with the given elements for a set',
    smismember,
  ),
  spec('scard', 2, ['readonly', 'fast'], 'Get the number of members in a set', scard),
  spec(
    'spop',
    -2,
    ['write', 'fast'],
    'Remove and return one or multiple random members from a set',
    spop,
  ),
  spec('srandmember', -2, READ, 'Get one or multiple random members from a set', srandmember),
  spec('smove', 4, ['write', 'fast'], 'Move a member from one set to another', smove, 2),
  spec('sinter', -2, READ, 'Intersect multiple sets', setAlgebra('inter', false), -1),
  command({
    name: 'sintercard',
    arity: -3,
    group,
    flags: ['readonly', 'movablekeys'],
    summary: 'Intersect multiple sets and return the cardinality of the result',
    handler: sintercard,
  }),
  spec(
    'sinterstore',
    -3,
    WRITE,
    'Intersect multiple sets and store the resulting set in a key',
    setAlgebra('inter', true),
    -1,
  ),
  spec('sunion', -2, READ, 'Add multiple sets', setAlgebra('union', false), -1),
  spec(
    'sunionstore',
    -3,
    WRITE,
    'Add multiple sets and store the resulting set in a key',
    setAlgebra('union', true),
    -1,
  ),
  spec('sdiff', -2, READ, 'Subtract multiple sets', setAlgebra('diff', false), -1),
  spec(
    'sdiffstore',
    -3,
    WRITE,
    'Subtract multiple sets and store the resulting set in a key',
    setAlgebra('diff', true),
    -1,
  ),
  spec('sscan', -3, READ, 'Incrementally iterate Set elements', sscan),
];
