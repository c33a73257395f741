import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { IncompleteFrame } from '../../src/codec/codec.js';
import { DEFAULT_MAX_DELIMITED_LENGTH, DelimiterCodec } from '../../src/codec/delimiter.js';
import { assertCodecConformance, decodeChunks, encodeFrames } from '../../src/testing/index.js';
import { PROPERTY_RUNS } from '../reliability/profile.js';

const runs = PROPERTY_RUNS;
const b = (text: string): Buffer => Buffer.from(text, 'latin1');
const x = (n: number): string => 'x'.repeat(n);

/** Frames built from the bytes that matter here: delimiter bytes and a letter. */
const frame = (alphabet: number[]) =>
  fc.array(fc.constantFrom(...alphabet), { maxLength: 10 }).map((bytes) => Buffer.from(bytes));

describe('DelimiterCodec', () => {
  test('CRLF or LF: conformance', async () => {
    const started = performance.now();
    await assertCodecConformance<Buffer, Uint8Array>({
      name: 'delimiter crlf|lf',
      codec: () => new DelimiterCodec({ delimiters: ['\r\n', '\n'], maxLength: 8 }),
      cases: [
        { name: 'both delimiters', bytes: b('a\r\nb\n'), frames: [b('a'), b('b')] },
        { name: 'empty frames', bytes: b('\n\r\n'), frames: [b(''), b('')] },
        { name: 'CR is content', bytes: b('a\rb\n'), frames: [b('a\rb')] },
        { name: 'CRLF split anywhere', bytes: b('ab\r\ncd\r\n'), frames: [b('ab'), b('cd')] },
        {
          name: 'multi-byte UTF-8 content',
          bytes: Buffer.from('é✓\n', 'utf8'),
          frames: [Buffer.from('é✓', 'utf8')],
        },
        {
          name: 'too long',
          bytes: b(`ok\n${x(9)}\n`),
          frames: [b('ok')],
          error: 'MAI_FRAME_TOO_LONG',
        },
        {
          name: 'garbage without delimiter (C3)',
          bytes: b(x(10)),
          frames: [],
          error: 'MAI_FRAME_TOO_LONG',
        },
        {
          name: 'max+1 without delimiter: a CRLF could still end it',
          bytes: b(x(9)),
          frames: [],
          eof: { error: 'MAI_TRUNCATED_FRAME' },
        },
        {
          name: 'unterminated',
          bytes: b('a\nb'),
          frames: [b('a')],
          eof: { error: 'MAI_TRUNCATED_FRAME' },
        },
        {
          name: 'binary garbage',
          bytes: Buffer.from([0xff, 0, 0x0d, 0x0a]),
          frames: [Buffer.from([0xff, 0])],
        },
      ],
      limits: [
        { name: 'LF', atMax: b(`${x(8)}\n`), overMax: b(`${x(9)}\n`) },
        { name: 'CRLF', atMax: b(`${x(8)}\r\n`), overMax: b(`${x(9)}\r\n`) },
      ],
      roundTrip: { arbitrary: frame([0x0a, 0x0d, 0x61, 0xff]), runs },
    });
    console.log(
      `delimiter conformance: ${(performance.now() - started).toFixed(0)} ms (${runs} runs)`,
    );
  });

  test('longest match at the same position waits for the next byte: conformance', async () => {
    await assertCodecConformance<Buffer, Uint8Array>({
      name: 'delimiter \\0\\0|\\0',
      codec: () => new DelimiterCodec({ delimiters: ['\0\0', '\0'], maxLength: 4 }),
      cases: [
        { name: 'longest wins', bytes: b('a\0\0b\0\0'), frames: [b('a'), b('b')] },
        {
          name: 'a lone NUL at the end waits',
          bytes: b('a\0\0b\0'),
          frames: [b('a')],
          eof: { frames: [b('b')] },
        },
        { name: 'three NULs', bytes: b('a\0\0\0'), frames: [b('a')], eof: { frames: [b('')] } },
        { name: 'NUL then data', bytes: b('a\0b\0\0'), frames: [b('a'), b('b')] },
        {
          // Found by the fuzzer: too long is certain even while "\0" might still grow.
          name: 'too long, ending in a NUL that could grow',
          bytes: b(`${x(6)}\0`),
          frames: [],
          error: 'MAI_FRAME_TOO_LONG',
        },
      ],
      roundTrip: { arbitrary: frame([0x00, 0x61]), runs },
    });
  });

  for (const borrow of [false, true]) {
    test(`multi-byte delimiter, kept in the frame, last frame delivered${borrow ? ', borrowed frames' : ''}: conformance`, async () => {
      await assertCodecConformance<Buffer, Uint8Array>({
        name: `delimiter END kept${borrow ? ' borrowed' : ''}`,
        codec: () =>
          new DelimiterCodec({
            delimiters: 'END',
            keepDelimiter: true,
            lastFrame: 'deliver',
            maxLength: 6,
            borrow,
          }),
        cases: [
          { name: 'two frames', bytes: b('xxENDyEND'), frames: [b('xxEND'), b('yEND')] },
          {
            name: 'overlapping start',
            bytes: b('EENDND'),
            frames: [b('EEND')],
            eof: { frames: [b('ND')] },
          },
          {
            name: 'partial delimiter at EOF',
            bytes: b('aEN'),
            frames: [],
            eof: { frames: [b('aEN')] },
          },
          { name: 'empty', bytes: b('END'), frames: [b('END')] },
          { name: 'too long', bytes: b(`${x(7)}END`), frames: [], error: 'MAI_FRAME_TOO_LONG' },
        ],
        limits: [{ name: 'content', atMax: b(`${x(6)}END`), overMax: b(`${x(7)}END`) }],
        roundTrip: {
          arbitrary: frame([0x45, 0x4e, 0x44, 0x61]),
          expected: (out) => Buffer.concat([out, b('END')]),
          runs,
        },
      });
    });
  }
  test('default limit is 64 KiB, byte by byte', () => {
    const codec = () => new DelimiterCodec({ delimiters: '\0' });
    const bytewise = (bytes: Buffer): Buffer[] => Array.from(bytes, (byte) => Buffer.of(byte));
    const atMax = Buffer.alloc(DEFAULT_MAX_DELIMITED_LENGTH + 1, 0x61);
    atMax[DEFAULT_MAX_DELIMITED_LENGTH] = 0;
    assert.equal(
      decodeChunks(codec(), bytewise(atMax)).frames[0]?.length,
      DEFAULT_MAX_DELIMITED_LENGTH,
    );
    const over = decodeChunks(
      codec(),
      bytewise(Buffer.alloc(DEFAULT_MAX_DELIMITED_LENGTH + 5, 0x61)),
    );
    assert.equal(over.error?.code, 'MAI_FRAME_TOO_LONG');
    assert.equal(over.errorAfterBytes, DEFAULT_MAX_DELIMITED_LENGTH + 1);
  });

  test('a rarely seen second delimiter is not searched again for every frame', () => {
    // 20,000 one-byte frames ended by LF, and a second delimiter that never occurs: with a
    // per-delimiter scan position this is linear; without, it would search 20,000 × 40,000 bytes.
    const bytes = b('a\n'.repeat(20_000));
    const codec = new DelimiterCodec({ delimiters: ['\n', 'NEVER'] });
    let searched = 0;
    const indexOf = bytes.indexOf.bind(bytes);
    Object.assign(bytes, {
      indexOf(needle: number | Buffer, from: number): number {
        const found = indexOf(needle, from);
        searched += (found === -1 ? bytes.length : found) - from;
        return found;
      },
    });
    const frames = decodeChunks(codec, [bytes]).frames;
    assert.equal(frames.length, 20_000);
    // decodeChunks copies into its own buffer, so measure on the codec directly as well.
    let start = 0;
    const direct = new DelimiterCodec({ delimiters: ['\n', 'NEVER'] });
    for (;;) {
      const result = direct.decode(bytes, start, bytes.length);
      if (typeof result === 'symbol') break;
      start += result.bytesRead;
    }
    assert.equal(start, bytes.length);
    assert.ok(searched < 5 * bytes.length, `searched ${searched} bytes for ${bytes.length}`);
  });

  test('encode refuses frames holding a delimiter', () => {
    const codec = new DelimiterCodec({ delimiters: ['\r\n', '\n'] });
    assert.throws(() => encodeFrames(codec, [b('a\nb')]), { code: 'MAI_ENCODE_FAILED' });
    // With CRLF sent, a trailing CR is fine ('…\r\r\n'); with LF sent, it would make a CRLF.
    assert.equal(encodeFrames(codec, [b('CR\r')]).toString('latin1'), 'CR\r\r\n');
    const lfFirst = new DelimiterCodec({ delimiters: ['\n', '\r\n'] });
    assert.throws(() => encodeFrames(lfFirst, [b('CR\r')]), { code: 'MAI_ENCODE_FAILED' });
    assert.equal(encodeFrames(codec, [b('ok'), b('')]).toString('latin1'), 'ok\r\n\r\n');
    assert.throws(() => new DelimiterCodec({ delimiters: [] }), { code: 'MAI_INVALID_OPTION' });
    assert.throws(() => new DelimiterCodec({ delimiters: '' }), { code: 'MAI_INVALID_OPTION' });
  });

  test("lastFrame: 'deliver' with no bytes left at end of stream: no frame", () => {
    const bytes = b('a;b');
    for (const borrow of [false, true]) {
      const codec = new DelimiterCodec({ delimiters: ';', lastFrame: 'deliver', borrow });
      assert.equal(codec.decodeEof(Buffer.alloc(0), 0, 0), IncompleteFrame, 'empty');
      assert.equal(codec.decodeEof(bytes, 2, 2), IncompleteFrame, 'mid-buffer');
      const last = codec.decodeEof(bytes, 2, 3);
      assert.ok(last !== IncompleteFrame);
      assert.equal(last.bytesRead, 1);
      assert.equal(Buffer.from(last.frame).toString('latin1'), 'b');
    }
  });
});
