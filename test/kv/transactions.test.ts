import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startKvServer } from '../../examples/kv/kv-server.js';
import { startRedisServer } from '../support/redis-server.js';
import { compareRuns, runScenario, type Step } from './wire-scenario.js';

/** `conn: request` shorthand: `s(0, 'SET k v')` (arguments split on spaces). */
const s = (conn: number, line: string): Step => ({ conn, request: line.split(' ') });
const hello3 = (conn: number): Step => ({ conn, request: ['HELLO', '3'], compare: false });
const nap = (sleepMs: number): Step => ({ sleepMs });

/**
 * Each scenario runs against a real redis-server and against the KV server; every connection
 * must receive the same bytes in every step. Key names are per scenario so they cannot interact.
 */
const SCENARIOS: Record<string, Step[]> = {
  'queued replies, runtime errors inside EXEC': [
    s(0, 'MULTI'),
    s(0, 'SET a x'),
    s(0, 'INCR a'),
    s(0, 'GET a'),
    s(0, 'HGETALL a'),
    s(0, 'PING'),
    s(0, 'EXEC'),
  ],
  'errors while queueing: EXECABORT': [
    s(0, 'MULTI'),
    s(0, 'SET b 1'),
    s(0, 'NOSUCH'),
    s(0, 'GET'),
    s(0, 'CLIENT nosuch'),
    s(0, 'GET b'),
    s(0, 'EXEC'),
    s(0, 'GET b'),
    s(0, 'EXEC'),
  ],
  'nested MULTI, WATCH inside MULTI, EXEC/DISCARD without MULTI': [
    s(0, 'EXEC'),
    s(0, 'DISCARD'),
    s(0, 'MULTI'),
    s(0, 'MULTI'),
    s(0, 'WATCH c'),
    s(0, 'UNWATCH'),
    s(0, 'PING x'),
    s(0, 'EXEC'),
    s(0, 'MULTI'),
    s(0, 'SET c 1'),
    s(0, 'DISCARD'),
    s(0, 'GET c'),
  ],
  'arity errors of the transaction commands; a refused EXEC discards': [
    s(0, 'MULTI x'),
    s(0, 'EXEC x'),
    s(0, 'DISCARD x'),
    s(0, 'WATCH'),
    s(0, 'UNWATCH x'),
    s(0, 'MULTI'),
    s(0, 'SET d 1'),
    s(0, 'EXEC x'),
    s(0, 'EXEC'),
    s(0, 'GET d'),
    s(0, 'MULTI'),
    s(0, 'DISCARD x'),
    s(0, 'DISCARD'),
  ],
  'WATCH: a key changed by another client aborts EXEC (RESP2 *-1)': [
    s(0, 'SET e 1'),
    s(0, 'WATCH e'),
    s(1, 'SET e 2'),
    s(0, 'MULTI'),
    s(0, 'GET e'),
    s(0, 'EXEC'),
    s(0, 'MULTI'),
    s(0, 'GET e'),
    s(0, 'EXEC'),
  ],
  'WATCH: RESP3 null reply; a change by the watcher itself aborts too': [
    hello3(0),
    s(0, 'WATCH f'),
    s(0, 'SET f 1'),
    s(0, 'MULTI'),
    s(0, 'GET f'),
    s(0, 'EXEC'),
  ],
  'WATCH: untouched and unchanged writes (NX fails, DEL of nothing) keep EXEC alive': [
    s(0, 'SET g 1'),
    s(0, 'WATCH g g2'),
    s(1, 'SET g 2 NX'),
    s(1, 'DEL g2'),
    s(1, 'HDEL g2 f'),
    s(1, 'GET g'),
    s(0, 'MULTI'),
    s(0, 'GET g'),
    s(0, 'EXEC'),
  ],
  'WATCH: UNWATCH and DISCARD forget watched keys': [
    s(0, 'SET h 1'),
    s(0, 'WATCH h'),
    s(0, 'UNWATCH'),
    s(1, 'SET h 2'),
    s(0, 'MULTI'),
    s(0, 'GET h'),
    s(0, 'EXEC'),
    s(0, 'WATCH h'),
    s(1, 'SET h 3'),
    s(0, 'MULTI'),
    s(0, 'DISCARD'),
    s(0, 'MULTI'),
    s(0, 'GET h'),
    s(0, 'EXEC'),
  ],
  'WATCH: in-place writes to hashes, lists and strings count': [
    s(0, 'HSET i1 f v'),
    s(0, 'RPUSH i2 a b'),
    s(0, 'SET i3 1'),
    s(0, 'WATCH i1'),
    s(1, 'HSET i1 f w'),
    s(0, 'MULTI'),
    s(0, 'EXEC'),
    s(0, 'WATCH i2'),
    s(1, 'LPOP i2'),
    s(0, 'MULTI'),
    s(0, 'EXEC'),
    s(0, 'WATCH i3'),
    s(1, 'INCR i3'),
    s(0, 'MULTI'),
    s(0, 'EXEC'),
    s(0, 'WATCH i3'),
    s(1, 'APPEND i3 x'),
    s(0, 'MULTI'),
    s(0, 'EXEC'),
    s(0, 'WATCH i3'),
    s(1, 'EXPIRE i3 100'),
    s(0, 'MULTI'),
    s(0, 'EXEC'),
    s(0, 'WATCH i3'),
    s(1, 'PERSIST i3'),
    s(0, 'MULTI'),
    s(0, 'EXEC'),
    s(0, 'WATCH i3'),
    s(1, 'PERSIST i3'),
    s(0, 'MULTI'),
    s(0, 'EXEC'),
  ],
  'WATCH: a key that expires after WATCH aborts; one already expired does not': [
    // Long enough to outlive the harness's quiet waits between steps (tens of ms each).
    s(0, 'SET j 1 PX 400'),
    s(0, 'WATCH j'),
    nap(600),
    s(0, 'MULTI'),
    s(0, 'GET j'),
    s(0, 'EXEC'),
    s(0, 'SET j 1 PX 60'),
    nap(120),
    s(0, 'WATCH j'),
    s(1, 'GET j'),
    s(0, 'MULTI'),
    s(0, 'GET j'),
    s(0, 'EXEC'),
    s(0, 'SET j 1 PX 60'),
    nap(120),
    s(0, 'WATCH j'),
    s(1, 'SET j 2'),
    s(0, 'MULTI'),
    s(0, 'GET j'),
    s(0, 'EXEC'),
  ],
  'WATCH: FLUSHALL aborts when a watched key existed, not otherwise': [
    s(0, 'SET k1 1'),
    s(0, 'WATCH k1'),
    s(1, 'FLUSHALL'),
    s(0, 'MULTI'),
    s(0, 'GET k1'),
    s(0, 'EXEC'),
    s(0, 'WATCH k1'),
    s(1, 'FLUSHALL'),
    s(0, 'MULTI'),
    s(0, 'GET k1'),
    s(0, 'EXEC'),
  ],
  'blocking commands inside MULTI answer at once': [s(0, 'MULTI'), s(0, 'LPOP nol'), s(0, 'EXEC')],
  'pub/sub inside MULTI: SUBSCRIBE of two channels, then PING in subscribed mode': [
    s(0, 'MULTI'),
    s(0, 'SUBSCRIBE m1 m2'),
    s(0, 'PING'),
    s(0, 'EXEC'),
    s(0, 'PING'),
    s(0, 'GET m1'),
    s(0, 'MULTI'),
    s(0, 'EXEC'),
    s(0, 'UNSUBSCRIBE m1'),
    s(0, 'UNSUBSCRIBE m2'),
    s(0, 'MULTI'),
    s(0, 'UNSUBSCRIBE'),
    s(0, 'PUNSUBSCRIBE'),
    s(0, 'EXEC'),
  ],
  'RESP3: a message to oneself lands inside the EXEC reply, as in Redis 7.0': [
    hello3(0),
    s(0, 'SUBSCRIBE n'),
    s(0, 'MULTI'),
    s(0, 'PUBLISH n hi'),
    s(0, 'PING'),
    s(0, 'EXEC'),
    s(1, 'PUBLISH n there'),
  ],
  'QUIT and RESET run at once inside MULTI': [
    s(0, 'MULTI'),
    s(0, 'SET o 1'),
    s(0, 'RESET'),
    s(0, 'EXEC'),
    s(0, 'GET o'),
    s(1, 'MULTI'),
    s(1, 'QUIT'),
  ],
};

test('transactions: MULTI/EXEC/DISCARD/WATCH scenarios give the bytes redis-server gives, on every connection', async (t) => {
  const redis = await startRedisServer();
  t.after(() => redis.stop());
  const kv = await startKvServer({ port: 0 });
  t.after(() => kv.close(1000));
  const problems: string[] = [];
  for (const [name, steps] of Object.entries(SCENARIOS)) {
    const want = await runScenario(redis.port, steps);
    const got = await runScenario(kv.port as number, steps, want);
    for (const problem of compareRuns(steps, want, got)) problems.push(`${name}: ${problem}`);
  }
  assert.equal(problems.length, 0, `${redis.version}\n${problems.join('\n')}`);
});
