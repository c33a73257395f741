import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  DecodeError,
  type Decoded,
  EncodeError,
  FrameTooLongError,
  IncompleteFrame,
  InsufficientBuffer,
  InvalidOptionError,
  type LengthFieldLength,
  LengthPrefixedCodec,
  type LengthPrefixedOptions,
} from '../../src/index.js';
import {
  assertCodecConformance,
  type ConformanceCase,
  type ConformanceLimit,
  decodeChunks,
} from '../../src/testing/index.js';
import { PROPERTY_RUNS } from '../reliability/profile.js';

// ---- A reference encoder, written independently of the codec (Buffer's own writers, BigInt
// varints), used as the oracle for wire bytes. ------------------------------------------------

/** The options with their defaults filled in. */
interface Layout {
  offset: number;
  field: LengthFieldLength;
  little: boolean;
  adjustment: number;
  includesHeader: boolean;
  strip: number | 'header';
}

function layoutOf(options: LengthPrefixedOptions): Layout {
  return {
    offset: options.lengthFieldOffset ?? 0,
    field: options.lengthFieldLength ?? 4,
    little: options.byteOrder === 'little',
    adjustment: options.lengthAdjustment ?? 0,
    includesHeader: options.lengthIncludesHeader ?? false,
    strip: options.initialBytesToStrip ?? 'header',
  };
}

function varintBytes(value: bigint): number[] {
  const out: number[] = [];
  let rest = value;
  do {
    const group = Number(rest & 0x7fn);
    rest >>= 7n;
    out.push(rest === 0n ? group : group | 0x80);
  } while (rest !== 0n);
  return out;
}

/** The length field holding `value`, exactly as the layout writes it. */
function fieldBytes(layout: Layout, value: bigint): Buffer {
  if (layout.field === 'varint') return Buffer.from(varintBytes(value));
  const out = Buffer.alloc(8);
  if (layout.little) out.writeBigUInt64LE(value);
  else out.writeBigUInt64BE(value);
  return layout.little ? out.subarray(0, layout.field) : out.subarray(8 - layout.field);
}

/** The prefix bytes before the length field: a recognisable pattern. */
function prefixBytes(layout: Layout): Buffer {
  return Buffer.from(Array.from({ length: layout.offset }, (_, i) => 0xa0 + i));
}

interface Wire {
  /** The wire frame. */
  bytes: Buffer;
  /** What the codec must decode it to. */
  frame: Buffer;
  /** Bytes before the length field plus the field. */
  header: number;
}

/**
 * The wire frame whose bytes after the length field are `body`, or undefined when the layout
 * cannot describe it (negative or oversized length value).
 */
function wireFor(layout: Layout, body: Uint8Array): Wire | undefined {
  let width: number = layout.field === 'varint' ? 1 : layout.field;
  let value = 0;
  for (let guard = 0; guard < 10; guard++) {
    value = body.length - layout.adjustment + (layout.includesHeader ? layout.offset + width : 0);
    if (layout.field !== 'varint' || value < 0) break;
    const needed = varintBytes(BigInt(value)).length;
    if (needed <= width) break;
    width = needed;
  }
  if (value < 0) return undefined;
  if (layout.field !== 'varint' && value >= 2 ** (8 * layout.field)) return undefined;
  const bytes = Buffer.concat([prefixBytes(layout), fieldBytes(layout, BigInt(value)), body]);
  const header = layout.offset + width;
  const strip = layout.strip === 'header' ? header : layout.strip;
  if (strip > bytes.length) return undefined;
  return { bytes, frame: bytes.subarray(strip), header };
}

/** A body of `n` bytes with varied content (not all zeros, so misplaced bytes show). */
function body(n: number, seed = 1): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed * 7) & 0xff;
  return out;
}

/** The body length that gives a wire frame of exactly `total` bytes (varint widths vary). */
function wireOfTotal(layout: Layout, total: number): Wire {
  for (let width = 1; width <= 8; width++) {
    const n = total - layout.offset - width;
    if (n < 0) continue;
    const wire = wireFor(layout, body(n));
    if (wire !== undefined && wire.bytes.length === total) return wire;
  }
  throw new Error(`no wire frame of exactly ${total} bytes in this layout`);
}

/** Decodes `bytes` whole by calling `decode` directly; returns frames and what was left. */
function decodeDirect(
  codec: LengthPrefixedCodec,
  bytes: Buffer,
): { frames: Buffer[]; rest: number } {
  const frames: Buffer[] = [];
  let start = 0;
  for (let guard = 0; guard <= bytes.length; guard++) {
    const result = codec.decode(bytes, start, bytes.length);
    if (result === IncompleteFrame) return { frames, rest: bytes.length - start };
    frames.push(result.frame);
    start += result.bytesRead;
  }
  throw new Error('decode made no progress');
}

function encodeDirect(codec: LengthPrefixedCodec, frame: Uint8Array): Buffer {
  const out = Buffer.alloc(frame.length + 64, 0xee);
  const written = codec.encode(frame, out, 5);
  assert.notEqual(written, InsufficientBuffer);
  return out.subarray(5, 5 + (written as number));
}

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// ---- Header layouts, each with its wire diagram ------------------------------------------------

describe('LengthPrefixedCodec: header layouts', () => {
  test('defaults: 4-byte big-endian length of the payload; frames are the payload', () => {
    // +-------------+-------+        +-------+
    // | 00 00 00 03 | a b c |  --->  | a b c |
    // +-------------+-------+        +-------+
    //   length = 3
    const codec = new LengthPrefixedCodec();
    const wire = hex('00000003 616263');
    assert.deepEqual(decodeDirect(codec, wire).frames, [Buffer.from('abc')]);
    assert.deepEqual(encodeDirect(codec, Buffer.from('abc')), wire);
    assert.equal(codec.maxFrameLength, 16 * 1024 * 1024);
  });

  test('2-byte length, initialBytesToStrip 0: frames keep their header', () => {
    // +-------+-------+        +-------+-------+
    // | 00 03 | a b c |  --->  | 00 03 | a b c |
    // +-------+-------+        +-------+-------+
    const codec = new LengthPrefixedCodec({ lengthFieldLength: 2, initialBytesToStrip: 0 });
    const wire = hex('0003 616263');
    assert.deepEqual(decodeDirect(codec, wire).frames, [wire]);
    // The encoder takes the same whole frame and checks its header against its size.
    assert.deepEqual(encodeDirect(codec, wire), wire);
    assert.throws(() => encodeDirect(codec, hex('0004 616263')), EncodeError);
    assert.throws(() => encodeDirect(codec, hex('00')), EncodeError);
  });

  test('2-byte length that counts the header (lengthIncludesHeader)', () => {
    // +-------+-------+        +-------+
    // | 00 05 | a b c |  --->  | a b c |      5 = 2 (length field) + 3 (payload)
    // +-------+-------+        +-------+
    const codec = new LengthPrefixedCodec({ lengthFieldLength: 2, lengthIncludesHeader: true });
    const wire = hex('0005 616263');
    assert.deepEqual(decodeDirect(codec, wire).frames, [Buffer.from('abc')]);
    assert.deepEqual(encodeDirect(codec, Buffer.from('abc')), wire);
  });

  test('2 prefix bytes, then a 3-byte length; whole frames kept', () => {
    // +-------+----------+-------+        +-------+----------+-------+
    // | ca fe | 00 00 03 | a b c |  --->  | ca fe | 00 00 03 | a b c |
    // +-------+----------+-------+        +-------+----------+-------+
    //  offset 2  length 3
    const codec = new LengthPrefixedCodec({
      lengthFieldOffset: 2,
      lengthFieldLength: 3,
      initialBytesToStrip: 0,
    });
    const wire = hex('cafe 000003 616263');
    assert.deepEqual(decodeDirect(codec, wire).frames, [wire]);
    assert.deepEqual(encodeDirect(codec, wire), wire);
  });

  test('3-byte length of the payload only, with a 2-byte extra header after it (adjustment +2)', () => {
    // +----------+-------+-------+        +----------+-------+-------+
    // | 00 00 03 | 0f 0e | a b c |  --->  | 00 00 03 | 0f 0e | a b c |
    // +----------+-------+-------+        +----------+-------+-------+
    //  length 3   extra    payload          (nothing stripped)
    // 5 bytes follow the length field: 3 + lengthAdjustment 2.
    const codec = new LengthPrefixedCodec({
      lengthFieldLength: 3,
      lengthAdjustment: 2,
      initialBytesToStrip: 0,
    });
    const wire = hex('000003 0f0e 616263');
    assert.deepEqual(decodeDirect(codec, wire).frames, [wire]);
  });

  test('a byte, the length, a byte, the payload; strip the first 3 bytes', () => {
    // +----+-------+----+-------+        +----+-------+
    // | 01 | 00 03 | 09 | a b c |  --->  | 09 | a b c |
    // +----+-------+----+-------+        +----+-------+
    //  HDR1  length HDR2  payload
    // The length counts the payload only; HDR2 follows the field: lengthAdjustment +1.
    const codec = new LengthPrefixedCodec({
      lengthFieldOffset: 1,
      lengthFieldLength: 2,
      lengthAdjustment: 1,
      initialBytesToStrip: 3,
    });
    assert.deepEqual(decodeDirect(codec, hex('01 0003 09 616263')).frames, [hex('09 616263')]);
    // HDR1 is dropped by the decoder, so a decoded frame cannot be encoded back.
    assert.throws(() => codec.encode(hex('09 616263'), Buffer.alloc(64), 0), EncodeError);
  });

  test('same, but the length counts the whole frame', () => {
    // +----+-------+----+-------+        +----+-------+
    // | 01 | 00 07 | 09 | a b c |  --->  | 09 | a b c |      7 = 1 + 2 + 1 + 3
    // +----+-------+----+-------+        +----+-------+
    const codec = new LengthPrefixedCodec({
      lengthFieldOffset: 1,
      lengthFieldLength: 2,
      lengthIncludesHeader: true,
      lengthAdjustment: 0,
      initialBytesToStrip: 3,
    });
    assert.deepEqual(decodeDirect(codec, hex('01 0007 09 616263')).frames, [hex('09 616263')]);
  });

  test('little-endian fields of 2, 3, 4 and 8 bytes', () => {
    // 2-byte, 'little', length 258:  | 02 01 | 258 bytes |
    for (const [field, header] of [
      [2, '0201'],
      [3, '020100'],
      [4, '02010000'],
      [8, '0201000000000000'],
    ] as const) {
      const codec = new LengthPrefixedCodec({ lengthFieldLength: field, byteOrder: 'little' });
      const payload = body(258);
      const wire = Buffer.concat([hex(header), payload]);
      assert.deepEqual(decodeDirect(codec, wire).frames, [payload], `field ${field}`);
      assert.deepEqual(encodeDirect(codec, payload), wire, `field ${field}`);
    }
  });

  test('big-endian fields of 1, 2, 3, 4 and 8 bytes, with the top bit set', () => {
    // 4-byte value 0x80000001 must read as 2147483649, not as a negative 32-bit number; the
    // 8-byte value 0x00000001_00000001 must read both halves.
    for (const field of [1, 2, 3, 4, 8] as const) {
      const layout = layoutOf({ lengthFieldLength: field });
      const value = field === 8 ? 0x1_0000_0001n : (1n << BigInt(8 * field - 1)) + 1n;
      const header = fieldBytes(layout, value);
      const codec = new LengthPrefixedCodec({
        lengthFieldLength: field,
        maxFrameLength: 2 ** 32,
      });
      if (field <= 2) {
        const payload = body(Number(value));
        const wire = Buffer.concat([header, payload]);
        assert.deepEqual(decodeDirect(codec, wire).frames, [payload]);
      } else {
        // Too big to build: the header alone says how much is still to come.
        if (field !== 8) {
          assert.equal(
            codec.decode(Buffer.concat([header, body(10)]), 0, field + 10),
            IncompleteFrame,
          );
        }
        const small = new LengthPrefixedCodec({ lengthFieldLength: field, maxFrameLength: 1000 });
        assert.throws(
          () => small.decode(header, 0, header.length),
          (error: unknown) =>
            error instanceof DecodeError &&
            error.code === 'MAI_FRAME_TOO_LONG' &&
            (error as FrameTooLongError).length === Number(value) + field,
        );
      }
    }
  });

  test('varint lengths: 1, 2 and 3 bytes, low group first', () => {
    //   0 -> | 00 |                      127 -> | 7f |
    // 128 -> | 80 01 |                   300 -> | ac 02 |
    // 16384 -> | 80 80 01 |
    const codec = new LengthPrefixedCodec({ lengthFieldLength: 'varint' });
    for (const [n, header] of [
      [0, '00'],
      [127, '7f'],
      [128, '8001'],
      [300, 'ac02'],
      [16383, 'ff7f'],
      [16384, '808001'],
    ] as const) {
      const payload = body(n);
      const wire = Buffer.concat([hex(header), payload]);
      assert.deepEqual(decodeDirect(codec, wire).frames, [payload], `length ${n}`);
      assert.deepEqual(encodeDirect(codec, payload), wire, `length ${n}`);
    }
  });

  test('varint that counts itself picks the width that fits its own value', () => {
    // 126 payload bytes + 1 header byte = 127: fits one byte    -> | 7f | 126 bytes |
    // 127 payload bytes + 1 = 128 needs two bytes, so 129        -> | 81 01 | 127 bytes |
    const codec = new LengthPrefixedCodec({
      lengthFieldLength: 'varint',
      lengthIncludesHeader: true,
    });
    for (const [n, header] of [
      [126, '7f'],
      [127, '8101'],
      [0, '01'],
    ] as const) {
      const payload = body(n);
      const wire = Buffer.concat([hex(header), payload]);
      assert.deepEqual(encodeDirect(codec, payload), wire, `payload ${n}`);
      assert.deepEqual(decodeDirect(codec, wire).frames, [payload], `payload ${n}`);
    }
  });
});

// ---- Decoding details ---------------------------------------------------------------------------

describe('LengthPrefixedCodec: decode', () => {
  test('frames are copies: overwriting the input afterwards leaves them intact', () => {
    const codec = new LengthPrefixedCodec({ lengthFieldLength: 1 });
    const bytes = hex('03 616263 00');
    const result = codec.decode(bytes, 0, bytes.length);
    assert.notEqual(result, IncompleteFrame);
    const frame = (result as Decoded<Buffer>).frame;
    bytes.fill(0xcc);
    assert.deepEqual(frame, Buffer.from('abc'));
  });

  test('reads from start, stops at end, and reuses one result object', () => {
    const codec = new LengthPrefixedCodec({ lengthFieldLength: 2 });
    // Junk around the frame must not be read.
    const bytes = hex('ff ff 0002 6869 0001 21 ff');
    const first = codec.decode(bytes, 2, 9);
    assert.notEqual(first, IncompleteFrame);
    assert.deepEqual((first as Decoded<Buffer>).frame, Buffer.from('hi'));
    assert.equal((first as Decoded<Buffer>).bytesRead, 4);
    const second = codec.decode(bytes, 6, 9);
    assert.equal(second, first, 'the same Decoded object, overwritten');
    assert.deepEqual((second as Decoded<Buffer>).frame, Buffer.from('!'));
    // One byte short of the second frame (end excludes it).
    assert.equal(codec.decode(bytes, 6, 8), IncompleteFrame);
  });

  test('an empty payload is a frame', () => {
    const codec = new LengthPrefixedCodec();
    const result = codec.decode(hex('00000000'), 0, 4);
    assert.notEqual(result, IncompleteFrame);
    assert.equal((result as Decoded<Buffer>).frame.length, 0);
    assert.equal((result as Decoded<Buffer>).bytesRead, 4);
  });

  test('maxFrameLength is clamped to what the field can describe', () => {
    const cases: Array<[LengthPrefixedOptions, number]> = [
      [{ lengthFieldLength: 1 }, 1 + 255],
      [{ lengthFieldLength: 2 }, 2 + 65_535],
      [{ lengthFieldLength: 2, lengthIncludesHeader: true }, 65_535],
      [{ lengthFieldLength: 2, lengthAdjustment: 10 }, 2 + 65_535 + 10],
      [{ lengthFieldLength: 1, lengthFieldOffset: 3, maxFrameLength: 100 }, 100],
      [{ lengthFieldLength: 3 }, 16 * 1024 * 1024],
      [{ lengthFieldLength: 'varint' }, 16 * 1024 * 1024],
    ];
    for (const [options, max] of cases) {
      assert.equal(new LengthPrefixedCodec(options).maxFrameLength, max, JSON.stringify(options));
    }
  });

  test('invalid options throw InvalidOptionError', () => {
    const bad: unknown[] = [
      { lengthFieldOffset: -1 },
      { lengthFieldOffset: 1.5 },
      { lengthFieldLength: 5 },
      { lengthFieldLength: 0 },
      { byteOrder: 'middle' },
      { lengthAdjustment: 0.5 },
      { initialBytesToStrip: -1 },
      { maxFrameLength: 0 },
      { maxFrameLength: Number.NaN },
      // Every frame is shorter than its header: nothing can be described.
      { lengthFieldLength: 1, lengthAdjustment: -300 },
      { lengthFieldLength: 4, maxFrameLength: 3 },
    ];
    for (const options of bad) {
      assert.throws(
        () => new LengthPrefixedCodec(options as LengthPrefixedOptions),
        InvalidOptionError,
        JSON.stringify(options),
      );
    }
  });
});

// ---- Encoding details ---------------------------------------------------------------------------

describe('LengthPrefixedCodec: encode', () => {
  test('returns InsufficientBuffer when one byte short, and writes from start', () => {
    const codec = new LengthPrefixedCodec({ lengthFieldLength: 2 });
    const payload = Buffer.from('hello');
    assert.equal(codec.encode(payload, Buffer.alloc(6), 0), InsufficientBuffer);
    assert.equal(codec.encode(payload, Buffer.alloc(10), 4), InsufficientBuffer);
    const out = Buffer.alloc(11, 0xee);
    assert.equal(codec.encode(payload, out, 4), 7);
    assert.deepEqual(out, hex('eeeeeeee 0005 68656c6c6f'));
  });

  test('accepts a Uint8Array payload', () => {
    const codec = new LengthPrefixedCodec({ lengthFieldLength: 1 });
    assert.deepEqual(encodeDirect(codec, new Uint8Array([1, 2, 3])), hex('03 010203'));
  });

  test('refuses frames the field cannot hold, or above maxFrameLength, with EncodeError', () => {
    const one = new LengthPrefixedCodec({ lengthFieldLength: 1 });
    assert.equal(encodeDirect(one, body(255)).length, 256);
    assert.throws(() => one.encode(body(256), Buffer.alloc(1000), 0), EncodeError);

    const capped = new LengthPrefixedCodec({ lengthFieldLength: 4, maxFrameLength: 104 });
    assert.equal(encodeDirect(capped, body(100)).length, 104);
    assert.throws(
      () => capped.encode(body(101), Buffer.alloc(1000), 0),
      (error: unknown) =>
        error instanceof EncodeError &&
        error.code === 'MAI_ENCODE_FAILED' &&
        /105/.test(error.message) &&
        /104/.test(error.message),
    );

    // A payload shorter than the adjustment would need a negative length.
    const adjusted = new LengthPrefixedCodec({ lengthFieldLength: 2, lengthAdjustment: 2 });
    assert.deepEqual(encodeDirect(adjusted, hex('aabb')), hex('0000 aabb'));
    assert.throws(() => adjusted.encode(hex('aa'), Buffer.alloc(100), 0), EncodeError);
  });

  test('the throw comes before the room check: no retry can help an unrepresentable frame', () => {
    const one = new LengthPrefixedCodec({ lengthFieldLength: 1 });
    assert.throws(() => one.encode(body(300), Buffer.alloc(1), 0), EncodeError);
  });
});

// ---- Limits and hostile headers (C1, C2, C5) ----------------------------------------------------

describe('LengthPrefixedCodec: limits (C1)', () => {
  const layouts: Array<[string, LengthPrefixedOptions]> = [
    ['1-byte', { lengthFieldLength: 1, maxFrameLength: 100 }],
    ['2-byte little-endian', { lengthFieldLength: 2, byteOrder: 'little', maxFrameLength: 1000 }],
    [
      '3-byte, counts header',
      { lengthFieldLength: 3, lengthIncludesHeader: true, maxFrameLength: 5000 },
    ],
    [
      '4-byte, offset 2',
      {
        lengthFieldOffset: 2,
        lengthFieldLength: 4,
        initialBytesToStrip: 0,
        maxFrameLength: 70_000,
      },
    ],
    ['8-byte', { lengthFieldLength: 8, maxFrameLength: 300 }],
    ['varint', { lengthFieldLength: 'varint', maxFrameLength: 200 }],
    [
      'varint, counts header',
      { lengthFieldLength: 'varint', lengthIncludesHeader: true, maxFrameLength: 20_000 },
    ],
  ];
  for (const [name, options] of layouts) {
    test(`${name}: exactly maxFrameLength decodes; one more fails from the header alone`, () => {
      const layout = layoutOf(options);
      const max = new LengthPrefixedCodec(options).maxFrameLength;
      const atMax = wireOfTotal(layout, max);
      const overMax = wireOfTotal(layout, max + 1);

      const whole = decodeDirect(new LengthPrefixedCodec(options), atMax.bytes);
      assert.deepEqual(whole, { frames: [atMax.frame], rest: 0 });
      const bytewise = decodeChunks(new LengthPrefixedCodec(options), fragmentsOf(atMax.bytes));
      assert.equal(bytewise.error, undefined);
      assert.deepEqual(bytewise.frames, [atMax.frame]);

      // Over the limit: the error carries the length and the limit, and comes with the header.
      const fed = decodeChunks(new LengthPrefixedCodec(options), fragmentsOf(overMax.bytes));
      assert.ok(fed.error instanceof FrameTooLongError, String(fed.error));
      assert.equal(fed.error.limit, max);
      assert.equal(fed.error.length, max + 1);
      assert.ok(fed.errorAfterBytes <= overMax.header, `error after ${fed.errorAfterBytes} bytes`);
      assert.throws(
        () => new LengthPrefixedCodec(options).decode(overMax.bytes, 0, overMax.bytes.length),
        FrameTooLongError,
      );
    });
  }

  test('the default limit: a 16 MiB frame decodes, a header declaring one byte more fails', () => {
    const max = 16 * 1024 * 1024;
    const wire = Buffer.alloc(max);
    wire.writeUInt32BE(max - 4);
    const result = new LengthPrefixedCodec().decode(wire, 0, wire.length);
    assert.notEqual(result, IncompleteFrame);
    assert.equal((result as Decoded<Buffer>).frame.length, max - 4);
    assert.throws(
      () => new LengthPrefixedCodec().decode(hex('00fffffd'), 0, 4),
      (error: unknown) =>
        error instanceof FrameTooLongError && error.length === max + 1 && error.limit === max,
    );
  });
});

describe('LengthPrefixedCodec: a header declaring 2 GiB (C2)', () => {
  test('fails with only the 4 header bytes, whether they come whole or byte by byte', () => {
    const header = hex('80000000');
    assert.throws(
      () => new LengthPrefixedCodec().decode(header, 0, 4),
      (error: unknown) => error instanceof FrameTooLongError && error.length === 2 ** 31 + 4,
    );
    const fed = decodeChunks(new LengthPrefixedCodec(), fragmentsOf(header));
    assert.equal(fed.error?.code, 'MAI_FRAME_TOO_LONG');
    assert.equal(fed.errorAfterBytes, 4);
  });

  test('10,000 codecs fed such a header allocate nothing from the declared length', () => {
    // With a limit high enough to accept 2 GiB, the codec must wait for the bytes rather than
    // reserve room for them: the declared size may only be allocated once it has arrived.
    const header = hex('80000000 0102030405060708');
    const codecs: LengthPrefixedCodec[] = [];
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 10_000; i++) {
      const trusting = new LengthPrefixedCodec({ maxFrameLength: 2 ** 32 });
      assert.equal(trusting.decode(header, 0, header.length), IncompleteFrame);
      codecs.push(trusting);
      assert.throws(() => new LengthPrefixedCodec().decode(header, 0, 4), FrameTooLongError);
    }
    const grown = process.memoryUsage().arrayBuffers - before;
    assert.equal(codecs.length, 10_000);
    assert.ok(grown <= 64 * 1024, `array buffers grew by ${grown} bytes`);
  });
});

describe('LengthPrefixedCodec: malformed lengths (C5)', () => {
  const corrupt = (options: LengthPrefixedOptions, bytes: string, code: string): void => {
    const input = hex(bytes);
    for (const chunks of [[input], fragmentsOf(input)]) {
      const result = decodeChunks(new LengthPrefixedCodec(options), chunks);
      assert.equal(result.error?.code, code, `${JSON.stringify(options)} ${bytes}`);
      assert.deepEqual(result.frames, []);
    }
  };

  test('a negative length after adjustment is a corrupt frame', () => {
    corrupt({ lengthFieldLength: 2, lengthAdjustment: -4 }, '0003', 'MAI_CORRUPT_FRAME');
    corrupt({ lengthFieldLength: 2, lengthIncludesHeader: true }, '0001', 'MAI_CORRUPT_FRAME');
    corrupt({ lengthFieldLength: 2, lengthIncludesHeader: true }, '0000', 'MAI_CORRUPT_FRAME');
    corrupt(
      { lengthFieldOffset: 1, lengthFieldLength: 1, lengthIncludesHeader: true },
      'aa 01',
      'MAI_CORRUPT_FRAME',
    );
    // Just enough (the frame is its header): an empty frame, not an error.
    const ok = decodeChunks(
      new LengthPrefixedCodec({ lengthFieldLength: 2, lengthIncludesHeader: true }),
      [hex('0002')],
    );
    assert.equal(ok.error, undefined);
    assert.deepEqual(ok.frames, [Buffer.alloc(0)]);
  });

  test('a frame shorter than initialBytesToStrip is a corrupt frame', () => {
    corrupt(
      { lengthFieldLength: 1, lengthIncludesHeader: true, initialBytesToStrip: 4 },
      '03 aabb',
      'MAI_CORRUPT_FRAME',
    );
  });

  test('8-byte lengths above 2^53 - 1 are too long, with the exact value in the message', () => {
    for (const value of ['0020000000000000', 'ffffffffffffffff', '8000000000000000']) {
      corrupt({ lengthFieldLength: 8, maxFrameLength: 2 ** 32 }, value, 'MAI_FRAME_TOO_LONG');
    }
    assert.throws(
      () => new LengthPrefixedCodec({ lengthFieldLength: 8 }).decode(hex('ffffffffffffffff'), 0, 8),
      /18446744073709551615/,
    );
    corrupt(
      { lengthFieldLength: 8, byteOrder: 'little' },
      '0000000000000080',
      'MAI_FRAME_TOO_LONG',
    );
  });

  test('varints: not minimal is corrupt; too long fails before the tenth byte', () => {
    corrupt({ lengthFieldLength: 'varint' }, '8000', 'MAI_CORRUPT_FRAME');
    corrupt({ lengthFieldLength: 'varint' }, 'ff8000', 'MAI_CORRUPT_FRAME');
    // Ten or more continuation bytes: a peer padding forever. The limit (16 MiB) cannot be met
    // once four groups are seen, so the error comes with the fourth byte.
    const padding = Buffer.alloc(12, 0x80);
    const fed = decodeChunks(
      new LengthPrefixedCodec({ lengthFieldLength: 'varint' }),
      fragmentsOf(padding),
    );
    assert.equal(fed.error?.code, 'MAI_FRAME_TOO_LONG');
    assert.equal(fed.errorAfterBytes, 4);
    // With the highest limit Node allows, still well before ten bytes.
    const high = decodeChunks(
      new LengthPrefixedCodec({
        lengthFieldLength: 'varint',
        maxFrameLength: Number.MAX_SAFE_INTEGER,
      }),
      fragmentsOf(padding),
    );
    assert.equal(high.error?.code, 'MAI_FRAME_TOO_LONG');
    assert.ok(high.errorAfterBytes <= 8, `after ${high.errorAfterBytes} bytes`);
    // A complete 9-byte varint holding 2^56 is beyond any length mai handles.
    corrupt(
      { lengthFieldLength: 'varint', maxFrameLength: 2 ** 32 },
      '808080808080808001',
      'MAI_FRAME_TOO_LONG',
    );
  });

  test('random bytes never crash the decoder: frames, or a typed error', () => {
    const configs: LengthPrefixedOptions[] = [
      { lengthFieldLength: 1, lengthAdjustment: -3, lengthIncludesHeader: true },
      { lengthFieldLength: 2, lengthFieldOffset: 1, initialBytesToStrip: 2, maxFrameLength: 600 },
      { lengthFieldLength: 'varint', lengthAdjustment: -2, maxFrameLength: 300 },
      { lengthFieldLength: 8, byteOrder: 'little', maxFrameLength: 300 },
    ];
    const seed = Date.now() & 0x7fffffff;
    try {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: configs.length - 1 }),
          fc.uint8Array({ maxLength: 64 }),
          (i, bytes) => {
            const options = configs[i] as LengthPrefixedOptions;
            const result = decodeChunks(new LengthPrefixedCodec(options), [bytes], { eof: true });
            const code = result.error?.code;
            assert.ok(
              code === undefined ||
                code === 'MAI_CORRUPT_FRAME' ||
                code === 'MAI_FRAME_TOO_LONG' ||
                code === 'MAI_TRUNCATED_FRAME',
              `${code}: ${result.error?.message}`,
            );
          },
        ),
        { seed, numRuns: 5000 },
      );
    } catch (error) {
      throw new Error(`seed ${seed}: ${(error as Error).message}`, { cause: error });
    }
  });
});

function fragmentsOf(bytes: Buffer): Buffer[] {
  return Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
}

// ---- The shared conformance suite (B1–B4, C1) ---------------------------------------------------

/** Round-trip runs per layout: the B2 figure (20,000 in a PR, 5,000,000 long). */
const ROUND_TRIP_RUNS = PROPERTY_RUNS;

interface Suite {
  name: string;
  options: LengthPrefixedOptions;
  /** Extra hostile cases: bytes, and the error they give. */
  hostile?: Array<{ name: string; bytes: string; error: string }>;
  /** Whether encode can rebuild wire frames (false: every encode must throw EncodeError). */
  encodes?: boolean;
}

const SUITES: Suite[] = [
  {
    name: '4-byte big-endian (defaults)',
    options: {},
    hostile: [{ name: 'declares 2 GiB', bytes: '80000000', error: 'MAI_FRAME_TOO_LONG' }],
  },
  {
    // Frames are views, overwritten with the canary as soon as each is delivered: the kit's
    // copies must still match, chunked every way.
    name: '4-byte big-endian, borrowed frames',
    options: { borrow: true },
    hostile: [{ name: 'declares 2 GiB', bytes: '80000000', error: 'MAI_FRAME_TOO_LONG' }],
  },
  {
    name: '1-byte, max 100',
    options: { lengthFieldLength: 1, maxFrameLength: 100 },
    hostile: [
      { name: 'declares 100 (101 with the header)', bytes: '64', error: 'MAI_FRAME_TOO_LONG' },
    ],
  },
  {
    name: '2-byte little-endian, counts header',
    options: { lengthFieldLength: 2, byteOrder: 'little', lengthIncludesHeader: true },
    hostile: [{ name: 'shorter than its header', bytes: '0100', error: 'MAI_CORRUPT_FRAME' }],
  },
  {
    name: '3-byte, adjustment +2, max 500',
    options: { lengthFieldLength: 3, lengthAdjustment: 2, maxFrameLength: 500 },
    hostile: [{ name: 'declares 496 (+2 +3 = 501)', bytes: '0001f0', error: 'MAI_FRAME_TOO_LONG' }],
  },
  {
    name: '2-byte, adjustment -2',
    options: { lengthFieldLength: 2, lengthAdjustment: -2 },
    hostile: [{ name: 'negative after adjustment', bytes: '0001', error: 'MAI_CORRUPT_FRAME' }],
  },
  {
    name: '8-byte little-endian, max 1000',
    options: { lengthFieldLength: 8, byteOrder: 'little', maxFrameLength: 1000 },
    hostile: [
      { name: 'above 2^53', bytes: '0000000000000001', error: 'MAI_FRAME_TOO_LONG' },
      { name: 'declares 993', bytes: 'e103000000000000', error: 'MAI_FRAME_TOO_LONG' },
    ],
  },
  {
    name: 'varint',
    options: { lengthFieldLength: 'varint' },
    hostile: [
      { name: 'not minimal', bytes: '8000', error: 'MAI_CORRUPT_FRAME' },
      { name: 'endless continuation', bytes: '80808080', error: 'MAI_FRAME_TOO_LONG' },
    ],
  },
  {
    name: 'varint, counts header, max 300',
    options: { lengthFieldLength: 'varint', lengthIncludesHeader: true, maxFrameLength: 300 },
    hostile: [
      { name: 'shorter than its header', bytes: '00', error: 'MAI_CORRUPT_FRAME' },
      { name: 'declares 301', bytes: 'ad02', error: 'MAI_FRAME_TOO_LONG' },
      { name: 'a third varint byte cannot fit', bytes: '8080', error: 'MAI_FRAME_TOO_LONG' },
    ],
  },
  {
    name: 'prefix of 2, 2-byte, whole frames kept',
    options: { lengthFieldOffset: 2, lengthFieldLength: 2, initialBytesToStrip: 0 },
  },
  {
    name: 'prefix of 1, 2-byte, adjustment +1, strip 3 (decode only)',
    options: {
      lengthFieldOffset: 1,
      lengthFieldLength: 2,
      lengthAdjustment: 1,
      initialBytesToStrip: 3,
    },
    encodes: false,
  },
];

describe('LengthPrefixedCodec: conformance suite', () => {
  for (const suite of SUITES) {
    test(suite.name, async (t) => {
      const layout = layoutOf(suite.options);
      const max = new LengthPrefixedCodec(suite.options).maxFrameLength;
      const bodies = [body(0), body(1, 2), body(5, 3), body(130, 4), body(300, 5)];
      const wires = bodies
        .map((b) => wireFor(layout, b))
        .filter((w): w is Wire => w !== undefined && w.bytes.length <= max);
      assert.ok(wires.length >= 3, 'enough representable frames');
      const first = wires[0] as Wire;
      const last = wires[wires.length - 1] as Wire;

      const cases: Array<ConformanceCase<Buffer>> = [
        ...wires.map((w) => ({
          name: `${w.bytes.length}-byte frame`,
          bytes: w.bytes,
          frames: [w.frame],
        })),
        {
          name: 'every frame, back to back',
          bytes: Buffer.concat(wires.map((w) => w.bytes)),
          frames: wires.map((w) => w.frame),
        },
        {
          name: 'a frame, then one cut in its header',
          bytes: Buffer.concat([first.bytes, last.bytes.subarray(0, layout.offset + 1)]),
          frames: [first.frame],
          eof: { error: 'MAI_TRUNCATED_FRAME' },
        },
        {
          name: 'a frame, then one cut in its payload',
          bytes: Buffer.concat([first.bytes, last.bytes.subarray(0, last.bytes.length - 1)]),
          frames: [first.frame],
          eof: { error: 'MAI_TRUNCATED_FRAME' },
        },
        ...(suite.hostile ?? []).map((h) => ({
          name: `a frame, then a header that ${h.name}`,
          bytes: Buffer.concat([first.bytes, hex(h.bytes)]),
          frames: [first.frame],
          error: h.error,
        })),
      ];

      const limits: ConformanceLimit[] = [];
      // Only where the field can declare one byte more than the limit (not when the limit is
      // what the field can describe) and where byte-by-byte decoding stays quick.
      if (max <= 100_000) {
        const atMax = wireOfTotal(layout, max);
        let overMax: Wire | undefined;
        try {
          overMax = wireOfTotal(layout, max + 1);
        } catch {
          overMax = undefined;
        }
        if (overMax !== undefined) {
          limits.push({
            name: `maxFrameLength ${max}`,
            atMax: atMax.bytes,
            overMax: overMax.bytes,
          });
        }
      }

      // Mostly short payloads, and a quarter from 0 to 400 bytes spread evenly (fast-check keeps
      // arrays under ~10 elements unless told otherwise), so payloads cross 127 (a 2-byte
      // varint), 255 (a 1-byte field) and the small limits above, where encode must refuse.
      const payloads = fc
        .oneof(
          { weight: 3, arbitrary: fc.uint8Array({ maxLength: 400 }) },
          { weight: 1, arbitrary: fc.uint8Array({ maxLength: 400, size: 'max' }) },
        )
        .map((a) => Buffer.from(a));
      const wholeFrames = fc.oneof(
        { weight: 4, arbitrary: payloads.map((b) => wireFor(layout, b)?.bytes ?? b) },
        { weight: 1, arbitrary: payloads },
      );
      const started = performance.now();
      await assertCodecConformance<Buffer, Buffer | Uint8Array>({
        name: `LengthPrefixedCodec ${suite.name}`,
        codec: () => new LengthPrefixedCodec(suite.options),
        cases,
        limits,
        roundTrip: {
          arbitrary: layout.strip === 0 ? wholeFrames : payloads,
          expected: (out) => Buffer.from(out),
          runs: ROUND_TRIP_RUNS,
        },
      });
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      t.diagnostic(`conformance with ${ROUND_TRIP_RUNS} round-trip runs took ${seconds} s`);

      if (suite.encodes === false) {
        assert.throws(
          () => new LengthPrefixedCodec(suite.options).encode(first.frame, Buffer.alloc(1000), 0),
          EncodeError,
        );
      }
    });
  }
});
