import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import {
  type Codec,
  type DecodeResult,
  decoded,
  type EncodeResult,
  IncompleteFrame,
  type Protocol,
  protocolEngine,
} from '../../src/index.js';
import { LineCodec, U32Codec } from '../support/codecs.js';
import { serve } from '../support/engine-fixture.js';
import { rawConnect, readAll, u32Frame } from '../support/peers.js';
import { Recorder } from '../support/recorder.js';
import { assertEngineClean, listenAddress, TRANSPORTS, until } from '../support/transports.js';

type Bytes = Protocol<{ in: Buffer }>;
type Lines = Protocol<{ in: string }>;

/** A codec whose frame is the whole byte range it is given, consumed `claim(available)` bytes. */
class ClaimingCodec implements Codec<Buffer> {
  readonly #claim: (available: number) => number;
  constructor(claim: (available: number) => number) {
    this.#claim = claim;
  }
  decode(bytes: Buffer, start: number, end: number): DecodeResult<Buffer> {
    return decoded(Buffer.from(bytes.subarray(start, end)), this.#claim(end - start));
  }
  encode(frame: Buffer, buffer: Buffer, start: number): EncodeResult {
    return frame.copy(buffer, start);
  }
}

/** Frames are runs of bytes ending in '\n', with no limit of its own: the engine's applies. */
class UnlimitedLineCodec implements Codec<Buffer> {
  decode(bytes: Buffer, start: number, end: number): DecodeResult<Buffer> {
    const newline = bytes.indexOf(0x0a, start);
    if (newline === -1 || newline >= end) return IncompleteFrame;
    return decoded(Buffer.from(bytes.subarray(start, newline)), newline + 1 - start);
  }
  encode(frame: Buffer, buffer: Buffer, start: number): EncodeResult {
    return frame.copy(buffer, start);
  }
}

for (const transport of TRANSPORTS) {
  describe(`errors over ${transport}`, () => {
    test('a decode error closes only its own stream, after the frames before it, while 50 busy streams lose nothing', async (t) => {
      const log = new Recorder<Lines>({
        onFrame: (ctx, line) => void ctx.send(line),
        onError: (ctx) => void ctx.send('goodbye: protocol error'),
      });
      const { server, listener } = await serve<Lines>(t, transport, {
        codec: () => new LineCodec(),
        handler: log.handler,
      });

      const busyLines = Array.from({ length: 200 }, (_, i) => `line ${i}`);
      const busyWire = Buffer.from(busyLines.map((l) => `${l}\n`).join(''));
      const busy = await Promise.all(
        Array.from({ length: 50 }, () => rawConnect(listener.address)),
      );
      const busyReplies = busy.map(readAll);
      const bad = await rawConnect(listener.address);
      const badReply = readAll(bad);
      for (const socket of busy) socket.write(busyWire.subarray(0, 700));
      bad.write(
        Buffer.concat([
          Buffer.from('fine 1\nfine 2\nbro'),
          Buffer.from([0xff]),
          Buffer.from('ken\nnever\n'),
        ]),
      );
      for (const socket of busy) socket.end(busyWire.subarray(700));

      assert.equal((await badReply).toString(), 'fine 1\nfine 2\ngoodbye: protocol error\n');
      for (const reply of busyReplies) assert.deepEqual(await reply, busyWire);
      await server.shutdown({ deadlineMs: 2000 });

      const streams = [...log.logs.values()];
      const failed = streams.filter((s) => s.errors.length > 0);
      assert.equal(failed.length, 1);
      assert.equal(failed[0]?.errors[0]?.code, 'MAI_CORRUPT_FRAME');
      assert.deepEqual(failed[0]?.frames, ['fine 1', 'fine 2']);
      assert.deepEqual(failed[0]?.events.slice(-2), ['error', 'closed']);
      assert.equal(failed[0]?.closeInfo?.reason, 'error');
      assert.equal(failed[0]?.closeInfo?.error?.code, 'MAI_CORRUPT_FRAME');
      for (const stream of streams.filter((s) => s.errors.length === 0)) {
        assert.deepEqual(stream.frames, busyLines);
      }
      assert.deepEqual(log.violations, []);
      assertEngineClean(server);
    });

    for (const [name, claim, code] of [
      ['returns a frame without consuming bytes', () => 0, 'MAI_CODEC_CONTRACT'],
      [
        'claims more bytes than it was given',
        (available: number) => available + 1,
        'MAI_CODEC_CONTRACT',
      ],
      ['claims a fractional byte count', () => 1.5, 'MAI_CODEC_CONTRACT'],
      [
        'throws a plain Error',
        () => {
          throw new TypeError('bug in codec');
        },
        'MAI_CODEC_THREW',
      ],
    ] as const) {
      test(`a codec that ${name} gets ${code}, not a hang`, async (t) => {
        const log = new Recorder<Bytes>();
        const { server, listener } = await serve<Bytes>(t, transport, {
          codec: () => new ClaimingCodec(claim),
          handler: log.handler,
        });
        const socket = await rawConnect(listener.address);
        const closed = readAll(socket);
        socket.write('abc');
        await closed;
        await until(() => log.closedCount === 1, 5000, 'onClosed');
        await server.shutdown({ deadlineMs: 1000 });
        const stream = [...log.logs.values()][0];
        assert.equal(stream?.errors[0]?.code, code);
        assert.deepEqual(stream?.frames, []);
        assert.deepEqual(log.violations, []);
        assertEngineClean(server);
      });
    }

    test('a frame of exactly maxFrameLength is accepted, one byte more is rejected (whole and byte-wise)', async (t) => {
      const maxFrameLength = 1000; // wire bytes including the '\n'
      const log = new Recorder<Bytes>({
        onFrame: (ctx, frame) => void ctx.send(Buffer.from(`${frame.length}\n`)),
      });
      const { server, listener } = await serve<Bytes>(t, transport, {
        codec: () => new UnlimitedLineCodec(),
        handler: log.handler,
        maxFrameLength,
        initialBufferSize: 64, // the frame must grow the read buffer well past its pooled size
      });
      const atMax = Buffer.concat([Buffer.alloc(maxFrameLength - 1, 0x61), Buffer.from('\n')]);
      const overMax = Buffer.concat([Buffer.alloc(maxFrameLength, 0x62), Buffer.from('\n')]);
      for (const pieceSize of [atMax.length + overMax.length, 1]) {
        const socket = await rawConnect(listener.address);
        const reply = readAll(socket);
        const wire = Buffer.concat([atMax, overMax]);
        for (let i = 0; i < wire.length; i += pieceSize)
          socket.write(wire.subarray(i, i + pieceSize));
        assert.equal((await reply).toString(), `${maxFrameLength - 1}\n`);
      }
      await server.shutdown({ deadlineMs: 1000 });
      for (const stream of log.logs.values()) {
        assert.equal(stream.frames.length, 1);
        assert.equal(stream.errors[0]?.code, 'MAI_FRAME_TOO_LONG');
        assert.match(stream.errors[0]?.message ?? '', /exceeds maxFrameLength 1000/);
      }
      assert.deepEqual(log.violations, []);
      assertEngineClean(server);
    });

    test('end of stream inside a frame reports MAI_TRUNCATED_FRAME with the partial bytes', async (t) => {
      const log = new Recorder<Bytes>();
      const { server, listener } = await serve<Bytes>(t, transport, {
        codec: () => new U32Codec(),
        handler: log.handler,
      });
      const socket = await rawConnect(listener.address);
      const closed = readAll(socket);
      const frame = u32Frame('complete');
      socket.end(Buffer.concat([frame, u32Frame('cut short').subarray(0, 7)]));
      await closed;
      await until(() => log.closedCount === 1, 5000, 'onClosed');
      await server.shutdown({ deadlineMs: 1000 });
      const stream = [...log.logs.values()][0];
      assert.deepEqual(stream?.frames, [Buffer.from('complete')]);
      assert.equal(stream?.errors[0]?.code, 'MAI_TRUNCATED_FRAME');
      assert.equal(stream?.closeInfo?.partialBytes, 7);
      assertEngineClean(server);
    });

    test('a throwing or rejecting onFrame is reported as MAI_HANDLER_FAILED and closes the stream', async (t) => {
      const log = new Recorder<Lines>({
        onFrame: (_ctx, line) => {
          if (line === 'throw') throw new Error('handler bug');
          if (line === 'reject') return Promise.reject(new Error('async handler bug'));
          return undefined;
        },
      });
      const { server, listener } = await serve<Lines>(t, transport, {
        codec: () => new LineCodec(),
        handler: log.handler,
      });
      for (const line of ['throw', 'reject']) {
        const socket = await rawConnect(listener.address);
        const closed = readAll(socket);
        socket.write(`ok\n${line}\nnever delivered\n`);
        await closed;
      }
      await until(() => log.closedCount === 2, 5000, 'onClosed');
      await server.shutdown({ deadlineMs: 1000 });
      const [thrown, rejected] = [...log.logs.values()];
      assert.equal(thrown?.errors[0]?.code, 'MAI_HANDLER_FAILED');
      assert.deepEqual(thrown?.frames, ['ok', 'throw']);
      assert.equal(rejected?.errors[0]?.code, 'MAI_HANDLER_FAILED');
      assert.equal(rejected?.closeInfo?.reason, 'error');
      assert.deepEqual(log.violations, []);
      assertEngineClean(server);
    });

    test('connect to an address where nothing listens rejects with MAI_CONNECT_REFUSED, no handler call', async () => {
      const log = new Recorder<Lines>();
      const client = protocolEngine<Lines>({ codec: () => new LineCodec(), handler: log.handler });
      let address = listenAddress(transport);
      if (!('path' in address)) {
        // Bind and release an ephemeral port so nothing listens on it.
        const probe = createServer();
        await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
        const port = (probe.address() as { port: number }).port;
        await new Promise((resolve) => probe.close(resolve));
        address = { port, host: '127.0.0.1' };
      }
      await assert.rejects(client.connect(address), { code: 'MAI_CONNECT_REFUSED' });
      assert.equal(log.logs.size, 0);
      assertEngineClean(client);
      await client.wait();
    });
  });
}

test('connect times out with MAI_CONNECT_TIMEOUT against a peer whose accept queue is full', async (t) => {
  // A listener with backlog 0 that never accepts: after its queue fills, the kernel drops SYNs
  // and a connect neither succeeds nor fails. python3 is on every machine of this kind.
  const blackhole = spawn(
    'python3',
    [
      '-c',
      'import socket,sys,time\ns=socket.socket();s.bind(("127.0.0.1",0));s.listen(0)\n' +
        'print(s.getsockname()[1],flush=True)\nsys.stdin.read()',
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  t.after(() => blackhole.kill());
  const port = await new Promise<number>((resolve) =>
    blackhole.stdout.once('data', (data: Buffer) => resolve(Number(data.toString().trim()))),
  );
  const fillers: { abort(): void }[] = [];
  const client = protocolEngine<Lines>({ codec: () => new LineCodec(), handler: { onFrame() {} } });
  let timedOut = false;
  // Fill the accept queue: plain connects until one of them hangs.
  for (let i = 0; i < 8 && !timedOut; i++) {
    try {
      await client
        .connect({ port, host: '127.0.0.1', timeoutMs: 300 })
        .then((ctx) => fillers.push(ctx));
    } catch (error) {
      assert.equal((error as { code?: string }).code, 'MAI_CONNECT_TIMEOUT');
      assert.match((error as Error).message, /timed out after 300 ms/);
      timedOut = true;
    }
  }
  assert.ok(timedOut, 'a connect to a full accept queue timed out');
  for (const ctx of fillers) (ctx as { abort(): void }).abort();
  await client.wait();
  assertEngineClean(client);
});
