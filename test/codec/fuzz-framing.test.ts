import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DelimiterCodec } from '../../src/codec/delimiter.js';
import { FixedLengthCodec } from '../../src/codec/fixed-length.js';
import { LengthPrefixedCodec } from '../../src/codec/length-prefixed.js';
import { LinesCodec } from '../../src/codec/lines.js';
import { mapCodec } from '../../src/codec/map.js';
import { RawCodec } from '../../src/codec/raw.js';
import { RespCodec } from '../../src/codec/resp.js';
import { type Codec, ErrorCode, FrameTooLongError, MaiError } from '../../src/index.js';
import { decodeChunks, encodeFrames, framesEqual } from '../../src/testing/index.js';
import { figure, LONG } from '../reliability/profile.js';

/**
 * H1 (RELIABILITY.md): random bytes, mutations of valid frames and random chunkings, with small
 * limits, against every codec. Every error must be a MaiError with a known decode code (never
 * a contract breach or a stray exception), whole and chunked input must agree, and no input may
 * take more than 100 ms. The seed is printed and `MAI_FUZZ_SEED` replays it.
 *
 * In a PR each codec is fuzzed for a few seconds (`MAI_FUZZ_SECONDS`, default 3), up to
 * `MAI_FUZZ_INPUTS` inputs. The long figure (`MAI_RELIABILITY=long`) is a count: 50,000,000
 * inputs per codec, within a cap of 4 hours per codec (the slowest codec does about 15,000
 * inputs/s on the 2-core machine, so ≈ 1 hour); a run the cap stops before the count fails.
 */
const MAX_INPUTS = figure('FUZZ_INPUTS', 50_000_000, 50_000_000);
const seconds = figure('FUZZ_SECONDS', 3, 4 * 60 * 60);
const baseSeed = Number(process.env.MAI_FUZZ_SEED ?? Math.floor(Math.random() * 0x7fffffff));
const MAX_INPUT_MS = 100;
/** The engine limit under fuzzing: small, so that limit paths run often. */
const MAX_FRAME_LENGTH = 128;

const ALLOWED_CODES: ReadonlySet<string> = new Set(
  Object.values(ErrorCode).filter(
    (code) => code !== ErrorCode.CodecContract && code !== ErrorCode.CodecThrew,
  ),
);

/** A small, seedable PRNG (xorshift32): the fuzz loop must be replayable from its seed. */
class Random {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.#state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#state = x >>> 0;
    return this.#state;
  }
  below(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)] as T;
  }
  chance(p: number): boolean {
    return this.next() / 0x100000000 < p;
  }
  bytes(length: number, special: readonly number[]): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) {
      out[i] = special.length > 0 && this.chance(0.5) ? this.pick(special) : this.below(256);
    }
    return out;
  }
}

interface Target {
  name: string;
  codec: () => Codec<unknown, unknown>;
  /** Bytes the format cares about (delimiters, type markers, digits). */
  special: number[];
  /** A frame the codec can encode, for the mutation inputs. */
  frame: (random: Random) => unknown;
  /** Frame boundaries are the chunking's (raw): compare the bytes instead. */
  bytesOnly?: boolean;
}

const ascii = (text: string): number[] => [...Buffer.from(text, 'latin1')];
const text = (random: Random): string =>
  random
    .bytes(random.below(40), ascii('a\r\n '))
    .toString('latin1')
    .replace(/[\r\n\u0080-\u00ff]/g, 'x');

const targets: Target[] = [
  {
    name: 'lines (lenient, max 32)',
    codec: () => new LinesCodec({ maxLineLength: 32 }),
    special: ascii('\r\na'),
    frame: text,
  },
  {
    name: 'lines (strict CRLF, discard, last line delivered)',
    codec: () =>
      new LinesCodec({ newline: 'crlf', maxLineLength: 32, discard: true, lastLine: 'deliver' }),
    special: ascii('\r\na'),
    frame: text,
  },
  {
    name: 'delimiter (\\r\\n | \\n | \\0\\0 | \\0, max 32)',
    codec: () => new DelimiterCodec({ delimiters: ['\r\n', '\n', '\0\0', '\0'], maxLength: 32 }),
    special: [0x0d, 0x0a, 0x00, 0x61],
    frame: (random) => Buffer.from(text(random), 'latin1'),
  },
  {
    name: 'fixed-length 5',
    codec: () => new FixedLengthCodec(5),
    special: [0x00],
    frame: (random) => random.bytes(5, []),
  },
  {
    name: 'raw (max chunk 16)',
    codec: () => new RawCodec({ maxChunkLength: 16 }),
    special: [],
    frame: (random) => random.bytes(random.below(40), []),
    bytesOnly: true,
  },
  {
    name: 'JSON over lines (mapCodec)',
    codec: () =>
      mapCodec(new LinesCodec({ maxLineLength: 64 }), {
        decode: (line: string): unknown => JSON.parse(line),
        encode: (value: unknown): string => JSON.stringify(value),
      }),
    special: ascii('{}[]":,0123456789\n\\'),
    frame: (random) =>
      random.chance(0.5) ? { a: [random.below(1000), text(random)] } : text(random),
  },
  {
    name: 'length-prefixed (defaults)',
    codec: () => new LengthPrefixedCodec(),
    special: [0x00, 0xff, 0x7f, 0x80],
    frame: (random) => random.bytes(random.below(60), []),
  },
  {
    name: 'RESP (defaults)',
    codec: () => new RespCodec(),
    special: ascii('*$:+-_#,(!=%~>\r\n0123456789'),
    frame: (random) =>
      random.pick<() => unknown>([
        () => Buffer.from(text(random)),
        () => random.below(1_000_000) - 500_000,
        () => [Buffer.from(text(random)), random.below(100)],
        () => null,
      ])(),
  },
];

/** A valid encoding of a few frames, then a few mutations. */
function mutated(random: Random, target: Target): Buffer {
  const frames: unknown[] = [];
  for (let i = random.below(6) + 1; i > 0; i--) frames.push(target.frame(random));
  let bytes: Buffer;
  try {
    bytes = encodeFrames(target.codec(), frames, { maxFrameLength: MAX_FRAME_LENGTH });
  } catch {
    bytes = Buffer.alloc(0); // a frame too big for the small limit: mutate nothing then
  }
  for (let m = random.below(4); m > 0 && bytes.length > 0; m--) {
    const at = random.below(bytes.length);
    switch (random.below(4)) {
      case 0: // flip a byte
        bytes[at] =
          random.chance(0.5) && target.special.length > 0
            ? random.pick(target.special)
            : random.below(256);
        break;
      case 1: // insert random bytes
        bytes = Buffer.concat([
          bytes.subarray(0, at),
          random.bytes(random.below(4) + 1, target.special),
          bytes.subarray(at),
        ]);
        break;
      case 2: // delete a range
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + random.below(8) + 1)]);
        break;
      default: // duplicate a range
        bytes = Buffer.concat([bytes.subarray(0, at + random.below(8) + 1), bytes.subarray(at)]);
    }
  }
  return bytes;
}

function input(random: Random, target: Target): Buffer {
  switch (random.below(3)) {
    case 0:
      return random.bytes(random.below(300), target.special);
    case 1:
      return mutated(random, target);
    default: {
      // Garbage that never frames: one byte repeated past every limit (C3).
      const byte =
        target.special.length > 0 && random.chance(0.5)
          ? random.pick(target.special)
          : random.below(256);
      return Buffer.alloc(random.below(MAX_FRAME_LENGTH * 3), byte);
    }
  }
}

function isEngineLimit(error: MaiError | undefined): boolean {
  return error instanceof FrameTooLongError && error.limit === MAX_FRAME_LENGTH;
}

function isPrefix(head: unknown[], whole: unknown[]): boolean {
  return head.length <= whole.length && head.every((frame, i) => framesEqual(frame, whole[i]));
}

function chunk(random: Random, bytes: Buffer): Buffer[] {
  const cuts: number[] = [];
  for (let i = random.below(9); i > 0; i--) cuts.push(random.below(bytes.length + 1));
  cuts.sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const cut of cuts) {
    chunks.push(bytes.subarray(from, cut));
    from = cut;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

const budget = LONG
  ? `${MAX_INPUTS} inputs per codec (cap ${seconds} s)`
  : `${seconds} s per codec (at most ${MAX_INPUTS} inputs)`;

describe(`fuzz framing (H1): ${budget}, seed ${baseSeed}`, () => {
  targets.forEach((target, index) => {
    test(target.name, () => {
      const seed = (baseSeed + index * 0x9e3779b1) >>> 0;
      const random = new Random(seed);
      const fuzzStarted = performance.now();
      const deadline = fuzzStarted + seconds * 1000;
      let inputs = 0;
      let slowest = 0;
      const codes = new Map<string, number>();
      while (inputs < MAX_INPUTS && performance.now() < deadline) {
        inputs++;
        const bytes = input(random, target);
        const chunks = chunk(random, bytes);
        const eof = random.chance(0.5);
        const context = (): string =>
          `seed ${seed} (MAI_FUZZ_SEED=${baseSeed}), input #${inputs}, eof ${eof}\n  bytes (${bytes.length}): ${bytes.subarray(0, 200).toString('hex')}\n  chunks: ${chunks.map((c) => c.length).join(', ')}`;
        const began = performance.now();
        let chunked: ReturnType<typeof decodeChunks<unknown>>;
        let whole: ReturnType<typeof decodeChunks<unknown>>;
        try {
          chunked = decodeChunks(target.codec(), chunks, { eof, maxFrameLength: MAX_FRAME_LENGTH });
          whole = decodeChunks(target.codec(), [bytes], { eof, maxFrameLength: MAX_FRAME_LENGTH });
        } catch (error) {
          assert.fail(`the driver itself threw ${String(error)}\n${context()}`);
        }
        let took = performance.now() - began;
        // A GC pause or another process can stall any one run: a slow input is timed again,
        // and only one that is slow every time (the codec's own cost) fails.
        for (let retry = 0; retry < 3 && took > MAX_INPUT_MS; retry++) {
          const again = performance.now();
          decodeChunks(target.codec(), chunks, { eof, maxFrameLength: MAX_FRAME_LENGTH });
          decodeChunks(target.codec(), [bytes], { eof, maxFrameLength: MAX_FRAME_LENGTH });
          took = Math.min(took, performance.now() - again);
        }
        slowest = Math.max(slowest, took);
        if (took > MAX_INPUT_MS)
          assert.fail(
            `input took ${took.toFixed(1)} ms (> ${MAX_INPUT_MS}) every time\n${context()}`,
          );
        for (const result of [chunked, whole]) {
          const error = result.error;
          if (error === undefined) continue;
          if (!(error instanceof MaiError) || !ALLOWED_CODES.has(error.code)) {
            assert.fail(
              `error is not a MaiError with a known decode code: ${String(error)} (${(error as MaiError).code})\n${context()}`,
            );
          }
          codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
        }
        // The engine's own limit applies to what is held between reads, so it can stop a
        // chunked stream before the codec sees the bytes that make the whole one fail otherwise:
        // then only "one gave a prefix of the other's frames" must hold.
        const engineLimit = isEngineLimit(chunked.error) || isEngineLimit(whole.error);
        const same = target.bytesOnly
          ? Buffer.concat(chunked.frames as Buffer[]).equals(
              Buffer.concat(whole.frames as Buffer[]),
            )
          : engineLimit
            ? isPrefix(chunked.frames, whole.frames) || isPrefix(whole.frames, chunked.frames)
            : framesEqual(chunked.frames, whole.frames);
        if (!same || (!engineLimit && chunked.error?.code !== whole.error?.code)) {
          assert.fail(
            `whole and chunked input disagree: whole gave ${whole.frames.length} frames, ${whole.error?.code ?? 'no error'}; chunked gave ${chunked.frames.length} frames, ${chunked.error?.code ?? 'no error'}\n${context()}`,
          );
        }
      }
      const elapsed = (performance.now() - fuzzStarted) / 1000;
      console.log(
        `${target.name}: ${inputs} inputs in ${elapsed.toFixed(1)} s (${Math.round(inputs / elapsed)} inputs/s), slowest ${slowest.toFixed(2)} ms, errors ${JSON.stringify(Object.fromEntries(codes))}`,
      );
      assert.ok(inputs > 0);
      if (LONG) {
        assert.equal(
          inputs,
          MAX_INPUTS,
          `the ${seconds} s cap stopped the long run after ${inputs} of ${MAX_INPUTS} inputs`,
        );
      }
    });
  });
});
