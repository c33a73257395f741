import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CommandGenerator, type Rng, runRandomSequences } from './random-sequences.js';

const key = (rng: Rng) => rng.pick(['a', 'b', 'c', 'h', 'l']);
const value = (rng: Rng) => rng.pick(['0', '1', '-3', 'x', '', '12345678901234567890']);

/**
 * Transaction commands mixed with commands of the other groups, over a small key space, so
 * that generated sequences queue, abort (EXECABORT, a WATCHed key this client changes),
 * nest, discard and run commands whose runtime errors land inside EXEC's reply.
 */
const GENERATORS: CommandGenerator[] = [
  () => ['MULTI'],
  () => ['MULTI'],
  () => ['EXEC'],
  () => ['EXEC'],
  () => ['DISCARD'],
  (rng) => ['WATCH', key(rng), ...(rng.chance(0.3) ? [key(rng)] : [])],
  () => ['UNWATCH'],
  (rng) => [
    'SET',
    key(rng),
    value(rng),
    ...(rng.chance(0.3) ? [rng.pick(['NX', 'XX', 'GET'])] : []),
  ],
  (rng) => ['GET', key(rng)],
  (rng) => ['INCR', key(rng)],
  (rng) => ['APPEND', key(rng), value(rng)],
  (rng) => ['DEL', key(rng), key(rng)],
  (rng) => ['EXISTS', key(rng)],
  (rng) => ['MSET', key(rng), value(rng), key(rng), value(rng)],
  (rng) => ['EXPIRE', key(rng), rng.pick(['1000', '-1', 'x'])],
  (rng) => ['PERSIST', key(rng)],
  (rng) => ['HSET', key(rng), rng.pick(['f', 'g']), value(rng)],
  (rng) => ['HDEL', key(rng), rng.pick(['f', 'g', 'nofield'])],
  (rng) => ['HGET', key(rng), 'f'],
  (rng) => ['RPUSH', key(rng), value(rng)],
  (rng) => ['LPOP', key(rng), ...(rng.chance(0.3) ? [rng.pick(['1', '2'])] : [])],
  (rng) => ['LRANGE', key(rng), '0', '-1'],
  // Sets and sorted sets change values in place: WATCH must see those writes too.
  (rng) => ['SADD', key(rng), value(rng)],
  (rng) => ['SREM', key(rng), value(rng)],
  (rng) => ['SPOP', key(rng)],
  (rng) => ['ZADD', key(rng), rng.pick(['1', '2']), value(rng)],
  (rng) => ['ZREM', key(rng), value(rng)],
  (rng) => ['ZPOPMIN', key(rng)],
  // Inside EXEC a blocking pop answers at once (its timeout reply if nothing is there); outside
  // it waits the short timeout on both servers.
  (rng) => [rng.pick(['BLPOP', 'BRPOP', 'BZPOPMIN', 'BZPOPMAX']), key(rng), '0.01'],
  (rng) => ['BZMPOP', '0.01', '1', key(rng), 'MIN'],
  (rng) => ['TYPE', key(rng)],
  (rng) => ['PING', ...(rng.chance(0.5) ? [value(rng)] : [])],
  (rng) => ['ECHO', value(rng)],
  (rng) => rng.pick([['NOSUCH', 'x'], ['GET'], ['SET', 'a'], ['CLIENT', 'nosuch'], ['EXEC', 'x']]),
  (rng) => ['PUBLISH', rng.pick(['ch', 'other']), value(rng)],
  () => ['PUBSUB', 'NUMSUB', 'ch'],
  () => ['FLUSHALL'],
];

for (const resp3 of [false, true]) {
  test(`transactions: random MULTI/EXEC/WATCH sequences over every group answer as redis-server (RESP${resp3 ? 3 : 2})`, async () => {
    const result = await runRandomSequences({
      name: `transactions-resp${resp3 ? 3 : 2}`,
      generators: GENERATORS,
      sequences: 150,
      commandsPerSequence: 40,
      resp3,
    });
    console.log(
      `transactions RESP${resp3 ? 3 : 2}: ${result.sequences} sequences, ${result.commands} commands, 0 differences (seed ${result.seed})`,
    );
    assert.equal(result.sequences, 150);
  });
}
