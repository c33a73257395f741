import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { IncompleteFrame } from '../../src/codec/codec.js';
import { DEFAULT_MAX_LINE_LENGTH, LinesCodec, LineTooLong } from '../../src/codec/lines.js';
import { decodeChunks, encodeFrames, StreamDecoder } from '../../src/testing/index.js';
import { assertCodecConformance } from '../../src/testing/index.js';
import { PROPERTY_RUNS } from '../reliability/profile.js';

const runs = PROPERTY_RUNS;
const b = (text: string): Buffer => Buffer.from(text, 'utf8');
const x = (n: number): string => 'x'.repeat(n);

/** Text with the characters that matter to lines: multi-byte UTF-8, CR, LF, a lone surrogate. */
const text = fc.string({
  unit: fc.constantFrom('a', ' ', 'é', '✓', '🎉', '\r', '\n', '\ud800', '\u0000'),
  maxLength: 6,
});

describe('LinesCodec', () => {
  test('lenient (default): conformance', async () => {
    const started = performance.now();
    await assertCodecConformance<string | LineTooLong, string | Uint8Array>({
      name: 'lines lenient',
      codec: () => new LinesCodec({ maxLineLength: 8 }),
      cases: [
        { name: 'LF lines', bytes: b('a\nbc\n'), frames: ['a', 'bc'] },
        { name: 'CRLF lines', bytes: b('a\r\nbc\r\n'), frames: ['a', 'bc'] },
        { name: 'mixed and empty lines', bytes: b('\n\r\nq\n\r\n'), frames: ['', '', 'q', ''] },
        { name: 'multi-byte UTF-8', bytes: b('hé ✓\n🎉\nñ\n'), frames: ['hé ✓', '🎉', 'ñ'] },
        { name: 'CR inside a line is content', bytes: b('a\rb\n'), frames: ['a\rb'] },
        { name: 'two CRs: one is content', bytes: b('a\r\r\n'), frames: ['a\r'] },
        {
          name: 'unterminated last line',
          bytes: b('a\nbé'),
          frames: ['a'],
          eof: { error: 'MAI_TRUNCATED_FRAME' },
        },
        {
          name: 'lone CR at the end',
          bytes: b('a\r'),
          frames: [],
          eof: { error: 'MAI_TRUNCATED_FRAME' },
        },
        {
          name: 'invalid UTF-8 decodes to U+FFFD',
          bytes: Buffer.from([0x00, 0xff, 0xc3, 0x0a]),
          frames: ['\u0000\ufffd\ufffd'],
        },
        { name: 'exactly max, CRLF', bytes: b(`${x(8)}\r\n`), frames: [x(8)] },
        {
          name: 'too long line after a good one',
          bytes: b(`ok\n${x(12)}\nnever\n`),
          frames: ['ok'],
          error: 'MAI_FRAME_TOO_LONG',
        },
        {
          name: 'garbage without newline (C3)',
          bytes: b(x(9)),
          frames: [],
          error: 'MAI_FRAME_TOO_LONG',
        },
        {
          name: 'max+1 ending in CR is not yet too long',
          bytes: b(`${x(8)}\r`),
          frames: [],
          eof: { error: 'MAI_TRUNCATED_FRAME' },
        },
        {
          name: 'max then CR then junk',
          bytes: b(`${x(8)}\ry`),
          frames: [],
          error: 'MAI_FRAME_TOO_LONG',
        },
      ],
      limits: [
        { name: 'LF line', atMax: b(`${x(8)}\n`), overMax: b(`${x(9)}\n`) },
        { name: 'CRLF line', atMax: b(`${x(8)}\r\n`), overMax: b(`${x(9)}\r\n`) },
        { name: 'multi-byte line', atMax: b('éééé\n'), overMax: b('éééé!\n') },
      ],
      roundTrip: { arbitrary: text, runs },
    });
    console.log(
      `lines lenient conformance: ${(performance.now() - started).toFixed(0)} ms (${runs} runs)`,
    );
  });

  test('strict CRLF: conformance', async () => {
    await assertCodecConformance<string | LineTooLong, string | Uint8Array>({
      name: 'lines crlf',
      codec: () => new LinesCodec({ newline: 'crlf', maxLineLength: 8 }),
      cases: [
        { name: 'CRLF lines', bytes: b('EHLO a\r\n\r\nDATA\r\n'), frames: ['EHLO a', '', 'DATA'] },
        { name: 'CR inside a line is content', bytes: b('a\rb\r\n'), frames: ['a\rb'] },
        { name: 'a line ending in CR', bytes: b('a\r\r\n'), frames: ['a\r'] },
        {
          name: 'bare LF is corrupt',
          bytes: b('ok\r\nbad\n'),
          frames: ['ok'],
          error: 'MAI_CORRUPT_FRAME',
        },
        { name: 'bare LF as a whole line', bytes: b('\n'), frames: [], error: 'MAI_CORRUPT_FRAME' },
        {
          name: 'over-long bare-LF line is too long first',
          bytes: b(`${x(9)}\n`),
          frames: [],
          error: 'MAI_FRAME_TOO_LONG',
        },
        {
          name: 'unterminated',
          bytes: b('ok\r\nha\r'),
          frames: ['ok'],
          eof: { error: 'MAI_TRUNCATED_FRAME' },
        },
      ],
      limits: [{ name: 'CRLF line', atMax: b(`${x(8)}\r\n`), overMax: b(`${x(9)}\r\n`) }],
      roundTrip: { arbitrary: text, runs },
    });
  });

  test('LF only: conformance (CR is content)', async () => {
    await assertCodecConformance<string | LineTooLong, string | Uint8Array>({
      name: 'lines lf',
      codec: () => new LinesCodec({ newline: 'lf', maxLineLength: 8 }),
      cases: [
        { name: 'CRLF keeps the CR', bytes: b('a\r\nb\n'), frames: ['a\r', 'b'] },
        {
          name: 'max+1 with CR is too long',
          bytes: b(`${x(8)}\r\n`),
          frames: [],
          error: 'MAI_FRAME_TOO_LONG',
        },
      ],
      limits: [{ name: 'LF line', atMax: b(`${x(8)}\n`), overMax: b(`${x(9)}\n`) }],
      roundTrip: { arbitrary: text, runs },
    });
  });

  test('Buffer frames, latin1 strings, last line delivered: conformance', async () => {
    for (const borrow of [false, true]) {
      await assertCodecConformance<Buffer | LineTooLong, string | Uint8Array>({
        name: `lines buffer, deliver last${borrow ? ', borrowed' : ''}`,
        codec: () =>
          new LinesCodec({ frames: 'buffer', maxLineLength: 8, lastLine: 'deliver', borrow }),
        cases: [
          {
            name: 'bytes',
            bytes: Buffer.from([0xff, 0x0d, 0x0a, 0x00, 0x0a]),
            frames: [Buffer.from([0xff]), Buffer.from([0])],
          },
          {
            name: 'last line at EOF',
            bytes: b('a\nbc'),
            frames: [Buffer.from('a')],
            eof: { frames: [Buffer.from('bc')] },
          },
          {
            name: 'last line with CR at EOF',
            bytes: b('bc\r'),
            frames: [],
            eof: { frames: [Buffer.from('bc')] },
          },
        ],
        roundTrip: {
          arbitrary: fc.uint8Array({ maxLength: 10 }),
          expected: (out) => Buffer.from(out as Uint8Array),
          runs,
        },
      });
    }
    await assertCodecConformance<string | LineTooLong, string | Uint8Array>({
      name: 'lines latin1',
      codec: () => new LinesCodec({ encoding: 'latin1', maxLineLength: 8 }),
      cases: [{ name: 'high bytes', bytes: Buffer.from([0xe9, 0xff, 0x0a]), frames: ['éÿ'] }],
      roundTrip: { arbitrary: text, runs },
    });
  });

  test('discard mode: an over-long line becomes one LineTooLong frame and the stream goes on', async () => {
    await assertCodecConformance<string | LineTooLong, string | Uint8Array>({
      name: 'lines discard',
      codec: () => new LinesCodec({ maxLineLength: 4, discard: true }),
      runs: 50,
      cases: [
        {
          name: 'dropped between good lines',
          bytes: b(`ok\n${x(10)}\r\nafter\nyes\n`),
          frames: ['ok', new LineTooLong(10, 4), new LineTooLong(5, 4), 'yes'],
        },
        { name: 'exactly max kept', bytes: b('abcd\r\n'), frames: ['abcd'] },
        {
          name: 'over-long and unterminated',
          bytes: b(x(7)),
          frames: [],
          eof: { error: 'MAI_TRUNCATED_FRAME' },
        },
      ],
    });
    // The engine's maxFrameLength still bounds the memory a discarded line can hold.
    const huge = decodeChunks(new LinesCodec({ maxLineLength: 4, discard: true }), [b(x(100))], {
      maxFrameLength: 64,
    });
    assert.equal(huge.error?.code, 'MAI_FRAME_TOO_LONG');
  });

  test('default limit is 64 KiB: exactly max passes byte by byte, max+1 fails', () => {
    const codec = () => new LinesCodec();
    const atMax = b(`${x(DEFAULT_MAX_LINE_LENGTH)}\r\n`);
    const bytewise = (bytes: Buffer): Buffer[] => Array.from(bytes, (byte) => Buffer.of(byte));
    assert.deepEqual(decodeChunks(codec(), bytewise(atMax)).frames, [x(DEFAULT_MAX_LINE_LENGTH)]);
    const over = decodeChunks(codec(), bytewise(b(x(DEFAULT_MAX_LINE_LENGTH + 10))));
    assert.equal(over.error?.code, 'MAI_FRAME_TOO_LONG');
    // C3: garbage is refused within max + 2 bytes.
    assert.ok(over.errorAfterBytes <= DEFAULT_MAX_LINE_LENGTH + 2, String(over.errorAfterBytes));
    const error = over.error as { length?: number; limit?: number };
    assert.equal(error.limit, DEFAULT_MAX_LINE_LENGTH);
  });

  test('byte-at-a-time input is scanned once (O(n), the scan index)', () => {
    let scanned = 0;
    const instrument = (buffer: Buffer): Buffer =>
      Object.assign(buffer, {
        indexOf(value: number, from: number): number {
          scanned += buffer.length - from;
          return Buffer.prototype.indexOf.call(buffer, value, from);
        },
        subarray(from?: number, to?: number): Buffer {
          return instrument(Buffer.prototype.subarray.call(buffer, from, to));
        },
      });
    const n = 50_000;
    const bytes = instrument(Buffer.alloc(n + 1, 0x61));
    bytes[n] = 0x0a;
    const codec = new LinesCodec({ maxLineLength: n });
    for (let end = 1; end <= n; end++)
      assert.equal(codec.decode(bytes, 0, end), codec.decode(bytes, 0, end));
    const result = codec.decode(bytes, 0, n + 1);
    assert.notEqual(typeof result, 'symbol');
    // Each byte searched about twice (the assert above calls decode twice per length).
    assert.ok(scanned < 5 * n, `scanned ${scanned} bytes for a ${n}-byte line`);
  });

  test('encode refuses what would not come back unchanged', () => {
    const lenient = new LinesCodec({ maxLineLength: 8 });
    for (const bad of ['a\nb', 'ends in CR\r', 'long line!', 'x\ud800']) {
      assert.throws(() => encodeFrames(lenient, [bad]), { code: 'MAI_ENCODE_FAILED' }, bad);
    }
    assert.throws(() => encodeFrames(new LinesCodec({ encoding: 'latin1' }), ['✓']), {
      code: 'MAI_ENCODE_FAILED',
    });
    assert.equal(
      encodeFrames(new LinesCodec({ newline: 'crlf' }), ['a', 'b\r']).toString(),
      'a\r\nb\r\r\n',
    );
    assert.equal(encodeFrames(lenient, [Buffer.from('bytes')]).toString(), 'bytes\n');
  });

  test('bad options are refused with MAI_INVALID_OPTION', () => {
    assert.throws(() => new LinesCodec({ maxLineLength: -1 }), { code: 'MAI_INVALID_OPTION' });
    assert.throws(() => new LinesCodec({ newline: 'cr' as 'lf' }), { code: 'MAI_INVALID_OPTION' });
  });
});

describe('LinesCodec discard mode: memory', () => {
  test('a 1 MiB line over maxLineLength 100 is dropped as it arrives: never more than the limit held', () => {
    const codec = new LinesCodec({ discard: true, maxLineLength: 100 });
    const decoder = new StreamDecoder(codec);
    const frames: unknown[] = [];
    let peak = 0;
    const chunk = Buffer.alloc(4096, 0x78);
    for (let i = 0; i < 256; i++) {
      decoder.push(chunk, (frame) => frames.push(frame));
      peak = Math.max(peak, decoder.buffered);
    }
    decoder.push(Buffer.from('\r\nnext\n'), (frame) => frames.push(frame));
    decoder.end((frame) => frames.push(frame));
    assert.equal(decoder.error, undefined);
    assert.deepEqual(frames, [new LineTooLong(256 * 4096, 100), 'next']);
    assert.ok(peak <= 4096 + 101, `held at most one chunk beyond the limit (peak ${peak})`);
    assert.ok(peak < 10_000);
  });
});

describe('LinesCodec decodeEof', () => {
  test("lastLine: 'deliver' with no bytes left at end of stream: no frame", () => {
    // decodeEof must never return a frame that consumes nothing: with start === end there is
    // no last line, whatever the options, and a 'buffer' line must not be built from nothing.
    const bytes = b('a\nb');
    for (const frames of ['string', 'buffer'] as const) {
      for (const discard of [false, true]) {
        const codec = new LinesCodec({ lastLine: 'deliver', frames, discard, maxLineLength: 8 });
        assert.equal(codec.decodeEof(Buffer.alloc(0), 0, 0), IncompleteFrame, `${frames} empty`);
        assert.equal(codec.decodeEof(bytes, 2, 2), IncompleteFrame, `${frames} mid-buffer`);
        const last = codec.decodeEof(bytes, 2, 3);
        assert.ok(last !== IncompleteFrame);
        assert.equal(last.bytesRead, 1);
        assert.equal(String(last.frame), 'b');
      }
    }
  });
});
