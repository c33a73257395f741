import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  type Codec,
  DecodeError,
  type DecodeResult,
  type EncodeResult,
  EncodeError,
  FrameTooLongError,
  IncompleteFrame,
  InsufficientBuffer,
} from '../../src/index.js';
import {
  assertCodecConformance,
  type CodecConformanceSpec,
  decodeChunks,
  encodeFrames,
  framesEqual,
} from '../../src/testing/index.js';
import { U32Codec } from '../support/codecs.js';

/**
 * A correct little line codec: '\n'-terminated latin1 lines, at most `max` bytes before the
 * '\n', no last-line-at-EOF policy (leftover is a truncated frame). Each broken codec below
 * overrides one method with one classic mistake.
 */
class GoodLines implements Codec<string> {
  readonly max: number;
  constructor(max = 16) {
    this.max = max;
  }
  decode(bytes: Buffer, start: number, end: number): DecodeResult<string> {
    const newline = bytes.indexOf(0x0a, start);
    if (newline === -1 || newline >= end) {
      if (end - start > this.max) throw new FrameTooLongError(end - start, this.max, 'line');
      return IncompleteFrame;
    }
    if (newline - start > this.max) {
      throw new FrameTooLongError(newline - start, this.max, 'line');
    }
    return { frame: bytes.toString('latin1', start, newline), bytesRead: newline + 1 - start };
  }
  encode(line: string, buffer: Buffer, start: number): EncodeResult {
    if (line.includes('\n') || line.length > this.max) throw new EncodeError('not a line');
    if (buffer.length - start < line.length + 1) return InsufficientBuffer;
    buffer.write(line, start, 'latin1');
    buffer[start + line.length] = 0x0a;
    return line.length + 1;
  }
}

const line = fc.string({ maxLength: 20, unit: fc.constantFrom('a', 'b', '\n', 'é') });

function spec(codec: () => Codec<string>): CodecConformanceSpec<string> {
  return {
    name: 'lines under test',
    codec,
    runs: 50,
    cases: [
      { name: 'two lines', bytes: Buffer.from('ab\n\ncd\n'), frames: ['ab', '', 'cd'] },
      {
        name: 'unterminated',
        bytes: Buffer.from('ab\ncd'),
        frames: ['ab'],
        eof: { error: 'MAI_TRUNCATED_FRAME' },
      },
      {
        name: 'too long',
        bytes: Buffer.from('x\n01234567890123456'),
        frames: ['x'],
        error: 'MAI_FRAME_TOO_LONG',
      },
    ],
    limits: [
      {
        name: 'line',
        atMax: Buffer.from('0123456789abcdef\n'),
        overMax: Buffer.from('0123456789abcdefg\n'),
      },
    ],
    roundTrip: { arbitrary: line, runs: 300 },
  };
}

describe('assertCodecConformance', () => {
  test('accepts a correct codec', async () => {
    await assertCodecConformance(spec(() => new GoodLines()));
  });

  test('accepts the support U32 codec with a round trip over Buffers', async () => {
    const frame = (payload: string): Buffer => {
      const out = Buffer.alloc(4 + payload.length);
      out.writeUInt32BE(payload.length);
      out.write(payload, 4, 'latin1');
      return out;
    };
    await assertCodecConformance<Buffer>({
      name: 'u32',
      codec: () => new U32Codec(8),
      runs: 50,
      cases: [
        {
          name: 'two',
          bytes: Buffer.concat([frame('abc'), frame('')]),
          frames: [Buffer.from('abc'), Buffer.alloc(0)],
        },
        {
          name: 'declared too long',
          bytes: frame('123456789'),
          frames: [],
          error: 'MAI_FRAME_TOO_LONG',
        },
        {
          name: 'header only',
          bytes: frame('ab').subarray(0, 5),
          frames: [],
          eof: { error: 'MAI_TRUNCATED_FRAME' },
        },
      ],
      limits: [{ name: 'payload', atMax: frame('12345678'), overMax: frame('123456789') }],
      roundTrip: {
        arbitrary: fc.uint8Array({ maxLength: 12 }).map((a) => Buffer.from(a)),
        runs: 300,
      },
    }).then(
      () =>
        assert.fail('U32Codec(8) cannot encode 12 bytes and says so only through maxFrameLength'),
      (error: unknown) => {
        // U32Codec encodes frames above its own decode limit: the round trip must catch that.
        assert.ok(error instanceof assert.AssertionError, String(error));
        assert.match(error.message, /round trip/);
      },
    );
  });

  const broken: Array<[string, () => Codec<string>, RegExp]> = [
    [
      'returns a frame with bytesRead 0',
      () =>
        new (class extends GoodLines {
          override decode(bytes: Buffer, start: number, end: number): DecodeResult<string> {
            const result = super.decode(bytes, start, end);
            if (result !== IncompleteFrame && result.frame === '')
              return { frame: '', bytesRead: 0 };
            return result;
          }
        })(),
      /MAI_CODEC_CONTRACT.*bytesRead 0/,
    ],
    [
      'claims more bytes than it was given',
      () =>
        new (class extends GoodLines {
          override decode(bytes: Buffer, start: number, end: number): DecodeResult<string> {
            const result = super.decode(bytes, start, end);
            if (result !== IncompleteFrame && result.bytesRead === end - start) {
              return { frame: result.frame, bytesRead: end - start + 1 };
            }
            return result;
          }
        })(),
      /MAI_CODEC_CONTRACT/,
    ],
    [
      'loses a byte at a chunk boundary (resumes its scan one byte too far)',
      () =>
        new (class extends GoodLines {
          #scanned = 0;
          override decode(bytes: Buffer, start: number, end: number): DecodeResult<string> {
            // The bug: resuming at `scanned + 1` skips the first new byte.
            const from = this.#scanned === 0 ? start : start + this.#scanned + 1;
            const newline = bytes.indexOf(0x0a, from);
            if (newline === -1 || newline >= end) {
              this.#scanned = end - start;
              return IncompleteFrame;
            }
            this.#scanned = 0;
            return {
              frame: bytes.toString('latin1', start, newline),
              bytesRead: newline + 1 - start,
            };
          }
        })(),
      /expected frames/,
    ],
    [
      'delivers a last frame at end of stream where truncation is documented',
      () =>
        new (class extends GoodLines {
          decodeEof(bytes: Buffer, start: number, end: number): DecodeResult<string> {
            return { frame: bytes.toString('latin1', start, end), bytesRead: end - start };
          }
        })(),
      /end of stream after 5 bytes \(all of them\)/,
    ],
    [
      'decodeEof depends on how the bytes were chunked',
      () =>
        new (class extends GoodLines {
          #calls = 0;
          override decode(bytes: Buffer, start: number, end: number): DecodeResult<string> {
            this.#calls++;
            return super.decode(bytes, start, end);
          }
          decodeEof(_bytes: Buffer, _start: number, _end: number): DecodeResult<string> {
            if (this.#calls > 1) throw new DecodeError('confused');
            return IncompleteFrame;
          }
        })(),
      /end of stream after \d+ bytes/,
    ],
    [
      'ignores `start` and reads from offset 0',
      () =>
        new (class extends GoodLines {
          override decode(bytes: Buffer, start: number, end: number): DecodeResult<string> {
            const newline = bytes.indexOf(0x0a, start);
            if (newline === -1 || newline >= end) return IncompleteFrame;
            return {
              frame: bytes.toString('latin1', 0, newline - start),
              bytesRead: newline + 1 - start,
            };
          }
        })(),
      /expected frames/,
    ],
    [
      'throws a TypeError on some input',
      () =>
        new (class extends GoodLines {
          override decode(bytes: Buffer, start: number, end: number): DecodeResult<string> {
            if (end - start === 1 && bytes[start] === 0x63) throw new TypeError('oops');
            return super.decode(bytes, start, end);
          }
        })(),
      /MAI_CODEC_THREW/,
    ],
    [
      'lets a line past the limit through',
      () =>
        new (class extends GoodLines {
          constructor() {
            super(17);
          }
        })(),
      /limit 'line'|case 'too long'/,
    ],
  ];

  broken.push([
    'reports a too-long line without its length and limit',
    () =>
      new (class extends GoodLines {
        override decode(bytes: Buffer, start: number, end: number): DecodeResult<string> {
          try {
            return super.decode(bytes, start, end);
          } catch (error) {
            if (error instanceof FrameTooLongError) {
              throw new DecodeError('too long', { code: 'MAI_FRAME_TOO_LONG' });
            }
            throw error;
          }
        }
      })(),
    /must be a FrameTooLongError/,
  ]);

  for (const [name, codec, message] of broken) {
    test(`rejects a codec that ${name}`, async () => {
      await assert.rejects(assertCodecConformance(spec(codec)), (error: unknown) => {
        assert.ok(
          error instanceof assert.AssertionError,
          `not an AssertionError: ${String(error)}`,
        );
        assert.match(error.message, message);
        assert.match(error.message, /seed/);
        return true;
      });
    });
  }

  test('rejects a codec that keeps a view of the input instead of copying', async () => {
    const viewing = (): Codec<Buffer> => ({
      decode(bytes, start, end) {
        const newline = bytes.indexOf(0x0a, start);
        if (newline === -1 || newline >= end) return IncompleteFrame;
        return { frame: bytes.subarray(start, newline), bytesRead: newline + 1 - start };
      },
      encode: () => 0,
    });
    await assert.rejects(
      assertCodecConformance<Buffer>({
        name: 'viewing',
        codec: viewing,
        runs: 10,
        cases: [
          {
            name: 'two lines',
            bytes: Buffer.from('ab\ncd\n'),
            frames: [Buffer.from('ab'), Buffer.from('cd')],
          },
        ],
      }),
      /expected frames/,
    );
  });

  test('rejects an encoder that throws an untyped error', async () => {
    const codec = () =>
      new (class extends GoodLines {
        override encode(frame: string, buffer: Buffer, start: number): EncodeResult {
          if (frame.includes('\n')) throw new RangeError('newline');
          return super.encode(frame, buffer, start);
        }
      })();
    await assert.rejects(
      assertCodecConformance(spec(codec)),
      /round trip.*MAI_ENCODE_FAILED|MAI_ENCODE_FAILED/s,
    );
  });

  test('a failure names the seed, and the same seed replays it', async () => {
    const flaky = () =>
      new (class extends GoodLines {
        override decode(bytes: Buffer, start: number, end: number): DecodeResult<string> {
          // Misses the line 'cd' when it is all that is left.
          if (end - start === 3 && bytes[start] === 0x63 && bytes[start + 1] === 0x64) {
            return IncompleteFrame;
          }
          return super.decode(bytes, start, end);
        }
      })();
    const seeds: string[] = [];
    for (let i = 0; i < 2; i++) {
      await assert.rejects(
        assertCodecConformance({ ...spec(flaky), seed: 42 }),
        (error: unknown) => {
          assert.ok(error instanceof Error);
          seeds.push(error.message.match(/seed:? (\d+)/)?.[1] ?? 'none');
          return true;
        },
      );
    }
    assert.deepEqual(seeds, ['42', '42']);
  });
});

describe('decodeChunks', () => {
  test('keeps unconsumed bytes contiguous across chunks', () => {
    const result = decodeChunks(new GoodLines(), [
      Buffer.from('a'),
      Buffer.from('b\nc'),
      Buffer.from('\n'),
    ]);
    assert.deepEqual(result.frames, ['ab', 'c']);
    assert.equal(result.error, undefined);
  });

  test('an empty chunk after kept bytes calls decode again, as the engine does', () => {
    let calls = 0;
    const codec = new (class extends GoodLines {
      override decode(bytes: Buffer, start: number, end: number): DecodeResult<string> {
        calls++;
        return super.decode(bytes, start, end);
      }
    })();
    decodeChunks(codec, [Buffer.from('a'), Buffer.alloc(0)]);
    assert.equal(calls, 2);
  });

  test('kept bytes beyond maxFrameLength fail with MAI_FRAME_TOO_LONG', () => {
    const result = decodeChunks(new GoodLines(1000), [Buffer.from('abcdef')], {
      maxFrameLength: 5,
    });
    assert.equal(result.error?.code, 'MAI_FRAME_TOO_LONG');
  });

  test('leftover at end of stream is MAI_TRUNCATED_FRAME with no decodeEof', () => {
    const result = decodeChunks(new GoodLines(), [Buffer.from('a\nbc')], { eof: true });
    assert.deepEqual(result.frames, ['a']);
    assert.equal(result.error?.code, 'MAI_TRUNCATED_FRAME');
    assert.equal(result.leftover, 2);
  });

  test('a codec that never consumes cannot loop: contract error after one call', () => {
    let calls = 0;
    const codec: Codec<string> = {
      decode: () => {
        calls++;
        return { frame: 'x', bytesRead: 0 };
      },
      encode: () => 0,
    };
    const result = decodeChunks(codec, [Buffer.alloc(100)], { eof: true });
    assert.equal(result.error?.code, 'MAI_CODEC_CONTRACT');
    assert.equal(calls, 1);
  });

  test('a non-MaiError thrown by decode is MAI_CODEC_THREW', () => {
    const codec: Codec<string> = {
      decode: () => {
        throw new Error('bug');
      },
      encode: () => 0,
    };
    assert.equal(decodeChunks(codec, [Buffer.from('a')]).error?.code, 'MAI_CODEC_THREW');
  });
});

describe('encodeFrames', () => {
  test('retries with bigger buffers and packs frames like the engine', () => {
    const sizes: number[] = [];
    const codec = new (class extends GoodLines {
      constructor() {
        super(100);
      }
      override encode(frame: string, buffer: Buffer, start: number): EncodeResult {
        sizes.push(buffer.length - start);
        return super.encode(frame, buffer, start);
      }
    })();
    const bytes = encodeFrames(codec, ['x'.repeat(40), 'y']);
    assert.equal(bytes.toString('latin1'), `${'x'.repeat(40)}\ny\n`);
    assert.deepEqual(sizes.slice(0, 3), [16, 32, 64]);
  });

  test('a frame that never fits in maxFrameLength is MAI_ENCODE_FAILED', () => {
    assert.throws(
      () => encodeFrames(new GoodLines(100), ['z'.repeat(50)], { maxFrameLength: 20 }),
      {
        code: 'MAI_ENCODE_FAILED',
      },
    );
  });

  test('framesEqual compares byte arrays by bytes', () => {
    assert.ok(framesEqual([Buffer.from('ab')], [new Uint8Array([0x61, 0x62])]));
    assert.ok(!framesEqual([Buffer.from('ab')], [Buffer.from('ac')]));
    assert.ok(framesEqual({ a: [1, 'x'] }, { a: [1, 'x'] }));
  });
});
