import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Protocol } from '../../src/index.js';
import { LineCodec, U32Codec } from '../support/codecs.js';
import { serve } from '../support/engine-fixture.js';
import { rawConnect, readAll, u32Frame } from '../support/peers.js';
import { Recorder } from '../support/recorder.js';
import { assertEngineClean, TRANSPORTS, until } from '../support/transports.js';

type Bytes = Protocol<{ in: Buffer; timeout: string }>;
type Lines = Protocol<{ in: string; timeout: string }>;

const MiB = 1024 * 1024;

for (const transport of TRANSPORTS) {
  describe(`limits over ${transport}`, () => {
    test('slow consumer: a handler ignoring back-pressure is stopped at the hard limit with MAI_SLOW_CONSUMER', async (t) => {
      const log = new Recorder<Bytes>({
        onReady: (ctx) => {
          // 64 MiB at a peer that never reads: far past the 8 MiB hard limit.
          for (let i = 0; i < 1024; i++) ctx.send(Buffer.alloc(64 * 1024));
        },
      });
      const { server, listener } = await serve<Bytes>(t, transport, {
        codec: () => new U32Codec(),
        handler: log.handler,
      });
      const socket = await rawConnect(listener.address);
      socket.pause();
      socket.on('error', () => {});
      await until(() => log.closedCount === 1, 10_000, 'onClosed');
      socket.destroy();
      await server.shutdown({ deadlineMs: 1000 });
      const stream = [...log.logs.values()][0];
      assert.equal(stream?.errors[0]?.code, 'MAI_SLOW_CONSUMER');
      assert.match(stream?.errors[0]?.message ?? '', /exceeds slowConsumerHardLimit 8388608/);
      const info = stream?.closeInfo;
      assert.ok((info?.framesUnsent ?? 0) > 0);
      // Sends past the limit are refused, not queued: the frames accounted for (sent or unsent)
      // are those up to the one that crossed 8 MiB.
      const frameBytes = 64 * 1024 + 4;
      assert.equal(
        (info?.framesSent ?? 0) + (info?.framesUnsent ?? 0),
        Math.floor((8 * MiB) / frameBytes) + 1,
      );
      assert.deepEqual(log.violations, []);
      assertEngineClean(server);
    });

    test('slow consumer: output held above the soft limit for its time closes the stream', async (t) => {
      const log = new Recorder<Bytes>({
        // 16 MiB, then quiet: more than loopback TCP's kernel buffers take, so that the engine
        // itself keeps more than the soft limit queued (writes go in batches of 256 KiB, and
        // what the kernel took no longer counts).
        onReady: (ctx) => {
          for (let i = 0; i < 256; i++) ctx.send(Buffer.alloc(64 * 1024));
        },
      });
      const { server, listener } = await serve<Bytes>(t, transport, {
        codec: () => new U32Codec(),
        handler: log.handler,
        slowConsumerSoftLimit: 1 * MiB,
        slowConsumerSoftLimitMs: 200,
        slowConsumerHardLimit: 64 * MiB,
      });
      const socket = await rawConnect(listener.address);
      socket.pause();
      socket.on('error', () => {});
      await until(() => log.closedCount === 1, 10_000, 'onClosed');
      socket.destroy();
      await server.shutdown({ deadlineMs: 1000 });
      const stream = [...log.logs.values()][0];
      assert.equal(stream?.errors[0]?.code, 'MAI_SLOW_CONSUMER');
      assert.match(
        stream?.errors[0]?.message ?? '',
        /above slowConsumerSoftLimit 1048576 for 200 ms/,
      );
      assertEngineClean(server);
    });

    test('a handler that respects back-pressure (send/drain) keeps queued output near the high-water mark', async (t) => {
      const hwm = 256 * 1024;
      let peakQueued = 0;
      let sent = 0;
      const frame = Buffer.alloc(16 * 1024, 0x61);
      const log = new Recorder<Bytes>({
        onReady: async (ctx) => {
          for (let i = 0; i < 2048; i++) {
            const below = ctx.send(frame);
            sent++;
            peakQueued = Math.max(peakQueued, ctx.queuedBytes);
            if (!below && !(await ctx.drain())) return;
          }
          ctx.close();
        },
      });
      const { server, listener } = await serve<Bytes>(t, transport, {
        codec: () => new U32Codec(),
        handler: log.handler,
        writeHighWaterMark: hwm,
      });
      const socket = await rawConnect(listener.address);
      // A slow reader: 64 KiB every 2 ms.
      socket.pause();
      let received = 0;
      const reader = setInterval(() => {
        let budget = 64 * 1024;
        while (budget > 0) {
          const chunk: Buffer | null = socket.read();
          if (chunk === null) break;
          received += chunk.length;
          budget -= chunk.length;
        }
      }, 2);
      t.after(() => clearInterval(reader));
      await until(() => log.closedCount === 1, 20_000, 'onClosed');
      clearInterval(reader);
      socket.destroy();
      await server.shutdown({ deadlineMs: 1000 });
      assert.equal(sent, 2048);
      assert.ok(
        peakQueued <= hwm + frame.length + 4,
        `peak queued ${peakQueued} ≤ hwm + one frame`,
      );
      assert.equal([...log.logs.values()][0]?.errors.length, 0);
      assert.ok(received > 0);
      assertEngineClean(server);
    });

    test('partial-frame timeout closes a slowloris stream; a busy stream with partial tails is not touched', async (t) => {
      const log = new Recorder<Bytes>();
      const { server, listener } = await serve<Bytes>(t, transport, {
        codec: () => new U32Codec(),
        handler: log.handler,
        partialFrameTimeoutMs: 300,
        firstFrameTimeoutMs: 0,
      });
      const loris = await rawConnect(listener.address);
      const lorisClosed = readAll(loris);
      const busy = await rawConnect(listener.address);
      const frame = u32Frame(Buffer.alloc(100, 1));
      let drip = 0;
      // The slowloris sends one byte of a never-ending frame every 50 ms; the busy peer sends a
      // frame and a half every 50 ms, so the server always holds a partial frame from it.
      const timer = setInterval(() => {
        if (!loris.destroyed && drip < 40)
          loris.write(u32Frame(Buffer.alloc(1000)).subarray(drip, ++drip));
        busy.write(Buffer.concat([frame.subarray(50), frame, frame.subarray(0, 50)]));
      }, 50);
      t.after(() => clearInterval(timer));
      busy.write(frame.subarray(0, 50));
      await lorisClosed;
      await new Promise((resolve) => setTimeout(resolve, 400)); // busy goes on past the timeout
      clearInterval(timer);
      busy.end(frame.subarray(50));
      await until(() => log.closedCount === 2, 5000, 'both closed');
      await server.shutdown({ deadlineMs: 1000 });
      const [lorisLog, busyLog] = [...log.logs.values()];
      assert.equal(lorisLog?.errors[0]?.code, 'MAI_PARTIAL_FRAME_TIMEOUT');
      assert.ok((lorisLog?.closeInfo?.partialBytes ?? 0) > 0);
      assert.deepEqual(busyLog?.errors, []);
      assert.ok((busyLog?.frames.length ?? 0) > 10);
      assertEngineClean(server);
    });

    test('first-frame timeout closes a stream that never sends a frame, not one that does', async (t) => {
      const log = new Recorder<Lines>();
      const { server, listener } = await serve<Lines>(t, transport, {
        codec: () => new LineCodec(),
        handler: log.handler,
        firstFrameTimeoutMs: 200,
      });
      const silent = await rawConnect(listener.address);
      const silentClosed = readAll(silent);
      const talker = await rawConnect(listener.address);
      talker.write('hello\n');
      await silentClosed;
      talker.end();
      await until(() => log.closedCount === 2, 5000, 'both closed');
      await server.shutdown({ deadlineMs: 1000 });
      const [silentLog, talkerLog] = [...log.logs.values()];
      assert.equal(silentLog?.errors[0]?.code, 'MAI_FIRST_FRAME_TIMEOUT');
      assert.deepEqual(talkerLog?.errors, []);
      assert.deepEqual(talkerLog?.frames, ['hello']);
      assertEngineClean(server);
    });

    test('idle timeouts by direction reach onTimeout with their values and repeat while idle', async (t) => {
      const seen: string[] = [];
      const log = new Recorder<Lines>({
        onFrame: (ctx, line) => void ctx.send(line),
        onTimeout: (ctx, value) => {
          seen.push(value);
          if (seen.filter((v) => v === 'read idle').length === 2) ctx.close();
        },
      });
      const { server, listener } = await serve<Lines>(t, transport, {
        codec: () => new LineCodec(),
        handler: log.handler,
        idleTimeouts: {
          read: { ms: 60, value: 'read idle' },
          write: { ms: 10_000, value: 'write idle' },
        },
      });
      const socket = await rawConnect(listener.address);
      const reply = readAll(socket);
      socket.write('one\n');
      assert.equal((await reply).toString(), 'one\n');
      await until(() => log.closedCount === 1, 5000, 'closed from onTimeout');
      await server.shutdown({ deadlineMs: 1000 });
      assert.deepEqual(seen, ['read idle', 'read idle'], 'write idle (10 s) never fired');
      assertEngineClean(server);
    });

    test('allowHalfOpen: onEnd after the last frame, our side stays open until the handler ends it', async (t) => {
      const log = new Recorder<Lines>({
        onEnd: (ctx) => {
          setTimeout(() => {
            ctx.send('late reply after your FIN');
            ctx.end();
          }, 50);
        },
      });
      const { server, listener } = await serve<Lines>(t, transport, {
        codec: () => new LineCodec(),
        handler: log.handler,
        allowHalfOpen: true,
      });
      const socket = await rawConnect(listener.address);
      const reply = readAll(socket);
      socket.end('a\nb\n');
      assert.equal((await reply).toString(), 'late reply after your FIN\n');
      await until(() => log.closedCount === 1);
      await server.shutdown({ deadlineMs: 1000 });
      assert.deepEqual([...log.logs.values()][0]?.events, [
        'ready',
        'frame',
        'frame',
        'end',
        'closed',
      ]);
      assertEngineClean(server);
    });

    test('maxConnections: exactly M streams held, the rest refused and counted', async (t) => {
      const log = new Recorder<Lines>();
      const { server, listener } = await serve<Lines>(
        t,
        transport,
        { codec: () => new LineCodec(), handler: log.handler },
        { maxConnections: 5 },
      );
      const sockets = [];
      for (let i = 0; i < 5; i++) sockets.push(await rawConnect(listener.address));
      await until(() => server.stats().streams === 5);
      const extra = await Promise.all(
        Array.from({ length: 7 }, () => rawConnect(listener.address)),
      );
      await Promise.all(extra.map(readAll)); // each closed by the server at once
      assert.equal(listener.refused, 7);
      assert.equal(server.stats().streams, 5);
      for (const socket of sockets) socket.end();
      await until(() => log.closedCount === 5);
      await server.shutdown({ deadlineMs: 1000 });
      assertEngineClean(server);
    });
  });
}

test('memory budget: reading pauses on the heaviest streams and resumes when usage falls', async (t) => {
  const log = new Recorder<Bytes>({
    onFrame: (ctx, frame) => void ctx.send(Buffer.from(`${frame.length}`)),
  });
  const { server, listener } = await serve<Bytes>(t, 'tcp', {
    codec: () => new U32Codec(),
    handler: log.handler,
    memoryBudget: 2 * MiB,
    initialBufferSize: 16 * 1024,
  });
  // Four peers each send a 1.5 MiB frame in pieces: together far above the 2 MiB budget.
  const frame = u32Frame(Buffer.alloc(1.5 * MiB, 7));
  const sockets = await Promise.all(Array.from({ length: 4 }, () => rawConnect(listener.address)));
  const replies = sockets.map(readAll);
  let peak = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, server.stats().pool.leasedBytes);
  }, 1);
  t.after(() => clearInterval(sampler));
  for (const socket of sockets) socket.end(frame);
  const texts = await Promise.all(replies.map(async (reply) => (await reply).toString()));
  clearInterval(sampler);
  await server.shutdown({ deadlineMs: 1000 });
  assert.deepEqual(
    texts,
    Array(4)
      .fill(String(1.5 * MiB))
      .map((n) => `${u32Frame(n).toString()}`),
  );
  // Without the budget all four frames would be held at once (> 6 MiB); with it, growth stops
  // once the heaviest are paused (each holds at most a frame plus one read).
  assert.ok(peak < 5 * MiB, `peak pooled bytes ${peak} stayed well under 4 frames`);
  assertEngineClean(server);
});

test('memory budget: a stream paused for memory is not closed by the partial-frame timeout meanwhile', async (t) => {
  const frameSize = 512 * 1024;
  const log = new Recorder<Bytes>({
    onFrame: (ctx, frame) => void ctx.send(Buffer.from(`${frame.length}`)),
  });
  const { server, listener } = await serve<Bytes>(t, 'tcp', {
    codec: () => new U32Codec(),
    handler: log.handler,
    memoryBudget: MiB / 2,
    initialBufferSize: 16 * 1024,
    partialFrameTimeoutMs: 600,
  });
  // Eight peers each send the first half of a 512 KiB frame: together 2 MiB, four times the
  // budget, so most streams are paused for memory. Then every peer stalls for 1.5 s (more than
  // the timeout) before sending the rest. When the streams still reading time out, memory stays
  // above the budget, and the paused streams stay paused (but one): their clocks must wait.
  const frame = u32Frame(Buffer.alloc(frameSize, 3));
  const half = frame.length / 2;
  const sockets = await Promise.all(Array.from({ length: 8 }, () => rawConnect(listener.address)));
  const replies = sockets.map(readAll);
  for (const socket of sockets) socket.write(frame.subarray(0, half));
  await new Promise((resolve) => setTimeout(resolve, 1500));
  for (const socket of sockets) socket.end(frame.subarray(half));
  const texts = await Promise.all(replies.map(async (reply) => (await reply).toString()));
  await until(() => log.closedCount === 8, 5000, 'every onClosed');
  await server.shutdown({ deadlineMs: 1000 });
  const completed = texts.filter((text) => text.endsWith(String(frameSize))).length;
  const timedOut = [...log.logs.values()].filter(
    (stream) => stream.closeInfo?.error?.code === 'MAI_PARTIAL_FRAME_TIMEOUT',
  ).length;
  // The streams that were reading stalled with their peers and timed out; those paused for
  // memory had their clocks stopped, resumed when the others' buffers were freed, and finished.
  assert.ok(completed >= 3, `${completed} streams paused for memory completed their frames`);
  assert.ok(timedOut >= 1, `${timedOut} stalled streams that were reading timed out`);
  assert.equal(completed + timedOut, 8);
  assertEngineClean(server);
});
