import {
  type Codec,
  type Decoded,
  type DecodeResult,
  type EncodeResult,
  IncompleteFrame,
  InsufficientBuffer,
} from '../../src/codec/codec.js';

/**
 * A minimal 4-byte big-endian length-prefixed codec, used by the benchmarks only while
 * `src/codec/length-prefixed.ts` does not exist yet (the benchmark reports which one it ran).
 *
 * ```
 * +----------------+--------------------+
 * | length: u32 BE | payload (length B) |
 * +----------------+--------------------+
 * ```
 *
 * Frames are payload Buffers, copied out of the engine's buffer (the contract says the bytes
 * are valid only during the call). One `Decoded` object is reused, as the contract allows.
 *
 * @example
 * ```ts
 * const engine = protocolEngine<P>({ codec: () => new StandInLengthPrefixedCodec(), handler });
 * ```
 */
export class StandInLengthPrefixedCodec implements Codec<Buffer> {
  readonly #result: Decoded<Buffer> = { frame: Buffer.alloc(0), bytesRead: 0 };

  decode(bytes: Buffer, start: number, end: number): DecodeResult<Buffer> {
    if (end - start < 4) return IncompleteFrame;
    // Shifts, not readUInt32BE: the header is read once per frame on the hot path.
    const length =
      ((bytes[start] as number) * 0x1000000 +
        (((bytes[start + 1] as number) << 16) |
          ((bytes[start + 2] as number) << 8) |
          (bytes[start + 3] as number))) >>>
      0;
    const total = 4 + length;
    if (end - start < total) return IncompleteFrame;
    const frame = Buffer.allocUnsafe(length);
    bytes.copy(frame, 0, start + 4, start + total);
    const result = this.#result;
    result.frame = frame;
    result.bytesRead = total;
    return result;
  }

  encode(frame: Buffer, buffer: Buffer, start: number): EncodeResult {
    const length = frame.length;
    if (buffer.length - start < 4 + length) return InsufficientBuffer;
    buffer[start] = length >>> 24;
    buffer[start + 1] = (length >>> 16) & 0xff;
    buffer[start + 2] = (length >>> 8) & 0xff;
    buffer[start + 3] = length & 0xff;
    frame.copy(buffer, start + 4);
    return 4 + length;
  }
}
