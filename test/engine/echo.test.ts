import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Protocol } from '../../src/index.js';
import { LineCodec, U32Codec } from '../support/codecs.js';
import { dial, serve } from '../support/engine-fixture.js';
import { rawConnect, readAll, u32Frame, writeInPieces } from '../support/peers.js';
import { Recorder } from '../support/recorder.js';
import { assertEngineClean, TRANSPORTS, until } from '../support/transports.js';

type Bytes = Protocol<{ in: Buffer }>;
type Lines = Protocol<{ in: string }>;

for (const transport of TRANSPORTS) {
  describe(`echo over ${transport}`, () => {
    test('client and server engines exchange frames; lifecycle holds on both sides', async (t) => {
      const serverLog = new Recorder<Lines>({
        onFrame: (ctx, line) => void ctx.send(`echo:${line}`),
      });
      const { server, listener, address } = await serve<Lines>(t, transport, {
        codec: () => new LineCodec(),
        handler: serverLog.handler,
      });

      const lines = ['Supercalifragilisticexpialidocious!', '', 'ünïcödé ✓', 'last'];
      const clientLog = new Recorder<Lines>({
        onReady: (ctx) => {
          for (const line of lines) ctx.send(line);
        },
        onFrame: (ctx, _line) => {
          if (clientLog.logs.get(ctx.token)?.frames.length === lines.length) ctx.close();
        },
      });
      const { client, ctx } = await dial<Lines>(t, listener, {
        codec: () => new LineCodec(),
        handler: clientLog.handler,
      });
      if (transport === 'unix') assert.equal(ctx.remoteAddress, (address as { path: string }).path);
      else assert.match(ctx.remoteAddress ?? '', /^127\.0\.0\.1:\d+$/);
      await client.wait();
      await server.shutdown({ deadlineMs: 2000 });

      const clientStream = [...clientLog.logs.values()];
      assert.equal(clientStream.length, 1);
      assert.deepEqual(
        clientStream[0]?.frames,
        lines.map((line) => `echo:${line}`),
      );
      assert.deepEqual(clientStream[0]?.closeInfo?.reason, 'local');
      assert.equal(clientStream[0]?.closeInfo?.framesSent, lines.length);
      assert.equal(clientStream[0]?.closeInfo?.framesUnsent, 0);
      const serverStream = [...serverLog.logs.values()];
      assert.deepEqual(serverStream[0]?.frames, lines);
      assert.equal(serverStream[0]?.closeInfo?.reason, 'remote');
      assert.deepEqual(serverStream[0]?.events.at(-1), 'closed');
      assert.deepEqual([...serverLog.violations, ...clientLog.violations], []);
      assertEngineClean(server);
      assertEngineClean(client);
    });

    test('frames followed at once by FIN are all delivered in order before onClosed, replies before our FIN', async (t) => {
      const log = new Recorder<Bytes>({ onFrame: (ctx, frame) => void ctx.send(frame) });
      const { server, listener } = await serve<Bytes>(t, transport, {
        codec: () => new U32Codec(),
        handler: log.handler,
      });

      const payloads = Array.from({ length: 500 }, (_, i) =>
        Buffer.from(`frame-${i}-${'x'.repeat(i % 97)}`),
      );
      const wire = Buffer.concat(payloads.map(u32Frame));
      const socket = await rawConnect(listener.address);
      const received = readAll(socket);
      socket.end(wire);
      const echoed = await received;
      await server.shutdown({ deadlineMs: 2000 });

      assert.deepEqual(echoed, wire, 'every reply arrived before the server FIN');
      const stream = [...log.logs.values()][0];
      assert.deepEqual(stream?.frames, payloads);
      assert.equal(stream?.events.at(-1), 'closed');
      assert.equal(stream?.closeInfo?.reason, 'remote');
      assert.equal(stream?.closeInfo?.framesSent, payloads.length);
      assert.deepEqual(log.violations, []);
      assertEngineClean(server);
    });

    test('a stream delivered one byte at a time gives the same frames as one chunk', async (t) => {
      const log = new Recorder<Bytes>({ onFrame: (ctx, frame) => void ctx.send(frame) });
      const { server, listener } = await serve<Bytes>(t, transport, {
        codec: () => new U32Codec(),
        handler: log.handler,
      });

      const payloads = [
        Buffer.alloc(0),
        Buffer.from('a'),
        Buffer.from('hello world'),
        Buffer.alloc(300, 7),
      ];
      const wire = Buffer.concat(payloads.map(u32Frame));
      const whole = await rawConnect(listener.address);
      const wholeReply = readAll(whole);
      whole.end(wire);
      const bytewise = await rawConnect(listener.address);
      const bytewiseReply = readAll(bytewise);
      await writeInPieces(bytewise, wire, 1);
      bytewise.end();
      assert.deepEqual(await wholeReply, wire);
      assert.deepEqual(await bytewiseReply, wire);
      await server.shutdown({ deadlineMs: 2000 });

      const [first, second] = [...log.logs.values()];
      assert.deepEqual(first?.frames, payloads);
      assert.deepEqual(second?.frames, payloads);
      assert.deepEqual(log.violations, []);
      assertEngineClean(server);
    });
  });
}

for (const transport of TRANSPORTS) {
  test(`a client that queues 6 MB at once to an echo server gets every echo over ${transport} (it reads while its own writes are blocked)`, async (t) => {
    const serverLog = new Recorder<Bytes>(
      { onFrame: (ctx, frame) => void ctx.send(frame) },
      { keepFrames: false },
    );
    const { server, listener } = await serve<Bytes>(t, transport, {
      codec: () => new U32Codec(),
      handler: serverLog.handler,
    });
    const payloads = Array.from({ length: 2000 }, (_, i) =>
      Buffer.alloc(i % 100 === 0 ? 256 * 1024 : 1 + (i % 300), i & 0xff),
    );
    let echoed = 0;
    let mismatched = 0;
    const clientLog = new Recorder<Bytes>(
      {
        onReady: (ctx) => {
          // Far above the 1 MiB high-water mark: send() says so, and the frames queue anyway.
          for (const payload of payloads) ctx.send(payload);
        },
        onFrame: (ctx, frame) => {
          if (!frame.equals(payloads[echoed] as Buffer)) mismatched++;
          if (++echoed === payloads.length) ctx.close();
        },
      },
      { keepFrames: false },
    );
    const { client } = await dial<Bytes>(t, listener, {
      codec: () => new U32Codec(),
      handler: clientLog.handler,
    });
    await client.wait();
    await until(() => serverLog.closedCount === 1, 5000, 'server onClosed');
    await server.shutdown({ deadlineMs: 1000 });
    assert.equal(echoed, payloads.length);
    assert.equal(mismatched, 0);
    assert.deepEqual([...serverLog.violations, ...clientLog.violations], []);
    assertEngineClean(server);
    assertEngineClean(client);
  });
}
