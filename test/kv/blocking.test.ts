import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startKvServer } from '../../examples/kv/kv-server.js';
import { startRedisServer } from '../support/redis-server.js';
import { connectResp, type RespConnection } from './resp-wire.js';

/**
 * Blocking list pops across several clients, run the same way against the kv server and a
 * real redis-server: the replies each client gets must be the same bytes. The pauses only let
 * a command reach the server before the next client's; nothing here measures time.
 */
type Scenario = (open: () => Promise<RespConnection>) => Promise<string[]>;

const text = (reply: Buffer): string => reply.toString('latin1');
/** Long enough for a command written on one socket to be read before another's. */
const settle = () => sleep(50);

const scenarios: Record<string, Scenario> = {
  'several blocked clients are served first come, first served': async (open) => {
    const [a, b, c] = [await open(), await open(), await open()];
    const first = a.call(['BLPOP', 'q', '0']);
    await settle();
    const second = b.call(['BRPOP', 'q', 'other', '0']);
    await settle();
    const pushed = await c.call(['RPUSH', 'q', 'x', 'y']);
    return [text(pushed), text(await first), text(await second), text(await c.call(['LLEN', 'q']))];
  },
  'a client that disconnected while blocked does not take an element': async (open) => {
    const [a, b, c] = [await open(), await open(), await open()];
    void a.call(['BLPOP', 'd', '0']);
    await settle();
    a.close();
    await settle();
    const waiting = b.call(['BLPOP', 'd', '0']);
    await settle();
    await c.call(['RPUSH', 'd', '1']);
    return [text(await waiting), text(await c.call(['LLEN', 'd']))];
  },
  'a key that becomes another type keeps the client blocked until a list is pushed': async (
    open,
  ) => {
    const [a, c] = [await open(), await open()];
    const waiting = a.call(['BLPOP', 't', '0']);
    await settle();
    const set = await c.call(['SET', 't', 'str']);
    await settle();
    const del = await c.call(['DEL', 't']);
    await c.call(['RPUSH', 't', 'v']);
    return [text(set), text(del), text(await waiting)];
  },
  'fractional timeouts expire with a null array; BLMOVE and BLMPOP wake on a push': async (
    open,
  ) => {
    const [a, b, c] = [await open(), await open(), await open()];
    const timedOut = await a.call(['BLPOP', 'none', '0.05']);
    const moveTimedOut = await a.call(['BRPOPLPUSH', 'none', 'other', '0.05']);
    const mpopTimedOut = await a.call(['BLMPOP', '0.05', '1', 'none', 'LEFT']);
    const moved = a.call(['BLMOVE', 'src', 'dst', 'LEFT', 'RIGHT', '0']);
    const popped = b.call(['BLMPOP', '0', '2', 'k1', 'k2', 'RIGHT', 'COUNT', '2']);
    await settle();
    await c.call(['RPUSH', 'src', 'a']);
    await c.call(['RPUSH', 'k2', 'a', 'b', 'c']);
    return [
      text(timedOut),
      text(moveTimedOut),
      text(mpopTimedOut),
      text(await moved),
      text(await popped),
      text(await c.call(['LRANGE', 'dst', '0', '-1'])),
    ];
  },
};

for (const [name, scenario] of Object.entries(scenarios)) {
  test(`blocking: ${name}`, async (t) => {
    const redis = await startRedisServer();
    t.after(() => redis.stop());
    const kv = await startKvServer({ port: 0 });
    t.after(() => kv.close(1000));
    const run = async (port: number) => {
      const opened: RespConnection[] = [];
      try {
        return await scenario(async () => {
          const conn = await connectResp(port);
          opened.push(conn);
          return conn;
        });
      } finally {
        for (const conn of opened) conn.close();
      }
    };
    const expected = await run(redis.port);
    const actual = await run(kv.port as number);
    assert.deepEqual(actual, expected);
  });
}
