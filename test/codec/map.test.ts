import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { FixedLengthCodec } from '../../src/codec/fixed-length.js';
import { LinesCodec } from '../../src/codec/lines.js';
import { mapCodec } from '../../src/codec/map.js';
import type { Protocol } from '../../src/index.js';
import { assertCodecConformance, CodecHarness, encodeFrames } from '../../src/testing/index.js';
import { PROPERTY_RUNS } from '../reliability/profile.js';

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
});
