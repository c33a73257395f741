/**
 * The close clocks and the shutdown deadline (issue 11's first defects): a slow reader that
 * keeps draining is never cut short by `closeTimeoutMs`, a stream still flushing at the shutdown
 * deadline is forced and says so, a local close whose flush stalls is reported, a second
 * shutdown gets the same report, and the user's engine timers belong to the user alone.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { describe, test } from 'node:test';
import {
  type CloseInfo,
  ErrorCode,
  type MaiError,
  type Protocol,
  protocolEngine,
  type TimeoutHandle,
} from '../../src/index.js';
import { U32Codec } from '../support/codecs.js';
import { rawConnect } from '../support/peers.js';
import { listenOn } from '../support/engine-fixture.js';
import { assertEngineClean, TRANSPORTS, until } from '../support/transports.js';

type Bytes = Protocol<{ in: Buffer }>;

const FRAME_BYTES = 64 * 1024;
/** Far more than a socket's kernel buffers hold, so the engine must keep most of it queued. */
const FRAMES = 160;

/** Reads with a pause after each chunk, so that draining 10 MiB takes well over a second. */
function readSlowly(socket: Socket, pauseMs: number): Promise<number> {
  return new Promise((resolve) => {
    let received = 0;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      socket.pause();
      setTimeout(() => socket.resume(), pauseMs);
    });
    socket.on('error', () => {});
    socket.once('end', () => socket.end());
    socket.once('close', () => resolve(received));
  });
}

/**
 * A server that queues FRAMES frames of FRAME_BYTES to every stream as it opens, and with
 * `thenClose` closes the stream at once.
 */
function server(closeTimeoutMs: number, thenClose = false) {
  const closed: CloseInfo[] = [];
  const errors: MaiError[] = [];
  const payload = Buffer.alloc(FRAME_BYTES, 7);
  const engine = protocolEngine<Bytes>({
    codec: () => new U32Codec(),
    closeTimeoutMs,
    // The slow-consumer limits are not under test here: keep them out of the way.
    slowConsumerSoftLimit: 64 * 1024 * 1024,
    slowConsumerHardLimit: 64 * 1024 * 1024,
    handler: {
      onReady(ctx) {
        for (let i = 0; i < FRAMES; i++) ctx.send(payload);
        if (thenClose) ctx.close();
      },
      onFrame() {},
      onError: (_ctx, error) => void errors.push(error),
      onClosed: (_ctx, info) => void closed.push(info),
    },
  });
  return { engine, closed, errors };
}

const WIRE_BYTES = FRAMES * (FRAME_BYTES + 4);

for (const transport of TRANSPORTS) {
  describe(`close clocks over ${transport}`, () => {
    test('shutdown: a reader slower than closeTimeoutMs gets every frame; not forced', async (t) => {
      const { engine, closed, errors } = server(200);
      const { listener } = await listenOn(t, engine, transport);
      const socket = await rawConnect(listener.address);
      const received = readSlowly(socket, 15);
      await until(() => engine.stats().streams === 1, 5000, 'the stream');
      const report = await engine.shutdown({ deadlineMs: 20_000 });
      assert.equal(await received, WIRE_BYTES, 'every byte queued reached the peer');
      assert.equal(report.forced, 0);
      assert.equal(report.streams[0]?.forced, false);
      assert.equal(report.streams[0]?.framesUnsent, 0);
      assert.deepEqual(errors, []);
      assert.equal(closed[0]?.reason, 'shutdown');
      assert.equal(closed[0]?.framesSent, FRAMES);
      assertEngineClean(engine);
    });

    test('shutdown: a peer that never reads is forced at the deadline with MAI_SHUTDOWN_DEADLINE', async (t) => {
      const { engine, closed, errors } = server(100);
      const { listener } = await listenOn(t, engine, transport);
      const socket = await rawConnect(listener.address);
      socket.pause();
      socket.on('error', () => {});
      await until(() => engine.stats().streams === 1, 5000, 'the stream');
      const report = await engine.shutdown({ deadlineMs: 1500 });
      socket.destroy();
      assert.equal(report.forced, 1);
      assert.equal(report.streams[0]?.forced, true);
      assert.ok((report.streams[0]?.framesUnsent ?? 0) > 0, 'the frames left are reported');
      assert.deepEqual(
        errors.map((error) => error.code),
        [ErrorCode.ShutdownDeadline],
      );
      assert.equal(closed[0]?.error?.code, ErrorCode.ShutdownDeadline);
      assert.equal(closed[0]?.framesUnsent, report.streams[0]?.framesUnsent);
      assertEngineClean(engine);
    });

    test('close(): a reader slower than closeTimeoutMs that keeps draining gets every frame', async (t) => {
      // Progress is a write batch completing; over TCP the kernel reports room only once a third
      // of its send buffer is free (~1 MiB here, ~300 ms at this reader's pace), so the window
      // is 1 s for a drain that takes ~2.5 s.
      const { engine, closed } = server(1000, true);
      const { listener } = await listenOn(t, engine, transport);
      const socket = await rawConnect(listener.address);
      assert.equal(await readSlowly(socket, 15), WIRE_BYTES);
      await until(() => closed.length === 1, 5000, 'onClosed');
      assert.equal(closed[0]?.error, undefined);
      assert.equal(closed[0]?.framesUnsent, 0);
      await engine.shutdown({ deadlineMs: 1000 });
      assertEngineClean(engine);
    });

    test('close(): a flush that makes no progress for closeTimeoutMs is MAI_CLOSE_TIMEOUT, unsent reported', async (t) => {
      const { engine, closed, errors } = server(300, true);
      const { listener } = await listenOn(t, engine, transport);
      const socket = await rawConnect(listener.address);
      socket.pause();
      socket.on('error', () => {});
      await until(() => closed.length === 1, 10_000, 'onClosed');
      socket.destroy();
      assert.deepEqual(
        errors.map((error) => error.code),
        [ErrorCode.CloseTimeout],
      );
      assert.equal(closed[0]?.error?.code, ErrorCode.CloseTimeout);
      assert.ok((closed[0]?.framesUnsent ?? 0) > 0);
      assert.equal((closed[0]?.framesSent ?? 0) + (closed[0]?.framesUnsent ?? 0), FRAMES);
      await engine.shutdown({ deadlineMs: 1000 });
      assertEngineClean(engine);
    });
  });
}

describe('engine shutdown and engine timers', () => {
  test('a second shutdown() resolves with the same report', async (t) => {
    const engine = protocolEngine<Bytes>({
      codec: () => new U32Codec(),
      handler: { onFrame() {} },
    });
    await listenOn(t, engine, 'tcp');
    const first = engine.shutdown({ deadlineMs: 1000 });
    const second = engine.shutdown({ deadlineMs: 5 });
    assert.equal(second, first);
    assert.deepEqual(await second, await first);
    assert.deepEqual(await engine.shutdown(), await first, 'also once it is over');
  });

  test("shutdown() leaves the user's engine timers alone", async () => {
    const fired: string[] = [];
    const engine = protocolEngine<Protocol<{ in: Buffer; timeout: string }>>({
      codec: () => new U32Codec(),
      handler: { onFrame() {}, onEngineTimeout: (value) => void fired.push(value) },
    });
    engine.setTimeout('after-shutdown', 100);
    await engine.shutdown({ deadlineMs: 1000 });
    await until(() => fired.length === 1, 5000, 'the engine timeout');
    assert.deepEqual(fired, ['after-shutdown']);
    assert.equal(engine.stats().timers, 0);
  });

  test("engine.clearTimeout cannot cancel a stream's own deadlines", async (t) => {
    const errors: MaiError[] = [];
    const engine = protocolEngine<Bytes>({
      codec: () => new U32Codec(),
      firstFrameTimeoutMs: 300,
      handler: { onFrame() {}, onError: (_ctx, error) => void errors.push(error) },
    });
    const { listener } = await listenOn(t, engine, 'unix');
    const socket = await rawConnect(listener.address);
    socket.on('error', () => {});
    await until(() => engine.stats().timers > 0, 5000, "the stream's watchdog");
    const mine = engine.setTimeout('mine', 60_000);
    // Every handle below the user's is the engine's own: none of them may be cancelled.
    for (let id = 1; id < mine; id++) {
      assert.equal(engine.clearTimeout(id as TimeoutHandle), false, `handle ${id}`);
    }
    assert.equal(engine.clearTimeout(mine), true);
    assert.equal(engine.clearTimeout(mine), false);
    await until(() => errors.length === 1, 5000, 'the first-frame timeout');
    assert.equal(errors[0]?.code, ErrorCode.FirstFrameTimeout);
    socket.destroy();
    await engine.shutdown({ deadlineMs: 1000 });
    assertEngineClean(engine);
  });
});
