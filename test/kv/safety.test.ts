import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { startKvServer } from '../../examples/kv/kv-server.js';
import { startRedisServer } from '../support/redis-server.js';
import { sendRaw } from './raw-protocol-wire.js';
import { connectResp, exchange, type WireRequest } from './resp-wire.js';

const text = (reply: Buffer) => reply.toString('latin1');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits (bounded) until `done()` holds; returns whether it did. */
async function until(done: () => boolean, tries = 200, everyMs = 25): Promise<boolean> {
  for (let i = 0; i < tries && !done(); i++) await sleep(everyMs);
  return done();
}

const AUTH_SEQUENCE: WireRequest[] = [
  ['PING'],
  ['SET', 'k', 'stolen'],
  ['GET', 'k'],
  ['NOSUCH'],
  ['GET'],
  ['AUTH'],
  ['AUTH', 'wrong'],
  ['AUTH', 'default', 'wrong'],
  ['AUTH', 'DEFAULT', 'pw'],
  ['AUTH', 'a', 'b', 'c'],
  ['HELLO', '2'],
  ['HELLO', '3', 'AUTH', 'default', 'wrong'],
  ['GET', 'k'],
  ['AUTH', 'pw'],
  ['GET', 'k'],
  ['AUTH', 'default', 'pw'],
  ['AUTH', 'wrong'],
  ['PING'],
];

test('requirepass: the same replies as redis-server, before and after AUTH', async (t) => {
  // Set after start: startRedisServer waits for a PONG that a password would refuse.
  const redis = await startRedisServer();
  t.after(() => redis.stop());
  await exchange(redis.port, [['CONFIG', 'SET', 'requirepass', 'pw']], 1);
  const kv = await startKvServer({ port: 0, config: { requirepass: 'pw' } });
  t.after(() => kv.close());
  const [mine, theirs] = await Promise.all([
    exchange(kv.port as number, AUTH_SEQUENCE, AUTH_SEQUENCE.length),
    exchange(redis.port, AUTH_SEQUENCE, AUTH_SEQUENCE.length),
  ]);
  assert.deepEqual(mine.map(text), theirs.map(text));
  assert.equal(text(mine[0] as Buffer), '-NOAUTH Authentication required.\r\n');
  // The unauthenticated SET did not happen: GET after AUTH finds nothing.
  assert.equal(text(mine[14] as Buffer), '$-1\r\n');
});

test('requirepass: HELLO AUTH authenticates; CONFIG SET requirepass applies to new clients', async (t) => {
  const kv = await startKvServer({ port: 0 });
  t.after(() => kv.close());
  const port = kv.port as number;
  const old = await connectResp(port);
  t.after(() => old.close());
  assert.equal(text(await old.call(['CONFIG', 'SET', 'requirepass', 's3cret'])), '+OK\r\n');
  // Connected while there was no password: still authenticated, as in Redis.
  assert.equal(text(await old.call(['PING'])), '+PONG\r\n');
  const fresh = await connectResp(port);
  t.after(() => fresh.close());
  assert.equal(text(await fresh.call(['PING'])), '-NOAUTH Authentication required.\r\n');
  assert.match(text(await fresh.call(['HELLO', '3'])), /^-NOAUTH HELLO must be called/);
  const hello = text(await fresh.call(['HELLO', '3', 'AUTH', 'default', 's3cret']));
  assert.match(hello, /^%7\r\n/);
  assert.equal(text(await fresh.call(['PING'])), '+PONG\r\n');
  // A thousand wrong passwords pipelined: each refused, nothing else happens.
  const hostile: WireRequest[] = Array.from({ length: 1000 }, (_, i) => ['AUTH', `guess${i}`]);
  const refused = await exchange(port, [...hostile, ['SET', 'x', '1']], hostile.length + 1);
  assert.ok(refused.slice(0, 1000).every((r) => text(r).startsWith('-WRONGPASS')));
  assert.equal(text(refused[1000] as Buffer), '-NOAUTH Authentication required.\r\n');
  assert.equal(text(await old.call(['EXISTS', 'x'])), ':0\r\n');
});

test('maxclients: the connection beyond it gets Redis error and is closed; the others are served', async (t) => {
  const kv = await startKvServer({ port: 0, config: { maxclients: '3' } });
  t.after(() => kv.close());
  const port = kv.port as number;
  const open = await Promise.all([connectResp(port), connectResp(port), connectResp(port)]);
  t.after(() => {
    for (const conn of open) conn.close();
  });
  for (const conn of open) assert.equal(text(await conn.call(['PING'])), '+PONG\r\n');
  const refused = await sendRaw(port, Buffer.from('PING\r\n'), 2000);
  assert.equal(text(refused.bytes), '-ERR max number of clients reached\r\n');
  assert.equal(refused.closed, true);
  assert.equal(text(await (open[0] as (typeof open)[0]).call(['PING'])), '+PONG\r\n');
  const info = text(await (open[1] as (typeof open)[1]).call(['INFO', 'stats']));
  assert.match(info, /rejected_connections:1\r\n/);
  // One closes: a new one is admitted.
  (open.pop() as (typeof open)[0]).close();
  assert.ok(await until(() => kv.state.clients.size === 2));
  const admitted = await sendRaw(port, Buffer.from('PING\r\n'));
  assert.equal(text(admitted.bytes), '+PONG\r\n');
});

test('maxmemory noeviction: writes that grow memory get -OOM, reads and DEL still run', async (t) => {
  const kv = await startKvServer({ port: 0 });
  t.after(() => kv.close());
  const port = kv.port as number;
  const writer = await connectResp(port);
  const other = await connectResp(port);
  t.after(() => {
    writer.close();
    other.close();
  });
  const used = Number(/used_memory:(\d+)/.exec(text(await writer.call(['INFO', 'memory'])))?.[1]);
  assert.ok(used > 0);
  const limit = used + 8 * 1024 * 1024;
  assert.equal(text(await writer.call(['CONFIG', 'SET', 'maxmemory', String(limit)])), '+OK\r\n');
  const value = Buffer.alloc(1024 * 1024, 0x76);
  let stored = 0;
  let oom = '';
  for (let i = 0; i < 200 && oom === ''; i++) {
    const reply = text(await writer.call(['SET', `big${i}`, value]));
    if (reply === '+OK\r\n') stored++;
    else oom = reply;
  }
  assert.equal(oom, "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
  assert.ok(stored >= 1 && stored < 200, `stored ${stored}`);
  // Not denyoom: answered as usual, for this client and any other.
  assert.equal(text(await writer.call(['STRLEN', 'big0'])), ':1048576\r\n');
  assert.equal(text(await other.call(['PING'])), '+PONG\r\n');
  assert.equal(text(await other.call(['DEL', 'big0'])), ':1\r\n');
  const info = text(await other.call(['INFO', 'memory']));
  assert.match(info, new RegExp(`maxmemory:${limit}\r\n`));
  assert.match(info, /maxmemory_policy:noeviction\r\n/);
  assert.equal(
    text(await other.call(['CONFIG', 'GET', 'maxmemory*'])),
    `*4\r\n$9\r\nmaxmemory\r\n$${String(limit).length}\r\n${limit}\r\n$16\r\nmaxmemory-policy\r\n$10\r\nnoeviction\r\n`,
  );
  assert.equal(text(await other.call(['CONFIG', 'SET', 'maxmemory', '0'])), '+OK\r\n');
  assert.equal(text(await writer.call(['SET', 'after', 'v'])), '+OK\r\n');
});

/** A subscriber socket that never reads: its kernel buffers fill, then the server's queue. */
async function stalledSubscriber(port: number, channel: string): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write(`SUBSCRIBE ${channel}\r\n`);
  await new Promise<void>((resolve) => socket.once('data', () => resolve()));
  socket.pause();
  return socket;
}

/** Client output disconnections so far, as INFO counts them. */
const dropped = (kv: Awaited<ReturnType<typeof startKvServer>>) =>
  kv.state.limits.outputDisconnections + kv.state.pubsub.slowConsumersDropped;

/** A paused socket sees its close only once it reads again: resume it and wait (bounded). */
async function closesOnceRead(socket: net.Socket): Promise<boolean> {
  let closed = socket.destroyed;
  socket.on('close', () => {
    closed = true;
  });
  socket.resume();
  return until(() => closed, 400, 25);
}

test('pub/sub output limit: a subscriber that never reads is closed, the others are served', async (t) => {
  const kv = await startKvServer({ port: 0 });
  t.after(() => kv.close());
  const port = kv.port as number;
  const stalled = await stalledSubscriber(port, 'news');
  const reader = net.connect(port, '127.0.0.1');
  let readerBytes = 0;
  reader.on('data', (chunk: Buffer) => {
    readerBytes += chunk.length;
  });
  await new Promise<void>((resolve) => reader.once('connect', resolve));
  reader.write('SUBSCRIBE news\r\n');
  assert.ok(await until(() => kv.state.pubsub.subscribers('news') === 2));
  const publisher = await connectResp(port);
  t.after(() => {
    stalled.destroy();
    reader.destroy();
    publisher.close();
  });
  const message = Buffer.alloc(64 * 1024, 0x6d);
  let published = 0;
  let receivers = '';
  // 32 MiB (the default hard limit) plus what the kernel buffers hold: well under 2,000.
  for (let i = 0; i < 2000 && receivers !== ':1\r\n'; i++) {
    receivers = text(await publisher.call(['PUBLISH', 'news', message]));
    published++;
  }
  assert.equal(receivers, ':1\r\n', 'the stalled subscriber was dropped');
  assert.ok(
    published > 32 * 16,
    `dropped after ${published} messages of 64 KiB, not before 32 MiB`,
  );
  assert.equal(text(await publisher.call(['PING'])), '+PONG\r\n');
  assert.equal(
    text(await publisher.call(['PUBSUB', 'NUMSUB', 'news'])),
    '*2\r\n$4\r\nnews\r\n:1\r\n',
  );
  const info = text(await publisher.call(['INFO', 'stats']));
  assert.match(info, /client_output_buffer_limit_disconnections:1\r\n/);
  assert.ok(await closesOnceRead(stalled), "the stalled subscriber's connection was closed");
  // The reader got every message (each at least 64 KiB on the wire).
  assert.ok(await until(() => readerBytes >= published * message.length));
});

test('pub/sub soft limit: a subscriber over it for longer than the seconds is closed', async (t) => {
  const kv = await startKvServer({
    port: 0,
    config: { 'client-output-buffer-limit': 'pubsub 0 2mb 2' },
  });
  t.after(() => kv.close());
  const port = kv.port as number;
  const stalled = await stalledSubscriber(port, 'slow');
  const publisher = await connectResp(port);
  t.after(() => {
    stalled.destroy();
    publisher.close();
  });
  const subscriber = () => [...kv.state.clients].find((ctx) => ctx.session.subscriptions > 0);
  const message = Buffer.alloc(64 * 1024, 0x6d);
  // Publish until its queue passes the soft limit, then nothing more: only the tick can act.
  for (let i = 0; i < 1000 && (subscriber()?.queuedBytes ?? 0) < 3 * 1024 * 1024; i++) {
    await publisher.call(['PUBLISH', 'slow', message]);
  }
  // Past the high-water mark and the soft limit, yet kept: only the soft seconds can drop it
  // (the loop is some fifty round trips, far shorter than the two seconds).
  assert.equal(dropped(kv), 0, 'not dropped at once');
  assert.ok((subscriber()?.queuedBytes ?? 0) >= 3 * 1024 * 1024);
  assert.ok(await until(() => dropped(kv) === 1, 400, 25), 'dropped once the soft seconds ran out');
  assert.equal(subscriber(), undefined);
  assert.ok(await closesOnceRead(stalled));
  assert.equal(text(await publisher.call(['PING'])), '+PONG\r\n');
});

/**
 * A normal client's queue stays near the write high-water mark by itself (the engine stops
 * reading a client whose replies wait), so its limit is for replies larger than the limit.
 */
test('normal output limit: a client whose reply is above the hard limit is closed, the others are served', async (t) => {
  const kv = await startKvServer({
    port: 0,
    config: { 'client-output-buffer-limit': 'normal 4mb 0 0' },
  });
  t.after(() => kv.close());
  const port = kv.port as number;
  const other = await connectResp(port);
  t.after(() => other.close());
  await other.call(['SET', 'big', Buffer.alloc(5 * 1024 * 1024, 0x62)]);
  await other.call(['SET', 'small', Buffer.alloc(1024 * 1024, 0x62)]);
  // Below the limit: a 1 MiB reply is delivered even to a client that reads late.
  const small = await sendRaw(port, Buffer.from('GET small\r\n'), 500);
  assert.equal(small.bytes.length, 1024 * 1024 + 12);
  const greedy = net.connect(port, '127.0.0.1');
  greedy.on('error', () => {});
  t.after(() => greedy.destroy());
  await new Promise<void>((resolve) => greedy.once('connect', resolve));
  greedy.pause();
  greedy.write('GET big\r\n');
  assert.ok(await until(() => dropped(kv) === 1), 'dropped for its output');
  assert.ok(await closesOnceRead(greedy));
  assert.equal(text(await other.call(['PING'])), '+PONG\r\n');
  assert.equal(text(await other.call(['STRLEN', 'big'])), ':5242880\r\n');
  assert.match(
    text(await other.call(['INFO', 'stats'])),
    /client_output_buffer_limit_disconnections:1\r\n/,
  );
});

test('timeout: an idle client is closed, a subscriber is not', async (t) => {
  const kv = await startKvServer({ port: 0, config: { timeout: '1' } });
  t.after(() => kv.close());
  const port = kv.port as number;
  const idle = await connectResp(port);
  const subscriber = await connectResp(port);
  t.after(() => {
    idle.close();
    subscriber.close();
  });
  await idle.call(['PING']);
  await subscriber.call(['SUBSCRIBE', 'c']);
  let idleClosed = false;
  idle.socket.on('close', () => {
    idleClosed = true;
  });
  assert.ok(await until(() => idleClosed, 200, 25), 'the idle client was closed');
  assert.equal(subscriber.socket.destroyed, false);
  assert.equal(text(await subscriber.call(['PING'])), '*2\r\n$4\r\npong\r\n$0\r\n\r\n');
});
