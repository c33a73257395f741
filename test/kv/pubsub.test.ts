import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { startKvServer } from '../../examples/kv/kv-server.js';
import { connectResp, encodeRequest } from './resp-wire.js';

test('a subscriber that stops reading is dropped as a slow consumer; one that reads keeps its messages', async (t) => {
  const kv = await startKvServer({ port: 0, writeHighWaterMark: 64 * 1024 });
  t.after(() => kv.close(1000));
  const port = kv.port as number;

  const slow = net.connect(port, '127.0.0.1');
  t.after(() => slow.destroy());
  slow.write(encodeRequest(['SUBSCRIBE', 'firehose']));
  await new Promise((resolve) => slow.once('data', resolve));
  // From here it reads nothing: the kernel buffers fill, then the server's queue grows.
  slow.pause();
  const slowClosed = new Promise<void>((resolve) => slow.once('close', () => resolve()));

  const fast = net.connect(port, '127.0.0.1');
  t.after(() => fast.destroy());
  let fastBytes = 0;
  fast.on('data', (chunk: Buffer) => {
    fastBytes += chunk.length;
  });
  fast.write(encodeRequest(['SUBSCRIBE', 'firehose']));

  const publisher = await connectResp(port);
  t.after(() => publisher.close());
  for (
    let i = 0;
    i < 100 &&
    (await publisher.call(['PUBSUB', 'NUMSUB', 'firehose'])).toString().endsWith(':1\r\n');
    i++
  ) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const message = Buffer.alloc(128 * 1024, 0x61);
  const receivers: number[] = [];
  // Bounded: 1,000 × 128 KiB = 125 MiB at most, far beyond any loopback buffering.
  for (let i = 0; i < 1000; i++) {
    const reply = (await publisher.call(['PUBLISH', 'firehose', message])).toString('latin1');
    const count = Number(reply.slice(1, -2));
    receivers.push(count);
    if (count === 1) break;
  }
  assert.equal(
    receivers.at(-1),
    1,
    `the slow subscriber was never dropped: ${receivers.join(',')}`,
  );
  assert.ok(receivers.slice(0, -1).every((n) => n === 2));
  slow.resume();
  await slowClosed;
  const info = (await publisher.call(['INFO', 'stats'])).toString('latin1');
  assert.match(info, /slow_consumers_dropped:1\r\n/);
  assert.equal(
    (await publisher.call(['PUBSUB', 'NUMSUB', 'firehose'])).toString('latin1'),
    '*2\r\n$8\r\nfirehose\r\n:1\r\n',
  );
  // The reading subscriber got every message (each over 128 KiB on the wire).
  const expected = receivers.length * message.length;
  for (let i = 0; i < 500 && fastBytes < expected; i++)
    await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(fastBytes >= expected, `${fastBytes} < ${expected}`);
});

test('RESP2 and RESP3 subscribers of one channel each get the message in their own protocol', async (t) => {
  const kv = await startKvServer({ port: 0 });
  t.after(() => kv.close(1000));
  const port = kv.port as number;
  const resp2 = await connectResp(port);
  const resp3 = await connectResp(port);
  const publisher = await connectResp(port);
  t.after(() => {
    resp2.close();
    resp3.close();
    publisher.close();
  });
  assert.match((await resp3.call(['HELLO', '3'])).toString('latin1'), /^%7\r\n/);
  assert.equal(
    (await resp2.call(['SUBSCRIBE', 'ch'])).toString('latin1'),
    '*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n',
  );
  assert.equal(
    (await resp3.call(['PSUBSCRIBE', 'c*'])).toString('latin1'),
    '>3\r\n$10\r\npsubscribe\r\n$2\r\nc*\r\n:1\r\n',
  );
  const got2 = new Promise<string>((resolve) =>
    resp2.socket.once('data', (d: Buffer) => resolve(d.toString('latin1'))),
  );
  const got3 = new Promise<string>((resolve) =>
    resp3.socket.once('data', (d: Buffer) => resolve(d.toString('latin1'))),
  );
  assert.equal((await publisher.call(['PUBLISH', 'ch', 'hi'])).toString('latin1'), ':2\r\n');
  assert.equal(await got2, '*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n');
  assert.equal(await got3, '>4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$2\r\nhi\r\n');
});
