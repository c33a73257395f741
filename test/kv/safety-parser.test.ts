import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startKvServer } from '../../examples/kv/kv-server.js';
import { sendRaw } from './raw-protocol-wire.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap plus Buffer memory after a full collection: what the process really holds. */
function held(): number {
  gc();
  gc();
  const memory = process.memoryUsage();
  return memory.heapUsed + memory.arrayBuffers;
}

const CONNECTIONS = 200;
/** Bytes of arguments each hostile connection sends after its header, then it goes silent. */
const SENT = 20 * 1024;

/**
 * A declared but unsent request must not cost more than the bytes that came. Half the
 * connections declare `*1048576` and send 20 KiB of one-byte arguments; half declare a
 * `$536870911` argument and send 20 KiB of it. Then they all go silent. The memory the server
 * holds for them (heap and Buffers, after a full collection, server in this process) must stay
 * within a small multiple of what they sent, and another client still gets PONG.
 */
test('200 silent connections with huge declared requests hold memory in proportion to their bytes', async (t) => {
  const kv = await startKvServer({ port: 0 });
  const port = kv.port as number;
  const sockets: net.Socket[] = [];
  t.after(async () => {
    for (const socket of sockets) socket.destroy();
    await kv.close();
  });
  const before = held();
  const rssBefore = process.memoryUsage().rss;
  const smallArgs = Buffer.from(`*1048576\r\n${'$1\r\na\r\n'.repeat(Math.floor(SENT / 7))}`);
  const bigBulk = Buffer.concat([
    Buffer.from('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870911\r\n'),
    Buffer.alloc(SENT, 0x62),
  ]);
  let sent = 0;
  for (let i = 0; i < CONNECTIONS; i++) {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    sockets.push(socket);
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    const bytes = i % 2 === 0 ? smallArgs : bigBulk;
    socket.write(bytes);
    sent += bytes.length;
  }
  // Every connection's bytes are read once the engine keeps an unfinished frame for each.
  for (let i = 0; i < 200 && kv.engine.stats().pool.leased < CONNECTIONS; i++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  assert.ok(kv.engine.stats().pool.leased >= CONNECTIONS, 'every connection was read');
  const pong = await sendRaw(port, Buffer.from('PING\r\n'));
  assert.equal(pong.bytes.toString(), '+PONG\r\n');
  const growth = held() - before;
  const rssGrowth = process.memoryUsage().rss - rssBefore;
  t.diagnostic(
    `${CONNECTIONS} connections sent ${(sent / 1048576).toFixed(1)} MiB; heap+buffers grew ` +
      `${(growth / 1048576).toFixed(1)} MiB, RSS ${(rssGrowth / 1048576).toFixed(1)} MiB ` +
      `(test client and server in one process), pool leased ${(kv.engine.stats().pool.leasedBytes / 1048576).toFixed(1)} MiB`,
  );
  // Kept bytes (at most a pooled buffer each, or twice the bytes), sockets, sessions: a few
  // times what came. A Buffer per one-byte argument would be some twenty times as much.
  assert.ok(growth < 4 * sent + CONNECTIONS * 48 * 1024, `held ${growth} bytes for ${sent} sent`);
});

/** A request completed after spanning many reads still decodes to the same arguments. */
test('a request sent byte by byte after a silence decodes whole', async (t) => {
  const kv = await startKvServer({ port: 0 });
  t.after(() => kv.close());
  const socket = net.connect(kv.port as number, '127.0.0.1');
  t.after(() => socket.destroy());
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  const request = Buffer.from(
    '*3\r\n$3\r\nSET\r\n$2\r\nk1\r\n$5\r\nhello\r\n*2\r\n$3\r\nGET\r\n$2\r\nk1\r\n',
  );
  const replies: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => replies.push(chunk));
  socket.setNoDelay(true);
  for (let i = 0; i < request.length; i++) {
    socket.write(request.subarray(i, i + 1));
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  for (let i = 0; i < 200 && Buffer.concat(replies).length < 16; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.equal(Buffer.concat(replies).toString(), '+OK\r\n$5\r\nhello\r\n');
});
