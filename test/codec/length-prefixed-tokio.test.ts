import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  LengthPrefixedCodec,
  type LengthPrefixedOptions,
} from '../../src/codec/length-prefixed.js';
import { decodeChunks, encodeFrames } from '../../src/testing/index.js';
import { PROPERTY_RUNS } from '../reliability/profile.js';

// tokio-util's LengthDelimitedCodec settings, translated to LengthPrefixedCodec options by the
// table in docs/codecs.md ("Coming from tokio-util"), and checked on the examples of tokio's
// `length_delimited` module documentation and against a model of tokio's decode rule.

/** The builder settings of a tokio-util LengthDelimitedCodec (defaults as tokio's). */
interface TokioSettings {
  lengthFieldOffset?: number;
  lengthFieldLength?: 1 | 2 | 3 | 4 | 8;
  lengthAdjustment?: number;
  /** Absent: tokio's default, offset + field length. */
  numSkip?: number;
  littleEndian?: boolean;
  maxFrameLength?: number;
}

const TOKIO_MAX_FRAME_LENGTH = 8 * 1024 * 1024;

/**
 * The translation of docs/codecs.md. tokio's frame is the `value + length_adjustment` bytes that
 * follow the first `num_skip` bytes; mai's wire frame is `value + lengthAdjustment + header`, and
 * its decoded frame drops `initialBytesToStrip` bytes. So the strip is `num_skip`, the adjustment
 * moves by `num_skip - header`, and tokio's cap on the field value becomes a cap on the wire size
 * moved by the same amount.
 */
function fromTokio(settings: TokioSettings): LengthPrefixedOptions {
  const offset = settings.lengthFieldOffset ?? 0;
  const width = settings.lengthFieldLength ?? 4;
  const adjustment = settings.lengthAdjustment ?? 0;
  const header = offset + width;
  const skip = settings.numSkip ?? header;
  return {
    lengthFieldOffset: offset,
    lengthFieldLength: width,
    byteOrder: settings.littleEndian === true ? 'little' : 'big',
    lengthAdjustment: adjustment + skip - header,
    initialBytesToStrip: skip,
    maxFrameLength: (settings.maxFrameLength ?? TOKIO_MAX_FRAME_LENGTH) + adjustment + skip,
  };
}

const hello = Buffer.from('Hello world', 'latin1');
const bytes = (...parts: (number[] | Buffer)[]): Buffer =>
  Buffer.concat(parts.map((part) => (Buffer.isBuffer(part) ? part : Buffer.from(part))));

/** Decodes `input` with the translated codec: once whole, once byte by byte. */
function decodeBoth(settings: TokioSettings, input: Buffer): Buffer[] {
  const whole = decodeChunks(new LengthPrefixedCodec(fromTokio(settings)), [input], { eof: true });
  assert.equal(whole.error, undefined, whole.error?.message);
  const pieces = [...input].map((byte) => Buffer.from([byte]));
  const single = decodeChunks(new LengthPrefixedCodec(fromTokio(settings)), pieces, { eof: true });
  assert.deepEqual(single.frames, whole.frames, 'byte by byte');
  return whole.frames;
}

describe('tokio-util length_delimited examples, with the settings translated', () => {
  // Each: tokio's builder settings, the input frame, the frame tokio's decoder yields. Examples
  // 1-4 are as tokio-util documents them since its 2024 correction (tokio PR #6638); earlier
  // docs showed `num_skip(0)` with an adjustment that did not count the head, which tokio's
  // decoder never matched (tokio issues #4184, #6604).
  const examples: [string, TokioSettings, Buffer, Buffer][] = [
    [
      'u16 length at offset 0, frame head omitted (the default num_skip)',
      { lengthFieldLength: 2 },
      bytes([0x00, 0x0b], hello),
      hello,
    ],
    [
      'u16 length at offset 0, frame head kept: num_skip 0, adjustment +2',
      { lengthFieldLength: 2, lengthAdjustment: 2, numSkip: 0 },
      bytes([0x00, 0x0b], hello),
      bytes([0x00, 0x0b], hello),
    ],
    [
      'u16 length that counts the head, head kept: num_skip 0',
      { lengthFieldLength: 2, numSkip: 0 },
      bytes([0x00, 0x0d], hello),
      bytes([0x00, 0x0d], hello),
    ],
    [
      '3-byte length, 2 more head bytes, all kept: adjustment 3 + 2, num_skip 0',
      { lengthFieldLength: 3, lengthAdjustment: 5, numSkip: 0 },
      bytes([0x00, 0x00, 0x0b, 0xca, 0xfe], hello),
      bytes([0x00, 0x00, 0x0b, 0xca, 0xfe], hello),
    ],
    [
      'u16 length at offset 1, hdr2 after it kept: adjustment 1, num_skip 3',
      { lengthFieldOffset: 1, lengthFieldLength: 2, lengthAdjustment: 1, numSkip: 3 },
      bytes([0xca, 0x00, 0x0b, 0xfe], hello),
      bytes([0xfe], hello),
    ],
    [
      'u16 length at offset 1 counting the whole frame: adjustment -3, num_skip 3',
      { lengthFieldOffset: 1, lengthFieldLength: 2, lengthAdjustment: -3, numSkip: 3 },
      bytes([0xca, 0x00, 0x0f, 0xfe], hello),
      bytes([0xfe], hello),
    ],
    [
      '3-byte length, one unused byte after it: num_skip 4',
      { lengthFieldLength: 3, numSkip: 4 },
      bytes([0x00, 0x00, 0x0b, 0xff], hello),
      hello,
    ],
  ];
  for (const [name, settings, input, decoded] of examples) {
    test(name, () => {
      // Twice in a row: the second frame starts where tokio's next frame would.
      assert.deepEqual(decodeBoth(settings, bytes(input, input)), [decoded, decoded]);
    });
  }

  test('the options of each translated example', () => {
    assert.deepEqual(fromTokio({ lengthFieldLength: 2, lengthAdjustment: 2, numSkip: 0 }), {
      lengthFieldOffset: 0,
      lengthFieldLength: 2,
      byteOrder: 'big',
      lengthAdjustment: 0,
      initialBytesToStrip: 0,
      maxFrameLength: TOKIO_MAX_FRAME_LENGTH + 2,
    });
    const example6 = fromTokio({
      lengthFieldOffset: 1,
      lengthFieldLength: 2,
      lengthAdjustment: -3,
      numSkip: 3,
    });
    assert.equal(example6.lengthAdjustment, -3);
    assert.equal(example6.initialBytesToStrip, 3);
    const example7 = fromTokio({ lengthFieldLength: 3, numSkip: 4 });
    assert.equal(example7.lengthAdjustment, 1);
    assert.equal(example7.initialBytesToStrip, 4);
  });

  test('encoding: a u16 length then the payload, as tokio writes it', () => {
    const codec = new LengthPrefixedCodec(fromTokio({ lengthFieldLength: 2 }));
    assert.deepEqual(
      encodeFrames(codec, [Buffer.from('hello world')]),
      bytes([0x00, 0x0b], b('hello world')),
    );
    const little = new LengthPrefixedCodec(fromTokio({ lengthFieldLength: 2, littleEndian: true }));
    assert.deepEqual(encodeFrames(little, [hello]), bytes([0x0b, 0x00], hello));
  });

  test('max_frame_length caps the field value: the translated limit cuts at the same value', () => {
    // tokio: value 11 passes max_frame_length 11 and value 12 does not, whatever the
    // adjustment; mai's limit is on the wire size, here value + 4.
    const settings: TokioSettings = {
      lengthFieldOffset: 1,
      lengthFieldLength: 2,
      lengthAdjustment: 1,
      numSkip: 3,
      maxFrameLength: 11,
    };
    assert.equal(fromTokio(settings).maxFrameLength, 15);
    assert.deepEqual(decodeBoth(settings, bytes([0xca, 0x00, 0x0b, 0xfe], hello)), [
      bytes([0xfe], hello),
    ]);
    const over = decodeChunks(new LengthPrefixedCodec(fromTokio(settings)), [
      bytes([0xca, 0x00, 0x0c, 0xfe], hello, [0x21]),
    ]);
    assert.equal(over.error?.code, 'MAI_FRAME_TOO_LONG');
    assert.equal(over.frames.length, 0);
  });
});

const b = (text: string): Buffer => Buffer.from(text, 'latin1');

/**
 * tokio's decode rule, as a model: wait for max(offset + width, num_skip) head bytes, read the
 * field, refuse a value above max_frame_length, then the frame is the `value + adjustment` bytes
 * after the first `num_skip`. Returns the frames, or 'too long' for the first refused value.
 */
function tokioModel(settings: Required<TokioSettings>, input: Buffer): Buffer[] | 'too long' {
  const { lengthFieldOffset: offset, lengthFieldLength: width, numSkip } = settings;
  const frames: Buffer[] = [];
  let at = 0;
  for (let guard = 0; guard < 10_000 && at < input.length; guard++) {
    const field = input.subarray(at + offset, at + offset + width);
    const value = settings.littleEndian
      ? field.readUIntLE(0, Math.min(width, 6))
      : field.readUIntBE(0, Math.min(width, 6));
    if (value > settings.maxFrameLength) return 'too long';
    const n = value + settings.lengthAdjustment;
    frames.push(input.subarray(at + numSkip, at + numSkip + n));
    at += numSkip + n;
  }
  return frames;
}

describe('tokio-util settings translated: property against a model of tokio', () => {
  test('random settings and frames decode as tokio decodes them', () => {
    const settings = fc
      .record({
        lengthFieldOffset: fc.integer({ min: 0, max: 3 }),
        lengthFieldLength: fc.constantFrom(1 as const, 2 as const, 3 as const, 4 as const),
        lengthAdjustment: fc.integer({ min: -6, max: 6 }),
        numSkip: fc.integer({ min: 0, max: 9 }),
        littleEndian: fc.boolean(),
        maxFrameLength: fc.integer({ min: 0, max: 40 }),
      })
      // A frame must cover tokio's head (else tokio reads the next frame's bytes as its head),
      // and mai refuses a limit below the header: no frame could pass it anyway.
      .filter((s) => {
        const header = s.lengthFieldOffset + s.lengthFieldLength;
        return s.maxFrameLength + s.lengthAdjustment + s.numSkip >= Math.max(header, 1);
      });
    fc.assert(
      fc.property(
        settings,
        fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 0, max: 255 }),
        (s, sizes, fill) => {
          const header = s.lengthFieldOffset + s.lengthFieldLength;
          const wires: Buffer[] = [];
          for (const k of sizes) {
            // A tokio frame of k bytes: value k - adjustment, on the wire num_skip + k bytes.
            const value = k - s.lengthAdjustment;
            const wire = s.numSkip + k;
            if (value < 0 || wire < Math.max(header, s.numSkip)) return;
            if (value >= 2 ** (8 * s.lengthFieldLength)) return;
            const frame = Buffer.alloc(wire, (fill + k) & 0xff);
            if (s.littleEndian) frame.writeUIntLE(value, s.lengthFieldOffset, s.lengthFieldLength);
            else frame.writeUIntBE(value, s.lengthFieldOffset, s.lengthFieldLength);
            wires.push(frame);
          }
          const input = Buffer.concat(wires);
          const expected = tokioModel(s, input);
          const got = decodeChunks(new LengthPrefixedCodec(fromTokio(s)), [input], { eof: true });
          if (expected === 'too long') {
            assert.equal(got.error?.code, 'MAI_FRAME_TOO_LONG');
          } else {
            assert.equal(got.error, undefined, got.error?.message);
            assert.deepEqual(got.frames, expected);
          }
        },
      ),
      { numRuns: Math.min(PROPERTY_RUNS, 20_000) },
    );
  });
});
