import { frameBytes } from '../buffer/copy-out.js';
import { InvalidOptionError } from '../errors.js';
import {
  type BorrowOption,
  type Codec,
  type Decoded,
  type DecodeResult,
  type EncodeResult,
  IncompleteFrame,
  InsufficientBuffer,
} from './codec.js';

/** Default `maxChunkLength`: 64 KiB per delivered chunk. */
export const DEFAULT_MAX_CHUNK_LENGTH = 64 * 1024;

/** Options of `RawCodec`. */
export interface RawCodecOptions extends BorrowOption {
  /**
   * Largest chunk delivered at once. Default 64 KiB. More bytes available are delivered as
   * several chunks, so a handler never receives more than this in one `onFrame`. Not an
   * error limit: raw bytes have no frame that could be too long.
   */
  maxChunkLength?: number;
}

/**
 * No framing: the bytes as they arrive, for proxies, tunnels and byte pipes. Each call hands
 * over everything available (up to `maxChunkLength`) as one Buffer copy, and nothing is ever
 * held back, so where frames begin and end depends on how the network chunked the stream; only
 * the bytes, in order, are guaranteed. Encoding writes the bytes given as they are.
 *
 * ```text
 *  socket reads:  ┌─────────┐┌──┐┌──────────────────────┐
 *                 │ 9 bytes ││2 ││ 70,000 bytes         │
 *                 └─────────┘└──┘└──────────────────────┘
 *  frames:        "9 bytes"  "2"  65,536 bytes, 4,464 bytes   (maxChunkLength 64 KiB)
 * ```
 *
 * @example
 * ```ts
 * // A TCP relay: whatever comes in on one side goes out on the other.
 * type Pipe = Protocol<{ in: Buffer; out: Uint8Array; session: Context | undefined }>;
 * const codec = () => new RawCodec();
 * ```
 */
export class RawCodec implements Codec<Buffer, Uint8Array> {
  readonly #max: number;
  /** Whether frames are views of the input (the `borrow` option). */
  readonly borrowsInput: boolean;
  readonly #result: Decoded<Buffer> = { frame: Buffer.alloc(0), bytesRead: 0 };

  constructor(options: RawCodecOptions = {}) {
    const max = options.maxChunkLength ?? DEFAULT_MAX_CHUNK_LENGTH;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new InvalidOptionError(`maxChunkLength must be a positive integer, got ${max}`);
    }
    this.#max = max;
    this.borrowsInput = options.borrow === true;
  }

  decode(bytes: Buffer, start: number, end: number): DecodeResult<Buffer> {
    const length = Math.min(end - start, this.#max);
    if (length === 0) return IncompleteFrame;
    const result = this.#result;
    result.frame = frameBytes(bytes, start, start + length, this.borrowsInput);
    result.bytesRead = length;
    return result;
  }

  encode(chunk: Uint8Array, buffer: Buffer, start: number): EncodeResult {
    if (chunk.length > buffer.length - start) return InsufficientBuffer;
    buffer.set(chunk, start);
    return chunk.length;
  }
}
