import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { FixedLengthCodec } from '../../src/codec/fixed-length.js';
import { Discarded } from '../../src/codec/codec.js';
import { LengthPrefixedCodec } from '../../src/codec/length-prefixed.js';
import { LinesCodec, LineTooLong } from '../../src/codec/lines.js';
import { mapCodec } from '../../src/codec/map.js';
import { type Protocol, protocolEngine } from '../../src/index.js';
import {
  assertCodecConformance,
  CodecHarness,
  decodeChunks,
  encodeFrames,
} from '../../src/testing/index.js';
import { PROPERTY_RUNS } from '../reliability/profile.js';
import { readAll, u32Frame } from '../support/peers.js';
import { Recorder } from '../support/recorder.js';
import { assertEngineClean, listenAndConnect, TRANSPORTS, until } from '../support/transports.js';

const runs = PROPERTY_RUNS;
const b = (text: string): Buffer => Buffer.from(text, 'utf8');

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
const jsonLines = () =>
  mapCodec(new LinesCodec({ maxLineLength: 64 }), {
    decode: (line: string): Json => JSON.parse(line) as Json,
    encode: (value: Json): string => JSON.stringify(value),
  });

describe('mapCodec', () => {
  test('JSON over lines: conformance', async () => {
    const started = performance.now();
    await assertCodecConformance<Json>({
      name: 'json lines',
      codec: jsonLines,
      cases: [
        {
          name: 'values',
          bytes: b('{"a":[1,"é"]}\n2\r\n"x"\n'),
          frames: [{ a: [1, 'é'] }, 2, 'x'],
        },
        {
          name: 'not JSON is corrupt',
          bytes: b('1\n{oops\n2\n'),
          frames: [1],
          error: 'MAI_CORRUPT_FRAME',
        },
        { name: 'truncated', bytes: b('[1,'), frames: [], eof: { error: 'MAI_TRUNCATED_FRAME' } },
        {
          name: 'too long line',
          bytes: b(`"${'x'.repeat(70)}"\n`),
          frames: [],
          error: 'MAI_FRAME_TOO_LONG',
        },
      ],
      roundTrip: {
        // JSON.stringify turns -0 into 0: compare against what JSON can carry.
        arbitrary: fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.parse(JSON.stringify(v)) as Json),
        runs,
      },
    });
    console.log(
      `map (json lines) conformance: ${(performance.now() - started).toFixed(0)} ms (${runs} runs)`,
    );
  });

  test('numbers over fixed-length records, and the encode conversion runs once per frame', () => {
    let conversions = 0;
    const codec = mapCodec(new FixedLengthCodec(64), {
      decode: (frame: Buffer): number => frame.readUInt32BE(0),
      encode: (value: number): Buffer => {
        conversions++;
        const out = Buffer.alloc(64);
        out.writeUInt32BE(value);
        return out;
      },
    });
    // 64-byte records do not fit the kit's first 16-byte buffer: the engine path retries.
    const bytes = encodeFrames(codec, [7, 9]);
    assert.equal(bytes.length, 128);
    assert.equal(conversions, 2);
    assert.throws(() => encodeFrames(codec, [-1]), { code: 'MAI_ENCODE_FAILED' });
  });

  test('in a handler: corrupt input closes the stream with MAI_CORRUPT_FRAME', () => {
    const harness = new CodecHarness<Protocol<{ in: Json }>>({
      codec: jsonLines,
      handler: { onFrame: (ctx, value) => void ctx.send({ echo: value }) },
    });
    harness.writeInbound(b('[1]\nnope\n'));
    assert.equal(harness.readOutbound().toString(), '{"echo":[1]}\n');
    assert.equal(harness.closeInfo?.error?.code, 'MAI_CORRUPT_FRAME');
    assert.ok(harness.closeInfo?.error?.cause instanceof SyntaxError);
  });

  test('Discarded results pass through: mapping.decode sees only frames', () => {
    const seen: unknown[] = [];
    const codec = mapCodec(new LinesCodec({ maxLineLength: 4, discard: true }), {
      decode: (line: string | LineTooLong): string => {
        seen.push(line);
        return line instanceof LineTooLong ? `too long: ${line.length}` : line.toUpperCase();
      },
      encode: (line: string): string => line,
    });
    // The long line arrives in pieces: the inner codec drops it piece by piece (Discarded).
    const result = decodeChunks(codec, [b('ab\nxxxx'), b('xxxxxx'), b('xx\ncd\n')], {
      eof: true,
    });
    assert.equal(result.error, undefined);
    assert.deepEqual(result.frames, ['AB', 'too long: 12', 'CD']);
    assert.ok(!seen.includes(Discarded), 'mapping.decode was given Discarded');
    assert.equal(seen.length, 3);
  });

  test("borrowsInput and wireLength are the inner codec's", () => {
    const identity = { decode: (frame: Buffer) => frame, encode: (frame: Uint8Array) => frame };
    assert.equal(mapCodec(new LengthPrefixedCodec({ borrow: true }), identity).borrowsInput, true);
    assert.equal(mapCodec(new LengthPrefixedCodec(), identity).borrowsInput, false);
    const lengthPrefixed = mapCodec(new LengthPrefixedCodec(), identity);
    const header = Buffer.from([0, 0, 0, 5, 0x61]);
    assert.equal(lengthPrefixed.wireLength?.(header, 0, header.length), 9);
    assert.equal(lengthPrefixed.wireLength?.(header, 0, 2), -1);
    assert.equal(mapCodec(new FixedLengthCodec(3), identity).wireLength?.(header, 0, 1), 3);
    assert.equal(jsonLines().wireLength, undefined);
  });
});

// A mapped borrowing codec under debugBuffers, over real sockets: its frames wrap the inner
// views, and the engine must lend them (not reject them as views kept by a copying codec).
type Wrapped = Protocol<{ in: { payload: Buffer }; out: { payload: Uint8Array } }>;

for (const transport of TRANSPORTS) {
  test(`mapCodec over a borrowing codec delivers correct frames under debugBuffers (${transport})`, async (t) => {
    const received: string[] = [];
    const log = new Recorder<Wrapped>({
      onFrame(ctx, frame) {
        received.push(frame.payload.toString('latin1'));
        ctx.send({ payload: frame.payload });
      },
    });
    const server = protocolEngine<Wrapped>({
      codec: () =>
        mapCodec(new LengthPrefixedCodec({ borrow: true }), {
          decode: (payload: Buffer) => ({ payload }),
          encode: (frame: { payload: Uint8Array }) => frame.payload,
        }),
      handler: log.handler,
      debugBuffers: true,
    });
    const socket = await listenAndConnect(t, server, transport);
    const sent = Array.from({ length: 50 }, (_, i) => `frame ${i} ${'x'.repeat(i * 37)}`);
    const echoed = readAll(socket);
    socket.end(Buffer.concat(sent.map((text) => u32Frame(text))));
    const bytes = await echoed;
    await until(() => log.closedCount === 1, 5000, 'onClosed');
    await server.shutdown({ deadlineMs: 1000 });
    assertEngineClean(server);
    assert.deepEqual(log.violations, []);
    assert.deepEqual([...log.logs.values()][0]?.errors, []);
    assert.deepEqual(received, sent);
    assert.deepEqual(bytes, Buffer.concat(sent.map((text) => u32Frame(text))));
  });
}
