import type { CommandGenerator, Rng } from './random-sequences.js';

/**
 * Command generators for the data groups the kv server serves (strings, keys, hashes, lists),
 * over a small key space so commands meet each other's keys, with wrong types, wrong arities
 * and bad numbers mixed in. Time-dependent inputs stay deterministic: relative TTLs are
 * thousands of seconds (TTL reads compare within a tolerance), absolute ones are in the past
 * (the key is deleted at once) or far in the future (exact EXPIRETIME).
 */

export const KEYS = ['a', 'b', 'c', 'h', 'l'];
const VALUES = ['', 'x', 'hello', '10', '-3', '0', '3.5', '1e3', 'abc def', '9223372036854775807'];
const NUMBERS = [
  '0',
  '1',
  '-1',
  '2',
  '5',
  '-5',
  '100',
  'x',
  '1.5',
  '',
  '9223372036854775807',
  '-9223372036854775808',
  '01',
  '+1',
];
const FLOATS = [
  '0',
  '1',
  '-1',
  '0.1',
  '1.5',
  '-2.25',
  '1e3',
  '3.0e-2',
  'x',
  '',
  ' 1',
  'inf',
  '-inf',
  'nan',
  '1e5000',
  '10.',
];
const INDEXES = ['0', '1', '-1', '2', '-2', '5', '-10', '100', 'x'];
const FIELDS = ['f', 'g', 'n', 'x y'];

export const key = (rng: Rng): string => rng.pick(KEYS);
export const value = (rng: Rng): string | Buffer =>
  rng.chance(0.05)
    ? rng.bytes(rng.int(6))
    : rng.chance(0.03)
      ? 'v'.repeat(50 + rng.int(30))
      : rng.pick(VALUES);
export const num = (rng: Rng): string => rng.pick(NUMBERS);
const float = (rng: Rng): string => rng.pick(FLOATS);
const index = (rng: Rng): string => rng.pick(INDEXES);
const field = (rng: Rng): string => rng.pick(FIELDS);
const side = (rng: Rng): string => rng.pick(['LEFT', 'RIGHT', 'left', 'up']);
const some = <T>(rng: Rng, max: number, make: (rng: Rng) => T): T[] =>
  Array.from({ length: 1 + rng.int(max) }, () => make(rng));
/**
 * Relative times far beyond a run, drawn from a wide range so two are never within the few ms
 * the servers' clocks differ by (GT/LT must be decided by the values, not by the clock).
 */
const seconds = (rng: Rng): string =>
  rng.chance(0.8)
    ? String(1000 + rng.int(1_000_000))
    : rng.pick(['0', '-1', 'x', '9223372036854775807']);
const millis = (rng: Rng): string =>
  rng.chance(0.8) ? String(10_000_000 + rng.int(1_000_000_000)) : rng.pick(['0', '-1', 'x']);
const absolute = (rng: Rng): string => rng.pick(['1', '4102444800', '4102448400', '0', '-5', 'x']);
const expireOptions = (rng: Rng): string[] =>
  rng.chance(0.6) ? [] : some(rng, 2, (r) => r.pick(['NX', 'XX', 'GT', 'LT', 'nx', 'foo']));
/** Occasionally an argument dropped or added, for the arity errors. */
const mangle = (rng: Rng, command: (string | Buffer)[]): (string | Buffer)[] => {
  if (rng.chance(0.03)) return command.slice(0, Math.max(1, command.length - 1));
  if (rng.chance(0.03)) return [...command, 'extra'];
  return command;
};
const g =
  (make: (rng: Rng) => (string | Buffer)[]): CommandGenerator =>
  (rng) =>
    mangle(rng, make(rng));

export const stringGenerators: CommandGenerator[] = [
  g((r) => ['GET', key(r)]),
  g((r) => {
    const options: string[] = [];
    if (r.chance(0.3)) options.push(r.pick(['NX', 'XX', 'nx']));
    if (r.chance(0.3)) options.push('GET');
    if (r.chance(0.3))
      options.push(
        ...r.pick([
          ['EX', seconds(r)],
          ['PX', millis(r)],
          ['EXAT', absolute(r)],
          ['PXAT', '4102444800000'],
          ['KEEPTTL'],
          ['EX'],
        ]),
      );
    if (r.chance(0.05)) options.push('BOGUS');
    return ['SET', key(r), value(r), ...options];
  }),
  g((r) => ['SETNX', key(r), value(r)]),
  g((r) => ['SETEX', key(r), seconds(r), value(r)]),
  g((r) => ['PSETEX', key(r), millis(r), value(r)]),
  g((r) => ['GETSET', key(r), value(r)]),
  g((r) => ['GETDEL', key(r)]),
  g((r) => [
    'GETEX',
    key(r),
    ...r.pick([
      [],
      ['PERSIST'],
      ['EX', seconds(r)],
      ['PXAT', '1'],
      ['EXAT', absolute(r)],
      ['KEEPTTL'],
      ['EX'],
      ['PERSIST', 'EX', '100'],
    ]),
  ]),
  g((r) => ['MGET', ...some(r, 4, key)]),
  g((r) => ['MSET', ...some(r, 3, (q) => [key(q), value(q)]).flat()]),
  g((r) => ['MSETNX', ...some(r, 3, (q) => [key(q), value(q)]).flat()]),
  g((r) => [r.pick(['INCR', 'DECR']), key(r)]),
  g((r) => [r.pick(['INCRBY', 'DECRBY']), key(r), num(r)]),
  g((r) => ['INCRBYFLOAT', key(r), float(r)]),
  g((r) => ['APPEND', key(r), value(r)]),
  g((r) => ['STRLEN', key(r)]),
  g((r) => [r.pick(['GETRANGE', 'SUBSTR']), key(r), index(r), index(r)]),
  g((r) => [
    'SETRANGE',
    key(r),
    r.pick(['0', '1', '3', '10', '-1', 'x', '536870912']),
    r.pick(['', 'ab', 'xyz']),
  ]),
  g((r) => [
    'LCS',
    key(r),
    key(r),
    ...(r.chance(0.5)
      ? []
      : some(r, 3, (q) => q.pick(['LEN', 'IDX', 'WITHMATCHLEN', 'MINMATCHLEN', '2', 'foo']))),
  ]),
];

export const keyGenerators: CommandGenerator[] = [
  g((r) => [r.pick(['DEL', 'UNLINK', 'EXISTS', 'TOUCH']), ...some(r, 3, key)]),
  g((r) => ['TYPE', key(r)]),
  g((r) => [r.pick(['RENAME', 'RENAMENX']), key(r), key(r)]),
  g((r) => [
    'COPY',
    key(r),
    key(r),
    ...(r.chance(0.5)
      ? []
      : r.pick([['REPLACE'], ['DB', '0'], ['DB', '0', 'REPLACE'], ['DB', 'x'], ['FOO']])),
  ]),
  g(() => ['RANDOMKEY']),
  g((r) => ['KEYS', r.pick(['*', 'a', '?', '[ab]', 'h*', '[^a]', 'z*'])]),
  g((r) => [
    'SCAN',
    r.pick(['0', '0', 'x', '']),
    ...r.pick([
      ['COUNT', '1000'],
      ['MATCH', '[ab]', 'COUNT', '1000'],
      ['TYPE', r.pick(['string', 'hash', 'list', 'HASH', 'nope']), 'COUNT', '100'],
      ['COUNT', '0'],
      ['COUNT'],
      ['FOO', 'x'],
    ]),
  ]),
  g((r) => [
    'OBJECT',
    r.pick(['ENCODING', 'encoding', 'REFCOUNT', 'FREQ', 'IDLETIME', 'nosuch']),
    key(r),
  ]),
  g(() => ['OBJECT', 'HELP']),
  g((r) => ['EXPIRE', key(r), seconds(r), ...expireOptions(r)]),
  g((r) => ['PEXPIRE', key(r), millis(r), ...expireOptions(r)]),
  g((r) => [r.pick(['EXPIREAT', 'PEXPIREAT']), key(r), absolute(r), ...expireOptions(r)]),
  g((r) => [r.pick(['TTL', 'PTTL', 'EXPIRETIME', 'PEXPIRETIME', 'PERSIST']), key(r)]),
];

export const hashGenerators: CommandGenerator[] = [
  g((r) => [r.pick(['HSET', 'HMSET']), key(r), ...some(r, 3, (q) => [field(q), value(q)]).flat()]),
  g((r) => ['HSETNX', key(r), field(r), value(r)]),
  g((r) => [r.pick(['HGET', 'HEXISTS', 'HSTRLEN']), key(r), field(r)]),
  g((r) => ['HMGET', key(r), ...some(r, 3, field)]),
  g((r) => [r.pick(['HGETALL', 'HKEYS', 'HVALS', 'HLEN']), key(r)]),
  g((r) => ['HDEL', key(r), ...some(r, 3, field)]),
  g((r) => ['HINCRBY', key(r), field(r), num(r)]),
  g((r) => ['HINCRBYFLOAT', key(r), field(r), float(r)]),
  g((r) => [
    'HRANDFIELD',
    key(r),
    ...r.pick([
      [],
      ['5'],
      ['-3'],
      ['0'],
      ['2', 'WITHVALUES'],
      ['-2', 'withvalues'],
      ['x'],
      ['1', 'FOO'],
      ['9223372036854775807', 'WITHVALUES'],
    ]),
  ]),
  g((r) => [
    'HSCAN',
    key(r),
    r.pick(['0', 'x']),
    ...r.pick([[], ['MATCH', 'f*'], ['COUNT', '100'], ['COUNT', '0'], ['TYPE', 'string']]),
  ]),
];

const element = (rng: Rng): string => rng.pick(['a', 'b', 'c', '1']);

export const listGenerators: CommandGenerator[] = [
  g((r) => [r.pick(['LPUSH', 'RPUSH', 'LPUSHX', 'RPUSHX']), key(r), ...some(r, 4, element)]),
  g((r) => [
    r.pick(['LPOP', 'RPOP']),
    key(r),
    ...(r.chance(0.5) ? [] : [r.pick(['0', '1', '2', '10', '-1', 'x'])]),
  ]),
  g((r) => ['LRANGE', key(r), index(r), index(r)]),
  g((r) => [r.pick(['LLEN']), key(r)]),
  g((r) => ['LINDEX', key(r), index(r)]),
  g((r) => ['LSET', key(r), index(r), element(r)]),
  g((r) => [
    'LINSERT',
    key(r),
    r.pick(['BEFORE', 'AFTER', 'after', 'middle']),
    element(r),
    element(r),
  ]),
  g((r) => ['LREM', key(r), r.pick(['0', '1', '-1', '2', '-2', 'x']), element(r)]),
  g((r) => ['LTRIM', key(r), index(r), index(r)]),
  g((r) => [
    'LPOS',
    key(r),
    element(r),
    ...(r.chance(0.5)
      ? []
      : some(r, 2, (q) =>
          q.pick([
            ['RANK', q.pick(['1', '2', '-1', '-2', '0', 'x'])],
            ['COUNT', q.pick(['0', '1', '2', '-1'])],
            ['MAXLEN', q.pick(['0', '2', '-1'])],
            ['FOO'],
          ]),
        ).flat()),
  ]),
  g((r) => ['LMOVE', key(r), key(r), side(r), side(r)]),
  g((r) => ['RPOPLPUSH', key(r), key(r)]),
  g((r) => {
    const keys = some(r, 2, key);
    return [
      'LMPOP',
      r.pick([String(keys.length), String(keys.length), '0', 'x', '5']),
      ...keys,
      side(r),
      ...(r.chance(0.5) ? [] : ['COUNT', r.pick(['1', '2', '10', '0', 'x'])]),
    ];
  }),
  // Blocking pops that find an element, or time out quickly on an empty key (same null).
  g((r) => [r.pick(['BLPOP', 'BRPOP']), ...some(r, 2, key), r.pick(['0.001', '0.002', 'x', '-1'])]),
  g((r) => ['BLMOVE', key(r), key(r), side(r), side(r), r.pick(['0.001', 'x'])]),
  g((r) => ['BRPOPLPUSH', key(r), key(r), '0.001']),
  g((r) => [
    'BLMPOP',
    r.pick(['0.001', 'x']),
    '1',
    key(r),
    side(r),
    ...(r.chance(0.5) ? [] : ['COUNT', '2']),
  ]),
];

/** Sequences and commands per run: MAI_RELIABILITY=long runs far more. */
export const scale = (shortRun: number, longRun: number): number =>
  process.env.MAI_RELIABILITY === 'long' ? longRun : shortRun;
