import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type Codec,
  DelimiterCodec,
  FrameTooLongError,
  LengthPrefixedCodec,
  LinesCodec,
  RespCodec,
} from '../../src/index.js';

// A FrameTooLongError names the option whose limit was passed, so the message tells the user
// which setting to raise. Before `option` existed every codec's message said "maxFrameLength",
// even for a line over maxLineLength.

/** Decodes `bytes` in one call and returns the FrameTooLongError it must throw. */
function tooLongFrom(codec: Codec<unknown, never>, bytes: Buffer): FrameTooLongError {
  try {
    codec.decode(bytes, 0, bytes.length);
  } catch (error) {
    assert.ok(error instanceof FrameTooLongError, `not a FrameTooLongError: ${String(error)}`);
    assert.equal(error.code, 'MAI_FRAME_TOO_LONG');
    return error;
  }
  assert.fail('decode did not throw');
}

describe('FrameTooLongError names the exceeded option', () => {
  test('constructor: the old three-argument form still names maxFrameLength', () => {
    const error = new FrameTooLongError(70_000, 65_536);
    assert.equal(error.message, 'frame length 70000 exceeds maxFrameLength 65536');
    assert.equal(error.option, 'maxFrameLength');
    const named = new FrameTooLongError(9, 8, 'line', 'maxLineLength');
    assert.equal(named.message, 'line length 9 exceeds maxLineLength 8');
    assert.equal(named.option, 'maxLineLength');
    assert.equal(named.length, 9);
    assert.equal(named.limit, 8);
  });

  test('LinesCodec: maxLineLength', () => {
    const complete = tooLongFrom(new LinesCodec({ maxLineLength: 4 }), Buffer.from('abcdefg\n'));
    assert.equal(complete.option, 'maxLineLength');
    assert.match(complete.message, /exceeds maxLineLength 4$/);
    const pending = tooLongFrom(new LinesCodec({ maxLineLength: 4 }), Buffer.from('abcdefg'));
    assert.equal(pending.option, 'maxLineLength');
    assert.match(pending.message, /exceeds maxLineLength 4$/);
  });

  test('DelimiterCodec: maxLength', () => {
    const complete = tooLongFrom(
      new DelimiterCodec({ delimiters: ';', maxLength: 3 }),
      Buffer.from('abcdef;'),
    );
    assert.equal(complete.option, 'maxLength');
    assert.match(complete.message, /exceeds maxLength 3$/);
    const pending = tooLongFrom(
      new DelimiterCodec({ delimiters: ';', maxLength: 3 }),
      Buffer.from('abcdef'),
    );
    assert.equal(pending.option, 'maxLength');
    const codec = new DelimiterCodec({ delimiters: ';', maxLength: 3, lastFrame: 'deliver' });
    const last = Buffer.from('abcd');
    assert.throws(
      () => codec.decodeEof?.(last, 0, last.length),
      (error: unknown) => error instanceof FrameTooLongError && error.option === 'maxLength',
    );
  });

  test('LengthPrefixedCodec: its own maxFrameLength, fixed field and varint', () => {
    const fixed = tooLongFrom(
      new LengthPrefixedCodec({ maxFrameLength: 10 }),
      Buffer.from([0, 0, 0, 20]),
    );
    assert.equal(fixed.option, 'maxFrameLength');
    const varint = tooLongFrom(
      new LengthPrefixedCodec({ lengthFieldLength: 'varint', maxFrameLength: 10 }),
      Buffer.from([0x80, 0x80]),
    );
    assert.equal(varint.option, 'maxFrameLength');
  });

  test('RespCodec: maxBulkLength, maxArrayLength, maxDepth', () => {
    const limits = { maxBulkLength: 4, maxArrayLength: 2, maxDepth: 1 };
    const cases: [string, string][] = [
      ['$5\r\n', 'maxBulkLength'],
      ['+abcde\r\n', 'maxBulkLength'],
      ['*3\r\n', 'maxArrayLength'],
      ['*1\r\n*1\r\n', 'maxDepth'],
    ];
    for (const [input, option] of cases) {
      const error = tooLongFrom(new RespCodec(limits), Buffer.from(input));
      assert.equal(error.option, option, input);
      assert.match(error.message, new RegExp(`exceeds ${option} `), input);
    }
  });
});
