import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BufferPool,
  CANARY_BYTE,
  type Codec,
  type DecodeResult,
  decoded,
  type EncodeResult,
  IncompleteFrame,
  InsufficientBuffer,
  LengthPrefixedCodec,
  LinesCodec,
  LineTooLong,
  type Protocol,
  protocolEngine,
} from '../../src/index.js';
import { U32Codec } from '../support/codecs.js';
import { listenAndConnect, serve } from '../support/engine-fixture.js';
import { MemoryStream, rawConnect, readAll, u32Frame } from '../support/peers.js';
import { Recorder } from '../support/recorder.js';
import { assertEngineClean, TRANSPORTS, until } from '../support/transports.js';

type Bytes = Protocol<{ in: Buffer }>;

describe('BufferPool', () => {
  test('starts with initialPoolSize buffers, keeps at most maxPoolSize idle, counts leases', () => {
    const pool = new BufferPool({ bufferSize: 1024, initialPoolSize: 2, maxPoolSize: 3 });
    assert.deepEqual(pool.stats(), { leased: 0, leasedBytes: 0, idle: 2, allocated: 2 });
    const leased = Array.from({ length: 5 }, () => pool.lease());
    assert.deepEqual(pool.stats(), { leased: 5, leasedBytes: 5120, idle: 0, allocated: 5 });
    for (const buffer of leased) pool.release(buffer);
    assert.deepEqual(pool.stats(), { leased: 0, leasedBytes: 0, idle: 3, allocated: 5 });
  });

  test('an oversized lease gets a buffer of its own that is never pooled', () => {
    const pool = new BufferPool({ bufferSize: 1024, initialPoolSize: 1, maxPoolSize: 4 });
    const big = pool.lease(5000);
    assert.equal(big.length, 5000);
    assert.equal(pool.stats().leasedBytes, 5000);
    pool.release(big);
    assert.deepEqual(pool.stats(), { leased: 0, leasedBytes: 0, idle: 1, allocated: 2 });
  });

  test('debug mode fills released buffers with the canary, tracks lease sites, refuses a double release', () => {
    const pool = new BufferPool({
      bufferSize: 64,
      initialPoolSize: 0,
      maxPoolSize: 4,
      debug: true,
    });
    const buffer = pool.lease();
    buffer.fill(0x41);
    const view = buffer.subarray(0, 8); // a view kept past the lease, as a buggy codec would
    assert.equal(pool.outstanding().length, 1);
    assert.match(pool.outstanding()[0] ?? '', /leased here/);
    pool.release(buffer);
    assert.ok(
      view.every((byte) => byte === CANARY_BYTE),
      'the stale view shows the canary',
    );
    assert.equal(pool.outstanding().length, 0);
    assert.throws(() => pool.release(buffer), /not leased/);
  });
});

for (const transport of TRANSPORTS) {
  describe(`buffers over ${transport}`, () => {
    test('an idle stream holds no pooled bytes; a partial frame holds one buffer until it completes', async (t) => {
      const log = new Recorder<Bytes>({ onFrame: (ctx, frame) => void ctx.send(frame) });
      const { server, listener } = await serve<Bytes>(t, transport, {
        codec: () => new U32Codec(),
        handler: log.handler,
      });
      const sockets = await Promise.all(
        Array.from({ length: 20 }, () => rawConnect(listener.address)),
      );
      await until(() => server.stats().streams === 20, 5000, 'streams adopted');
      assert.equal(server.stats().pool.leased, 0, 'idle streams lease nothing');

      const frame = u32Frame('x'.repeat(100));
      const first = sockets[0];
      assert.ok(first);
      const reply = readAll(first);
      first.write(frame.subarray(0, 50));
      await until(() => server.stats().pool.leased === 1, 5000, 'the partial frame to be kept');
      first.end(frame.subarray(50));
      assert.deepEqual(await reply, frame);
      await until(() => log.closedCount === 1, 5000, 'onClosed');
      assert.equal(server.stats().pool.leased, 0, 'nothing leased once the frame completed');
      for (const socket of sockets.slice(1)) socket.destroy();
      await until(() => log.closedCount === 20, 5000, 'all closed');
      await server.shutdown({ deadlineMs: 1000 });
      assertEngineClean(server);
    });

    test('a frame larger than the pooled buffer grows the read buffer and is encoded after InsufficientBuffer retries', async (t) => {
      const log = new Recorder<Bytes>({ onFrame: (ctx, frame) => void ctx.send(frame) });
      const { server, listener } = await serve<Bytes>(t, transport, {
        codec: () => new U32Codec(),
        handler: log.handler,
        initialBufferSize: 256,
        debugBuffers: true,
      });
      const payloads = [
        Buffer.alloc(100, 1),
        Buffer.alloc(300_000, 2),
        Buffer.alloc(10, 3),
        Buffer.alloc(70_000, 4),
      ];
      for (const payload of payloads)
        for (let i = 0; i < payload.length; i += 251) payload[i] = i & 0xff;
      const wire = Buffer.concat(payloads.map(u32Frame));
      const socket = await rawConnect(listener.address);
      const reply = readAll(socket);
      socket.end(wire);
      const echoed = await reply;
      assert.equal(echoed.length, wire.length);
      assert.ok(echoed.equals(wire), 'echo is byte-identical (no canary, no stale bytes)');
      await until(() => log.closedCount === 1, 5000, 'onClosed');
      await server.shutdown({ deadlineMs: 1000 });
      assert.deepEqual(server.outstandingLeases(), []);
      assertEngineClean(server);
    });
  });
}

test('frames sent in one tick leave in one write', async () => {
  const server = protocolEngine<Bytes>({
    codec: () => new U32Codec(),
    handler: {
      onFrame(ctx, frame) {
        for (let i = 0; i < 1000; i++) ctx.send(frame);
      },
    },
    initialBufferSize: 64 * 1024,
  });
  const stream = new MemoryStream();
  server.manage(stream);
  stream.feed(u32Frame('ping'));
  await until(() => stream.writes.length > 0, 5000, 'a write');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(stream.writes.length, 1, 'one write call');
  assert.equal(stream.writes[0]?.length, 1, 'with one buffer');
  assert.equal(stream.written.length, 1000 * 8);
  stream.push(null);
  await server.wait();
  assertEngineClean(server);
});

test('frames that overflow one pooled buffer leave in one writev', async () => {
  const server = protocolEngine<Bytes>({
    codec: () => new U32Codec(),
    handler: {
      onFrame(ctx, frame) {
        for (let i = 0; i < 100; i++) ctx.send(frame);
      },
    },
    initialBufferSize: 1024,
  });
  const stream = new MemoryStream();
  server.manage(stream);
  stream.feed(u32Frame(Buffer.alloc(96)));
  await until(() => stream.writes.length > 0, 5000, 'a write');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(stream.writes.length, 1, 'one writev call');
  assert.equal(stream.writes[0]?.length, 10, '100 frames of 100 bytes in ten 1 KiB buffers');
  assert.equal(stream.written.length, 100 * 100);
  stream.push(null);
  await server.wait();
  assertEngineClean(server);
});

test('a frame the codec cannot fit even in maxFrameLength bytes throws MAI_ENCODE_FAILED from send; nothing queued', async () => {
  class Unfittable implements Codec<Buffer> {
    decode(): DecodeResult<Buffer> {
      return { frame: Buffer.alloc(0), bytesRead: 1 };
    }
    encode(_frame: Buffer, _buffer: Buffer, _start: number): EncodeResult {
      return InsufficientBuffer;
    }
  }
  const errors: unknown[] = [];
  const server = protocolEngine<Bytes>({
    codec: () => new Unfittable(),
    handler: {
      onFrame(ctx) {
        try {
          ctx.send(Buffer.alloc(1));
        } catch (error) {
          errors.push(error);
        }
        ctx.close();
      },
    },
    initialBufferSize: 64,
    maxFrameLength: 1000,
  });
  const stream = new MemoryStream();
  server.manage(stream);
  stream.feed(Buffer.from('x'), 1, true);
  await server.wait();
  assert.equal(errors.length, 1);
  assert.equal((errors[0] as { code: string }).code, 'MAI_ENCODE_FAILED');
  assert.equal(stream.written.length, 0);
  assertEngineClean(server);
});

test('debugBuffers: a frame that keeps a view of the read buffer is caught (MAI_CODEC_CONTRACT)', async () => {
  class ViewKeeping implements Codec<Buffer> {
    decode(bytes: Buffer, start: number, end: number): DecodeResult<Buffer> {
      const newline = bytes.indexOf(0x0a, start);
      if (newline === -1 || newline >= end) return IncompleteFrame;
      return decoded(bytes.subarray(start, newline), newline + 1 - start); // the bug: no copy
    }
    encode(frame: Buffer, buffer: Buffer, start: number): EncodeResult {
      return frame.copy(buffer, start);
    }
  }
  for (const debugBuffers of [true, false]) {
    const log = new Recorder<Bytes>();
    const engine = protocolEngine<Bytes>({
      codec: () => new ViewKeeping(),
      handler: log.handler,
      debugBuffers,
    });
    const stream = new MemoryStream();
    engine.manage(stream);
    stream.feed(Buffer.from('one\ntwo\n'), 8, true);
    await engine.wait();
    const streamLog = [...log.logs.values()][0];
    if (debugBuffers) {
      assert.equal(streamLog?.errors[0]?.code, 'MAI_CODEC_CONTRACT');
      assert.match(streamLog?.errors[0]?.message ?? '', /keeps a view of the read buffer/);
      assert.deepEqual(streamLog?.frames, []);
    } else {
      assert.equal(streamLog?.frames.length, 2, 'without debug mode the bug goes unnoticed');
    }
    assertEngineClean(engine);
  }
});

test('a codec that discards bytes (discarded(n)) frees them at once: LinesCodec discard mode through the engine', async () => {
  type Lines = Protocol<{ in: string | LineTooLong; out: string }>;
  const log = new Recorder<Lines>();
  const engine = protocolEngine<Lines>({
    codec: () => new LinesCodec({ discard: true, maxLineLength: 100 }),
    handler: log.handler,
    initialBufferSize: 1024,
  });
  const stream = new MemoryStream();
  engine.manage(stream);
  let peak = 0;
  for (let i = 0; i < 64; i++) {
    stream.feed(Buffer.alloc(4096, 0x78));
    await new Promise((resolve) => setImmediate(resolve));
    peak = Math.max(peak, engine.stats().pool.leasedBytes);
  }
  stream.feed(Buffer.from('\nok\n'), 100, true);
  await engine.wait();
  assert.deepEqual([...log.logs.values()][0]?.frames, [new LineTooLong(64 * 4096, 100), 'ok']);
  // Held: the line's last byte and at most one read behind it, not the 256 KiB line.
  assert.ok(peak <= 4096 + 1024 + 1, `pooled bytes held while discarding: ${peak}`);
  assertEngineClean(engine);
});

describe('sendByReferenceFrom: large bodies go to the socket by reference', () => {
  for (const transport of TRANSPORTS) {
    test(`small and large frames interleaved keep their order and bytes; every frame counted over ${transport}`, async (t) => {
      const sizes = Array.from({ length: 600 }, (_, i) =>
        i % 7 === 0 ? 70_000 + i : i % 5 === 0 ? 2048 : i % 50,
      );
      const payloads = sizes.map((size, i) => Buffer.alloc(size, i & 0xff));
      const log = new Recorder<Bytes>({
        onReady: (ctx) => {
          for (const payload of payloads) ctx.send(payload);
          ctx.end();
        },
      });
      const server = protocolEngine<Bytes>({
        codec: () => new LengthPrefixedCodec(),
        handler: log.handler,
        sendByReferenceFrom: 2048,
        debugBuffers: true,
      });
      const received = await readAll(await listenAndConnect(t, server, transport));
      await until(() => log.closedCount === 1, 5000, 'onClosed');
      await server.shutdown({ deadlineMs: 1000 });
      assert.ok(received.equals(Buffer.concat(payloads.map(u32Frame))), 'the exact byte stream');
      const [stream] = [...log.logs.values()];
      assert.equal(stream?.closeInfo?.framesSent, payloads.length);
      assert.equal(stream?.closeInfo?.framesUnsent, 0);
      assert.deepEqual(log.violations, []);
      assertEngineClean(server);
    });
  }

  test('a peer that resets with 12 MB queued by reference: every frame counted sent or unsent, bytes bounded, no lease left', async (t) => {
    const frame = Buffer.alloc(256 * 1024, 7);
    const frames = 48;
    const log = new Recorder<Bytes>({
      onReady: (ctx) => {
        for (let i = 0; i < frames; i++) ctx.send(frame);
      },
    });
    const server = protocolEngine<Bytes>({
      codec: () => new LengthPrefixedCodec(),
      handler: log.handler,
      sendByReferenceFrom: 1024,
      slowConsumerHardLimit: 64 * 1024 * 1024,
      slowConsumerSoftLimit: 64 * 1024 * 1024,
    });
    const socket = await listenAndConnect(t, server, 'tcp');
    let read = 0;
    await new Promise<void>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read >= 1024 * 1024) {
          socket.resetAndDestroy();
          resolve();
        }
      });
    });
    await until(() => log.closedCount === 1, 5000, 'onClosed');
    await server.shutdown({ deadlineMs: 1000 });
    const info = [...log.logs.values()][0]?.closeInfo;
    assert.ok(info !== undefined);
    assert.equal(info.framesSent + info.framesUnsent, frames, 'every frame accounted once');
    assert.ok(info.framesUnsent > 0, 'the reset left frames unsent');
    assert.ok(
      info.bytesUnsent <= frames * (frame.length + 4),
      'bytesUnsent within what was queued',
    );
    // Every unsent frame's body is unsent bytes, but one: the body in flight at the reset may
    // have partly reached the kernel (the frame is then unsent, only its rest counts in bytes).
    assert.ok(
      info.bytesUnsent >= (info.framesUnsent - 1) * frame.length,
      `bytesUnsent ${info.bytesUnsent} covers the ${info.framesUnsent} unsent frames`,
    );
    assertEngineClean(server);
  });

  test('a frame over maxFrameLength by reference is refused whole: nothing of it is queued', async () => {
    const stream = new MemoryStream();
    const engine = protocolEngine<Bytes>({
      codec: () => new LengthPrefixedCodec(),
      handler: {
        onReady: (ctx) => {
          ctx.send(Buffer.from('before'));
          assert.throws(() => ctx.send(Buffer.alloc(4096)), { code: 'MAI_ENCODE_FAILED' });
          ctx.send(Buffer.from('after'));
          ctx.end();
        },
        onFrame: () => {},
      },
      sendByReferenceFrom: 1024,
      maxFrameLength: 4096,
    });
    engine.manage(stream);
    stream.push(null); // the peer's end: the stream closes once our side has ended too
    await engine.wait();
    assert.ok(
      stream.written.equals(Buffer.concat([u32Frame('before'), u32Frame('after')])),
      'only the two small frames reached the stream',
    );
    assertEngineClean(engine);
  });
});

describe('wireLength: a hint that saves copies and never changes frames', () => {
  /** LengthPrefixedCodec with its `wireLength` hint replaced by `hint` (or removed). */
  function hinted(
    hint: ((real: number) => number) | undefined,
  ): () => Codec<Buffer, Buffer | Uint8Array> {
    return () => {
      const inner = new LengthPrefixedCodec();
      const codec: Codec<Buffer, Buffer | Uint8Array> = {
        decode: (bytes, start, end) => inner.decode(bytes, start, end),
        encode: (frame, buffer, start) => inner.encode(frame, buffer, start),
      };
      if (hint !== undefined) {
        codec.wireLength = (bytes, start, end) => hint(inner.wireLength(bytes, start, end));
      }
      return codec;
    };
  }

  test('true, short, long, unknown, NaN and throwing hints all give the exact frames', async () => {
    const hints: Record<string, (real: number) => number> = {
      true: (real) => real,
      short: (real) => (real > 0 ? real - 3 : real),
      long: (real) => (real > 0 ? real + 5 : real),
      unknown: () => -1,
      NaN: () => Number.NaN,
      throwing: () => {
        throw new Error('no idea');
      },
      huge: () => 2 ** 40,
    };
    // Frames of 0..3,000 bytes, fed in chunks of sizes that straddle them every which way.
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    const payloads = Array.from({ length: 300 }, (_, i) => Buffer.alloc(random(3000), i & 0xff));
    const wire = Buffer.concat(payloads.map(u32Frame));
    const chunks: Buffer[] = [];
    for (let at = 0; at < wire.length; ) {
      const size = 1 + random(random(2) === 0 ? 40 : 9000);
      chunks.push(wire.subarray(at, at + size));
      at += size;
    }
    for (const [name, hint] of Object.entries(hints)) {
      const log = new Recorder<Bytes>();
      const engine = protocolEngine<Bytes>({ codec: hinted(hint), handler: log.handler });
      const stream = new MemoryStream();
      engine.manage(stream);
      for (const chunk of chunks) stream.feed(chunk);
      stream.push(null);
      await engine.wait();
      const frames = [...log.logs.values()][0]?.frames ?? [];
      assert.equal(frames.length, payloads.length, `${name}: every frame`);
      assert.ok(
        frames.every((frame, i) => Buffer.compare(frame, payloads[i] as Buffer) === 0),
        `${name}: the exact frames, in order`,
      );
      assert.deepEqual(log.violations, [], name);
      assertEngineClean(engine);
    }
  });

  test('with the hint, a read that finishes a kept frame is not copied whole', async () => {
    // A 100-byte frame cut after 10 bytes, then its rest and 600 more frames (~62 KB) in one
    // read. Without the hint the whole read joins the kept bytes, past the 32 KiB pooled buffer
    // (a buffer of its own); with it only the frame's 94 missing bytes are copied.
    const frames = Array.from({ length: 601 }, (_, i) => u32Frame(Buffer.alloc(96, i & 0xff)));
    const wire = Buffer.concat(frames);
    const allocated: Record<string, number> = {};
    for (const [name, codec] of [
      ['hint', hinted((real) => real)],
      ['no hint', hinted(undefined)],
    ] as const) {
      const log = new Recorder<Bytes>();
      const engine = protocolEngine<Bytes>({ codec, handler: log.handler });
      const stream = new MemoryStream();
      engine.manage(stream);
      const before = engine.stats().pool.allocated;
      stream.feed(wire.subarray(0, 10));
      stream.feed(wire.subarray(10), wire.length, true);
      await engine.wait();
      assert.equal([...log.logs.values()][0]?.frames.length, frames.length, name);
      allocated[name] = engine.stats().pool.allocated - before;
      assertEngineClean(engine);
    }
    assert.equal(allocated.hint, 0, 'with the hint: the pooled buffer was enough');
    assert.equal(allocated['no hint'], 1, 'without: one buffer beyond the pool for the whole read');
  });

  test('frames larger than a pooled buffer keep one grown buffer, not one buffer per frame', async () => {
    // 64 KiB frames in 64 KiB reads: every frame straddles two reads. Completing each one alone
    // would drain the grown buffer and lease (allocate) a new one for every next frame.
    const frames = Array.from({ length: 40 }, (_, i) => u32Frame(Buffer.alloc(65_536, i)));
    const wire = Buffer.concat(frames);
    const log = new Recorder<Bytes>();
    const engine = protocolEngine<Bytes>({ codec: hinted((real) => real), handler: log.handler });
    const stream = new MemoryStream();
    engine.manage(stream);
    const before = engine.stats().pool.allocated;
    stream.feed(wire, 65_536, true);
    await engine.wait();
    assert.equal([...log.logs.values()][0]?.frames.length, frames.length);
    const allocated = engine.stats().pool.allocated - before;
    assert.ok(allocated <= 3, `${allocated} buffers allocated for ${frames.length} frames`);
    assertEngineClean(engine);
  });
});

test('a stream resumed from inside its own onFrame does not decode the same bytes twice', async () => {
  // Stream A decodes 20 frames from its kept bytes. Its first onFrame queues 100 KB and feeds
  // stream C a frame, which C reads at once (a MemoryStream emits synchronously): the engine
  // finds itself over its 64 KiB budget, pauses A (the heaviest), sees every holder paused and
  // lets A alone read on, all inside A's onFrame. That resume must not start a second decode
  // loop over A's kept bytes, which would deliver frame 1 again and the rest twice.
  const a = new MemoryStream();
  const c = new MemoryStream();
  const seen: number[] = [];
  let fed = false;
  const engine = protocolEngine<Bytes>({
    codec: () => new U32Codec(),
    handler: {
      onFrame(ctx, frame) {
        if (frame.length !== 50) return; // C's frames
        seen.push(frame[0] as number);
        if (!fed) {
          fed = true;
          ctx.send(Buffer.alloc(100_000));
          c.feed(u32Frame('c'));
        }
      },
    },
    memoryBudget: 64 * 1024,
    writeHighWaterMark: 1024 * 1024,
    slowConsumerSoftLimit: 4 * 1024 * 1024,
    slowConsumerHardLimit: 8 * 1024 * 1024,
  });
  engine.manage(a);
  engine.manage(c);
  c.feed(u32Frame('warm-up')); // C is reading before A's frames arrive
  await new Promise((resolve) => setImmediate(resolve));
  const wire = Buffer.concat(Array.from({ length: 20 }, (_, i) => u32Frame(Buffer.alloc(50, i))));
  a.feed(wire.subarray(0, 10)); // frame 1 begins: kept
  await new Promise((resolve) => setImmediate(resolve));
  a.feed(wire.subarray(10)); // the rest joins the kept bytes; frames decode from there
  await until(() => seen.length >= 20, 5000, 'A frames');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(
    seen,
    Array.from({ length: 20 }, (_, i) => i),
    'each frame once, in order',
  );
  a.push(null);
  c.push(null);
  await engine.wait();
  assertEngineClean(engine);
});
