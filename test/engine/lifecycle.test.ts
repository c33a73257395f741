import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import {
  BroadcastError,
  EncodeError,
  type EncodeResult,
  type Protocol,
  protocolEngine,
  type TimeoutHandle,
  type Token,
} from '../../src/index.js';
import { LineCodec, U32Codec } from '../support/codecs.js';
import { serve } from '../support/engine-fixture.js';
import { MemoryStream, rawConnect, readAll, u32Frame } from '../support/peers.js';
import { Recorder } from '../support/recorder.js';
import { assertEngineClean, TRANSPORTS, until } from '../support/transports.js';

type Bytes = Protocol<{ in: Buffer }>;

/** For tests of unsent accounting: queue far more than the slow-consumer limits allow. */
const NO_SLOW_CONSUMER_LIMIT = {
  slowConsumerSoftLimit: 1024 * 1024 * 1024,
  slowConsumerHardLimit: 1024 * 1024 * 1024,
};
type Lines = Protocol<{ in: string; timeout: { kind: string; n: number } }>;

for (const transport of TRANSPORTS) {
  describe(`lifecycle over ${transport}`, () => {
    test('async onFrame: frames delivered in order, reading pauses at maxFramesInFlight', async (t) => {
      let inFlight = 0;
      let peak = 0;
      const log = new Recorder<Bytes>({
        onFrame: async (ctx, frame) => {
          inFlight++;
          peak = Math.max(peak, inFlight);
          await new Promise((resolve) => setTimeout(resolve, 1));
          inFlight--;
          ctx.send(frame);
        },
      });
      const { server, listener } = await serve<Bytes>(t, transport, {
        codec: () => new U32Codec(),
        handler: log.handler,
        maxFramesInFlight: 8,
      });
      const payloads = Array.from({ length: 300 }, (_, i) => Buffer.from(String(i)));
      const socket = await rawConnect(listener.address);
      const reply = readAll(socket);
      socket.end(Buffer.concat(payloads.map(u32Frame)));
      const echoed = await reply;
      await server.shutdown({ deadlineMs: 2000 });
      const stream = [...log.logs.values()][0];
      assert.deepEqual(stream?.frames, payloads, 'delivered in order');
      assert.equal(peak, 8, 'in flight never above the limit, and the limit was reached');
      assert.equal(
        echoed.length,
        Buffer.concat(payloads.map(u32Frame)).length,
        'every reply sent before FIN',
      );
      assert.equal(stream?.closeInfo?.framesSent, 300);
      assert.deepEqual(log.violations, []);
      assertEngineClean(server);
    });

    test('abort() with frames queued to a peer that does not read reports every unsent frame', async (t) => {
      const frame = Buffer.alloc(64 * 1024, 0x5a);
      let accepted = 0;
      const log = new Recorder<Bytes>({
        onReady: (ctx) => {
          // Far more than the socket buffers hold: most of it stays queued in the engine.
          for (let i = 0; i < 400; i++) if (ctx.send(frame) || !ctx.closed) accepted++;
          setTimeout(() => ctx.abort(), 50);
        },
      });
      const { server, listener } = await serve<Bytes>(t, transport, {
        codec: () => new U32Codec(),
        handler: log.handler,
        ...NO_SLOW_CONSUMER_LIMIT,
      });
      const socket = await rawConnect(listener.address);
      socket.pause(); // never reads
      socket.on('error', () => {});
      await until(() => log.closedCount === 1, 5000, 'onClosed');
      socket.destroy();
      await server.shutdown({ deadlineMs: 1000 });
      const info = [...log.logs.values()][0]?.closeInfo;
      assert.equal(info?.reason, 'aborted');
      assert.ok((info?.framesUnsent ?? 0) > 0, 'some frames were not sent');
      assert.equal(
        (info?.framesSent ?? 0) + (info?.framesUnsent ?? 0),
        accepted,
        'each frame sent or reported',
      );
      // A frame counts as unsent unless all of it reached the kernel; bytes are exact.
      const frameBytes = frame.length + 4;
      assert.ok((info?.bytesUnsent ?? 0) <= (info?.framesUnsent ?? 0) * frameBytes);
      assert.ok((info?.bytesUnsent ?? 0) > ((info?.framesUnsent ?? 0) - 1) * frameBytes);
      assert.deepEqual(log.violations, []);
      assertEngineClean(server);
    });

    test('end() flushes and half-closes; frames from the peer still arrive', async (t) => {
      const log = new Recorder<Lines>({
        onReady: (ctx) => {
          ctx.send('bye');
          ctx.end();
        },
      });
      const { server, listener } = await serve<Lines>(t, transport, {
        codec: () => new LineCodec(),
        handler: log.handler,
      });
      const socket = await rawConnect(listener.address);
      const received: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      await new Promise((resolve) => socket.once('end', resolve));
      socket.end('after your FIN 1\nafter your FIN 2\n');
      await until(() => log.closedCount === 1, 5000, 'onClosed');
      await server.shutdown({ deadlineMs: 1000 });
      assert.equal(Buffer.concat(received).toString(), 'bye\n');
      const stream = [...log.logs.values()][0];
      assert.deepEqual(stream?.frames, ['after your FIN 1', 'after your FIN 2']);
      assert.equal(stream?.closeInfo?.reason, 'local');
      assert.deepEqual(log.violations, []);
      assertEngineClean(server);
    });

    test('shutdown: goodbye frame via onShutdown, graceful close, new connects refused, report', async (t) => {
      const log = new Recorder<Lines>({
        onFrame: (ctx, line) => void ctx.send(line),
        onShutdown: (ctx) => void ctx.send('server going away'),
      });
      const { server, listener } = await serve<Lines>(t, transport, {
        codec: () => new LineCodec(),
        handler: log.handler,
      });
      const sockets = await Promise.all(
        Array.from({ length: 10 }, () => rawConnect(listener.address)),
      );
      const replies = sockets.map(readAll);
      for (const socket of sockets) socket.write('hello\n');
      await until(() => [...log.logs.values()].filter((l) => l.frames.length === 1).length === 10);
      const report = await server.shutdown({ deadlineMs: 2000 });
      for (const reply of replies)
        assert.equal((await reply).toString(), 'hello\nserver going away\n');
      assert.equal(report.streams.length, 10);
      assert.equal(report.forced, 0);
      for (const stream of report.streams) assert.equal(stream.framesUnsent, 0);
      await assert.rejects(rawConnect(listener.address));
      assert.throws(() => server.manage(new MemoryStream()), { code: 'MAI_ENGINE_CLOSED' });
      for (const stream of log.logs.values()) assert.equal(stream.closeInfo?.reason, 'shutdown');
      assert.deepEqual(log.violations, []);
      assertEngineClean(server);
    });

    test('shutdown force-closes a stream whose peer never reads, at the deadline, reporting unsent frames', async (t) => {
      const log = new Recorder<Bytes>({
        onReady: (ctx) => {
          for (let i = 0; i < 200; i++) ctx.send(Buffer.alloc(64 * 1024));
        },
      });
      const { server, listener } = await serve<Bytes>(t, transport, {
        codec: () => new U32Codec(),
        handler: log.handler,
        ...NO_SLOW_CONSUMER_LIMIT,
      });
      const socket = await rawConnect(listener.address);
      socket.pause();
      socket.on('error', () => {});
      await until(() => log.logs.size === 1);
      const report = await server.shutdown({ deadlineMs: 200 });
      socket.destroy();
      assert.equal(report.forced, 1);
      assert.ok((report.streams[0]?.framesUnsent ?? 0) > 0);
      const stream = [...log.logs.values()][0];
      assert.equal(stream?.errors[0]?.code, 'MAI_SHUTDOWN_DEADLINE');
      assert.deepEqual(log.violations, []);
      assertEngineClean(server);
    });
  });
}

test('timeouts fire with the user value, can be cleared, and die with their stream', async () => {
  const fired: { kind: string; n: number }[] = [];
  let cleared: boolean | undefined;
  let engineFired: unknown;
  const log = new Recorder<Lines>({
    onReady: (ctx) => {
      ctx.setTimeout({ kind: 'second', n: 2 }, 20);
      ctx.setTimeout({ kind: 'first', n: 1 }, 5);
      const handle: TimeoutHandle = ctx.setTimeout({ kind: 'cleared', n: 0 }, 10);
      cleared = ctx.clearTimeout(handle);
      ctx.setTimeout({ kind: 'never: stream closed first', n: -1 }, 60_000);
    },
    onTimeout: (ctx, value) => {
      fired.push(value);
      if (value.kind === 'second') ctx.close();
    },
  });
  const engine = protocolEngine<Lines>({
    codec: () => new LineCodec(),
    handler: {
      ...log.handler,
      onEngineTimeout: (value) => {
        engineFired = value;
      },
    },
  });
  engine.setTimeout({ kind: 'engine', n: 9 }, 1);
  const cancelled = engine.setTimeout({ kind: 'engine cancelled', n: 0 }, 1);
  assert.equal(engine.clearTimeout(cancelled), true);
  const stream = new MemoryStream();
  engine.manage(stream);
  await until(() => fired.length === 2, 5000, 'two timeouts');
  stream.push(null);
  await engine.wait();
  assert.equal(cleared, true);
  assert.deepEqual(fired, [
    { kind: 'first', n: 1 },
    { kind: 'second', n: 2 },
  ]);
  assert.deepEqual(engineFired, { kind: 'engine', n: 9 });
  assert.deepEqual(log.violations, []);
  assertEngineClean(engine);
});

test('manage() takes sockets accepted by the user’s own net.Server, with a session each', async (t) => {
  type Counting = Protocol<{ in: string; session: { seen: number } }>;
  const seen: number[] = [];
  const engine = protocolEngine<Counting>({
    codec: () => new LineCodec(),
    handler: {
      onFrame(ctx, line) {
        ctx.session.seen++;
        ctx.send(`${ctx.session.seen}:${line}`);
      },
      onClosed(ctx) {
        seen.push(ctx.session.seen);
      },
    },
  });
  const userServer = createServer({ allowHalfOpen: true }, (socket: Socket) => {
    engine.manage(socket, { seen: 0 });
  });
  await new Promise<void>((resolve) => userServer.listen(0, '127.0.0.1', resolve));
  t.after(() => userServer.close());
  const port = (userServer.address() as { port: number }).port;
  const socket = await rawConnect({ port, host: '127.0.0.1' });
  const reply = readAll(socket);
  socket.end('a\nb\nc\n');
  assert.equal((await reply).toString(), '1:a\n2:b\n3:c\n');
  await engine.wait();
  assert.deepEqual(seen, [3]);
  assertEngineClean(engine);
});

test('a stream that dies before its first tick still gets onReady then onClosed', async () => {
  const log = new Recorder<Lines>();
  const engine = protocolEngine<Lines>({ codec: () => new LineCodec(), handler: log.handler });
  const stream = new MemoryStream();
  engine.manage(stream);
  stream.destroy();
  await engine.wait();
  assert.deepEqual([...log.logs.values()][0]?.events, ['ready', 'closed']);
  assert.deepEqual(log.violations, []);
  assertEngineClean(engine);
});

test('invalid options throw MAI_INVALID_OPTION naming the option', () => {
  const handler = { onFrame() {} };
  assert.throws(
    () => protocolEngine({ codec: () => new LineCodec(), handler, maxFrameLength: 0 }),
    {
      code: 'MAI_INVALID_OPTION',
      message: /maxFrameLength must be an integer >= 1, got 0/,
    },
  );
  assert.throws(
    () => protocolEngine({ codec: () => new LineCodec(), handler, initialBufferSize: 1.5 }),
    {
      code: 'MAI_INVALID_OPTION',
    },
  );
  assert.throws(() => protocolEngine({ codec: undefined as never, handler }), {
    code: 'MAI_INVALID_OPTION',
  });
});

for (const transport of TRANSPORTS) {
  test(`engine.send(token) and broadcast(frame, filter) over ${transport}`, async (t) => {
    type Chat = Protocol<{ in: string; session: { name: string } }>;
    const tokens: Token[] = [];
    const { server, listener } = await serve<Chat>(t, transport, {
      codec: () => new LineCodec(),
      session: () => ({ name: '' }),
      handler: {
        onReady: (ctx) => void tokens.push(ctx.token),
        onFrame(ctx, line) {
          ctx.session.name = line;
        },
      },
    });
    const names = ['ann', 'bob', 'cid', 'dee'];
    const sockets = await Promise.all(names.map(() => rawConnect(listener.address)));
    const replies = sockets.map(readAll);
    for (const [i, socket] of sockets.entries()) socket.write(`${names[i]}\n`);
    await until(() => server.stats().streams === 4 && tokens.length === 4);
    await until(() => tokens.every((token) => (server.context(token)?.session.name ?? '') !== ''));
    assert.equal(server.broadcast('to everyone'), 4);
    assert.equal(
      server.broadcast('to b-names', (ctx) => ctx.session.name.startsWith('b')),
      1,
    );
    const cid = tokens.find((token) => server.context(token)?.session.name === 'cid');
    assert.ok(cid !== undefined);
    assert.equal(server.send(cid, 'just cid'), true);
    assert.equal(server.send(9999 as Token, 'nobody'), false);
    await new Promise((resolve) => setImmediate(resolve));
    for (const socket of sockets) socket.end();
    const texts = await Promise.all(replies.map(async (reply) => (await reply).toString()));
    assert.deepEqual(texts, [
      'to everyone\n',
      'to everyone\nto b-names\n',
      'to everyone\njust cid\n',
      'to everyone\n',
    ]);
    await server.shutdown({ deadlineMs: 1000 });
    assert.equal(server.send(cid, 'after close'), false);
    assertEngineClean(server);
  });
}

test('broadcast: a stream whose codec refuses the frame does not stop the others; the error says who', async (t) => {
  /** Refuses to encode lines with a '!' in them. */
  class PoliteLineCodec extends LineCodec {
    override encode(line: string, buffer: Buffer, start: number): EncodeResult {
      if (line.includes('!')) throw new EncodeError('no shouting');
      return super.encode(line, buffer, start);
    }
  }
  let made = 0;
  const tokens: Token[] = [];
  const { server, listener } = await serve<Protocol<{ in: string }>>(t, 'tcp', {
    // Every second stream gets the polite codec.
    codec: () => (made++ % 2 === 0 ? new LineCodec() : new PoliteLineCodec()),
    handler: { onReady: (ctx) => void tokens.push(ctx.token), onFrame: () => {} },
  });
  const sockets: Socket[] = [];
  for (let i = 0; i < 4; i++) {
    sockets.push(await rawConnect(listener.address));
    await until(() => tokens.length === i + 1);
  }
  const replies = sockets.map(readAll);
  assert.throws(
    () => server.broadcast('hello!'),
    (error: unknown) => {
      assert.ok(error instanceof BroadcastError);
      assert.equal(error.code, 'MAI_BROADCAST_FAILED');
      assert.equal(error.sent, 2);
      assert.deepEqual(
        error.failures.map((failure) => [failure.token, failure.error.code]),
        [
          [tokens[1], 'MAI_ENCODE_FAILED'],
          [tokens[3], 'MAI_ENCODE_FAILED'],
        ],
      );
      return true;
    },
  );
  assert.equal(server.broadcast('hello'), 4, 'every stream is still open');
  await new Promise((resolve) => setImmediate(resolve));
  for (const socket of sockets) socket.end();
  const texts = await Promise.all(replies.map(async (reply) => (await reply).toString()));
  assert.deepEqual(texts, ['hello!\nhello\n', 'hello\n', 'hello!\nhello\n', 'hello\n']);
  await server.shutdown({ deadlineMs: 1000 });
  assertEngineClean(server);
});
