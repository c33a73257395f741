import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InsufficientBuffer } from '../../src/codec/codec.js';
import { RespCodec, type RespCodecOptions } from '../../src/codec/resp.js';
import { type IntegerScan, readInteger } from '../../src/codec/resp-header.js';
import {
  RespAttributed,
  RespBigNumber,
  RespDouble,
  RespError,
  RespMap,
  type RespValue,
  RespVerbatim,
} from '../../src/codec/resp-types.js';
import { EncodeError, MaiError } from '../../src/errors.js';
import { assertCodecConformance } from '../../src/testing/index.js';
import { PROPERTY_RUNS } from '../reliability/profile.js';
import { decodeAll, respValue } from './resp-values.js';

// Integers with leading zeros, and an encoder that refuses exactly what a decoder with the same
// limits refuses: what one mai peer sends, another with the same options must accept.

const b = (text: string): Buffer => Buffer.from(text, 'latin1');

const one = (text: string): RespValue => {
  const frames = decodeAll(b(text), { protocol: 3 });
  assert.equal(frames.length, 1);
  return frames[0] as RespValue;
};

/** Encodes `value` in a buffer large enough; the EncodeError if it throws one. */
function encodeOrError(value: RespValue, options: RespCodecOptions): Buffer | EncodeError {
  const codec = new RespCodec(options);
  const buffer = Buffer.alloc(1 << 16);
  try {
    const n = codec.encode(value, buffer, 0);
    assert.notEqual(n, InsufficientBuffer);
    return Buffer.from(buffer.subarray(0, n as number));
  } catch (error) {
    assert.ok(error instanceof EncodeError, `not an EncodeError: ${String(error)}`);
    return error;
  }
}

/** Whether a decoder with `options` rejects `bytes` (a MaiError), or accepts all of it. */
function decoderRejects(bytes: Buffer, options: RespCodecOptions): boolean {
  try {
    decodeAll(bytes, options);
    return false;
  } catch (error) {
    assert.ok(error instanceof MaiError, `not a MaiError: ${String(error)}`);
    return true;
  }
}

const UNLIMITED = { maxBulkLength: Infinity, maxArrayLength: Infinity, maxDepth: Infinity };

describe('RESP integers with leading zeros', () => {
  it('leading zeros do not count toward the 19 digits of an int64', () => {
    assert.equal(one(':09223372036854775807\r\n'), 2n ** 63n - 1n);
    assert.equal(one(':-0009223372036854775808\r\n'), -(2n ** 63n));
    assert.equal(one(':+00000000000000000000000042\r\n'), 42);
    assert.equal(one(':0009007199254740991\r\n'), Number.MAX_SAFE_INTEGER);
    assert.equal(one(':007\r\n'), 7);
    assert.equal(one(':00000000000000000000000\r\n'), 0);
    assert.ok(Object.is(one(':-0\r\n'), 0), '-0 reads as 0');
  });

  it('a 20th significant digit still overflows, and is rejected before the CRLF', () => {
    assert.throws(() => one(':09223372036854775808\r\n'), /integer overflows 64 bits/);
    assert.throws(() => one(':-09223372036854775809\r\n'), /integer overflows 64 bits/);
    assert.throws(() => one(`:000${'1'.repeat(20)}`), /integer overflows 64 bits/);
    assert.throws(() => one(':00x\r\n'), /invalid integer/);
    assert.throws(() => one(':-\r\n'), /invalid integer/);
  });

  it('lengths and counts keep redis-server rules: no leading zero', () => {
    // Headers are string2ll, as redis-server reads them; only integers (':') take zeros.
    assert.throws(() => one('$0005\r\nhello\r\n'), { code: 'MAI_CORRUPT_FRAME' });
    assert.throws(() => one('*01\r\n:1\r\n'), { code: 'MAI_CORRUPT_FRAME' });
  });

  it('an unfinished integer is scanned once: the scan resumes where it stopped', () => {
    const line = b(`:-${'0'.repeat(1000)}12\r\n`);
    const scan: IntegerScan = { value: 0, resume: 0, significant: 0 };
    for (let end = 1; end < line.length; end++) {
      assert.equal(readInteger(line, 0, end, scan), -1, `complete after ${end} bytes`);
      // Nothing before `resume` is read again on the next call.
      assert.equal(scan.resume, end === 1 ? 0 : Math.min(end, line.length - 2));
    }
    assert.equal(readInteger(line, 0, line.length, scan), line.length);
    assert.equal(scan.value, -12);
    assert.equal(scan.resume, 0, 'the next line starts afresh');
  });

  it('conformance under every chunking', async () => {
    await assertCodecConformance<RespValue>({
      name: 'resp integers with leading zeros',
      codec: () => new RespCodec({ protocol: 3 }),
      cases: [
        {
          name: 'zeros',
          bytes: b(':09223372036854775807\r\n:-007\r\n:+0\r\n*1\r\n:0000000000000000000001\r\n'),
          frames: [2n ** 63n - 1n, -7, 0, [1]],
        },
        {
          name: 'overflow after zeros',
          bytes: b(':1\r\n:00000123456789012345678901\r\n'),
          frames: [1],
          error: 'MAI_CORRUPT_FRAME',
        },
      ],
    });
  });
});

describe('RESP encoder limits match the decoder', () => {
  const small = { maxBulkLength: 4, maxArrayLength: 4, maxDepth: 3 };
  // Each of these was written by encode, then refused by a decoder with the same limits.
  const overLine: [string, RespValue, 2 | 3][] = [
    ['simple string', 'abcde', 3],
    ['simple string measured in UTF-8 bytes', 'éé✓', 2],
    ['simple error', new RespError('ERR x'), 3],
    ['bulk error for RESP2', new RespError('ERR\nx', true), 2],
    ['double', new RespDouble(1.25e-7), 3],
    ['big number', new RespBigNumber(123456n), 3],
  ];
  for (const [name, value, protocol] of overLine) {
    it(`${name} over maxBulkLength: EncodeError, as the decoder would refuse it`, () => {
      const options = { ...small, protocol };
      const error = encodeOrError(value, options);
      assert.ok(error instanceof EncodeError, `${name} was encoded`);
      assert.match(error.message, /exceeds maxBulkLength 4/);
      const wire = encodeOrError(value, { ...UNLIMITED, protocol });
      assert.ok(Buffer.isBuffer(wire));
      assert.ok(decoderRejects(wire, options), 'the decoder refuses it too');
    });
  }

  it('at maxBulkLength the same lines are written', () => {
    for (const value of ['abcd', 'éé', new RespError('ERRx'), new RespBigNumber(1234n)]) {
      assert.ok(Buffer.isBuffer(encodeOrError(value, { ...small, protocol: 3 })));
    }
  });

  it('a RespMap for RESP2 is checked by its flat length', () => {
    const map = new RespMap([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    const options = { ...small, protocol: 2 } as const;
    const error = encodeOrError(map, options);
    assert.ok(error instanceof EncodeError, 'a 6-element flat array was encoded');
    assert.match(error.message, /6 elements exceeds maxArrayLength 4/);
    assert.ok(decoderRejects(encodeOrError(map, { ...UNLIMITED, protocol: 2 }) as Buffer, options));
    // For RESP3 it is a map of 3 entries, within the limit both ways.
    assert.ok(Buffer.isBuffer(encodeOrError(map, { ...small, protocol: 3 })));
    const two = new RespMap([
      [1, 2],
      [3, 4],
    ]);
    assert.ok(Buffer.isBuffer(encodeOrError(two, options)));
  });

  it('property: encode refuses a value exactly when a decoder with the same limits refuses it', () => {
    const limits = fc.record({
      maxBulkLength: fc.integer({ min: 0, max: 14 }),
      maxArrayLength: fc.integer({ min: 0, max: 5 }),
      maxDepth: fc.integer({ min: 0, max: 4 }),
      protocol: fc.constantFrom(2 as const, 3 as const),
    });
    fc.assert(
      fc.property(respValue(), limits, (value, options) => {
        const wire = encodeOrError(value, { ...UNLIMITED, protocol: options.protocol });
        if (!Buffer.isBuffer(wire)) return; // not representable at all, whatever the limits
        const limited = encodeOrError(value, options);
        const rejects = decoderRejects(wire, options);
        assert.equal(
          !Buffer.isBuffer(limited),
          rejects,
          `encode ${Buffer.isBuffer(limited) ? 'wrote' : 'refused'} ${JSON.stringify(wire.toString('latin1'))}, the decoder ${rejects ? 'refuses' : 'accepts'} it`,
        );
        if (Buffer.isBuffer(limited)) assert.deepEqual(limited, wire);
      }),
      { numRuns: Math.max(2000, PROPERTY_RUNS) },
    );
  });

  it('the verbatim and attribute paths agree too', () => {
    const verbatim = new RespVerbatim('txt', b('abc'));
    // RESP3 counts the format prefix (7 bytes), RESP2 sends the text alone (3 bytes).
    assert.ok(encodeOrError(verbatim, { ...small, protocol: 3 }) instanceof EncodeError);
    assert.ok(Buffer.isBuffer(encodeOrError(verbatim, { ...small, protocol: 2 })));
    const attributed = new RespAttributed([['k', 'v']], [[[1]]]);
    assert.ok(encodeOrError(attributed, { ...small, protocol: 3 }) instanceof EncodeError);
    // RESP2 drops the attribute, so the value's own depth is what counts.
    assert.ok(Buffer.isBuffer(encodeOrError(attributed, { ...small, protocol: 2 })));
  });
});
