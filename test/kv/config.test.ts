import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { startKvServer } from '../../examples/kv/kv-server.js';
import { startRedisServer } from '../support/redis-server.js';
import { KV_SERVER_ENTRY, startKvProcess } from './kv-process.js';
import { exchange, type WireRequest } from './resp-wire.js';

const c = (...request: string[]): WireRequest => request;

/**
 * CONFIG GET and SET of the parameters this server has, pipelined on one connection to it and
 * to a real redis-server 7.0: the same bytes, error texts included. Patterns are left to the
 * next test (redis-server has hundreds of parameters more).
 */
const SEQUENCE: WireRequest[] = [
  c('CONFIG', 'GET', 'maxmemory'),
  c('CONFIG', 'GET', 'maxmemory-policy'),
  c('CONFIG', 'GET', 'maxclients'),
  c('CONFIG', 'GET', 'requirepass'),
  c('CONFIG', 'GET', 'proto-max-bulk-len'),
  c('CONFIG', 'GET', 'timeout'),
  c('CONFIG', 'GET', 'client-output-buffer-limit'),
  c('CONFIG', 'GET', 'MAXMEMORY'),
  c('CONFIG', 'GET', 'nothing'),
  c('CONFIG', 'SET', 'nothing', '1'),
  c('CONFIG', 'SET', 'maxmemory', 'abc'),
  c('CONFIG', 'SET', 'maxmemory', '-1'),
  c('CONFIG', 'SET', 'maxmemory', '1.5'),
  c('CONFIG', 'SET', 'maxmemory', '10mb'),
  c('CONFIG', 'GET', 'maxmemory'),
  c('CONFIG', 'SET', 'maxmemory', '3k'),
  c('CONFIG', 'GET', 'maxmemory'),
  c('CONFIG', 'SET', 'MAXMEMORY', '1GB'),
  c('CONFIG', 'GET', 'maxmemory'),
  c('CONFIG', 'SET', 'maxmemory', '0'),
  c('CONFIG', 'SET', 'maxmemory-policy', 'bad'),
  c('CONFIG', 'SET', 'maxmemory-policy', 'NOEVICTION'),
  c('CONFIG', 'SET', 'maxclients', '0'),
  c('CONFIG', 'SET', 'maxclients', 'abc'),
  c('CONFIG', 'SET', 'maxclients', '+5'),
  c('CONFIG', 'SET', 'maxclients', '500'),
  c('CONFIG', 'GET', 'maxclients'),
  c('CONFIG', 'SET', 'maxclients', '10000'),
  c('CONFIG', 'SET', 'proto-max-bulk-len', '100'),
  c('CONFIG', 'SET', 'proto-max-bulk-len', '2mb'),
  c('CONFIG', 'GET', 'proto-max-bulk-len'),
  c('CONFIG', 'SET', 'proto-max-bulk-len', '512mb'),
  c('CONFIG', 'SET', 'timeout', '-1'),
  c('CONFIG', 'SET', 'timeout', 'x'),
  c('CONFIG', 'SET', 'timeout', '300'),
  c('CONFIG', 'GET', 'timeout'),
  c('CONFIG', 'SET', 'timeout', '0'),
  c('CONFIG', 'SET', 'client-output-buffer-limit', 'bad'),
  c('CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 1mb 512kb'),
  c('CONFIG', 'SET', 'client-output-buffer-limit', 'foo 1mb 512kb 10'),
  c('CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 32mb 8mb -1'),
  c('CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub abc 8mb 1'),
  c('CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 1mb 512kb 10'),
  c('CONFIG', 'GET', 'client-output-buffer-limit'),
  c('CONFIG', 'SET', 'client-output-buffer-limit', 'normal 1 2 3 replica 4 5 6 PUBSUB 7 8 9'),
  c('CONFIG', 'GET', 'client-output-buffer-limit'),
  c('CONFIG', 'SET', 'client-output-buffer-limit', 'normal 0 0 0 slave 256mb 64mb 60'),
  c('CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 32mb 8mb 60'),
  c('CONFIG', 'GET', 'client-output-buffer-limit'),
  // Several pairs (7.0): all or nothing.
  c('CONFIG', 'SET', 'maxmemory', '1', 'maxmemory', '2'),
  c('CONFIG', 'SET', 'maxmemory', '1', 'maxclients'),
  c('CONFIG', 'SET', 'maxmemory', '5mb', 'maxclients', 'abc'),
  c('CONFIG', 'GET', 'maxmemory'),
  c('CONFIG', 'SET', 'maxmemory', '5mb', 'nothing', '1'),
  c('CONFIG', 'GET', 'maxmemory'),
  c('CONFIG', 'SET', 'maxmemory', '5mb', 'maxclients', '600', 'timeout', '7'),
  // One name per GET: several come back in each server's table order.
  c('CONFIG', 'GET', 'maxclients'),
  c('CONFIG', 'GET', 'timeout'),
  c('CONFIG', 'SET', 'maxmemory', '0', 'maxclients', '10000', 'timeout', '0'),
  c('CONFIG', 'SET', 'requirepass', ''),
  c('CONFIG'),
  c('CONFIG', 'GET'),
  c('CONFIG', 'SET', 'maxmemory'),
  c('CONFIG', 'RESETSTAT'),
  c('CONFIG', 'nosuch'),
];

test('CONFIG GET/SET: the same replies as redis-server 7.0', async (t) => {
  const redis = await startRedisServer();
  t.after(() => redis.stop());
  const kv = await startKvServer({ port: 0 });
  t.after(() => kv.close());
  const [mine, theirs] = await Promise.all([
    exchange(kv.port as number, SEQUENCE, SEQUENCE.length),
    exchange(redis.port, SEQUENCE, SEQUENCE.length),
  ]);
  for (let i = 0; i < SEQUENCE.length; i++) {
    assert.equal(
      mine[i]?.toString('latin1'),
      theirs[i]?.toString('latin1'),
      (SEQUENCE[i] as string[]).join(' '),
    );
  }
  t.diagnostic(`${SEQUENCE.length} CONFIG requests compared`);
});

test('CONFIG GET patterns and the values CONFIG SET applied', async (t) => {
  const kv = await startKvServer({ port: 0, config: { maxclients: '77' } });
  t.after(() => kv.close());
  const [max, any, both] = await exchange(
    kv.port as number,
    [
      c('CONFIG', 'GET', 'max*'),
      c('CONFIG', 'GET', '*'),
      c('CONFIG', 'GET', 'max?lients', 'time*'),
    ],
    3,
  );
  assert.equal(
    max?.toString(),
    '*6\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n$16\r\nmaxmemory-policy\r\n$10\r\nnoeviction\r\n$10\r\nmaxclients\r\n$2\r\n77\r\n',
  );
  assert.match(any?.toString() ?? '', /^\*20\r\n/);
  assert.equal(
    both?.toString(),
    '*4\r\n$10\r\nmaxclients\r\n$2\r\n77\r\n$7\r\ntimeout\r\n$1\r\n0\r\n',
  );
  // A bad value at start is refused with CONFIG SET's words.
  await assert.rejects(
    startKvServer({ port: 0, config: { maxmemory: 'lots' } }),
    /maxmemory: argument must be a memory value/,
  );
});

test('server.js: every CONFIG SET parameter is a flag; a bad one stops it with the reason', async (t) => {
  const kv = await startKvProcess([
    '--port',
    '0',
    '--requirepass',
    'pw',
    '--maxclients',
    '5',
    '--client-output-buffer-limit',
    'pubsub 1mb 0 0',
  ]);
  t.after(() => kv.stop());
  const replies = await exchange(
    kv.port,
    [
      c('GET', 'k'),
      c('AUTH', 'pw'),
      c('CONFIG', 'GET', 'maxclients'),
      c('CONFIG', 'GET', 'client-output-buffer-limit'),
    ],
    4,
  );
  assert.deepEqual(
    replies.map((reply) => reply.toString()),
    [
      '-NOAUTH Authentication required.\r\n',
      '+OK\r\n',
      '*2\r\n$10\r\nmaxclients\r\n$1\r\n5\r\n',
      '*2\r\n$26\r\nclient-output-buffer-limit\r\n$59\r\nnormal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 0 0\r\n',
    ],
  );
  const bad = spawnSync(process.execPath, [KV_SERVER_ENTRY, '--port', '0', '--maxmemory', 'x'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /maxmemory: argument must be a memory value/);
});
