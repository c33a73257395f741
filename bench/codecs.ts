/**
 * Codec micro-benchmarks (PERFORMANCE.md C1): decode and encode throughput of every built-in
 * codec in src/codec/ that exists when this runs, at 5 B, 125 B, 64 KiB and 1 MiB frames, beside
 * the framing packages people use today (`it-length-prefixed`, `length-prefixed-stream`,
 * `split2`, `redis-parser`) in the same process and run.
 *
 *   node build/bench/codecs.js [--quick] [--sizes 5,125] [--only lp-u32,it-lp] [--rounds N]
 *                              [--seconds S] [--stream-mib N]
 *
 * Decoding: a pre-built stream of many frames (16 MiB, 4 with --quick, at least 8 frames), cut into
 * 64 KiB chunks, each its own Buffer as a socket would deliver them. mai's codecs are driven as
 * src/engine/connection.ts drives them: the decode loop runs on `(chunk, start, end)` straight
 * from each chunk, an unfinished tail is copied into a pooled buffer (BufferPool, 32 KiB
 * standard size, as the engine's default), later chunks are appended to it (compacted or grown,
 * as the engine does) and decoding resumes there. Ecosystem packages get their own streaming
 * API, fed the same chunks: `decode(iterable)` for it-length-prefixed (its synchronous
 * generator), `.write(chunk)` on the Transform streams of length-prefixed-stream and split2,
 * `parser.execute(chunk)` for redis-parser.
 *
 * Encoding: mai's codecs encode the frames one after another into a 32 KiB pooled buffer, as the
 * engine's `send` does (a full buffer is handed off and a fresh one leased; a frame larger than
 * the buffer makes the engine retry with a doubled one). Ecosystem encoders: it-length-prefixed's
 * `encode(iterable)`, length-prefixed-stream's encode stream.
 *
 * Cases run in rounds (3 by default), in an order rotated from round to round; in each round a
 * case warms up, then repeats the whole stream for a fixed time, and its median pass counts. The
 * figure is the median over rounds. MB/s counts wire bytes (10^6 per MB). Results:
 * bench/results/codecs.json and .md (codecs-partial.* for --quick, --only, --sizes, --seconds
 * or --stream-mib runs); when bench/run.ts forks it, it also reports its progress and hands over
 * the JSON.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decode as itLpDecode, encode as itLpEncode } from 'it-length-prefixed';
import RedisParser from 'redis-parser';
import split2 from 'split2';
import { BufferPool } from '../src/buffer/buffer-pool.js';
import { type Codec, IncompleteFrame, InsufficientBuffer } from '../src/codec/codec.js';
import { importBuiltIn } from './support/mai-codecs.js';
import { reportProgress, reportResult } from './support/progress.js';
import {
  human,
  type MachineInfo,
  machineInfo,
  markdownTable,
  type SourceState,
  sizeLabel,
  sourceLine,
  sourceState,
  summarize,
} from './support/report.js';
import { boundText, c1RatioName, meets, metText, targetFor } from './support/targets.js';
import { lengthPrefixedStream } from './support/untyped.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS = join(ROOT, 'bench/results');
/** The code measured, as it was when the benchmark started (others edit the tree meanwhile). */
const SOURCE = sourceState(ROOT);
const CHUNK = 64 * 1024;
const KiB = 1024;
const MiB = 1024 * 1024;

/** The wire formats the streams are built in. */
const Format = {
  U32: 'u32 BE length + payload',
  Varint: 'varint length + payload',
  Lines: 'line + \\n',
  Nul: 'bytes + \\0',
  Resp: 'RESP bulk string $n\\r\\n…\\r\\n',
  Fixed: 'fixed-length frames',
  Raw: 'raw bytes',
} as const;
type Format = (typeof Format)[keyof typeof Format];

/** What a case is compared with: a family of same-format implementations. */
interface Subject {
  readonly id: string;
  readonly title: string;
  readonly format: Format;
  readonly family: string;
  readonly mai: boolean;
}

/** A decoder under test: decodes every chunk and returns how many frames it saw. */
type DecodeRun = (chunks: readonly Buffer[]) => number | Promise<number>;
/** An encoder under test: encodes `count` copies of the frame and returns bytes produced. */
type EncodeRun = (count: number) => number | Promise<number>;

interface Prepared {
  readonly decode: DecodeRun;
  readonly encode?: EncodeRun;
}

interface Options {
  readonly quick: boolean;
  readonly sizes: readonly number[];
  readonly only: readonly string[] | undefined;
  /** Measured time per case per round. */
  readonly seconds: number;
  /** Warm-up of a case in its first round (later rounds warm up for a sixth of it). */
  readonly warmMs: number;
  /** Least bytes of a stream to decode (at least 8 frames are always built). */
  readonly streamBytes: number;
  /** Rounds over all cases of a size, in rotated order; figures are medians over rounds. */
  readonly rounds: number;
}

// ---- Streams -------------------------------------------------------------------------------

function payloadBytes(size: number, avoid: number[]): Buffer {
  const payload = Buffer.allocUnsafe(size);
  // Printable letters: no NUL, CR or LF, valid UTF-8 and latin1, so one stream serves all.
  for (let i = 0; i < size; i++) payload[i] = 0x61 + (i % 26);
  for (const byte of avoid) if (payload.includes(byte)) throw new Error('payload has a delimiter');
  return payload;
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let v = value;
  while (v >= 0x80) {
    bytes.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

/** One frame on the wire in `format`, with a payload of `size` bytes. */
function wireFrame(format: Format, size: number): Buffer {
  const payload = payloadBytes(size, [0x00, 0x0a, 0x0d]);
  switch (format) {
    case Format.U32: {
      const header = Buffer.alloc(4);
      header.writeUInt32BE(size);
      return Buffer.concat([header, payload]);
    }
    case Format.Varint:
      return Buffer.concat([varint(size), payload]);
    case Format.Lines:
      return Buffer.concat([payload, Buffer.from('\n')]);
    case Format.Nul:
      return Buffer.concat([payload, Buffer.from([0])]);
    case Format.Resp:
      return Buffer.concat([Buffer.from(`$${size}\r\n`), payload, Buffer.from('\r\n')]);
    case Format.Fixed:
    case Format.Raw:
      return payload;
  }
}

interface Stream {
  readonly chunks: Buffer[];
  readonly frames: number;
  readonly bytes: number;
  readonly frameBytes: number;
}

/** Many frames back to back, cut into 64 KiB chunks that are each their own Buffer. */
function buildStream(format: Format, size: number, minBytes: number): Stream {
  const frame = wireFrame(format, size);
  const frames = Math.max(8, Math.ceil(minBytes / frame.length));
  const whole = Buffer.allocUnsafe(frames * frame.length);
  for (let i = 0; i < frames; i++) frame.copy(whole, i * frame.length);
  const chunks: Buffer[] = [];
  for (let at = 0; at < whole.length; at += CHUNK) {
    chunks.push(Buffer.from(whole.subarray(at, Math.min(at + CHUNK, whole.length))));
  }
  return { chunks, frames, bytes: whole.length, frameBytes: frame.length };
}

// ---- mai's codecs, driven as the engine drives them -------------------------------------------

/** Frames are stored here so the optimiser cannot drop the work that made them. */
const sink: { value: unknown } = { value: undefined };

/**
 * The engine's input path (connection.ts `#onInput`, `#completeKept`, `#keep`, `#append`,
 * `#decodeKept`), minus the socket: decode straight from each chunk, keep an unfinished tail in a pooled buffer, append
 * the next chunks to it, and go back to the fast path once it is drained.
 */
function engineDecode<F>(
  codec: Codec<F, unknown>,
  chunks: readonly Buffer[],
  pool: BufferPool,
): number {
  let frames = 0;
  let kept: Buffer | null = null;
  let keptStart = 0;
  let keptEnd = 0;
  const loop = (bytes: Buffer, start: number, end: number): number => {
    while (start < end) {
      const result = codec.decode(bytes, start, end);
      if (result === IncompleteFrame) return start;
      const bytesRead = result.bytesRead;
      if (!(bytesRead >= 1 && bytesRead <= end - start)) throw new Error('codec contract broken');
      start += bytesRead;
      sink.value = result.frame;
      frames++;
    }
    return start;
  };
  /** `#append`: `chunk[from, to)` after the kept bytes, compacting or growing as needed. */
  const append = (chunk: Buffer, from: number, to: number): void => {
    const keptBuffer = kept as Buffer;
    const length = to - from;
    const held = keptEnd - keptStart;
    if (keptEnd + length > keptBuffer.length) {
      if (held + length <= keptBuffer.length) {
        keptBuffer.copyWithin(0, keptStart, keptEnd);
      } else {
        const grown = pool.lease(Math.max(held + length, keptBuffer.length * 2));
        keptBuffer.copy(grown, 0, keptStart, keptEnd);
        pool.release(keptBuffer);
        kept = grown;
      }
      keptStart = 0;
      keptEnd = held;
    }
    chunk.copy(kept as Buffer, keptEnd, from, to);
    keptEnd += length;
  };
  /** `#decodeKept`: decode from the kept bytes, release them once drained. */
  const decodeKept = (): void => {
    keptStart = loop(kept as Buffer, keptStart, keptEnd);
    if (keptStart === keptEnd) {
      pool.release(kept as Buffer);
      kept = null;
    }
  };
  for (const chunk of chunks) {
    let from = 0;
    if (kept !== null && codec.wireLength !== undefined) {
      // `#completeKept`: copy only the rest of the kept frame, then go on from the chunk.
      const held = keptEnd - keptStart;
      const rest = codec.wireLength(kept, keptStart, keptEnd) - held;
      const size = kept.length;
      if (rest > 0 && rest <= chunk.length && held + rest <= size && size <= pool.bufferSize) {
        append(chunk, 0, rest);
        decodeKept();
        from = rest;
      }
    }
    if (kept === null) {
      const stop = loop(chunk, from, chunk.length);
      if (stop < chunk.length) {
        kept = pool.lease(chunk.length - stop);
        chunk.copy(kept, 0, stop);
        keptStart = 0;
        keptEnd = chunk.length - stop;
      }
      continue;
    }
    append(chunk, from, chunk.length);
    decodeKept();
  }
  if (kept !== null) {
    pool.release(kept);
    throw new Error(`stream ended with ${keptEnd - keptStart} undecoded bytes`);
  }
  return frames;
}

/** The engine's output path (`#encode`, `#seal`): encode into pooled buffers, hand full ones off. */
function engineEncode<F>(
  codec: Codec<unknown, F>,
  frame: F,
  count: number,
  pool: BufferPool,
): number {
  let out: Buffer | null = null;
  let outEnd = 0;
  let total = 0;
  for (let i = 0; i < count; i++) {
    let size = pool.bufferSize;
    for (;;) {
      if (out === null) {
        out = pool.lease(size);
        outEnd = 0;
      }
      const written = codec.encode(frame, out, outEnd);
      if (written !== InsufficientBuffer) {
        outEnd += written;
        total += written;
        break;
      }
      if (outEnd > 0) {
        // Full: the engine seals it for the flush; here it is "written" at once.
        pool.release(out);
        out = null;
        continue;
      }
      size = out.length * 2;
      pool.release(out);
      out = null;
    }
  }
  if (out !== null) pool.release(out);
  return total;
}

// ---- Subjects ------------------------------------------------------------------------------

interface MaiSpec {
  readonly id: string;
  readonly title: string;
  readonly file: string;
  readonly exportName: string;
  readonly format: Format;
  readonly family: string;
  /** Builds the codec for frames of `size` payload bytes. */
  readonly make: (
    ctor: new (options: never) => Codec<unknown, unknown>,
    size: number,
  ) => Codec<unknown, unknown>;
  /** The frame to encode. */
  readonly frame: (payload: Buffer) => unknown;
}

type AnyCtor = new (options: unknown) => Codec<unknown, unknown>;
const build = (ctor: unknown, options: unknown): Codec<unknown, unknown> =>
  new (ctor as AnyCtor)(options);

const MAI_SPECS: readonly MaiSpec[] = [
  {
    id: 'lp-u32',
    title: 'mai LengthPrefixedCodec (u32 BE)',
    file: 'length-prefixed',
    exportName: 'LengthPrefixedCodec',
    format: Format.U32,
    family: 'length-prefixed (u32)',
    make: (ctor) => build(ctor, { maxFrameLength: 4 * MiB }),
    frame: (payload) => payload,
  },
  {
    id: 'lp-varint',
    title: "mai LengthPrefixedCodec (lengthFieldLength: 'varint')",
    file: 'length-prefixed',
    exportName: 'LengthPrefixedCodec',
    format: Format.Varint,
    family: 'length-prefixed (varint)',
    make: (ctor) => build(ctor, { lengthFieldLength: 'varint', maxFrameLength: 4 * MiB }),
    frame: (payload) => payload,
  },
  {
    id: 'lp-varint-borrow',
    title: "mai LengthPrefixedCodec (lengthFieldLength: 'varint', borrow: true)",
    file: 'length-prefixed',
    exportName: 'LengthPrefixedCodec',
    format: Format.Varint,
    family: 'length-prefixed (varint)',
    make: (ctor) =>
      build(ctor, { lengthFieldLength: 'varint', maxFrameLength: 4 * MiB, borrow: true }),
    frame: (payload) => payload,
  },
  {
    id: 'lines',
    title: 'mai LinesCodec (strings, utf8)',
    file: 'lines',
    exportName: 'LinesCodec',
    format: Format.Lines,
    family: 'lines',
    make: (ctor) => build(ctor, { maxLineLength: 4 * MiB }),
    frame: (payload) => payload.toString('latin1'),
  },
  {
    id: 'lines-buffer',
    title: "mai LinesCodec (frames: 'buffer')",
    file: 'lines',
    exportName: 'LinesCodec',
    format: Format.Lines,
    family: 'lines',
    make: (ctor) => build(ctor, { maxLineLength: 4 * MiB, frames: 'buffer' }),
    frame: (payload) => payload,
  },
  {
    id: 'delimiter',
    title: "mai DelimiterCodec ('\\0')",
    file: 'delimiter',
    exportName: 'DelimiterCodec',
    format: Format.Nul,
    family: 'delimiter',
    make: (ctor) => build(ctor, { delimiters: '\0', maxLength: 4 * MiB }),
    frame: (payload) => payload,
  },
  {
    id: 'fixed',
    title: 'mai FixedLengthCodec',
    file: 'fixed-length',
    exportName: 'FixedLengthCodec',
    format: Format.Fixed,
    family: 'fixed-length',
    make: (ctor, size) => build(ctor, size),
    frame: (payload) => payload,
  },
  {
    id: 'raw',
    title: 'mai RawCodec (a frame = what is there, ≤ 64 KiB)',
    file: 'raw',
    exportName: 'RawCodec',
    format: Format.Raw,
    family: 'raw',
    make: (ctor) => build(ctor, {}),
    frame: (payload) => payload,
  },
  {
    id: 'resp',
    title: 'mai RespCodec (bulk strings)',
    file: 'resp',
    exportName: 'RespCodec',
    format: Format.Resp,
    family: 'RESP',
    make: (ctor) => build(ctor, {}),
    frame: (payload) => payload,
  },
];

interface EcoSpec {
  readonly subject: Subject;
  readonly prepare: (size: number, payload: Buffer) => Prepared;
}

/** Waits for a stream's 'end' or 'finish' (whichever the test needs), rejecting on 'error'. */
function ended(stream: NodeJS.EventEmitter, event: 'end' | 'finish'): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once(event, () => resolve());
    stream.once('error', reject);
  });
}

const ECO_SPECS: readonly EcoSpec[] = [
  {
    subject: {
      id: 'it-lp',
      title: 'it-length-prefixed (varint)',
      format: Format.Varint,
      family: 'length-prefixed (varint)',
      mai: false,
    },
    prepare: (_size, payload) => ({
      decode: (chunks) => {
        let frames = 0;
        for (const message of itLpDecode(chunks, { maxDataLength: 4 * MiB })) {
          sink.value = message;
          frames++;
        }
        return frames;
      },
      encode: (count) => {
        let bytes = 0;
        const frames = repeat(payload, count);
        for (const chunk of itLpEncode(frames, { maxDataLength: 4 * MiB }))
          bytes += chunk.byteLength;
        return bytes;
      },
    }),
  },
  {
    subject: {
      id: 'lps',
      title: 'length-prefixed-stream (varint)',
      format: Format.Varint,
      family: 'length-prefixed (varint)',
      mai: false,
    },
    prepare: (_size, payload) => ({
      decode: async (chunks) => {
        const decoder = lengthPrefixedStream.decode();
        let frames = 0;
        decoder.on('data', (message: Buffer) => {
          sink.value = message;
          frames++;
        });
        const done = ended(decoder, 'end');
        for (const chunk of chunks) decoder.write(chunk);
        decoder.end();
        await done;
        return frames;
      },
      encode: async (count) => {
        const encoder = lengthPrefixedStream.encode();
        let bytes = 0;
        encoder.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
        });
        const done = ended(encoder, 'end');
        for (let i = 0; i < count; i++) encoder.write(payload);
        encoder.end();
        await done;
        return bytes;
      },
    }),
  },
  {
    subject: {
      id: 'split2',
      title: 'split2 (strings)',
      format: Format.Lines,
      family: 'lines',
      mai: false,
    },
    prepare: () => ({
      decode: async (chunks) => {
        const splitter = split2();
        let frames = 0;
        splitter.on('data', (line: string) => {
          sink.value = line;
          frames++;
        });
        const done = ended(splitter, 'end');
        for (const chunk of chunks) splitter.write(chunk);
        splitter.end();
        await done;
        return frames;
      },
    }),
  },
  {
    subject: {
      id: 'redis-parser',
      title: 'redis-parser (returnBuffers)',
      format: Format.Resp,
      family: 'RESP',
      mai: false,
    },
    prepare: () => ({
      decode: (chunks) => {
        let frames = 0;
        const parser = new RedisParser({
          returnBuffers: true,
          returnReply: (reply: unknown) => {
            sink.value = reply;
            frames++;
          },
          returnError: (error: Error) => {
            throw error;
          },
        });
        for (const chunk of chunks) parser.execute(chunk);
        return frames;
      },
    }),
  },
];

function* repeat<T>(value: T, count: number): Generator<T> {
  for (let i = 0; i < count; i++) yield value;
}

// ---- Timing --------------------------------------------------------------------------------

interface Measured {
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly passes: number;
}

/** Warm-up, then whole passes for `seconds` (at least 3, at most 500); median pass time. */
async function measure(
  pass: () => number | Promise<number>,
  expect: number,
  seconds: number,
  warmMs: number,
): Promise<Measured> {
  const check = (got: number): void => {
    if (got !== expect) throw new Error(`expected ${expect}, got ${got}`);
  };
  const warmUntil = performance.now() + warmMs;
  do check(await pass());
  while (performance.now() < warmUntil);
  const times: number[] = [];
  const until = performance.now() + seconds * 1000;
  while (times.length < 3 || (performance.now() < until && times.length < 500)) {
    const t0 = performance.now();
    const got = await pass();
    times.push(performance.now() - t0);
    check(got);
  }
  const s = summarize(times);
  return { medianMs: s.median, minMs: s.min, maxMs: s.max, passes: times.length };
}

/** One case (codec or package, size, operation) of C1. */
export interface CaseResult {
  readonly subject: string;
  readonly title: string;
  readonly family: string;
  readonly format: string;
  readonly mai: boolean;
  readonly size: number;
  readonly op: 'decode' | 'encode';
  readonly frames: number;
  readonly wireBytes: number;
  /** Median over rounds of each round's median pass. */
  readonly mbPerSec: number;
  readonly framesPerSec: number;
  /** Slowest and fastest round (each round's median pass). */
  readonly mbPerSecRange: readonly [number, number];
  /** Each round's MB/s, in order. */
  readonly rounds: readonly number[];
  readonly passes: number;
}

function parseOptions(argv: readonly string[]): Options {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i === -1 ? undefined : argv[i + 1];
  };
  const quick = argv.includes('--quick');
  const sizes = value('--sizes')?.split(',').map(Number) ?? [5, 125, 64 * KiB, MiB];
  if (sizes.some((s) => !Number.isSafeInteger(s) || s < 1)) throw new Error('bad --sizes');
  const rounds = Number(value('--rounds') ?? (quick ? 1 : 3));
  if (!Number.isSafeInteger(rounds) || rounds < 1) throw new Error('bad --rounds');
  const seconds = Number(value('--seconds') ?? (quick ? 0.25 : 0.5));
  if (!(seconds > 0)) throw new Error('bad --seconds');
  // The first round's warm-up is sized with the measured time (300 ms for the default 0.25–0.5 s).
  const warmMs = Math.min(300, Math.max(50, seconds * 1000));
  const streamMiB = Number(value('--stream-mib') ?? (quick ? 4 : 16));
  if (!(streamMiB > 0)) throw new Error('bad --stream-mib');
  const only = value('--only')?.split(',');
  return { quick, sizes, only, seconds, warmMs, rounds, streamBytes: Math.round(streamMiB * MiB) };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const machine = machineInfo();
  const started = new Date().toISOString();
  const budgetS = options.quick ? 120 : 600;
  setTimeout(() => {
    console.error(`codec benchmark exceeded its ${budgetS} s budget; giving up`);
    process.exit(2);
  }, budgetS * 1000).unref();

  // Which built-in codecs exist right now.
  const present: { spec: MaiSpec; ctor: unknown }[] = [];
  const skipped: string[] = [];
  for (const spec of MAI_SPECS) {
    const mod = await importBuiltIn(spec.file);
    const ctor = mod?.[spec.exportName];
    if (typeof ctor !== 'function') {
      skipped.push(
        `${spec.id}: src/codec/${spec.file}.ts ${mod === undefined ? 'not found' : `has no ${spec.exportName}`}`,
      );
      continue;
    }
    try {
      spec.make(ctor as never, 5);
      present.push({ spec, ctor });
    } catch (error) {
      skipped.push(
        `${spec.id}: constructor failed (${error instanceof Error ? error.message : String(error)})`,
      );
    }
  }
  console.log(`machine: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}`);
  console.log(`mai codecs: ${present.map((p) => p.spec.id).join(', ')}`);
  if (skipped.length > 0) console.log(`skipped: ${skipped.join('; ')}`);

  const results: CaseResult[] = [];
  const failures: string[] = [];
  const wanted = (id: string): boolean => options.only === undefined || options.only.includes(id);
  const streamBytes = options.streamBytes;
  const casesPerSize =
    present.filter((p) => wanted(p.spec.id)).length +
    ECO_SPECS.filter((spec) => wanted(spec.subject.id)).length;
  const steps = options.sizes.length * options.rounds * casesPerSize;
  let done = 0;

  for (const size of options.sizes) {
    const payload = payloadBytes(size, [0x00, 0x0a, 0x0d]);
    const streams = new Map<Format, Stream>();
    const streamOf = (format: Format): Stream => {
      let stream = streams.get(format);
      if (stream === undefined) {
        stream = buildStream(format, size, streamBytes);
        streams.set(format, stream);
      }
      return stream;
    };
    const candidates: { subject: Subject; prepared: Prepared }[] = [];
    for (const { spec, ctor } of present) {
      if (!wanted(spec.id)) continue;
      const pool = new BufferPool({
        bufferSize: 32 * KiB,
        initialPoolSize: 16,
        maxPoolSize: 128,
        debug: false,
      });
      const codec = (): Codec<unknown, unknown> => spec.make(ctor as never, size);
      const frame = spec.frame(payload);
      candidates.push({
        subject: {
          id: spec.id,
          title: spec.title,
          format: spec.format,
          family: spec.family,
          mai: true,
        },
        prepared: {
          // A fresh codec per pass: one per stream, as the engine makes them.
          decode: (chunks) => engineDecode(codec(), chunks, pool),
          encode: (count) => engineEncode(codec(), frame, count, pool),
        },
      });
    }
    for (const spec of ECO_SPECS) {
      if (wanted(spec.subject.id))
        candidates.push({ subject: spec.subject, prepared: spec.prepare(size, payload) });
    }
    // Rounds over all cases, rotated, so a burst of other work on this shared machine hits
    // every subject in turn rather than one of them for a whole second.
    const perCase = new Map<
      string,
      { op: 'decode' | 'encode'; index: number; mbs: number[]; fps: number[]; passes: number }
    >();
    for (let round = 0; round < options.rounds; round++) {
      for (let k = 0; k < candidates.length; k++) {
        const index = (k + round) % candidates.length;
        const { subject, prepared } = candidates[index] as (typeof candidates)[number];
        const stream = streamOf(subject.format);
        const warmMs = round === 0 ? options.warmMs : options.warmMs / 6;
        reportProgress(
          done++,
          steps,
          `C1 ${sizeLabel(size)} ${subject.id} round ${round + 1}/${options.rounds}`,
        );
        const record = (op: 'decode' | 'encode', m: Measured): void => {
          const key = `${index} ${op}`;
          const entry = perCase.get(key) ?? { op, index, mbs: [], fps: [], passes: 0 };
          entry.mbs.push(stream.bytes / 1e3 / m.medianMs);
          entry.fps.push((stream.frames * 1e3) / m.medianMs);
          entry.passes += m.passes;
          perCase.set(key, entry);
          console.log(
            `${sizeLabel(size).padStart(7)} ${op} ${subject.id.padEnd(13)} round ${round + 1}/${options.rounds} ${human(stream.bytes / 1e3 / m.medianMs).padStart(8)} MB/s ${human((stream.frames * 1e3) / m.medianMs).padStart(8)} frames/s`,
          );
        };
        try {
          // The raw codec delivers whatever bytes are there: one frame per 64 KiB chunk here.
          const expected = subject.format === Format.Raw ? stream.chunks.length : stream.frames;
          record(
            'decode',
            await measure(() => prepared.decode(stream.chunks), expected, options.seconds, warmMs),
          );
        } catch (error) {
          failures.push(
            `${subject.id} decode ${sizeLabel(size)}: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
        const encode = prepared.encode;
        if (encode === undefined) continue;
        try {
          record(
            'encode',
            await measure(() => encode(stream.frames), stream.bytes, options.seconds, warmMs),
          );
        } catch (error) {
          failures.push(
            `${subject.id} encode ${sizeLabel(size)}: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
      }
    }
    for (const entry of perCase.values()) {
      const { subject } = candidates[entry.index] as (typeof candidates)[number];
      const stream = streamOf(subject.format);
      const mbs = summarize(entry.mbs);
      results.push({
        subject: subject.id,
        title: subject.title,
        family: subject.family,
        format: subject.format,
        mai: subject.mai,
        size,
        op: entry.op,
        frames: stream.frames,
        wireBytes: stream.bytes,
        mbPerSec: mbs.median,
        framesPerSec: summarize(entry.fps).median,
        mbPerSecRange: [mbs.min, mbs.max],
        rounds: entry.mbs,
        passes: entry.passes,
      });
    }
  }

  const ratios = computeRatios(results);
  mkdirSync(RESULTS, { recursive: true });
  const json: CodecResults = {
    benchmark: 'codecs',
    timestamp: started,
    finished: new Date().toISOString(),
    command:
      `node ${relative(ROOT, fileURLToPath(import.meta.url))} ${process.argv.slice(2).join(' ')}`.trim(),
    machine,
    source: SOURCE,
    settings: {
      quick: options.quick,
      secondsPerCasePerRound: options.seconds,
      rounds: options.rounds,
      chunkBytes: CHUNK,
      streamBytes,
    },
    maiCodecs: present.map((p) => p.spec.id),
    skipped,
    failures,
    results,
    ratios,
  };
  // A quick or partial run must not overwrite the full results.
  const base =
    options.quick ||
    options.only !== undefined ||
    ['--sizes', '--seconds', '--stream-mib'].some((flag) => process.argv.includes(flag))
      ? 'codecs-partial'
      : 'codecs';
  writeFileSync(join(RESULTS, `${base}.json`), `${JSON.stringify(json, null, 2)}\n`);
  const md = markdown(results, ratios, machine, started, options, skipped, failures, streamBytes);
  writeFileSync(join(RESULTS, `${base}.md`), md);
  console.log(`\n${md}`);
  await reportResult(json);
}

/** The JSON codecs.json holds (and bench/run.ts receives). */
export interface CodecResults {
  readonly benchmark: 'codecs';
  readonly timestamp: string;
  readonly finished: string;
  readonly command: string;
  readonly machine: MachineInfo;
  readonly source: SourceState;
  readonly settings: {
    readonly quick: boolean;
    readonly secondsPerCasePerRound: number;
    readonly rounds: number;
    readonly chunkBytes: number;
    readonly streamBytes: number;
  };
  readonly maiCodecs: readonly string[];
  readonly skipped: readonly string[];
  readonly failures: readonly string[];
  readonly results: readonly CaseResult[];
  readonly ratios: readonly Ratio[];
}

/** mai / package, MB/s over MB/s, of the same wire format, size and operation. */
export interface Ratio {
  readonly mai: string;
  readonly baseline: string;
  readonly op: 'decode' | 'encode';
  readonly size: number;
  readonly ratio: number;
  readonly target: string;
}

/** mai / ecosystem, MB/s over MB/s, for every pair of the same format, size and operation. */
function computeRatios(results: readonly CaseResult[]): Ratio[] {
  const pairs: [string, string][] = [
    ['lp-varint', 'it-lp'],
    ['lp-varint', 'lps'],
    ['lp-varint-borrow', 'it-lp'],
    ['lp-varint-borrow', 'lps'],
    ['lp-u32', 'it-lp'],
    ['lp-u32', 'lps'],
    ['lines', 'split2'],
    ['lines-buffer', 'split2'],
    ['resp', 'redis-parser'],
  ];
  const ratios: Ratio[] = [];
  for (const [mai, baseline] of pairs) {
    for (const a of results) {
      if (a.subject !== mai) continue;
      const b = results.find((r) => r.subject === baseline && r.size === a.size && r.op === a.op);
      if (b === undefined) continue;
      ratios.push({
        mai,
        baseline,
        op: a.op,
        size: a.size,
        ratio: a.mbPerSec / b.mbPerSec,
        target: boundText(targetFor('C1', c1RatioName(mai, baseline, a.op, sizeLabel(a.size)))),
      });
    }
  }
  return ratios;
}

function markdown(
  results: readonly CaseResult[],
  ratios: readonly Ratio[],
  machine: ReturnType<typeof machineInfo>,
  when: string,
  options: Options,
  skipped: readonly string[],
  failures: readonly string[],
  streamBytes: number,
): string {
  const parts = [
    '# Codec benchmark (C1)',
    '',
    `- When: ${when}`,
    `- Machine: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node} (V8 ${machine.v8}); load average at start ${machine.loadAverage.join(' / ')}`,
    `- Streams of ≥ ${streamBytes / MiB} MiB (≥ 8 frames) in ${CHUNK / KiB} KiB chunks. ${options.rounds} round(s) over all cases of a size in rotated order; in each, a warm-up then passes for ${options.seconds} s (≥ 3) and the median pass; figure = median over rounds [slowest–fastest round]`,
    '- mai codecs are driven as the engine drives them (decode loop on offsets, tail kept in a pooled buffer; encode into 32 KiB pooled buffers); ecosystem packages through their own streaming APIs. MB/s = 10^6 wire bytes per second.',
    `- Skipped (not written yet or not loadable): ${skipped.length === 0 ? 'none' : skipped.join('; ')}`,
    sourceLine(SOURCE),
    '',
  ];
  for (const op of ['decode', 'encode'] as const) {
    parts.push(`## ${op}`, '');
    const rows = results
      .filter((r) => r.op === op)
      .map((r) => [
        r.title,
        r.format,
        sizeLabel(r.size),
        `${human(r.mbPerSec)} [${human(r.mbPerSecRange[0])}–${human(r.mbPerSecRange[1])}]`,
        human(r.framesPerSec),
      ]);
    parts.push(markdownTable(['codec', 'wire format', 'frame', 'MB/s', 'frames/s'], rows), '');
  }
  parts.push('## Ratios (mai / package, MB/s of the same run)', '');
  parts.push(
    markdownTable(
      ['mai', 'package', 'op', 'frame', 'ratio', 'target', 'met'],
      ratios.map((r) => [
        r.mai,
        r.baseline,
        r.op,
        sizeLabel(r.size),
        r.ratio.toFixed(2),
        r.target,
        metText(
          meets(targetFor('C1', c1RatioName(r.mai, r.baseline, r.op, sizeLabel(r.size))), r.ratio),
        ),
      ]),
    ),
    '',
  );
  if (failures.length > 0) parts.push('Failures:', ...failures.map((f) => `- ${f}`), '');
  return parts.join('\n');
}

await main();
