import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { FixedLengthCodec } from '../../src/codec/fixed-length.js';
import { assertCodecConformance, encodeFrames } from '../../src/testing/index.js';
import { PROPERTY_RUNS } from '../reliability/profile.js';

const runs = PROPERTY_RUNS;
const b = (text: string): Buffer => Buffer.from(text, 'latin1');

describe('FixedLengthCodec', () => {
  for (const borrow of [false, true]) {
    test(`conformance${borrow ? ', borrowed frames' : ''}`, async () => {
      const started = performance.now();
      await assertCodecConformance<Buffer, Uint8Array>({
        name: `fixed-length 4${borrow ? ' borrowed' : ''}`,
        codec: () => new FixedLengthCodec(4, { borrow }),
        cases: [
          { name: 'two frames', bytes: b('abcdefgh'), frames: [b('abcd'), b('efgh')] },
          {
            name: 'binary, NUL and 0xff',
            bytes: Buffer.from([0, 0xff, 0x0a, 0x0d]),
            frames: [Buffer.from([0, 0xff, 0x0a, 0x0d])],
          },
          {
            name: 'a multi-byte UTF-8 character split between frames',
            bytes: Buffer.from('ab✓de', 'utf8'), // ✓ is 3 bytes: frame 1 ends inside it
            frames: [Buffer.from('ab✓de', 'utf8').subarray(0, 4)],
            eof: { error: 'MAI_TRUNCATED_FRAME' },
          },
          {
            name: 'partial frame',
            bytes: b('abcdef'),
            frames: [b('abcd')],
            eof: { error: 'MAI_TRUNCATED_FRAME' },
          },
          { name: 'nothing', bytes: Buffer.alloc(0), frames: [] },
        ],
        roundTrip: {
          arbitrary: fc.oneof(
            fc.uint8Array({ minLength: 4, maxLength: 4 }),
            fc.uint8Array({ maxLength: 6 }),
          ),
          expected: (out) => Buffer.from(out),
          runs,
        },
      });
      console.log(
        `fixed-length conformance: ${(performance.now() - started).toFixed(0)} ms (${runs} runs)`,
      );
    });
  }

  test('encode takes exactly frameLength bytes; options are checked', () => {
    const codec = new FixedLengthCodec(3);
    assert.equal(encodeFrames(codec, [b('abc'), b('def')]).toString('latin1'), 'abcdef');
    assert.throws(() => encodeFrames(codec, [b('ab')]), { code: 'MAI_ENCODE_FAILED' });
    assert.throws(() => encodeFrames(codec, [b('abcd')]), { code: 'MAI_ENCODE_FAILED' });
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 40]) {
      assert.throws(() => new FixedLengthCodec(bad), { code: 'MAI_INVALID_OPTION' }, String(bad));
    }
    assert.equal(codec.frameLength, 3);
  });
});
