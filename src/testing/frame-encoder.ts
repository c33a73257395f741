import { CANARY_BYTE } from '../buffer/buffer-pool.js';
import { type Codec, InsufficientBuffer } from '../codec/codec.js';
import { DEFAULTS } from '../engine/settings.js';
import { asMaiError, CodecContractError, EncodeError, ErrorCode } from '../errors.js';

/** Options of `FrameEncoder` and `encodeFrames`. */
export interface FrameEncoderOptions {
  /** The engine's `maxFrameLength`. Default 16 MiB, as in the engine. */
  maxFrameLength?: number;
  /**
   * Size of the first buffer tried for each frame. Default 16 bytes: far smaller than the
   * engine's 32 KiB, so that the `InsufficientBuffer` → retry path runs for almost every frame.
   */
  initialBufferSize?: number;
}

/**
 * Encodes frames the way the engine's connection does (`#encode` in src/engine/connection.ts):
 * frames are packed one after the other into a buffer; when a frame does not fit behind the
 * frames already there, that buffer is sealed and the frame is retried at the start of a fresh
 * one, whose size doubles on every `InsufficientBuffer` up to `maxFrameLength`.
 *
 * Errors are the engine's: an `EncodeError` thrown by the codec passes through, anything else
 * thrown becomes `MAI_ENCODE_FAILED`, a byte count outside the room given is
 * `MAI_CODEC_CONTRACT`, and a frame that does not fit in `maxFrameLength` is `MAI_ENCODE_FAILED`.
 * Fresh buffers are filled with canary bytes, so a codec that assumes zeroed memory is caught.
 *
 * @example
 * ```ts
 * const encoder = new FrameEncoder(new LinesCodec());
 * encoder.encode('hello');
 * encoder.take(); // <Buffer 68 65 6c 6c 6f 0a>
 * ```
 */
export class FrameEncoder<Out> {
  readonly #codec: Codec<unknown, Out>;
  readonly #maxFrameLength: number;
  readonly #initialSize: number;
  #out: Buffer | null = null;
  #outEnd = 0;
  #sealed: Buffer[] = [];
  #frames = 0;

  constructor(codec: Codec<unknown, Out>, options: FrameEncoderOptions = {}) {
    this.#codec = codec;
    this.#maxFrameLength = options.maxFrameLength ?? DEFAULTS.maxFrameLength;
    this.#initialSize = Math.max(1, options.initialBufferSize ?? 16);
  }

  /** Frames encoded since the last `take()`. */
  get frames(): number {
    return this.#frames;
  }

  /** Encodes one frame after the ones before it. Throws a MaiError if it cannot. */
  encode(frame: Out): void {
    let size = this.#initialSize;
    // Each turn either returns, throws, seals a non-empty buffer (at most once per frame) or
    // doubles the size towards maxFrameLength: the loop is bounded.
    for (;;) {
      if (this.#out === null) {
        this.#out = Buffer.alloc(size, CANARY_BYTE);
        this.#outEnd = 0;
      }
      const out = this.#out;
      const start = this.#outEnd;
      let written: ReturnType<Codec<unknown, Out>['encode']>;
      try {
        written = this.#codec.encode(frame, out, start);
      } catch (error) {
        if (error instanceof EncodeError) throw error;
        throw asMaiError(error, ErrorCode.EncodeFailed, 'codec.encode threw');
      }
      if (written !== InsufficientBuffer) {
        if (!(written >= 0 && written <= out.length - start && Math.floor(written) === written)) {
          throw new CodecContractError(
            `codec.encode returned ${String(written)}, but had ${out.length - start} bytes of room`,
          );
        }
        if (written > this.#maxFrameLength) {
          throw new EncodeError(
            `encoded frame length ${written} exceeds maxFrameLength ${this.#maxFrameLength}`,
          );
        }
        this.#outEnd = start + written;
        this.#frames++;
        return;
      }
      if (start > 0) {
        this.#seal();
        continue;
      }
      if (out.length >= this.#maxFrameLength) {
        this.#out = null;
        throw new EncodeError(
          `frame does not fit in maxFrameLength ${this.#maxFrameLength} bytes when encoded`,
        );
      }
      size = Math.min(out.length * 2, this.#maxFrameLength);
      this.#out = null;
    }
  }

  /** Returns every byte encoded since the last call, as one Buffer, and starts afresh. */
  take(): Buffer {
    this.#seal();
    const sealed = this.#sealed;
    this.#sealed = [];
    this.#frames = 0;
    return sealed.length === 1 ? (sealed[0] as Buffer) : Buffer.concat(sealed);
  }

  #seal(): void {
    if (this.#out !== null && this.#outEnd > 0) {
      this.#sealed.push(this.#out.subarray(0, this.#outEnd));
    }
    this.#out = null;
    this.#outEnd = 0;
  }
}

/**
 * Encodes `frames` one after the other as the engine would send them, and returns the bytes.
 * Starts with 16-byte buffers so the `InsufficientBuffer` retry path is exercised.
 *
 * @example
 * ```ts
 * encodeFrames(new LinesCodec(), ['a', 'b']); // <Buffer 61 0a 62 0a>
 * ```
 */
export function encodeFrames<Out>(
  codec: Codec<unknown, Out>,
  frames: Iterable<Out>,
  options: FrameEncoderOptions = {},
): Buffer {
  const encoder = new FrameEncoder(codec, options);
  for (const frame of frames) encoder.encode(frame);
  return encoder.take();
}
