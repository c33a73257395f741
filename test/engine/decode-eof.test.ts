import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import {
  type Codec,
  type DecodeResult,
  decoded,
  discarded,
  type EncodeResult,
  IncompleteFrame,
  InsufficientBuffer,
  type Protocol,
  protocolEngine,
  TruncatedFrameError,
} from '../../src/index.js';
import { readAll } from '../support/peers.js';
import { Recorder } from '../support/recorder.js';
import {
  assertEngineClean,
  listenAndConnect,
  TRANSPORTS,
  type Transport,
  until,
} from '../support/transports.js';

// The decodeEof contract, held against the engine over real sockets: after the peer's FIN, once
// decode has returned IncompleteFrame, decodeEof is called in a loop while bytes are left; each
// call returns a frame that consumes at least one byte, Discarded, or IncompleteFrame; what is
// left after IncompleteFrame (or with no decodeEof at all) is MAI_TRUNCATED_FRAME; and it is
// never called with zero bytes.

type Text = Protocol<{ in: string; out: string }>;

/** One call the engine made into the codec: which method, the bytes it was given, the result. */
interface Call {
  method: 'decode' | 'decodeEof';
  bytes: string;
  result: string;
}

/**
 * Frames end in ';' while the stream is open. At end of stream a leftover is read by the
 * scripted rules of `decodeEof`: 'd' is dropped (Discarded), 'x' stops (IncompleteFrame),
 * anything else is a frame of up to two bytes, so one leftover gives several trailing frames.
 * Every call is logged, with the bytes it was given.
 */
class ScriptedEofCodec implements Codec<string> {
  constructor(readonly calls: Call[]) {}

  decode(bytes: Buffer, start: number, end: number): DecodeResult<string> {
    const semicolon = bytes.indexOf(0x3b, start);
    const result =
      semicolon === -1 || semicolon >= end
        ? IncompleteFrame
        : decoded(bytes.toString('latin1', start, semicolon), semicolon + 1 - start);
    this.#log('decode', bytes, start, end, result);
    return result;
  }

  decodeEof(bytes: Buffer, start: number, end: number): DecodeResult<string> {
    let result: DecodeResult<string>;
    if (start >= end || bytes[start] === 0x78) result = IncompleteFrame;
    else if (bytes[start] === 0x64) result = discarded(1);
    else {
      const stop = Math.min(end, start + 2);
      result = decoded(`eof:${bytes.toString('latin1', start, stop)}`, stop - start);
    }
    this.#log('decodeEof', bytes, start, end, result);
    return result;
  }

  encode(frame: string, buffer: Buffer, start: number): EncodeResult {
    if (frame.length + 1 > buffer.length - start) return InsufficientBuffer;
    buffer.write(`${frame};`, start, 'latin1');
    return frame.length + 1;
  }

  #log(
    method: Call['method'],
    bytes: Buffer,
    start: number,
    end: number,
    result: DecodeResult<string>,
  ): void {
    const shown =
      result === IncompleteFrame
        ? 'incomplete'
        : typeof result.frame === 'string'
          ? `${result.frame}/${result.bytesRead}`
          : `discarded/${result.bytesRead}`;
    this.calls.push({ method, bytes: bytes.toString('latin1', start, end), result: shown });
  }
}

/** The same framing with no decodeEof at all. */
class NoEofCodec implements Codec<string> {
  readonly #inner = new ScriptedEofCodec([]);
  decode(bytes: Buffer, start: number, end: number): DecodeResult<string> {
    return this.#inner.decode(bytes, start, end);
  }
  encode(frame: string, buffer: Buffer, start: number): EncodeResult {
    return this.#inner.encode(frame, buffer, start);
  }
}

/**
 * Serves one stream with `codec`, writes `wire` from a plain client in two writes, ends it
 * (FIN), and returns the stream's log once it has closed.
 */
async function endAfter(
  t: TestContext,
  transport: Transport,
  codec: () => Codec<string>,
  wire: [string, string],
) {
  const log = new Recorder<Text>();
  const server = protocolEngine<Text>({ codec, handler: log.handler, debugBuffers: true });
  const socket = await listenAndConnect(t, server, transport);
  const closed = readAll(socket);
  socket.write(wire[0], 'latin1');
  socket.end(wire[1], 'latin1');
  await closed;
  await until(() => log.closedCount === 1, 5000, 'onClosed');
  await server.shutdown({ deadlineMs: 1000 });
  assertEngineClean(server);
  assert.deepEqual(log.violations, []);
  const stream = [...log.logs.values()][0];
  assert.ok(stream !== undefined);
  return stream;
}

const eofCalls = (calls: Call[]): Call[] => calls.filter((call) => call.method === 'decodeEof');

for (const transport of TRANSPORTS) {
  describe(`decodeEof over ${transport}`, () => {
    test('called in a loop for several trailing frames, with a Discarded among them, never with zero bytes', async (t) => {
      const calls: Call[] = [];
      const stream = await endAfter(t, transport, () => new ScriptedEofCodec(calls), [
        'a;b',
        'c;pqdrst',
      ]);
      assert.deepEqual(stream.frames, ['a', 'bc', 'eof:pq', 'eof:rs', 'eof:t']);
      assert.deepEqual(stream.errors, []);
      assert.ok(stream.events.includes('end'), 'a clean end of stream');
      // decodeEof starts only once decode has said IncompleteFrame for the same leftover.
      const first = calls.findIndex((call) => call.method === 'decodeEof');
      assert.deepEqual(calls[first - 1], {
        method: 'decode',
        bytes: 'pqdrst',
        result: 'incomplete',
      });
      assert.deepEqual(eofCalls(calls), [
        { method: 'decodeEof', bytes: 'pqdrst', result: 'eof:pq/2' },
        { method: 'decodeEof', bytes: 'drst', result: 'discarded/1' },
        { method: 'decodeEof', bytes: 'rst', result: 'eof:rs/2' },
        { method: 'decodeEof', bytes: 't', result: 'eof:t/1' },
      ]);
      // Nothing after the last byte was consumed: no call with zero bytes, and no decode either.
      assert.equal(calls.at(-1)?.method, 'decodeEof');
    });

    test('bytes left after IncompleteFrame are MAI_TRUNCATED_FRAME, after the frames before them', async (t) => {
      const calls: Call[] = [];
      const stream = await endAfter(t, transport, () => new ScriptedEofCodec(calls), [
        'a;',
        'pqxyz',
      ]);
      assert.deepEqual(stream.frames, ['a', 'eof:pq']);
      assert.equal(stream.errors.length, 1);
      const error = stream.errors[0];
      assert.ok(error instanceof TruncatedFrameError, String(error));
      assert.equal(error.code, 'MAI_TRUNCATED_FRAME');
      assert.equal(error.partialBytes, 3);
      assert.ok(!stream.events.includes('end'), 'a truncated stream does not end cleanly');
      assert.deepEqual(eofCalls(calls), [
        { method: 'decodeEof', bytes: 'pqxyz', result: 'eof:pq/2' },
        { method: 'decodeEof', bytes: 'xyz', result: 'incomplete' },
      ]);
    });

    test('not called when no bytes are left', async (t) => {
      const calls: Call[] = [];
      const stream = await endAfter(t, transport, () => new ScriptedEofCodec(calls), [
        'a;b',
        ';c;',
      ]);
      assert.deepEqual(stream.frames, ['a', 'b', 'c']);
      assert.deepEqual(stream.errors, []);
      assert.ok(stream.events.includes('end'));
      assert.deepEqual(eofCalls(calls), []);
    });

    test('a leftover that decodeEof drops entirely ends cleanly', async (t) => {
      const calls: Call[] = [];
      const stream = await endAfter(t, transport, () => new ScriptedEofCodec(calls), ['a;', 'dd']);
      assert.deepEqual(stream.frames, ['a']);
      assert.deepEqual(stream.errors, []);
      assert.ok(stream.events.includes('end'));
      assert.deepEqual(eofCalls(calls), [
        { method: 'decodeEof', bytes: 'dd', result: 'discarded/1' },
        { method: 'decodeEof', bytes: 'd', result: 'discarded/1' },
      ]);
    });

    test('a codec without decodeEof: any leftover is MAI_TRUNCATED_FRAME', async (t) => {
      const stream = await endAfter(t, transport, () => new NoEofCodec(), ['a;', 'pq']);
      assert.deepEqual(stream.frames, ['a']);
      const error = stream.errors[0];
      assert.ok(error instanceof TruncatedFrameError, String(error));
      assert.equal(error.partialBytes, 2);
      const clean = await endAfter(t, transport, () => new NoEofCodec(), ['a;', 'b;']);
      assert.deepEqual(clean.frames, ['a', 'b']);
      assert.deepEqual(clean.errors, []);
    });
  });
}
