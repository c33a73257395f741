import { AssertionError } from 'node:assert';
import { inspect } from 'node:util';
import fc from 'fast-check';
import type { Codec } from '../codec/codec.js';
import { EncodeError, ErrorCode, FrameTooLongError, MaiError } from '../errors.js';
import { encodeFrames, FrameEncoder } from './frame-encoder.js';
import { framesEqual } from './frames-equal.js';
import { decodeChunks } from './stream-decoder.js';

/** One entry of a codec's corpus: bytes on the wire and what decoding them must give. */
export interface ConformanceCase<In> {
  name: string;
  /** The bytes, as they arrive from the peer (in any chunking). */
  bytes: Uint8Array;
  /** Frames the bytes decode to, in order (before the error, if `error` is set). */
  frames: In[];
  /** The MaiError code the stream fails with after `frames`, e.g. `'MAI_CORRUPT_FRAME'`. */
  error?: string;
  /**
   * What ending the stream right after `bytes` adds (the peer's FIN). Default: nothing, i.e.
   * `bytes` end on a frame boundary. For bytes ending inside a frame say what the codec documents:
   * `{ error: 'MAI_TRUNCATED_FRAME' }`, or `{ frames: [last] }` for a last-frame-at-EOF policy.
   * Ignored when `error` is set (the stream already failed).
   */
  eof?: { frames?: In[]; error?: string };
}

/** A limit of the codec (C1): a frame of exactly the maximum passes, one byte more fails. */
export interface ConformanceLimit {
  name: string;
  /** Bytes holding a frame of exactly the maximum length: must decode without error. */
  atMax: Uint8Array;
  /** The same plus one byte: must fail. */
  overMax: Uint8Array;
  /** The code `overMax` fails with. Default `'MAI_FRAME_TOO_LONG'`. */
  error?: string;
}

/** The encode → chunk → decode properties (B2, B3). */
export interface RoundTripSpec<In, Out> {
  /** Generates outbound frames. Frames the codec cannot encode must make it throw an EncodeError. */
  arbitrary: fc.Arbitrary<Out>;
  /** The inbound frame an outbound frame decodes to. Default: the frame itself. */
  expected?: (out: Out) => In;
  /**
   * Compares what was sent (frames that encoded) with what was decoded, for codecs whose frames
   * are not one-to-one on the wire (a raw codec joins chunks). Default: `received` equals
   * `sent.map(expected)` under `equal`.
   */
  check?: (sent: Out[], received: In[]) => boolean;
  /** Property runs. Default: the spec's `runs`. The suite runs 20,000 per codec. */
  runs?: number;
  /** Most frames per generated sequence. Default 8. */
  maxFrames?: number;
}

/** Everything `assertCodecConformance` checks a codec against. */
export interface CodecConformanceSpec<In, Out = In> {
  /** Shown in failure messages. */
  name: string;
  /** Creates a fresh codec instance (one per stream, as the engine does). */
  codec: () => Codec<In, Out>;
  /** The corpus: every entry is checked under every chunking and every end-of-stream point. */
  cases: Array<ConformanceCase<In>>;
  /** Frame equality. Default: deep strict equality, byte arrays compared by their bytes. */
  equal?: (a: In, b: In) => boolean;
  /**
   * For codecs whose frame boundaries depend on the chunking by design (a raw codec delivers
   * chunks as they come): turns a list of frames into the units that must not depend on it,
   * e.g. `(frames) => [...Buffer.concat(frames)]` for bytes. Frames are then compared as units
   * (with `framesEqual`), and "a prefix of the frames" means a prefix of the units.
   */
  units?: (frames: In[]) => unknown[];
  roundTrip?: RoundTripSpec<In, Out>;
  limits?: ConformanceLimit[];
  /** The engine's `maxFrameLength` to emulate. Default 16 MiB, as in the engine. */
  maxFrameLength?: number;
  /** fast-check seed for every property. Default: random, and printed in any failure. */
  seed?: number;
  /** Random chunkings per case, and default runs of the round trip. Default 100. */
  runs?: number;
}

/** What one decoding produced, in comparable form. */
interface Outcome<In> {
  frames: In[];
  code: string | undefined;
  message: string | undefined;
  leftover: number;
  error: MaiError | undefined;
}

/** Above this many bytes, a case's end-of-stream check skips the byte-by-byte decoding. */
const BYTEWISE_EOF_LIMIT = 256;

/**
 * Checks a codec against the shared conformance rules and throws an `AssertionError` naming the
 * first rule, case and chunking that failed (with the fast-check seed to replay it). Framework
 * agnostic: call it from any test runner.
 *
 * For every case: the bytes whole, byte by byte, cut at every single point,
 * in fragments of every fixed size 1..n, and in random chunkings (empty chunks included) must all
 * give the same frames and the same error code, the expected ones.
 *
 * For every cut point k of every case (B4): ending the stream after k bytes must give the frames
 * of that prefix, then either nothing (on a frame boundary), or what `decodeEof` yields, or
 * `MAI_TRUNCATED_FRAME`; the same whatever the chunking; and after all the bytes, what the case
 * says in `eof`. Decoding a prefix never gives frames or errors the whole does not.
 *
 * For every limit (C1): exactly the maximum decodes, one byte more fails with the expected code,
 * whole and byte by byte; a `MAI_FRAME_TOO_LONG` must be a `FrameTooLongError` (length and limit).
 *
 * With `roundTrip` (B2, B3): random frame sequences are encoded (from 16-byte buffers up, so
 * the retry on `InsufficientBuffer` runs), every frame either encodes or throws
 * `MAI_ENCODE_FAILED`, each encoded frame decodes back alone, and the concatenation decodes back
 * to the sequence under a random chunking, with nothing left at end of stream.
 *
 * Throughout (I4): a codec that breaks the contract (`bytesRead` 0 or beyond what it was given,
 * throwing something that is not a MaiError, keeping a view of the input in a frame) fails, and
 * the driver is bounded so it cannot loop forever.
 *
 * @example
 * ```ts
 * await assertCodecConformance({
 *   name: 'lines',
 *   codec: () => new LinesCodec({ maxLineLength: 8 }),
 *   cases: [
 *     { name: 'two lines', bytes: Buffer.from('a\nbc\n'), frames: ['a', 'bc'] },
 *     { name: 'unterminated', bytes: Buffer.from('a\nb'), frames: ['a'], eof: { error: 'MAI_TRUNCATED_FRAME' } },
 *   ],
 *   limits: [{ name: 'line', atMax: Buffer.from('12345678\n'), overMax: Buffer.from('123456789\n') }],
 *   roundTrip: { arbitrary: fc.string({ maxLength: 8 }).filter((s) => !s.includes('\n')), runs: 20_000 },
 * });
 * ```
 */
export async function assertCodecConformance<In, Out = In>(
  spec: CodecConformanceSpec<In, Out>,
): Promise<void> {
  const checker = new ConformanceChecker(spec);
  for (const entry of spec.cases) {
    checker.checkCase(entry);
    // Let timers and other tests breathe between cases of a long corpus.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  for (const limit of spec.limits ?? []) checker.checkLimit(limit);
  if (spec.roundTrip !== undefined) checker.checkRoundTrip(spec.roundTrip);
}

class ConformanceChecker<In, Out> {
  readonly #spec: CodecConformanceSpec<In, Out>;
  readonly #equal: (a: In, b: In) => boolean;
  readonly #seed: number;
  readonly #runs: number;
  readonly #maxFrameLength: number | undefined;
  readonly #hasDecodeEof: boolean;

  constructor(spec: CodecConformanceSpec<In, Out>) {
    this.#spec = spec;
    this.#equal = spec.equal ?? framesEqual;
    this.#seed = spec.seed ?? Math.floor(Math.random() * 0x7fffffff);
    this.#runs = spec.runs ?? 100;
    this.#maxFrameLength = spec.maxFrameLength;
    this.#hasDecodeEof = spec.codec().decodeEof !== undefined;
  }

  // ---- B1 and B4 ------------------------------------------------------------------------------

  checkCase(entry: ConformanceCase<In>): void {
    const bytes = Buffer.from(entry.bytes.buffer, entry.bytes.byteOffset, entry.bytes.byteLength);
    const n = bytes.length;
    const expected = { frames: entry.frames, code: entry.error };
    const where = `case '${entry.name}'`;

    const same = (label: string, chunks: Buffer[]): void => {
      const outcome = this.#run(where, label, chunks, false);
      this.#expectOutcome(where, label, chunks, expected, outcome);
    };
    same('whole', [bytes]);
    same('whole, then an empty chunk', [bytes, Buffer.alloc(0)]);
    same('an empty chunk, then whole', [Buffer.alloc(0), bytes]);
    same('byte by byte', fragments(bytes, 1));
    for (let k = 1; k < n; k++) same(`cut at ${k}`, [bytes.subarray(0, k), bytes.subarray(k)]);
    for (let size = 2; size < n; size++) same(`fragments of ${size}`, fragments(bytes, size));
    this.#property(
      where,
      'random chunking',
      fc.property(cutsArbitrary(n), (cuts) => {
        const chunks = cutAt(bytes, cuts);
        same(`random chunking ${describeChunks(chunks)}`, chunks);
      }),
      this.#runs,
    );

    // B4: the stream ends after every prefix.
    for (let k = 0; k <= n; k++) this.#checkEofAt(entry, bytes, k);
  }

  #checkEofAt(entry: ConformanceCase<In>, bytes: Buffer, k: number): void {
    const where = `case '${entry.name}'`;
    const prefix = bytes.subarray(0, k);
    const open = this.#run(where, `first ${k} bytes`, [prefix], false);
    const label = `end of stream after ${k} bytes`;
    const ended = this.#run(where, label, [prefix], true);

    // Other chunkings of the same prefix end the same way.
    const others: Array<[string, Buffer[]]> = [[`${label}, cut in two`, halves(prefix)]];
    if (k <= BYTEWISE_EOF_LIMIT) others.push([`${label}, byte by byte`, fragments(prefix, 1)]);
    for (const [otherLabel, chunks] of others) {
      const other = this.#run(where, otherLabel, chunks, true);
      this.#expectOutcome(where, otherLabel, chunks, ended, other);
    }

    // A prefix gives a prefix of the frames, and no error the whole bytes do not give.
    if (!this.#startsWith(entry.frames, open.frames)) {
      this.#fail(
        where,
        `first ${k} bytes`,
        `decoding a prefix gave frames that decoding all the bytes does not give\n  prefix gave: ${show(open.frames)}\n  all bytes:   ${show(entry.frames)}`,
      );
    }
    if (open.code !== undefined && open.code !== entry.error) {
      this.#fail(
        where,
        `first ${k} bytes`,
        `decoding a prefix failed with ${open.code} (${open.message}), decoding all the bytes gives ${entry.error ?? 'no error'}`,
      );
    }

    // The frames before the end stay; what the end adds follows the documented rules.
    if (!this.#startsWith(ended.frames, open.frames)) {
      this.#fail(
        where,
        label,
        `ending the stream lost frames already decoded\n  before: ${show(open.frames)}\n  after:  ${show(ended.frames)}`,
      );
    }
    if (open.code !== undefined || open.leftover === 0) {
      this.#expectOutcome(where, label, [prefix], open, ended);
    } else if (!this.#hasDecodeEof) {
      this.#expectOutcome(
        where,
        label,
        [prefix],
        { frames: open.frames, code: ErrorCode.TruncatedFrame },
        ended,
      );
    } else if (ended.code !== undefined && !DECODE_CODES.has(ended.code)) {
      this.#fail(
        where,
        label,
        `end of stream gave ${ended.code} (${ended.message}); expected frames from decodeEof or a decode error such as MAI_TRUNCATED_FRAME`,
      );
    }

    if (k === bytes.length) {
      const eofFrames = entry.error === undefined ? (entry.eof?.frames ?? []) : [];
      const eofCode = entry.error ?? entry.eof?.error;
      this.#expectOutcome(
        where,
        `${label} (all of them)`,
        [prefix],
        { frames: [...entry.frames, ...eofFrames], code: eofCode },
        ended,
      );
    }
  }

  // ---- C1 -------------------------------------------------------------------------------------

  checkLimit(limit: ConformanceLimit): void {
    const where = `limit '${limit.name}'`;
    const atMax = toBuffer(limit.atMax);
    const overMax = toBuffer(limit.overMax);
    const code = limit.error ?? ErrorCode.FrameTooLong;
    const whole = this.#run(where, 'exactly the maximum, whole', [atMax], false);
    if (whole.code !== undefined || whole.frames.length === 0) {
      this.#fail(
        where,
        'exactly the maximum, whole',
        `expected at least one frame and no error, got ${describeOutcome(whole)}`,
      );
    }
    const bytewise = fragments(atMax, 1);
    this.#expectOutcome(
      where,
      'exactly the maximum, byte by byte',
      bytewise,
      whole,
      this.#run(where, 'exactly the maximum, byte by byte', bytewise, false),
    );
    const over: Array<[string, Buffer[]]> = [
      ['one byte over, whole', [overMax]],
      ['one byte over, byte by byte', fragments(overMax, 1)],
    ];
    for (const [label, chunks] of over) {
      const outcome = this.#run(where, label, chunks, false);
      if (outcome.code !== code) {
        this.#fail(where, label, `expected ${code}, got ${describeOutcome(outcome)}`);
      }
      // C1: a too-long error carries the limit and the length observed.
      const error = outcome.error;
      if (
        code === ErrorCode.FrameTooLong &&
        !(error instanceof FrameTooLongError && error.length > error.limit)
      ) {
        this.#fail(
          where,
          label,
          `MAI_FRAME_TOO_LONG must be a FrameTooLongError with length > limit, got ${describeError(error)}`,
        );
      }
    }
  }

  // ---- B2 and B3 ------------------------------------------------------------------------------

  checkRoundTrip(roundTrip: RoundTripSpec<In, Out>): void {
    const where = 'round trip';
    const toIn = roundTrip.expected ?? ((out: Out) => out as unknown as In);
    const check =
      roundTrip.check ??
      ((sent: Out[], received: In[]) => this.#sameFrames(sent.map(toIn), received));
    const frames = fc.array(roundTrip.arbitrary, { maxLength: roundTrip.maxFrames ?? 8 });
    const cuts = fc.array(fc.nat(), { maxLength: 12 });
    this.#property(
      where,
      'encode → random chunking → decode',
      fc.property(frames, cuts, (sequence, rawCuts) => {
        const encoder = new FrameEncoder(this.#spec.codec(), this.#limitOptions());
        const sent: Out[] = [];
        for (const frame of sequence) {
          // B3: each frame encodes and decodes back alone, or is refused with a typed error.
          let alone: Buffer;
          try {
            alone = encodeFrames(this.#spec.codec(), [frame], this.#limitOptions());
          } catch (error) {
            // The engine would wrap any throw as MAI_ENCODE_FAILED; the kit wants the codec to
            // throw the typed error itself, so a bug in encode is not taken for a refusal.
            if (error instanceof EncodeError) continue;
            this.#fail(
              where,
              `encoding ${show(frame)}`,
              `encode must succeed or throw an EncodeError (MAI_ENCODE_FAILED), it threw ${describeError(error)}`,
            );
          }
          try {
            encoder.encode(frame);
          } catch (error) {
            this.#fail(
              where,
              `encoding ${show(frame)} after ${show(sent)}`,
              `the frame encodes alone but not after others: ${describeError(error)}`,
            );
          }
          const back = this.#run(where, `decoding the encoding of ${show(frame)}`, [alone], true);
          if (back.code !== undefined || !check([frame], back.frames)) {
            this.#fail(
              where,
              `frame ${show(frame)}`,
              `encoded as ${show(alone)}, decoded back as ${describeOutcome(back)}`,
            );
          }
          sent.push(frame);
        }
        const bytes = encoder.take();
        const chunks = cutAt(
          bytes,
          rawCuts.map((cut) => cut % (bytes.length + 1)),
        );
        const label = `frames ${show(sent)} as ${describeChunks(chunks)}`;
        const outcome = this.#run(where, label, chunks, true);
        if (outcome.code !== undefined || !check(sent, outcome.frames)) {
          this.#fail(where, label, `decoded back as ${describeOutcome(outcome)}`);
        }
      }),
      roundTrip.runs ?? this.#runs,
    );
  }

  // ---- Helpers --------------------------------------------------------------------------------

  #limitOptions(): { maxFrameLength?: number } {
    return this.#maxFrameLength === undefined ? {} : { maxFrameLength: this.#maxFrameLength };
  }

  #run(where: string, label: string, chunks: Buffer[], eof: boolean): Outcome<In> {
    const result = decodeChunks(this.#spec.codec(), chunks, {
      eof,
      ...this.#limitOptions(),
    });
    const code = result.error?.code;
    if (code === ErrorCode.CodecContract || code === ErrorCode.CodecThrew) {
      // I4: no corpus can expect a broken contract.
      this.#fail(
        where,
        label,
        `the codec broke the Codec contract: ${code}: ${result.error?.message}\n  chunks: ${describeChunks(chunks)}`,
      );
    }
    return {
      frames: result.frames,
      code,
      message: result.error?.message,
      leftover: result.leftover,
      error: result.error,
    };
  }

  #expectOutcome(
    where: string,
    label: string,
    chunks: Buffer[],
    expected: { frames: In[]; code: string | undefined },
    actual: Outcome<In>,
  ): void {
    if (actual.code === expected.code && this.#sameFrames(expected.frames, actual.frames)) return;
    this.#fail(
      where,
      label,
      `expected ${describeOutcome(expected)}\n  got      ${describeOutcome(actual)}\n  chunks: ${describeChunks(chunks)}`,
    );
  }

  #sameFrames(expected: In[], actual: In[]): boolean {
    const units = this.#spec.units;
    if (units === undefined) {
      return expected.length === actual.length && this.#startsWith(actual, expected);
    }
    return framesEqual(units(expected), units(actual));
  }

  /** Whether `whole` begins with every frame (or unit, see `units`) of `head`. */
  #startsWith(whole: In[], head: In[]): boolean {
    const units = this.#spec.units;
    if (units !== undefined) {
      const wholeUnits = units(whole);
      const headUnits = units(head);
      return (
        headUnits.length <= wholeUnits.length &&
        headUnits.every((unit, i) => framesEqual(unit, wholeUnits[i]))
      );
    }
    if (head.length > whole.length) return false;
    for (let i = 0; i < head.length; i++) {
      if (!this.#equal(whole[i] as In, head[i] as In)) return false;
    }
    return true;
  }

  #property<Ts>(where: string, label: string, property: fc.IProperty<Ts>, runs: number): void {
    const details = fc.check(property, { seed: this.#seed, numRuns: runs });
    if (!details.failed) return;
    const cause = details.errorInstance;
    const reason = cause instanceof AssertionError ? cause.message : describeError(cause);
    throw new AssertionError({
      message: `${this.#spec.name} › ${where} › ${label}: property failed after ${details.numRuns} runs (seed ${details.seed}, path ${JSON.stringify(details.counterexamplePath)})\n${reason}`,
    });
  }

  #fail(where: string, label: string, detail: string): never {
    throw new AssertionError({
      message: `${this.#spec.name} › ${where} › ${label}: ${detail}\n  seed: ${this.#seed}`,
    });
  }
}

/** Codes a stream may legitimately fail with at end of stream. */
const DECODE_CODES: ReadonlySet<string> = new Set([
  ErrorCode.TruncatedFrame,
  ErrorCode.CorruptFrame,
  ErrorCode.FrameTooLong,
]);

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function fragments(bytes: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return chunks;
}

function halves(bytes: Buffer): Buffer[] {
  const middle = bytes.length >> 1;
  return [bytes.subarray(0, middle), bytes.subarray(middle)];
}

/** Cut points in 0..n; repeated points make empty chunks. */
function cutsArbitrary(n: number): fc.Arbitrary<number[]> {
  return fc.array(fc.integer({ min: 0, max: n }), { maxLength: Math.min(n + 4, 48) });
}

function cutAt(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const sorted = [...cuts].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const cut of sorted) {
    chunks.push(bytes.subarray(from, cut));
    from = cut;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

function describeChunks(chunks: readonly Uint8Array[]): string {
  const sizes = chunks.slice(0, 24).map((chunk) => chunk.length);
  const more = chunks.length > 24 ? `, … ${chunks.length - 24} more` : '';
  return `[${sizes.join(', ')}${more}] (chunk sizes)`;
}

function describeOutcome<In>(outcome: {
  frames: In[];
  code: string | undefined;
  message?: string | undefined;
}): string {
  const error =
    outcome.code === undefined
      ? 'no error'
      : `error ${outcome.code}${outcome.message === undefined ? '' : ` (${outcome.message})`}`;
  return `frames ${show(outcome.frames)}, ${error}`;
}

function describeError(error: unknown): string {
  if (error instanceof MaiError) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

function show(value: unknown): string {
  return inspect(value, {
    depth: 4,
    maxArrayLength: 12,
    maxStringLength: 120,
    breakLength: Infinity,
  });
}
