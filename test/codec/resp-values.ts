import fc from 'fast-check';
import { IncompleteFrame } from '../../src/codec/codec.js';
import { RespCodec, type RespCodecOptions } from '../../src/codec/resp.js';
import {
  RespAttributed,
  RespBigNumber,
  RespDouble,
  RespError,
  RespMap,
  type RespPair,
  RespPush,
  RespSet,
  type RespValue,
  RespVerbatim,
} from '../../src/codec/resp-types.js';

// Shared by the RESP test files (not a test file itself: the runner takes *.test.js only).

/** Decodes every frame of `bytes` delivered whole; throws what the codec throws. */
export function decodeAll(text: string | Buffer, options: RespCodecOptions = {}): RespValue[] {
  const codec = new RespCodec(options);
  const bytes = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
  const frames: RespValue[] = [];
  let start = 0;
  for (let guard = 0; guard < 1_000_000 && start < bytes.length; guard++) {
    const result = codec.decode(bytes, start, bytes.length);
    if (result === IncompleteFrame) throw new Error(`incomplete after ${start} bytes`);
    frames.push(result.frame);
    start += result.bytesRead;
  }
  return frames;
}

/** Random RESP values; `depth` caps the nesting so most fit maxDepth 8 and some do not. */
export function respValue(): fc.Arbitrary<RespValue> {
  const bytes = fc.uint8Array({ maxLength: 24 }).map((u) => Buffer.from(u));
  const text = fc.string({ unit: 'binary', maxLength: 12 });
  const pair = (value: fc.Arbitrary<RespValue>) => fc.tuple(value, value) as fc.Arbitrary<RespPair>;
  const leaf: fc.Arbitrary<RespValue> = fc.oneof(
    bytes,
    bytes,
    text,
    fc.maxSafeInteger(),
    fc
      .bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
      .filter((n) => n < Number.MIN_SAFE_INTEGER || n > Number.MAX_SAFE_INTEGER),
    fc.boolean(),
    fc.constant(null),
    text.map((t) => new RespError(t)),
    text.map((t) => new RespError(t, true)),
    fc.double().map((d) => new RespDouble(d)),
    fc.bigInt().map((n) => new RespBigNumber(n)),
    fc.tuple(fc.constantFrom('txt', 'mkd', 'ab:'), bytes).map(([f, t]) => new RespVerbatim(f, t)),
  );
  const { value } = fc.letrec<{ value: RespValue }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', maxDepth: 10 },
      leaf,
      fc.array(tie('value'), { maxLength: 4 }),
      fc.array(pair(tie('value')), { maxLength: 3 }).map((e) => new RespMap(e)),
      fc.array(tie('value'), { maxLength: 3 }).map((i) => new RespSet(i)),
      fc.array(tie('value'), { maxLength: 3 }).map((i) => new RespPush(i)),
      fc
        .tuple(fc.array(pair(tie('value')), { maxLength: 2 }), tie('value'))
        .map(([a, v]) => new RespAttributed(a, v)),
    ),
  }));
  return value;
}
