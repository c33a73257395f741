import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startKvServer } from '../../examples/kv/kv-server.js';
import { startRedisServer } from '../support/redis-server.js';
import { exchange, type WireRequest } from './resp-wire.js';

/**
 * The same commands, pipelined on one connection, to the KV server and to a real
 * redis-server: every reply must be the same bytes. Each entry is a request and how many
 * replies it gets (SUBSCRIBE answers once per channel). Replies that name the server (HELLO's
 * id and version) are left out with `compare: false`.
 */
interface Case {
  request: WireRequest;
  replies?: number;
  compare?: boolean;
}

const c = (...request: string[]): Case => ({ request });

const BIG = '9223372036854775807';

const CORPUS: Case[] = [
  c('FLUSHALL'),
  // Connection
  c('PING'),
  c('PING', 'hello'),
  c('PING', 'a', 'b'),
  c('ECHO', 'x y'),
  c('ECHO'),
  c('SELECT', '0'),
  c('SELECT', 'x'),
  c('CLIENT', 'SETNAME', 'mai-test'),
  c('CLIENT', 'GETNAME'),
  c('CLIENT', 'SETNAME', 'a b'),
  c('CLIENT', 'SETNAME'),
  c('CLIENT', 'nosuch'),
  c('CLIENT'),
  c('COMMAND', 'nosuch'),
  c('CONFIG', 'GET', 'save'),
  c('CONFIG', 'GET', 'appendonly'),
  c('CONFIG', 'nosuch'),
  c('HELLO', '4'),
  c('HELLO', 'x'),
  c('HELLO', '3', 'SETNAME', 'x', 'y'),
  c('HELLO', '3', 'AUTH', 'nobody', 'pw'),
  // Unknown commands, quoted as Redis quotes them
  c('NOSUCH'),
  c('nosuch', 'a', 'b c', 'd'),
  c('nosuch', 'x'.repeat(200), 'y'),
  c('nosuch', 'line\r\nbreak'),
  // Strings
  c('GET', 'missing'),
  c('SET', 'k', 'v'),
  c('GET', 'k'),
  c('get', 'k'),
  c('GeT', 'k'),
  c('SET', 'k', 'v2', 'GET'),
  c('SET', 'k', 'v3', 'NX'),
  c('SET', 'k', 'v3', 'NX', 'GET'),
  c('SET', 'nx-key', 'v', 'XX'),
  c('SET', 'nx-key', 'v', 'NX'),
  c('SET', 'k', 'v', 'NX', 'XX'),
  c('SET', 'k', 'v', 'EX', '10', 'PX', '100'),
  c('SET', 'k', 'v', 'EX'),
  c('SET', 'k', 'v', 'EX', '0'),
  c('SET', 'k', 'v', 'EX', '-5'),
  c('SET', 'k', 'v', 'EX', 'abc'),
  c('SET', 'k', 'v', 'EX', BIG),
  c('SET', 'k', 'v', 'KEEPTTL', 'EX', '5'),
  c('SET', 'k', 'v', 'foo'),
  c('SET', 'k'),
  c('SET', 'ttl-key', 'v', 'EX', '100'),
  c('TTL', 'ttl-key'),
  c('SET', 'ttl-key', 'v2', 'KEEPTTL'),
  c('TTL', 'ttl-key'),
  c('SET', 'ttl-key', 'v3'),
  c('TTL', 'ttl-key'),
  c('TTL', 'missing'),
  c('PTTL', 'missing'),
  c('PTTL', 'k'),
  c('SET', 'gone', 'v', 'PXAT', '1'),
  c('EXISTS', 'gone'),
  c('MSET', 'a', '1', 'b', '2'),
  c('MSET', 'a', '1', 'b'),
  c('MGET', 'a', 'b', 'missing', 'a'),
  c('MGET'),
  c('INCR', 'counter'),
  c('INCRBY', 'counter', '41'),
  c('DECR', 'counter'),
  c('DECRBY', 'counter', '-10'),
  c('INCRBY', 'counter', '1.5'),
  c('INCRBY', 'counter', '+1'),
  c('INCRBY', 'counter', '01'),
  c('INCR', 'k'),
  c('SET', 'max', BIG),
  c('INCR', 'max'),
  c('DECRBY', 'max', '-1'),
  c('DECRBY', 'max', '-9223372036854775808'),
  c('SET', 'big', '9007199254740993'),
  c('INCR', 'big'),
  c('INCRBY', 'big', '-18014398509481986'),
  c('SET', 'min', '-9223372036854775808'),
  c('DECR', 'min'),
  c('INCRBY', 'min', '99999999999999999999'),
  c('APPEND', 'app', 'Hello'),
  c('APPEND', 'app', ' World'),
  c('GET', 'app'),
  c('STRLEN', 'app'),
  c('STRLEN', 'missing'),
  c('DEL', 'a', 'b', 'missing', 'a'),
  c('EXISTS', 'k', 'k', 'missing'),
  c('DEL'),
  // Binary-safe keys and values
  { request: ['SET', Buffer.from([0, 0xff, 0x0d, 0x0a, 0x80]), Buffer.from([0, 1, 2, 0xfe])] },
  { request: ['GET', Buffer.from([0, 0xff, 0x0d, 0x0a, 0x80])] },
  { request: ['KEYS', Buffer.from([0, 0x2a])] },
  c('SET', '', 'empty key'),
  c('GET', ''),
  c('SET', 'emptyval', ''),
  c('GET', 'emptyval'),
  // Expiry
  c('EXPIRE', 'k', '100'),
  c('TTL', 'k'),
  c('EXPIRE', 'k', '200', 'NX'),
  c('EXPIRE', 'k', '200', 'XX'),
  c('EXPIRE', 'k', '50', 'GT'),
  c('EXPIRE', 'k', '50', 'LT'),
  c('TTL', 'k'),
  c('EXPIRE', 'k', '10', 'NX', 'XX'),
  c('EXPIRE', 'k', '10', 'GT', 'LT'),
  c('EXPIRE', 'k', '10', 'foo'),
  c('EXPIRE', 'k', 'x'),
  c('EXPIRE', 'missing', '10'),
  c('PEXPIRE', 'k', BIG),
  c('EXPIRE', 'k', BIG),
  c('PERSIST', 'k'),
  c('PERSIST', 'k'),
  c('TTL', 'k'),
  c('SET', 'doomed', 'v'),
  c('EXPIRE', 'doomed', '-1'),
  c('EXISTS', 'doomed'),
  c('PERSIST', 'missing'),
  // Keys, one match each (Redis returns several in hash order, which no one can match)
  c('KEYS', 'app'),
  c('KEYS', 'a?p'),
  c('KEYS', 'a[op]p'),
  c('KEYS', 'a[^x]p'),
  c('KEYS', 'a[a-z]p'),
  c('KEYS', 'nomatch*'),
  c('KEYS', 'ap\\p'),
  c('SCAN', '0', 'MATCH', 'ap*', 'COUNT', '1000'),
  c('SCAN', 'x'),
  c('SCAN', '0', 'COUNT', '0'),
  c('SCAN', '0', 'COUNT', 'x'),
  c('SCAN', '0', 'MATCH'),
  c('SCAN', '0', 'FOO', 'bar'),
  c('TYPE', 'app'),
  c('TYPE', 'missing'),
  // Hashes (small hashes keep insertion order in Redis too)
  c('HSET', 'h', 'f1', 'v1', 'f2', 'v2'),
  c('HSET', 'h', 'f1', 'new', 'f3', 'v3'),
  c('HSET', 'h', 'f1'),
  c('HGET', 'h', 'f1'),
  c('HGET', 'h', 'nofield'),
  c('HGET', 'missing', 'f'),
  c('HGETALL', 'h'),
  c('HGETALL', 'missing'),
  c('HMGET', 'h', 'f1', 'no', 'f3'),
  c('HLEN', 'h'),
  c('HEXISTS', 'h', 'f2'),
  c('HDEL', 'h', 'f1', 'f1', 'no'),
  c('HDEL', 'h', 'f2', 'f3'),
  c('EXISTS', 'h'),
  c('TYPE', 'h'),
  // Lists
  c('LPUSH', 'l', 'a', 'b', 'c'),
  c('RPUSH', 'l', 'x', 'y'),
  c('LRANGE', 'l', '0', '-1'),
  c('LRANGE', 'l', '-2', '100'),
  c('LRANGE', 'l', '3', '1'),
  c('LRANGE', 'l', 'a', 'b'),
  c('LRANGE', 'missing', '0', '-1'),
  c('LLEN', 'l'),
  c('LINDEX', 'l', '-1'),
  c('LINDEX', 'l', '99'),
  c('LPOP', 'l'),
  c('RPOP', 'l'),
  c('LPOP', 'l', '2'),
  c('RPOP', 'l', '0'),
  c('LPOP', 'l', '-1'),
  c('LPOP', 'l', 'x'),
  c('LPOP', 'l', '1', '2'),
  c('RPOP', 'l', '10'),
  c('EXISTS', 'l'),
  c('LPOP', 'missing'),
  c('TYPE', 'l'),
  // WRONGTYPE across families
  c('LPUSH', 'h2', 'x'),
  c('HSET', 'h2', 'f', 'v'),
  c('GET', 'h2'),
  c('APPEND', 'h2', 'x'),
  c('STRLEN', 'h2'),
  c('INCR', 'h2'),
  c('SET', 'h2', 'v', 'GET'),
  c('MGET', 'h2'),
  c('HSET', 'app', 'f', 'v'),
  c('HGET', 'app', 'f'),
  c('HGETALL', 'app'),
  c('LPUSH', 'app', 'x'),
  c('LRANGE', 'app', '0', '1'),
  c('LLEN', 'app'),
  c('RPOP', 'app'),
  c('TYPE', 'h2'),
  c('SET', 'h2', 'overwrites any type'),
  c('GET', 'h2'),
  // Arity, for every family
  c('GET'),
  c('GET', 'a', 'b'),
  c('STRLEN'),
  c('INCR'),
  c('INCRBY', 'a'),
  c('APPEND', 'a'),
  c('EXPIRE', 'a'),
  c('TTL'),
  c('KEYS'),
  c('SCAN'),
  c('TYPE'),
  c('HGET', 'h'),
  c('HGETALL'),
  c('HDEL', 'h'),
  c('LPUSH', 'l'),
  c('LRANGE', 'l', '0'),
  c('LLEN'),
  c('PUBLISH', 'ch'),
  c('SUBSCRIBE'),
  c('DBSIZE', 'x'),
  // Inline commands, as typed in telnet
  { request: { raw: 'SET inline "a b\\x21"\r\n' } },
  { request: { raw: 'GET inline\r\n' } },
  { request: { raw: 'GET inline\n' } },
  { request: { raw: "ECHO 'it\\'s'\r\n" } },
  { request: { raw: '\r\n' }, replies: 0 },
  { request: { raw: 'PING\r\n' } },
  c('DBSIZE'),
  c('PUBLISH', 'nobody-listens', 'hi'),
  // RESP2 subscribed mode
  { request: ['SUBSCRIBE', 'news', 'sport'], replies: 2 },
  c('GET', 'k'),
  c('PING'),
  c('PING', 'hi'),
  { request: ['PSUBSCRIBE', 'n*'] },
  // UNSUBSCRIBE with no argument leaves channels in Redis's hash order: one left to leave.
  { request: ['UNSUBSCRIBE', 'sport'] },
  { request: ['UNSUBSCRIBE'] },
  { request: ['PUNSUBSCRIBE'] },
  c('UNSUBSCRIBE'),
  c('PUNSUBSCRIBE'),
  c('PING'),
  // RESP3 from here: HELLO's reply names the server, so it is not compared
  { request: ['HELLO', '3'], compare: false },
  c('GET', 'missing'),
  c('HGETALL', 'nosuch'),
  c('HSET', 'h3', 'a', '1', 'b', '2'),
  c('HGETALL', 'h3'),
  c('MGET', 'app', 'missing'),
  c('LPOP', 'missing', '2'),
  c('SET', 'x', 'y', 'GET'),
  c('SET', 'x', 'z', 'NX'),
  { request: ['SUBSCRIBE', 'news'] },
  c('GET', 'app'),
  { request: ['PUBLISH', 'news', 'to myself'], replies: 2 },
  { request: ['PSUBSCRIBE', 'ne?s'] },
  { request: ['PUBLISH', 'news', 'twice'], replies: 3 },
  { request: ['UNSUBSCRIBE'] },
  { request: ['PUNSUBSCRIBE', 'ne?s'] },
  c('PING'),
  { request: ['HELLO', '2'], compare: false },
  c('HGETALL', 'h3'),
  c('GET', 'missing'),
  c('EXISTS', 'app', 'h3', 'x', 'missing'),
  c('FLUSHDB', 'ASYNC'),
  c('FLUSHDB', 'nope'),
  c('DBSIZE'),
];

function show(bytes: Buffer | undefined): string {
  return bytes === undefined ? '(none)' : JSON.stringify(bytes.toString('latin1'));
}

test('differential: the KV server answers a corpus of commands with the same bytes as redis-server', async (t) => {
  const redis = await startRedisServer();
  t.after(() => redis.stop());
  const kv = await startKvServer({ port: 0 });
  t.after(() => kv.close(1000));
  const requests = CORPUS.map((entry) => entry.request);
  const total = CORPUS.reduce((sum, entry) => sum + (entry.replies ?? 1), 0);
  const [expected, actual] = await Promise.all([
    exchange(redis.port, requests, total),
    exchange(kv.port as number, requests, total),
  ]);
  const mismatches: string[] = [];
  let at = 0;
  for (const entry of CORPUS) {
    const count = entry.replies ?? 1;
    for (let i = 0; i < count; i++, at++) {
      if (entry.compare === false) continue;
      const want = expected[at];
      const got = actual[at];
      if (want === undefined || got === undefined || !want.equals(got)) {
        mismatches.push(
          `${JSON.stringify(entry.request)}\n  redis-server: ${show(want)}\n  mai kv:       ${show(got)}`,
        );
      }
    }
  }
  assert.equal(mismatches.length, 0, `${redis.version}\n${mismatches.join('\n')}`);
});
