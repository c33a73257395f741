import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type CommandGenerator,
  type CompareMode,
  type Rng,
  runRandomSequences,
} from './random-sequences.js';

/**
 * Generated SET and ZSET command sequences, sent to kv and to redis-server 7.0, reply by reply.
 *
 * The key space is small so commands collide: three sets, three sorted sets, one sorted set
 * whose scores all tie (for the lex commands, whose result Redis leaves undefined otherwise:
 * it depends on the skip list's random shape), strings (for WRONGTYPE) and missing keys. Scores are sums of halves and quarters, so a sum
 * is exact whatever order the two servers add in; `zf` holds scores like 0.1 and 1e21 for the
 * %.17g formatting and is kept out of the aggregates for that reason. Random replies
 * (SRANDMEMBER, ZRANDMEMBER) are compared by shape; SPOP only runs with a count no set
 * reaches, so both servers pop everything and stay in step.
 */

const SETS = ['s1', 's2', 's3', 'str', 'none'];
const ZSETS = ['z1', 'z2', 'z3', 'str', 'none'];
const MEMBERS = ['a', 'b', 'c', 'd', 'e', '1', '2', '3', '10', '-5'];
const INT_MEMBERS = ['1', '2', '3', '10', '-5', '7'];
const SCORES = ['0', '1', '2', '-1', '0.5', '1.25', '-2.75', '3', 'inf', '-inf', '+inf', '-0'];
const BAD_SCORES = ['x', '', ' 1', '1 ', 'nan', '1e400', '0x', '1.5.5'];
const BOUNDS = ['-inf', '+inf', '0', '1', '(1', '(0.5', '2', '(-inf', '-1', 'x', '(', ''];
const LEX = ['-', '+', '[a', '(a', '[c', '(c', '[e', 'a', '[', '(', '[bb'];
const RANKS = ['0', '1', '-1', '-2', '2', '5', '-100', '100', 'x'];
const FLOAT_SCORES = ['0.1', '0.2', '1e21', '1e-7', '123456789.123', '-3.3e-300', '1e16', '1e17'];

const pick = (rng: Rng, items: readonly string[]) => rng.pick(items);
const some = (rng: Rng, items: readonly string[], max: number): string[] =>
  Array.from({ length: 1 + rng.int(max) }, () => rng.pick(items));
const keys = (rng: Rng, pool: readonly string[], max: number) => some(rng, pool, max);

const setGenerators: CommandGenerator[] = [
  (rng) => ['SADD', pick(rng, SETS), ...some(rng, rng.chance(0.5) ? INT_MEMBERS : MEMBERS, 4)],
  (rng) => ['SADD', pick(rng, SETS), ...some(rng, MEMBERS, 3)],
  (rng) => ['SREM', pick(rng, SETS), ...some(rng, MEMBERS, 3)],
  (rng) => ['SMEMBERS', pick(rng, SETS)],
  (rng) => ['SISMEMBER', pick(rng, SETS), pick(rng, MEMBERS)],
  (rng) => ['SMISMEMBER', pick(rng, SETS), ...some(rng, MEMBERS, 3)],
  (rng) => ['SCARD', pick(rng, SETS)],
  (rng) => ['SMOVE', pick(rng, SETS), pick(rng, SETS), pick(rng, MEMBERS)],
  (rng) => [pick(rng, ['SINTER', 'SUNION', 'SDIFF']), ...keys(rng, SETS, 3)],
  (rng) => [
    pick(rng, ['SINTERSTORE', 'SUNIONSTORE', 'SDIFFSTORE']),
    pick(rng, SETS),
    ...keys(rng, SETS, 3),
  ],
  (rng) => {
    const names = keys(rng, SETS, 3);
    const n = rng.chance(0.1) ? pick(rng, ['0', '-1', 'x', '9']) : String(names.length);
    const limit = rng.chance(0.5) ? ['LIMIT', pick(rng, ['0', '1', '2', '-1', 'x'])] : [];
    return ['SINTERCARD', n, ...names, ...limit];
  },
  // Always a count: a lone random member's length would differ between the servers.
  (rng) => ['SRANDMEMBER', pick(rng, SETS), pick(rng, RANKS)],
  (rng) => ['SPOP', pick(rng, SETS), pick(rng, ['100', '50', '-1', 'x'])],
  (rng) => ['SSCAN', pick(rng, SETS), pick(rng, ['0', 'x']), 'COUNT', '1000'],
  (rng) => [
    'SSCAN',
    pick(rng, SETS),
    '0',
    'MATCH',
    pick(rng, ['*', '1*', '[a-c]']),
    'COUNT',
    '1000',
  ],
  (rng) => ['SET', 'str', pick(rng, MEMBERS)],
  (rng) => ['DEL', pick(rng, SETS)],
];

const zaddOptions = (rng: Rng): string[] =>
  ['NX', 'XX', 'GT', 'LT', 'CH', 'INCR'].filter(() => rng.chance(0.15));

const zsetGenerators: CommandGenerator[] = [
  (rng) => {
    const pairs = Array.from({ length: 1 + rng.int(3) }, () => [
      rng.chance(0.05) ? pick(rng, BAD_SCORES) : pick(rng, SCORES),
      pick(rng, MEMBERS),
    ]).flat();
    return ['ZADD', pick(rng, ZSETS), ...zaddOptions(rng), ...pairs];
  },
  (rng) => ['ZADD', pick(rng, ZSETS), pick(rng, SCORES), pick(rng, MEMBERS)],
  (rng) => ['ZADD', 'zf', pick(rng, FLOAT_SCORES), pick(rng, MEMBERS)],
  (rng) => ['ZADD', 'lex', '0', pick(rng, ['a', 'b', 'bb', 'c', 'd', 'e', 'ab'])],
  (rng) => [
    'ZINCRBY',
    pick(rng, [...ZSETS, 'zf']),
    pick(rng, [...SCORES, 'x']),
    pick(rng, MEMBERS),
  ],
  (rng) => ['ZREM', pick(rng, ZSETS), ...some(rng, MEMBERS, 3)],
  (rng) => ['ZCARD', pick(rng, ZSETS)],
  (rng) => ['ZSCORE', pick(rng, [...ZSETS, 'zf']), pick(rng, MEMBERS)],
  (rng) => ['ZMSCORE', pick(rng, [...ZSETS, 'zf']), ...some(rng, MEMBERS, 3)],
  (rng) => [pick(rng, ['ZRANK', 'ZREVRANK']), pick(rng, ZSETS), pick(rng, MEMBERS)],
  (rng) => ['ZCOUNT', pick(rng, ZSETS), pick(rng, BOUNDS), pick(rng, BOUNDS)],
  (rng) => ['ZLEXCOUNT', pick(rng, ['lex', 'nolex', 'wrong']), pick(rng, LEX), pick(rng, LEX)],
  (rng) => {
    const by = rng.int(3);
    const key = by === 2 ? pick(rng, ['lex', 'nolex', 'wrong']) : pick(rng, [...ZSETS, 'zf']);
    const range = by === 0 ? RANKS : by === 1 ? BOUNDS : LEX;
    const options = [
      ...(by === 1 ? ['BYSCORE'] : by === 2 ? ['BYLEX'] : []),
      ...(rng.chance(0.4) ? ['REV'] : []),
      ...(rng.chance(0.3) ? ['LIMIT', pick(rng, RANKS), pick(rng, RANKS)] : []),
      ...(rng.chance(0.4) ? ['WITHSCORES'] : []),
    ];
    if (rng.chance(0.3)) options.sort(() => rng.int(3) - 1);
    const store = rng.chance(0.2);
    return [
      store ? 'ZRANGESTORE' : 'ZRANGE',
      ...(store ? [pick(rng, ZSETS)] : []),
      key,
      pick(rng, range),
      pick(rng, range),
      ...options.filter((o) => !store || o !== 'WITHSCORES'),
    ];
  },
  (rng) => [
    pick(rng, ['ZRANGEBYSCORE', 'ZREVRANGEBYSCORE']),
    pick(rng, [...ZSETS, 'zf']),
    pick(rng, BOUNDS),
    pick(rng, BOUNDS),
    ...(rng.chance(0.4) ? ['WITHSCORES'] : []),
    ...(rng.chance(0.3) ? ['LIMIT', pick(rng, RANKS), pick(rng, RANKS)] : []),
  ],
  (rng) => [
    pick(rng, ['ZRANGEBYLEX', 'ZREVRANGEBYLEX']),
    pick(rng, ['lex', 'nolex', 'wrong']),
    pick(rng, LEX),
    pick(rng, LEX),
    ...(rng.chance(0.3) ? ['LIMIT', pick(rng, RANKS), pick(rng, RANKS)] : []),
  ],
  (rng) => [
    'ZREVRANGE',
    pick(rng, ZSETS),
    pick(rng, RANKS),
    pick(rng, RANKS),
    ...(rng.chance(0.4) ? ['WITHSCORES'] : []),
  ],
  (rng) => ['ZREMRANGEBYRANK', pick(rng, ZSETS), pick(rng, RANKS), pick(rng, RANKS)],
  (rng) => ['ZREMRANGEBYSCORE', pick(rng, ZSETS), pick(rng, BOUNDS), pick(rng, BOUNDS)],
  (rng) => ['ZREMRANGEBYLEX', pick(rng, ['lex', 'wrong', 'nolex']), pick(rng, LEX), pick(rng, LEX)],
  (rng) => [
    pick(rng, ['ZPOPMIN', 'ZPOPMAX']),
    pick(rng, ZSETS),
    ...(rng.chance(0.6) ? [pick(rng, ['0', '1', '2', '10', '-1', 'x'])] : []),
  ],
  (rng) => {
    const names = keys(rng, [...ZSETS, 's1', 's2'], 3);
    const store = rng.chance(0.4);
    const op = pick(rng, ['UNION', 'INTER', 'DIFF']);
    const options: string[] = [];
    if (rng.chance(0.4))
      options.push('WEIGHTS', ...names.map(() => pick(rng, ['1', '2', '-1', '0', '0.5', 'x'])));
    if (rng.chance(0.4)) options.push('AGGREGATE', pick(rng, ['SUM', 'MIN', 'MAX', 'AVG']));
    if (!store && rng.chance(0.5)) options.push('WITHSCORES');
    const n = rng.chance(0.05) ? pick(rng, ['0', 'x', '9']) : String(names.length);
    return store
      ? [`Z${op}STORE`, pick(rng, ZSETS), n, ...names, ...options]
      : [`Z${op}`, n, ...names, ...options];
  },
  (rng) => {
    const names = keys(rng, [...ZSETS, 's1'], 3);
    const limit = rng.chance(0.5) ? ['LIMIT', pick(rng, ['0', '1', '-1', 'x'])] : [];
    return ['ZINTERCARD', rng.chance(0.1) ? '0' : String(names.length), ...names, ...limit];
  },
  (rng) => [
    'ZRANDMEMBER',
    pick(rng, ZSETS),
    pick(rng, RANKS),
    ...(rng.chance(0.3) ? ['WITHSCORES'] : []),
  ],
  (rng) => ['ZSCAN', pick(rng, [...ZSETS, 'zf']), pick(rng, ['0', 'x']), 'COUNT', '1000'],
  (rng) => ['ZSCAN', pick(rng, ZSETS), '0', 'MATCH', pick(rng, ['*', '[a-c]', '1*'])],
  () => ['SET', 'str', 'x'],
  // A wrong-type key for the lex commands that no ZADD can turn into a sorted set.
  () => ['SET', 'wrong', 'x'],
  (rng) => ['DEL', pick(rng, ZSETS)],
  (rng) => ['TYPE', pick(rng, [...ZSETS, ...SETS])],
];

/**
 * ZMPOP, BZPOPMIN, BZPOPMAX: with nothing to pop (or on timeout) Redis answers a null array,
 * `*-1` in RESP2 and `_` in RESP3 (`RespNullArray`), not the null bulk string `$-1`.
 */
const nullArrayGenerators: CommandGenerator[] = [
  (rng) => {
    const names = keys(rng, ZSETS, 3);
    return [
      'ZMPOP',
      rng.chance(0.1) ? pick(rng, ['0', 'x']) : String(names.length),
      ...names,
      pick(rng, ['MIN', 'MAX', 'MID']),
      ...(rng.chance(0.5) ? ['COUNT', pick(rng, ['1', '2', '10', '0', 'x'])] : []),
    ];
  },
  (rng) => [
    pick(rng, ['BZPOPMIN', 'BZPOPMAX']),
    ...keys(rng, ['z1', 'z2', 'str'], 2),
    // Never 0 (for ever): an empty key would hang the sequence on both servers.
    pick(rng, ['0.01', '-1', 'x']),
  ],
];

/** SPOP with a count larger than any set here returns whole sets: comparable as a set. */
function compare(command: readonly (string | Buffer)[]): CompareMode | undefined {
  const name = String(command[0]).toUpperCase();
  if (name === 'SPOP') return 'unordered';
  return undefined;
}

test('random SET sequences: kv answers as redis-server 7.0 (RESP2 and RESP3)', async () => {
  for (const resp3 of [false, true]) {
    const result = await runRandomSequences({
      name: `sets-resp${resp3 ? 3 : 2}`,
      generators: setGenerators,
      sequences: 300,
      commandsPerSequence: 40,
      resp3,
      compare,
    });
    assert.equal(result.commands, 300 * 40);
  }
});

test('random ZSET sequences: kv answers as redis-server 7.0 (RESP2 and RESP3)', async () => {
  for (const resp3 of [false, true]) {
    const result = await runRandomSequences({
      name: `zsets-resp${resp3 ? 3 : 2}`,
      generators: [...zsetGenerators, ...nullArrayGenerators],
      sequences: 300,
      commandsPerSequence: 40,
      resp3,
      compare,
    });
    assert.equal(result.commands, 300 * 40);
  }
});
