import { AssertionError } from 'node:assert';
import { CANARY_BYTE } from '../buffer/buffer-pool.js';
import { type Codec, checkBytesRead, Discarded, IncompleteFrame } from '../codec/codec.js';
import { DEFAULTS } from '../engine/settings.js';
import {
  asMaiError,
  ErrorCode,
  FrameTooLongError,
  type MaiError,
  TruncatedFrameError,
} from '../errors.js';

/** Options of `StreamDecoder` and `decodeChunks`. */
export interface StreamDecoderOptions {
  /** The engine's `maxFrameLength`. Default 16 MiB, as in the engine. */
  maxFrameLength?: number;
}

/**
 * Bytes left in front of the data in every buffer the decoder owns. A codec that ignores
 * `start` reads canary bytes instead of its frame and fails its tests.
 */
const LEADING_SLACK = 3;

/**
 * Drives one codec instance over a stream of chunks exactly the way the engine's connection does
 * (`#decodeLoop`, `#append`, `#decodeEof` in src/engine/connection.ts), without a socket:
 *
 * - unconsumed bytes are kept contiguous, and every new chunk is appended after them;
 * - `decode` is called in a loop until it returns `IncompleteFrame` (an empty chunk after kept
 *   bytes makes the engine call `decode` again with the same bytes, and so does this);
 * - `bytesRead` must be an integer in 1..available, else `MAI_CODEC_CONTRACT`;
 * - kept bytes beyond `maxFrameLength`, or a frame longer than it, give `MAI_FRAME_TOO_LONG`;
 * - a codec throwing anything but a MaiError gives `MAI_CODEC_THREW`;
 * - at end of stream, `decodeEof` is looped over the leftover (if any), and what is still left
 *   is a `TruncatedFrameError`.
 *
 * The first error stops the stream, as it does in the engine.
 *
 * Two checks the engine only does in debug mode are always on here: bytes handed to the codec
 * are surrounded by canary bytes, and once consumed they are overwritten with canary bytes, so
 * a frame that kept a view of the input instead of copying it shows up as corrupted. A
 * borrowing codec's frames (`borrowsInput`) are views by design: their bytes are overwritten
 * when `deliver` returns, as the engine's promise to them ends when `onFrame` returns, and
 * `decodeChunks` keeps copies of them.
 *
 * | state   | push(chunk)                | end()                          |
 * |---------|----------------------------|--------------------------------|
 * | open    | decode loop → open/failed  | decodeEof loop → ended/failed  |
 * | failed  | ignored                    | ignored                        |
 * | ended   | AssertionError (misuse)    | ignored                        |
 *
 * @example
 * ```ts
 * const decoder = new StreamDecoder(new LinesCodec());
 * const frames: string[] = [];
 * decoder.push(Buffer.from('a\nb'), (f) => frames.push(f));
 * decoder.end((f) => frames.push(f));
 * ```
 */
export class StreamDecoder<In> {
  readonly #codec: Codec<In, unknown>;
  /** The codec's frames view its input (`borrowsInput`). */
  readonly #borrowing: boolean;
  readonly #maxFrameLength: number;
  // Unconsumed bytes live in #buffer[#start, #end).
  #buffer: Buffer = Buffer.alloc(0);
  #start = 0;
  #end = 0;
  #error: MaiError | undefined = undefined;
  #ended = false;
  #stopped = false;
  #bytesFed = 0;
  #errorAfterBytes = -1;
  #decodeCalls = 0;

  constructor(codec: Codec<In, unknown>, options: StreamDecoderOptions = {}) {
    this.#codec = codec;
    this.#borrowing = codec.borrowsInput === true;
    this.#maxFrameLength = options.maxFrameLength ?? DEFAULTS.maxFrameLength;
  }

  /** The error that stopped the stream, if any. */
  get error(): MaiError | undefined {
    return this.#error;
  }

  /** Bytes received but not yet consumed by a frame. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /** Bytes pushed so far. */
  get bytesFed(): number {
    return this.#bytesFed;
  }

  /** How many bytes had been pushed when the error happened; -1 without an error. */
  get errorAfterBytes(): number {
    return this.#errorAfterBytes;
  }

  /** Calls of `decode` and `decodeEof` so far. */
  get decodeCalls(): number {
    return this.#decodeCalls;
  }

  /** True once the stream failed, ended or was stopped: further input is ignored. */
  get done(): boolean {
    return this.#error !== undefined || this.#ended || this.#stopped;
  }

  /** Stops decoding (the engine's `close()` from inside `onFrame`): nothing more is delivered. */
  stop(): void {
    this.#stopped = true;
  }

  /** Appends a chunk and delivers every frame it completes. Returns the error, if one happened. */
  push(chunk: Uint8Array, deliver: (frame: In) => void): MaiError | undefined {
    if (this.#ended) throw new AssertionError({ message: 'StreamDecoder.push after end()' });
    if (this.done) return this.#error;
    this.#bytesFed += chunk.length;
    if (this.#end === this.#start && chunk.length === 0) return undefined;
    this.#append(chunk);
    this.#loop(deliver);
    return this.#error;
  }

  /** The peer ended the stream: runs `decodeEof` over the leftover. Returns the error, if any. */
  end(deliver: (frame: In) => void): MaiError | undefined {
    if (this.done) {
      this.#ended = true;
      return this.#error;
    }
    this.#ended = true;
    const decodeEof = this.#codec.decodeEof;
    const bytes = this.#buffer;
    const end = this.#end;
    let start = this.#start;
    // The engine calls decodeEof only when bytes are left over.
    if (decodeEof !== undefined) {
      let guard = end - start + 1;
      while (start < end && !this.#stopped) {
        if (guard-- <= 0) throw loopGuard('decodeEof');
        this.#decodeCalls++;
        let result: ReturnType<typeof decodeEof>;
        try {
          result = decodeEof.call(this.#codec, bytes, start, end);
        } catch (error) {
          this.#fail(asMaiError(error, ErrorCode.CodecThrew, 'codec.decodeEof threw'));
          return this.#error;
        }
        if (result === IncompleteFrame) break;
        const bytesRead = result.bytesRead;
        const invalid = checkBytesRead(bytesRead, end - start, 'decodeEof');
        if (invalid !== undefined) {
          this.#fail(invalid);
          return this.#error;
        }
        start += bytesRead;
        this.#take(result.frame, start, deliver);
      }
    }
    if (start < end && !this.#stopped) this.#fail(new TruncatedFrameError(end - start));
    return this.#error;
  }

  #fail(error: MaiError): void {
    this.#error = error;
    this.#errorAfterBytes = this.#bytesFed;
  }

  /**
   * Consumes the bytes up to `to` and delivers their frame. A copied frame's bytes are
   * overwritten first; a borrowed frame's (`borrowsInput`) only once `deliver` has returned,
   * the moment the engine's promise to it ends.
   */
  #take(frame: In, to: number, deliver: (frame: In) => void): void {
    if (!this.#borrowing) this.#consume(to);
    if ((frame as unknown) !== Discarded) deliver(frame);
    if (this.#borrowing) this.#consume(to);
  }

  /** Marks bytes up to `to` consumed and overwrites them, so kept views of them show up. */
  #consume(to: number): void {
    this.#buffer.fill(CANARY_BYTE, this.#start, to);
    this.#start = to;
  }

  #append(chunk: Uint8Array): void {
    const held = this.#end - this.#start;
    if (this.#end + chunk.length > this.#buffer.length) {
      // Like the engine: grow geometrically, and keep the data contiguous. The old buffer is
      // overwritten so that a frame still viewing it is caught.
      const size = Math.max(LEADING_SLACK + held + chunk.length, this.#buffer.length * 2, 64);
      const grown = Buffer.alloc(size, CANARY_BYTE);
      this.#buffer.copy(grown, LEADING_SLACK, this.#start, this.#end);
      this.#buffer.fill(CANARY_BYTE);
      this.#buffer = grown;
      this.#start = LEADING_SLACK;
      this.#end = LEADING_SLACK + held;
    }
    this.#buffer.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  #loop(deliver: (frame: In) => void): void {
    const codec = this.#codec;
    const bytes = this.#buffer;
    const end = this.#end;
    let start = this.#start;
    // With the contract checks below every turn consumes a byte; the guard makes sure of it.
    let guard = end - start + 1;
    while (start < end && !this.#stopped) {
      if (guard-- <= 0) throw loopGuard('decode');
      this.#decodeCalls++;
      let result: ReturnType<typeof codec.decode>;
      try {
        result = codec.decode(bytes, start, end);
      } catch (error) {
        this.#fail(asMaiError(error, ErrorCode.CodecThrew, 'codec.decode threw'));
        return;
      }
      if (result === IncompleteFrame) {
        if (end - start > this.#maxFrameLength) {
          this.#fail(new FrameTooLongError(end - start, this.#maxFrameLength, 'incomplete frame'));
        }
        return;
      }
      const bytesRead = result.bytesRead;
      const invalid = checkBytesRead(bytesRead, end - start, 'decode');
      if (invalid !== undefined) {
        this.#fail(invalid);
        return;
      }
      if (bytesRead > this.#maxFrameLength) {
        this.#fail(new FrameTooLongError(bytesRead, this.#maxFrameLength));
        return;
      }
      // Read the (possibly reused) result before anything else runs.
      start += bytesRead;
      this.#take(result.frame, start, deliver);
    }
  }
}

function loopGuard(what: string): AssertionError {
  return new AssertionError({
    message: `${what} loop exceeded its iteration guard: the codec did not make progress`,
  });
}

/** What `decodeChunks` saw. */
export interface DecodeChunksResult<In> {
  /** Frames delivered, in order (before the error, if there was one). */
  frames: In[];
  /** The error that stopped the stream, as the engine would report it to `onError`. */
  error?: MaiError;
  /** Bytes received but not consumed by a frame when decoding stopped. */
  leftover: number;
  /** How many input bytes had arrived when the error happened (-1 without an error). */
  errorAfterBytes: number;
}

/**
 * Decodes `chunks` with `codec` the way the engine would deliver them from a socket, and returns
 * the frames and the error `onError` would see. With `eof: true` the stream then ends (the peer's
 * FIN): `decodeEof` runs and leftover bytes become `MAI_TRUNCATED_FRAME`.
 *
 * @example
 * ```ts
 * const { frames, error } = decodeChunks(new LinesCodec(), [Buffer.from('a\r'), Buffer.from('\nb')], {
 *   eof: true,
 * });
 * // frames: ['a'], error?.code: 'MAI_TRUNCATED_FRAME' (the default for a final unterminated line)
 * ```
 */
export function decodeChunks<In>(
  codec: Codec<In, unknown>,
  chunks: Iterable<Uint8Array>,
  options: StreamDecoderOptions & { eof?: boolean } = {},
): DecodeChunksResult<In> {
  const decoder = new StreamDecoder<In>(codec, options);
  const frames: In[] = [];
  // Borrowed frames are valid only during delivery: the ones kept here are copies.
  const borrowed = codec.borrowsInput === true;
  const deliver = (frame: In): void => {
    frames.push(borrowed && frame instanceof Uint8Array ? (Buffer.from(frame) as In) : frame);
  };
  for (const chunk of chunks) {
    if (decoder.push(chunk, deliver) !== undefined) break;
  }
  if (options.eof === true) decoder.end(deliver);
  const result: DecodeChunksResult<In> = {
    frames,
    leftover: decoder.buffered,
    errorAfterBytes: decoder.errorAfterBytes,
  };
  if (decoder.error !== undefined) result.error = decoder.error;
  return result;
}
