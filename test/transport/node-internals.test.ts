/**
 * Which of Node's internal paths the engine takes, asserted on every Node the project supports
 * (20, 22, 24): an upgrade that removes one shows here instead of as a silent slowdown.
 */
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { copyOut, viewOf } from '../../src/buffer/copy-out.js';
import {
  BufferView,
  bytesInHandle,
  nodeInternals,
  readInto,
} from '../../src/transport/node-internals.js';

const major = Number(process.versions.node.split('.')[0]);

test(`Node ${process.versions.node}: accepted sockets read into the engine's buffer`, async (t) => {
  assert.ok(major >= 20, 'mai supports Node 20 and later');
  assert.equal(nodeInternals().readInto, true, 'the onread slots are found on this Node');
  const shared = Buffer.alloc(64);
  const reads: string[] = [];
  const accepted = new Promise<Socket>((resolve) => {
    const server = createServer((socket) => {
      assert.equal(
        readInto(socket, shared, function (this: Socket, length, buffer) {
          assert.equal(this, socket, 'the callback gets the socket as this');
          assert.equal(buffer, shared, 'and the engine’s own buffer');
          reads.push(buffer.toString('utf8', 0, length));
        }),
        true,
      );
      socket.resume();
      resolve(socket);
      server.close();
    }).listen(0, '127.0.0.1');
    t.after(() => server.close());
    server.once('listening', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      const client = createClient(address.port);
      t.after(() => client.destroy());
    });
  });
  const socket = await accepted;
  await new Promise((resolve) => socket.once('end', resolve));
  assert.equal(reads.join(''), 'hello');
  assert.equal(socket.listenerCount('data'), 0, 'no data events were needed');
  socket.destroy();
});

function createClient(port: number): Socket {
  const client = connect(port, '127.0.0.1', () => client.end('hello'));
  return client;
}

test("a connected socket's handle says how many bytes it still holds; TLS cannot", async (t) => {
  const server = createServer((socket) => socket.resume()).listen(0, '127.0.0.1');
  t.after(() => server.close());
  await new Promise((resolve) => server.once('listening', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const client = connect(address.port, '127.0.0.1');
  await new Promise((resolve) => client.once('connect', resolve));
  const held = bytesInHandle(client);
  assert.ok(Number.isFinite(held) && held >= 0, `writeQueueSize readable (got ${held})`);
  (client as { encrypted?: boolean }).encrypted = true;
  assert.equal(bytesInHandle(client), Number.POSITIVE_INFINITY, 'a TLS socket counts as unknown');
  client.destroy();
});

test('BufferView passes for a Buffer, and the copy helpers build on it', () => {
  assert.equal(nodeInternals().bufferView, true);
  const source = Buffer.from('abcdef');
  const view = viewOf(source, 1, 4);
  assert.ok(view instanceof BufferView);
  assert.ok(Buffer.isBuffer(view));
  assert.equal(view.constructor, Buffer);
  assert.equal(view.toString(), 'bcd');
  source[1] = 0x7a;
  assert.equal(view.toString(), 'zcd', 'a view shares the memory');
  const copy = copyOut(source, 1, 4);
  source[1] = 0x62;
  assert.equal(copy.toString(), 'zcd', 'a copy does not');
});
