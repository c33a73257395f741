import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { startKvServer } from '../../examples/kv/kv-server.js';
import { encodeRequest } from './resp-wire.js';

/** A raw client that collects every byte the server sends. */
async function client(port: number): Promise<{ socket: net.Socket; read: () => string }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  let seen = '';
  socket.on('data', (chunk: Buffer) => {
    seen += chunk.toString('latin1');
  });
  return { socket, read: () => seen };
}

/** Waits (bounded) until `read()` has `length` bytes; returns them. */
async function waitFor(read: () => string, length: number): Promise<string> {
  for (let i = 0; i < 200 && read().length < length; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return read();
}

const send = (socket: net.Socket, ...commands: string[][]) =>
  socket.write(Buffer.concat(commands.map((c) => encodeRequest(c))));

test('BZPOPMIN blocks until a ZADD fills the key, and the requests pipelined behind it wait', async (t) => {
  const kv = await startKvServer({ port: 0 });
  t.after(() => kv.close(1000));
  const waiter = await client(kv.port as number);
  const writer = await client(kv.port as number);
  t.after(() => {
    waiter.socket.destroy();
    writer.socket.destroy();
  });
  send(waiter.socket, ['BZPOPMIN', 'none', 'q', '0'], ['PING']);
  send(writer.socket, ['PING']);
  await waitFor(writer.read, 7);
  // The blocked client has had no reply, not even for its PING.
  assert.equal(waiter.read(), '');
  send(writer.socket, ['ZADD', 'q', '2', 'b', '1', 'a']);
  const expected = '*3\r\n$1\r\nq\r\n$1\r\na\r\n$1\r\n1\r\n+PONG\r\n';
  assert.equal(await waitFor(waiter.read, expected.length), expected);
  send(writer.socket, ['ZRANGE', 'q', '0', '-1']);
  assert.equal(await waitFor(writer.read, 7 + 4 + 14), '+PONG\r\n:2\r\n*1\r\n$1\r\nb\r\n');
});

test('BZMPOP serves the oldest waiter first; a timeout answers null (RESP3 _)', async (t) => {
  const kv = await startKvServer({ port: 0 });
  t.after(() => kv.close(1000));
  const first = await client(kv.port as number);
  const second = await client(kv.port as number);
  const writer = await client(kv.port as number);
  t.after(() => {
    for (const c of [first, second, writer]) c.socket.destroy();
  });
  send(first.socket, ['BZMPOP', '0', '1', 'q', 'MAX', 'COUNT', '2']);
  await new Promise((resolve) => setTimeout(resolve, 20));
  send(second.socket, ['HELLO', '3']);
  await waitFor(second.read, 10);
  const hello = second.read().length;
  send(second.socket, ['BZPOPMAX', 'q', '0.05']);
  send(writer.socket, ['ZADD', 'q', '1', 'a', '2', 'b', '3', 'c']);
  const served = '*2\r\n$1\r\nq\r\n*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n';
  assert.equal(await waitFor(first.read, served.length), served);
  // One member was left, so the second waiter got it; then the key is gone.
  const popped = '*3\r\n$1\r\nq\r\n$1\r\na\r\n,1\r\n';
  assert.equal((await waitFor(second.read, hello + popped.length)).slice(hello), popped);
  send(second.socket, ['BZPOPMAX', 'q', '0.05']);
  assert.equal(
    (await waitFor(second.read, hello + popped.length + 3)).slice(hello),
    `${popped}_\r\n`,
  );
});

test('a blocked client that disconnects is forgotten: the next ZADD keeps its member', async (t) => {
  const kv = await startKvServer({ port: 0 });
  t.after(() => kv.close(1000));
  const gone = await client(kv.port as number);
  send(gone.socket, ['BZPOPMIN', 'q', '0']);
  await new Promise((resolve) => setTimeout(resolve, 20));
  gone.socket.destroy();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const writer = await client(kv.port as number);
  t.after(() => writer.socket.destroy());
  send(writer.socket, ['ZADD', 'q', '1', 'a'], ['ZCARD', 'q']);
  assert.equal(await waitFor(writer.read, 8), ':1\r\n:1\r\n');
});
