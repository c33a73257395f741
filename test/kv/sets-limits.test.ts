import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startKvServer } from '../../examples/kv/kv-server.js';
import { exchange } from './resp-wire.js';

test('a huge negative SRANDMEMBER/ZRANDMEMBER count is refused, and the server keeps answering', async (t) => {
  const kv = await startKvServer({ port: 0 });
  t.after(() => kv.close(1000));
  const replies = await exchange(
    kv.port as number,
    [
      ['SADD', 's', 'a'],
      ['ZADD', 'z', '1', 'a'],
      ['SRANDMEMBER', 's', '-9223372036854775807'],
      ['ZRANDMEMBER', 'z', '-4611686018427387903', 'WITHSCORES'],
      ['SRANDMEMBER', 's', '-3'],
      ['PING'],
    ],
    6,
  );
  const refused = '-ERR count is too large: at most 4194304 picks with repetition\r\n';
  assert.deepEqual(
    replies.map((r) => r.toString('latin1')),
    [':1\r\n', ':1\r\n', refused, refused, '*3\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n', '+PONG\r\n'],
  );
});
