import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startKvServer } from '../../examples/kv/kv-server.js';
import { startRedisServer } from '../support/redis-server.js';
import { exchange } from './resp-wire.js';

/**
 * Hand-picked SET and ZSET edge cases, pipelined to kv and to redis-server 7.0 in RESP2 and
 * then RESP3 (after HELLO 3, whose reply names the server and is skipped): every reply must be
 * the same bytes. Each line is one request, its arguments split on spaces (on `|` when the line
 * has one, for empty arguments and arguments with spaces).
 */
const CASES = `FLUSHALL
ZADD z 0.1 a 1e21 b -0 c 3 d inf e 1.5e-300 f 0x10 g 1e-320 h -INF i Infinity j
ZRANGE z 0 -1 WITHSCORES
ZSCORE z a
ZINCRBY z 0.2 a
ZADD z 1e-400 x
ZADD z 1e400 x
ZADD z nan x
ZADD|z| 1|x
ZADD|z|1 |x
ZADD|z||x
ZADD z 0x1p-3 k
ZSCORE z k
ZCOUNT|z| (1|+inf
ZCOUNT|z||
ZCOUNT|z| 1|+inf
ZCOUNT z ( (
ZCOUNT z (inf +inf
ZCOUNT z -inf (-inf
ZCOUNT z 1e999 inf
ZCOUNT z x 1
ZINCRBY z -inf e
ZADD z INCR -inf e
ZADD z NX INCR 5 a
ZADD z XX INCR 5 nosuch
ZADD z XX CH 7 a 8 nosuch
ZADD z GT CH 1 a
ZADD z LT CH 1 a
ZADD z GT LT 1 a
ZADD z NX GT 1 a
ZADD z NX XX 1 a
ZADD z INCR 1 a 2 b
ZADD z 1
ZADD z CH
ZADD nokey XX 1 a
ZADD nokey XX INCR 1 a
EXISTS nokey
ZADD zero -0 a
ZSCORE zero a
ZINCRBY zero -0 a
ZRANGE z (1 5 BYSCORE LIMIT 1 2 WITHSCORES
ZRANGE z 5 (1 BYSCORE REV LIMIT 0 -1
ZRANGE z 0 -1 LIMIT 0 1
ZRANGE z [a [b BYLEX WITHSCORES
ZRANGE z 0 -1 REV REV
ZRANGE z 0 -1 BYSCORE BYLEX
ZRANGEBYSCORE z -inf +inf REV
ZRANGEBYSCORE z -inf +inf LIMIT -1 5
ZRANGEBYSCORE z -inf +inf LIMIT 100 5
ZRANGEBYSCORE z -inf +inf LIMIT 2
ZREVRANGE z 0 2 WITHSCORES
ZREVRANGE z 0 2 LIMIT 0 1
ZADD lex 0 a 0 b 0 c 0 d 0 e 0 ab
ZRANGEBYLEX lex - +
ZRANGEBYLEX lex [b (d
ZREVRANGEBYLEX lex + -
ZREVRANGEBYLEX lex (d [b LIMIT 1 1
ZRANGEBYLEX lex + -
ZRANGEBYLEX lex a b
ZRANGEBYLEX lex -x +
ZRANGEBYLEX lex [a [a
ZRANGEBYLEX lex (a (a
ZLEXCOUNT lex [ +
ZLEXCOUNT lex - (
ZREMRANGEBYLEX lex (a [c
ZRANGEBYLEX lex - + WITHSCORES
ZRANGESTORE dst z 0 2
ZRANGE dst 0 -1 WITHSCORES
ZRANGESTORE dst nokey 0 -1
EXISTS dst
ZRANGESTORE dst z 0 -1 WITHSCORES
ZREMRANGEBYRANK z -100 1
ZREMRANGEBYSCORE z (3 inf
ZREMRANGEBYSCORE z x 1
ZRANGE z 0 -1 WITHSCORES
ZPOPMIN z
ZPOPMAX z 2
ZPOPMIN z 0
ZPOPMIN z -1
ZPOPMIN z 1 2
ZPOPMIN nokey 3
ZADD u 1 a 2 b 3 c
ZADD v 10 b 20 c 30 d
SADD s c d e
ZUNION 3 u v s WITHSCORES
ZINTER 2 u v WEIGHTS 2 -1 WITHSCORES
ZINTER 2 u v AGGREGATE MAX WITHSCORES
ZUNION 2 u v AGGREGATE MIN WEIGHTS 0 1 WITHSCORES
ZUNION 2 u v WEIGHTS 1
ZUNION 2 u v WEIGHTS 1 x
ZUNION 2 u v AGGREGATE AVG
ZDIFF 2 v u WITHSCORES
ZDIFF 2 v u WEIGHTS 1 1
ZUNION 0 u
ZUNION 3 u v
ZUNION x u
ZUNIONSTORE out 2 u v WEIGHTS inf 0
ZRANGE out 0 -1 WITHSCORES
ZUNIONSTORE out 2 u v WITHSCORES
ZINTERSTORE out 2 u nokey
EXISTS out
ZDIFFSTORE out 1 v
ZINTERCARD 2 u v
ZINTERCARD 2 u v LIMIT 1
ZINTERCARD 0 u
ZINTERCARD 2 u v LIMIT -1
ZINTERCARD 2 u v WEIGHTS 1 1
ZMPOP 2 nokey v MAX COUNT 2
ZMPOP 1 v MIN COUNT 0
ZMPOP 0 v MIN
ZMPOP 1 v MID
ZMPOP 1 v MIN COUNT 1 COUNT 1
ZRANDMEMBER u 0
ZRANDMEMBER nokey 5
ZRANDMEMBER u -9223372036854775808
ZRANDMEMBER u 9223372036854775807 WITHSCORES
ZRANDMEMBER u 1 WITHSCORE
ZRANK u c
ZREVRANK u c
ZRANK u nosuch
ZMSCORE u a nosuch c
ZMSCORE nokey a
ZSCAN u 0
ZSCAN u 0 MATCH a* COUNT 1
ZSCAN u x
ZSCAN nokey 0 BAD
ZSCAN u 0 BAD
SET str x
ZADD str 1 a
ZRANGE str 0 -1
ZRANGE str x 1
ZUNION 2 u str
SADD str a
SMEMBERS str
SUNION s str
SINTER nokey str
SMOVE nokey str a
SMOVE s str c
SADD ints 3 1 2 -5 10
SMEMBERS ints
SSCAN ints 0
SSCAN ints 0 MATCH 1*
SSCAN ints x
SSCAN nokey 0 BAD
SSCAN ints 0 COUNT 0
SADD ints x
SINTERCARD 2 ints s LIMIT 0
SINTERCARD 0 ints
SINTERCARD 3 ints s
SINTERCARD 1 ints LIMIT
SINTERCARD 1 ints LIMIT x
SPOP ints 0
SPOP nokey 2
SPOP nokey
SPOP ints -1
SPOP ints 1 2
SRANDMEMBER ints 0
SRANDMEMBER nokey 2
SRANDMEMBER nokey
SRANDMEMBER ints -9223372036854775808
SRANDMEMBER ints 1 2
SMISMEMBER ints 1 x nosuch
SMISMEMBER nokey a
SINTERSTORE dst2 ints nokey
SUNIONSTORE dst2 ints s
SCARD dst2
SDIFFSTORE dst2 nokey ints
EXISTS dst2
TYPE u
TYPE s
SADD i2 5 4
SPOP i2 100
EXISTS i2
ZADD g GT 5 new
ZADD g LT 3 new
ZADD g GT CH 6 new
ZSCORE g new
ZRANGE g 0 -1 LIMIT 0 -1
ZRANGE g 0 -1 LIMIT x 1
ZRANGE g -inf +inf BYSCORE LIMIT 0 x
ZRANGE g 0 -1 LIMIT 0
ZRANGE g 0 -1 WITHSCORES BYLEX
ZRANGESTORE g2 g +inf -inf BYSCORE REV LIMIT 0 1
ZRANGE g2 0 -1 WITHSCORES
ZADD w 1 a 2 b
ZUNION 2 w w WEIGHTS 1
ZUNION 2 w w WEIGHTS 1 2 AGGREGATE
ZUNION 2 w w WEIGHTS 1 2 AGGREGATE max WITHSCORES WITHSCORES
ZINTER 1 w LIMIT 1
ZDIFF 1 w AGGREGATE SUM
ZADD long 1 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa -0 b
ZSCORE long b
ZINCRBY long -0 b
ZUNIONSTORE long2 1 long
ZSCORE long2 b
ZUNION 1 u WEIGHTS -0 WITHSCORES
ZRANDMEMBER u 4611686018427387904 WITHSCORES
ZRANDMEMBER u -4611686018427387904 WITHSCORES
ZRANDMEMBER u 1.5
ZADD bin 1 \x00a 1 \xffb
ZCOUNT bin 1\x00x 1
ZRANGEBYLEX bin +\x00 -
ZINCRBY newz 2.5 m
ZADD newz INCR 1e308 m
ZADD newz INCR 1e308 m
ZADD newz INCR inf m
ZADD newz INCR -inf m
ZSCORE newz m
BZPOPMIN q -1
BZPOPMIN q x
BZPOPMIN q 1e400
BZPOPMIN q 1e5000
BZPOPMIN q inf
BZPOPMIN q 9.3e15
BZPOPMIN str 0
BZMPOP x 1 q MIN
BZMPOP 0 0 q MIN
BZMPOP 0 1 str MIN
ZADD bz 1 a 2 b
BZPOPMAX nokey bz 0
BZMPOP 0 2 nokey bz MIN COUNT 5
SADD big x1 x2 x3 x4 x5 x6 x7 x8 x9 x10 x11 x12
SADD bigi 12 1 10 11 2
SSCAN bigi 0 COUNT 1000 MATCH 1*
SINTERCARD 1 big LIMIT 5
SMOVE big big x1
SMOVE big big nosuch
SISMEMBER str a
SCARD str
SDIFF nokey big
SUNIONSTORE big 1
SMEMBERS big`;

test('edge cases: SET and ZSET replies are the bytes redis-server 7.0 sends, in RESP2 and RESP3', async (t) => {
  const redis = await startRedisServer();
  t.after(() => redis.stop());
  const kv = await startKvServer({ port: 0 });
  t.after(() => kv.close(1000));
  const lines = CASES.split('\n').map((line) => line.split(line.includes('|') ? '|' : ' '));
  for (const resp3 of [false, true]) {
    const requests = resp3 ? [['HELLO', '3'], ...lines] : lines;
    const [want, got] = await Promise.all([
      exchange(redis.port, requests, requests.length),
      exchange(kv.port as number, requests, requests.length),
    ]);
    const mismatches: string[] = [];
    for (let i = resp3 ? 1 : 0; i < requests.length; i++) {
      if (!(want[i] as Buffer).equals(got[i] as Buffer)) {
        mismatches.push(
          `${JSON.stringify(requests[i])}\n  redis-server: ${JSON.stringify(want[i]?.toString('latin1'))}\n  mai kv:       ${JSON.stringify(got[i]?.toString('latin1'))}`,
        );
      }
    }
    assert.equal(mismatches.length, 0, `RESP${resp3 ? 3 : 2}\n${mismatches.join('\n')}`);
  }
});
