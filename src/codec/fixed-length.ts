import { frameBytes } from '../buffer/copy-out.js';
import { EncodeError, InvalidOptionError } from '../errors.js';
import {
  type BorrowOption,
  type Codec,
  type Decoded,
  type DecodeResult,
  type EncodeResult,
  IncompleteFrame,
  InsufficientBuffer,
} from './codec.js';

/** The largest `frameLength` accepted: 16 MiB, the engine's default `maxFrameLength`. */
export const MAX_FIXED_FRAME_LENGTH = 16 * 1024 * 1024;

/** Options of `FixedLengthCodec`. */
export type FixedLengthCodecOptions = BorrowOption;

/**
 * Frames of exactly `frameLength` bytes, one after the other, with nothing in between: sensor
 * records, fixed-size binary structs, the 48-byte NTP packet over a stream. Frames are Buffers
 * (copies, or views with `borrow: true`). The length is also the limit: no frame is ever held
 * past `frameLength` bytes.
 *
 * ```text
 *  frameLength 4
 * ┌───┬───┬───┬───┬───┬───┬───┬───┬───┬───┐
 * │ a │ b │ c │ d │ e │ f │ g │ h │ i │ j │  + EOF  → "abcd", "efgh", then
 * └───┴───┴───┴───┴───┴───┴───┴───┴───┴───┘           MAI_TRUNCATED_FRAME (2 bytes of "ij..")
 *   frame 1         frame 2         partial
 * ```
 *
 * There is no `decodeEof`: bytes left at end of stream are always a truncated frame. Encoding
 * takes a frame of exactly `frameLength` bytes; any other length is `MAI_ENCODE_FAILED`.
 *
 * @example
 * ```ts
 * type Telemetry = Protocol<{ in: Buffer; out: Uint8Array }>;
 * const codec = () => new FixedLengthCodec(16);
 * ```
 */
export class FixedLengthCodec implements Codec<Buffer, Uint8Array> {
  readonly #length: number;
  /** Whether frames are views of the input (the `borrow` option). */
  readonly borrowsInput: boolean;
  readonly #result: Decoded<Buffer> = { frame: Buffer.alloc(0), bytesRead: 0 };

  constructor(frameLength: number, options: FixedLengthCodecOptions = {}) {
    if (
      !Number.isSafeInteger(frameLength) ||
      frameLength < 1 ||
      frameLength > MAX_FIXED_FRAME_LENGTH
    ) {
      throw new InvalidOptionError(
        `frameLength must be an integer in 1..${MAX_FIXED_FRAME_LENGTH}, got ${frameLength}`,
      );
    }
    this.#length = frameLength;
    this.borrowsInput = options.borrow === true;
  }

  /** The size of every frame. */
  get frameLength(): number {
    return this.#length;
  }

  decode(bytes: Buffer, start: number, end: number): DecodeResult<Buffer> {
    const length = this.#length;
    if (end - start < length) return IncompleteFrame;
    const result = this.#result;
    result.frame = frameBytes(bytes, start, start + length, this.borrowsInput);
    result.bytesRead = length;
    return result;
  }

  /** Every frame's wire size (`Codec.wireLength`). */
  wireLength(): number {
    return this.#length;
  }

  encode(frame: Uint8Array, buffer: Buffer, start: number): EncodeResult {
    const length = this.#length;
    if (frame.length !== length) {
      throw new EncodeError(`frame has ${frame.length} bytes, frameLength is ${length}`);
    }
    if (length > buffer.length - start) return InsufficientBuffer;
    buffer.set(frame, start);
    return length;
  }
}
