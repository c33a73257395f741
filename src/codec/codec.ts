import { CodecContractError } from '../errors.js';

/**
 * The Codec contract: bytes ↔ frames.
 *
 * A codec turns the bytes of one stream into inbound frames (`decode`) and outbound frames into
 * bytes (`encode`). The engine creates one codec per stream (from the `codec` factory you give
 * it), so a codec may keep state between calls: where to resume scanning, a discard mode, a
 * protocol version switched mid-stream.
 *
 * ## decode(bytes, start, end)
 *
 * The engine calls `decode` with the unconsumed bytes of the stream, `bytes[start..end)`, in a
 * loop, until it returns `IncompleteFrame`.
 *
 * - If a whole frame is available at `start`, return it with the number of bytes it took:
 *   `decoded(frame, bytesRead)`. `bytesRead` must be at least 1 and at most `end - start`.
 * - If the bytes so far are the beginning of a frame, return `IncompleteFrame`. The engine keeps
 *   them, reads more, and calls again with the same start of frame and more bytes after it.
 * - If the bytes can never be a frame, throw a `DecodeError` (or `FrameTooLongError`). The stream
 *   is corrupt: the engine reports the error and closes this stream, and only this one.
 *
 * `bytes` is a pooled buffer, or the socket's own read buffer, and is valid **only during the
 * call**: the engine reuses it afterwards. A frame that keeps bytes must copy them
 * (`Buffer.from(bytes.subarray(a, b))`, `bytes.toString('utf8', a, b)`). The engine's debug mode
 * (`debugBuffers: true`) fills released buffers with a canary so a view kept too long shows up.
 *
 * ## Borrowed frames (`borrowsInput`)
 *
 * A codec whose `borrowsInput` is `true` may instead return frames that are views of `bytes`
 * (the built-in byte codecs do with `borrow: true`). The engine then promises that those bytes
 * stay untouched until the handler's `onFrame` for that frame **returns**, and no longer: the
 * same contract as Netty's release-after-read. A handler that keeps a frame, or uses it after an
 * `await`, copies it first (`Buffer.from(frame)`). `send(frame)` from `onFrame` is safe: the
 * engine copies the frame into its output buffer, and never sends its own memory by reference
 * (`sendByReferenceFrom`). With `debugBuffers: true` the engine overwrites a borrowed frame's
 * bytes with the canary as soon as `onFrame` returns, so a frame kept too long shows up.
 *
 * Passing `(bytes, start, end)` rather than a fresh view per call saves an allocation per frame;
 * a codec that wants a view can take `bytes.subarray(start, end)` itself.
 *
 * To avoid an allocation per frame, a codec may return the same `Decoded` object every time,
 * overwriting its fields: the engine reads `frame` and `bytesRead` before calling again.
 *
 * ## decodeEof(bytes, start, end)
 *
 * Optional: the end of stream, for formats where the peer's FIN may end a frame (a last line
 * without its newline). When the peer has ended the stream and `decode` has returned
 * `IncompleteFrame` for what is left, the engine calls `decodeEof` **in a loop**, as `decode`,
 * while unconsumed bytes `bytes[start..end)` remain. Each call returns one of:
 *
 * - a frame, `decoded(frame, bytesRead)`, that consumes at least 1 byte (and at most
 *   `end - start`); the engine delivers it and calls again with what follows, if anything;
 * - `discarded(n)`, `n` at least 1: those bytes are dropped, and the loop goes on;
 * - `IncompleteFrame`: "nothing more to deliver". The loop stops; if bytes are still left they
 *   are a truncated frame, reported as a `TruncatedFrameError` (`MAI_TRUNCATED_FRAME`).
 *
 * A throw is reported like one from `decode`. The engine never calls it with zero bytes (no
 * bytes left: no call at all), but a codec returns `IncompleteFrame` for `start === end` all the
 * same, since a frame of zero bytes breaks the rule above. Without `decodeEof`, any bytes left at
 * end of stream are `MAI_TRUNCATED_FRAME`: a half-received frame is never delivered. A
 * borrowing codec's frames from `decodeEof` are lent on the same terms as those from `decode`.
 *
 * ## encode(frame, buffer, start)
 *
 * Write the frame's bytes into `buffer` from `start` and return how many bytes were written. If
 * `buffer.length - start` is not enough, write nothing (or anything: it is ignored) and return
 * `InsufficientBuffer`; the engine retries with a larger buffer, up to `maxFrameLength`. A frame
 * that cannot be encoded at all (not representable in the format) throws an `EncodeError`.
 *
 * @example
 * ```ts
 * // Frames are lines of UTF-8 text ending in '\n'.
 * class LineCodec implements Codec<string> {
 *   decode(bytes: Buffer, start: number, end: number): DecodeResult<string> {
 *     const newline = bytes.indexOf(0x0a, start);
 *     if (newline === -1 || newline >= end) return IncompleteFrame;
 *     return decoded(bytes.toString('utf8', start, newline), newline + 1 - start);
 *   }
 *   encode(line: string, buffer: Buffer, start: number): EncodeResult {
 *     const length = Buffer.byteLength(line) + 1;
 *     if (length > buffer.length - start) return InsufficientBuffer;
 *     buffer.write(line, start, 'utf8');
 *     buffer[start + length - 1] = 0x0a;
 *     return length;
 *   }
 * }
 * ```
 */
export interface Codec<In, Out = In> {
  decode(bytes: Buffer, start: number, end: number): DecodeResult<In>;
  decodeEof?(bytes: Buffer, start: number, end: number): DecodeResult<In>;
  /**
   * Optional, a hint: the wire size of the frame that starts at `start`, when the bytes so far
   * (`bytes[start, end)`, the beginning of an unfinished frame) tell it, else -1. When a frame
   * began in an earlier read, the engine then copies just the rest of it next to the kept bytes,
   * and decodes what follows it straight from the new read, instead of copying the whole read.
   * A wrong answer (or a throw) costs copies, never frames: `decode` alone decides frames.
   */
  wireLength?(bytes: Buffer, start: number, end: number): number;
  /**
   * `true` when decoded frames are views of the bytes given to `decode`, valid only until
   * `onFrame` returns (see "Borrowed frames" above). Absent or `false`: frames hold no view.
   */
  readonly borrowsInput?: boolean;
  encode(frame: Out, buffer: Buffer, start: number): EncodeResult;
  /**
   * Optional, with `encodeHeader`: the bytes that follow the header on the wire, unchanged, when
   * the frame has such a body (a length-prefixed payload), else `undefined`. With the engine's
   * `sendByReferenceFrom` set, a body at least that long is written by reference after the
   * header instead of being copied into the output buffer.
   */
  bodyOf?(frame: Out): Uint8Array | undefined;
  /** Optional, with `bodyOf`: like `encode`, but writes only the bytes before the body. */
  encodeHeader?(frame: Out, buffer: Buffer, start: number): EncodeResult;
}

/** The `borrow` option of the byte codecs (length-prefixed, fixed-length, delimiter, raw). */
export interface BorrowOption {
  /**
   * Deliver each frame as a view of the engine's input instead of a copy: one allocation less
   * and no copy per frame, but the frame is valid **only until `onFrame` returns** (see
   * `Codec.borrowsInput`); copy what you keep (`Buffer.from(frame)`). Default false.
   */
  borrow?: boolean;
}

/** Returned by `decode` when the bytes so far are only the beginning of a frame. */
export const IncompleteFrame: unique symbol = Symbol('mai.IncompleteFrame');
export type IncompleteFrame = typeof IncompleteFrame;

/**
 * The frame of a `discarded(n)` result: consume `n` bytes and deliver nothing. It lets a codec
 * drop bytes it has judged (the rest of an over-long line in a discard mode, padding,
 * keep-alives) without holding them until a frame completes, so its memory bound is its own
 * limit, not the engine's `maxFrameLength`. Code that calls `decode` itself (not through the
 * engine or `mai/testing`) must skip results whose `frame` is `Discarded`.
 */
export const Discarded: unique symbol = Symbol('mai.Discarded');
export type Discarded = typeof Discarded;

/**
 * A result that consumes `bytesRead` bytes and delivers no frame (see `Discarded`). Typed as a
 * `Decoded<never>` so it fits any codec's `DecodeResult`.
 *
 * @example
 * ```ts
 * if (this.#discarding) return discarded(end - start);
 * ```
 */
export function discarded(bytesRead: number): Decoded<never> {
  return { frame: Discarded as never, bytesRead };
}

/** Returned by `encode` when the buffer is too small for the frame. */
export const InsufficientBuffer: unique symbol = Symbol('mai.InsufficientBuffer');
export type InsufficientBuffer = typeof InsufficientBuffer;

/** A decoded frame and the number of bytes it took on the wire (the seed's `DecodedFrame`). */
export interface Decoded<In> {
  frame: In;
  bytesRead: number;
}

export type DecodeResult<In> = Decoded<In> | IncompleteFrame;

/** Bytes written, or `InsufficientBuffer`. */
export type EncodeResult = number | InsufficientBuffer;

/**
 * Makes a `Decoded` result. Allocates one small object; a codec on a hot path may keep one
 * `Decoded` and overwrite it instead.
 */
export function decoded<In>(frame: In, bytesRead: number): Decoded<In> {
  return { frame, bytesRead };
}

/** Creates the codec of one stream. Called once per stream the engine manages. */
export type CodecFactory<In, Out = In> = () => Codec<In, Out>;

/**
 * The engine's check of a decoded frame's `bytesRead` (an integer from 1 to the bytes given):
 * the rule that keeps a broken codec from spinning forever or reading garbage. Returns the
 * error to report, or `undefined` when the count is valid. Shared by the engine and the
 * conformance kit so both judge a codec the same way.
 */
export function checkBytesRead(
  bytesRead: number,
  available: number,
  method: 'decode' | 'decodeEof',
): CodecContractError | undefined {
  if (bytesRead >= 1 && bytesRead <= available && Math.floor(bytesRead) === bytesRead) {
    return undefined;
  }
  return new CodecContractError(
    `codec.${method} returned a frame with bytesRead ${bytesRead}, but must consume between 1 and ${available} bytes`,
  );
}
