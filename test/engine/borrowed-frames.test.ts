import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import { inspect } from 'node:util';
import {
  CANARY_BYTE,
  type Codec,
  DelimiterCodec,
  type EngineOptions,
  FixedLengthCodec,
  type Handler,
  LengthPrefixedCodec,
  LinesCodec,
  type Protocol,
  type ProtocolEngine,
  protocolEngine,
  RawCodec,
} from '../../src/index.js';
import { decodeChunks } from '../../src/testing/index.js';
import { listenAndConnect } from '../support/engine-fixture.js';
import { readAll, u32Frame, writeInPieces } from '../support/peers.js';
import { Recorder } from '../support/recorder.js';
import { assertEngineClean, TRANSPORTS, type Transport, until } from '../support/transports.js';

// Borrowed frames (`borrow: true`, Codec.borrowsInput): frames are views of the engine's input,
// valid until onFrame returns. These tests hold the engine to that promise from both sides: the
// bytes do not change before onFrame returns (even when the stream closes from inside it), and
// in debug mode they do change right after, so a handler that keeps a view is caught.

type Bytes = Protocol<{ in: Buffer }>;

/** Payload sizes that mix tiny frames with ones larger than the 64 KiB read buffer. */
function payloads(count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => {
    const size = i % 9 === 0 ? 70_000 + i * 13 : i % 4 === 0 ? 3000 + i : i % 61;
    const payload = Buffer.allocUnsafe(size);
    for (let j = 0; j < size; j++) payload[j] = (i * 31 + j) & 0xff;
    return payload;
  });
}

/**
 * A debug-mode server with `LengthPrefixedCodec({ borrow: true })` and `handler`, and a plain
 * client connected to it; `finish` waits for the stream's close and shuts the server down.
 */
async function borrowingServer(
  t: TestContext,
  transport: Transport,
  handler: Partial<Handler<Bytes>>,
  options: Partial<EngineOptions<Bytes>> = {},
): Promise<{
  log: Recorder<Bytes>;
  server: ProtocolEngine<Bytes>;
  socket: Socket;
  finish(): Promise<void>;
}> {
  const log = new Recorder<Bytes>(handler);
  const server = protocolEngine<Bytes>({
    codec: () => new LengthPrefixedCodec({ borrow: true }),
    handler: log.handler,
    debugBuffers: true,
    ...options,
  });
  const socket = await listenAndConnect(t, server, transport);
  const finish = async (): Promise<void> => {
    await until(() => log.closedCount === 1, 5000, 'onClosed');
    await server.shutdown({ deadlineMs: 1000 });
  };
  return { log, server, socket, finish };
}

for (const transport of TRANSPORTS) {
  describe(`borrowed frames over ${transport}`, () => {
    for (const pieces of [0, 1500]) {
      test(`an echo of borrowed frames is byte-exact (${pieces === 0 ? 'one write' : `${pieces}-byte writes`}), large echoes sent by reference are copied`, async (t) => {
        const sent = payloads(400);
        const { log, server, socket, finish } = await borrowingServer(
          t,
          transport,
          { onFrame: (ctx, frame) => void ctx.send(frame) },
          // A borrowed body must never go by reference: the canary written over it when onFrame
          // returns (debugBuffers), or the next read, would reach the peer instead.
          { sendByReferenceFrom: 1024 },
        );
        const received = readAll(socket);
        const wire = Buffer.concat(sent.map(u32Frame));
        if (pieces === 0) socket.write(wire);
        else await writeInPieces(socket, wire, pieces);
        socket.end();
        const echoed = await received;
        await finish();
        assert.equal(echoed.length, wire.length, 'every byte echoed');
        assert.ok(echoed.equals(wire), 'the echo is the exact byte stream sent');
        assert.equal([...log.logs.values()][0]?.closeInfo?.framesReceived, sent.length);
        assert.deepEqual(log.violations, []);
        assertEngineClean(server);
      });
    }

    test('debug mode: a borrowed frame kept past onFrame shows the canary, in the read buffer and in a kept one', async (t) => {
      const seen: Buffer[] = [];
      const later: Buffer[] = [];
      const { server, socket, finish } = await borrowingServer(t, transport, {
        onFrame: (_ctx, frame) => {
          seen.push(Buffer.from(frame)); // what onFrame saw
          // The mistake: the frame used after onFrame returned (before any further read).
          queueMicrotask(() => later.push(Buffer.from(frame)));
        },
      });
      const closed = readAll(socket);
      // A small frame (decoded straight from the read buffer) and one over 64 KiB (assembled in
      // a pooled buffer across reads).
      const small = Buffer.alloc(100, 0x41);
      const large = Buffer.alloc(100_000, 0x42);
      socket.write(u32Frame(small));
      await until(() => seen.length === 1, 5000, 'the small frame');
      socket.end(u32Frame(large));
      await closed;
      await finish();
      assert.equal(seen.length, 2);
      assert.ok(seen[0]?.equals(small), 'onFrame saw the small frame whole');
      assert.ok(seen[1]?.equals(large), 'onFrame saw the large frame whole');
      assert.equal(later.length, 2);
      for (const frame of later) {
        assert.ok(
          frame.every((byte) => byte === CANARY_BYTE),
          `a ${frame.length}-byte frame used after onFrame returned reads the canary`,
        );
      }
      assertEngineClean(server);
    });

    test('closing the stream from onFrame does not free a borrowed frame before onFrame returns', async (t) => {
      const large = Buffer.alloc(150_000);
      for (let i = 0; i < large.length; i++) large[i] = i % 251;
      let intact: boolean | undefined;
      // debugBuffers: released buffers are filled with the canary, so an early release shows.
      const { log, server, socket, finish } = await borrowingServer(t, transport, {
        onFrame: (ctx, frame) => {
          ctx.close(); // releases the stream's input buffer...
          intact = frame.equals(large); // ...which this frame still views
        },
      });
      const closed = readAll(socket);
      // In pieces, so the frame is assembled in a pooled buffer, with more bytes behind it.
      await writeInPieces(socket, Buffer.concat([u32Frame(large), u32Frame('next')]), 8192);
      await closed;
      await finish();
      assert.equal(intact, true, 'the frame was whole after close() inside onFrame');
      assert.equal([...log.logs.values()][0]?.closeInfo?.framesReceived, 1);
      assertEngineClean(server);
    });
  });
}

describe('borrowing codecs', () => {
  test('a borrowed frame is a Buffer in every way a handler can tell', () => {
    const input = Buffer.from('....hello world');
    const result = new FixedLengthCodec(5, { borrow: true }).decode(input, 4, input.length);
    assert.ok(result !== undefined && typeof result === 'object');
    const frame = result.frame;
    assert.ok(Buffer.isBuffer(frame));
    assert.ok(frame instanceof Buffer);
    assert.equal(frame.constructor, Buffer);
    assert.equal(frame.toString(), 'hello');
    assert.equal(frame.readUInt8(0), 0x68);
    assert.ok(frame.equals(Buffer.from('hello')));
    assert.ok(Buffer.isBuffer(frame.subarray(1, 3)));
    assert.equal(frame.subarray(1, 3).toString(), 'el');
    assert.equal(inspect(frame), '<Buffer 68 65 6c 6c 6f>');
    assert.deepEqual(JSON.parse(JSON.stringify(frame)), { type: 'Buffer', data: [...frame] });
    input[4] = 0x48; // a view: the input's bytes are the frame's
    assert.equal(frame.toString(), 'Hello');
  });

  const cases: { name: string; codec: () => Codec<Buffer, Uint8Array>; wire: Buffer }[] = [
    {
      name: 'LengthPrefixedCodec',
      codec: () => new LengthPrefixedCodec({ borrow: true }),
      wire: Buffer.concat(['ab', 'cde', 'f'].map(u32Frame)),
    },
    {
      name: 'FixedLengthCodec',
      codec: () => new FixedLengthCodec(3, { borrow: true }),
      wire: Buffer.from('abcdef'),
    },
    {
      name: 'DelimiterCodec',
      codec: () => new DelimiterCodec({ delimiters: ';', borrow: true }),
      wire: Buffer.from('ab;cde;f;'),
    },
    { name: 'RawCodec', codec: () => new RawCodec({ borrow: true }), wire: Buffer.from('abcdef') },
    {
      name: "LinesCodec (frames: 'buffer')",
      codec: () => new LinesCodec({ frames: 'buffer', borrow: true }),
      wire: Buffer.from('ab\ncde\r\nf\n'),
    },
  ];
  for (const { name, codec, wire } of cases) {
    test(`${name} with borrow: frames view the input; decodeChunks keeps copies of them`, () => {
      const input = Buffer.from(wire);
      const borrowed = codec();
      assert.equal(borrowed.borrowsInput, true);
      const result = borrowed.decode(input, 0, input.length);
      assert.ok(result !== undefined && typeof result === 'object');
      assert.equal(result.frame.buffer, input.buffer, 'the frame views the bytes given');
      const copied = codec();
      const { frames, error } = decodeChunks(
        copied,
        [...input].map((byte) => Buffer.of(byte)),
      );
      assert.equal(error, undefined);
      const joined = Buffer.concat(frames).toString();
      assert.equal(joined, 'abcdef');
      for (const frame of frames)
        assert.ok(!frame.includes(CANARY_BYTE), 'no frame was overwritten');
    });
  }
});
