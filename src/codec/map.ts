import { DecodeError, EncodeError, MaiError } from '../errors.js';
import {
  type Codec,
  type Decoded,
  type DecodeResult,
  Discarded,
  type EncodeResult,
  IncompleteFrame,
} from './codec.js';

/** The two conversions of `mapCodec`. Both must be pure: `encode` may run more than once. */
export interface CodecMapping<InnerIn, InnerOut, In, Out> {
  /**
   * Inbound: the inner codec's frame → yours. A throw marks the frame corrupt. Over a borrowing
   * inner codec (`borrow: true`) the frame is a view valid until `onFrame` returns: copy what
   * your frame keeps beyond that (or return a frame that holds no view).
   */
  decode: (frame: InnerIn) => In;
  /** Outbound: your frame → the inner codec's. A throw means "cannot encode". */
  encode: (frame: Out) => InnerOut;
}

/**
 * A codec that frames with `inner` and converts each frame on the way in and out: JSON over
 * lines, JSON over length-prefixed frames, numbers over fixed-length records, with no new codec.
 *
 * ```text
 *  bytes ──inner.decode──▶ inner frame ──mapping.decode──▶ your frame
 *  bytes ◀─inner.encode─── inner frame ◀─mapping.encode─── your frame
 * ```
 *
 * Framing, limits and end-of-stream behaviour are the inner codec's. A non-MaiError thrown by
 * `mapping.decode` (a `SyntaxError` from `JSON.parse`, say) becomes a `DecodeError`
 * (`MAI_CORRUPT_FRAME`, closing the stream: the peer sent something that is not a frame); one
 * thrown by `mapping.encode` becomes an `EncodeError` (`MAI_ENCODE_FAILED`, thrown by `send`).
 * The original is the `cause`. MaiErrors pass through unchanged.
 *
 * `mapping.encode` runs once per `send`: when the engine retries with a bigger buffer
 * (`InsufficientBuffer`), the converted frame of the previous try is reused.
 *
 * What the inner codec says about its frames holds for the mapped ones:
 *
 * - `discarded(n)` results (bytes the inner codec dropped) pass through; `mapping.decode` only
 *   sees frames.
 * - `borrowsInput` is the inner codec's. Over a borrowing codec, the mapped frame may hold the
 *   inner frame's view (a `{ payload }` wrapper, a `subarray`): the engine lends it until
 *   `onFrame` returns, as it lends the inner frames, so it is valid that long and no longer.
 * - `wireLength` is the inner codec's: the mapping changes no byte on the wire.
 * - `bodyOf`/`encodeHeader` (sending a payload by reference) are not forwarded: they take your
 *   frame type, the inner codec's take its own, and bridging them would run `mapping.encode`
 *   outside `encode`. A mapped frame is always copied into the output buffer.
 *
 * @example
 * ```ts
 * type Rpc = Protocol<{ in: unknown; out: unknown }>;
 * const codec = () =>
 *   mapCodec(new LinesCodec({ maxLineLength: 1024 * 1024 }), {
 *     decode: (line: string): unknown => JSON.parse(line),
 *     encode: (value: unknown): string => JSON.stringify(value),
 *   });
 * ```
 */
export function mapCodec<InnerIn, InnerOut, In, Out = In>(
  inner: Codec<InnerIn, InnerOut>,
  mapping: CodecMapping<InnerIn, InnerOut, In, Out>,
): Codec<In, Out> {
  return new MappedCodec(inner, mapping);
}

class MappedCodec<InnerIn, InnerOut, In, Out> implements Codec<In, Out> {
  readonly #inner: Codec<InnerIn, InnerOut>;
  readonly #mapping: CodecMapping<InnerIn, InnerOut, In, Out>;
  readonly #result: Decoded<In> = { frame: undefined as In, bytesRead: 0 };
  // The last outbound frame and its conversion, for the engine's retries.
  #pending: Out | undefined = undefined;
  #converted: InnerOut | undefined = undefined;
  #hasPending = false;
  readonly borrowsInput: boolean;
  readonly wireLength?: (bytes: Buffer, start: number, end: number) => number;

  constructor(inner: Codec<InnerIn, InnerOut>, mapping: CodecMapping<InnerIn, InnerOut, In, Out>) {
    this.#inner = inner;
    this.#mapping = mapping;
    this.borrowsInput = inner.borrowsInput === true;
    const wireLength = inner.wireLength;
    // Defined only when the inner codec has it: the engine reads its absence as "no hint".
    if (wireLength !== undefined) {
      this.wireLength = (bytes, start, end) => wireLength.call(inner, bytes, start, end);
    }
  }

  decode(bytes: Buffer, start: number, end: number): DecodeResult<In> {
    return this.#map(this.#inner.decode(bytes, start, end));
  }

  decodeEof(bytes: Buffer, start: number, end: number): DecodeResult<In> {
    const decodeEof = this.#inner.decodeEof;
    if (decodeEof === undefined) return IncompleteFrame;
    return this.#map(decodeEof.call(this.#inner, bytes, start, end));
  }

  encode(frame: Out, buffer: Buffer, start: number): EncodeResult {
    let converted: InnerOut;
    if (this.#hasPending && Object.is(this.#pending, frame)) {
      converted = this.#converted as InnerOut;
    } else {
      try {
        converted = this.#mapping.encode(frame);
      } catch (error) {
        if (error instanceof MaiError) throw error;
        throw new EncodeError(`mapping.encode threw: ${describe(error)}`, { cause: error });
      }
    }
    const written = this.#inner.encode(converted, buffer, start);
    if (typeof written === 'number') {
      // Done with this frame: do not keep it alive.
      this.#hasPending = false;
      this.#pending = undefined;
      this.#converted = undefined;
    } else {
      this.#hasPending = true;
      this.#pending = frame;
      this.#converted = converted;
    }
    return written;
  }

  #map(result: DecodeResult<InnerIn>): DecodeResult<In> {
    if (result === IncompleteFrame) return IncompleteFrame;
    // Dropped bytes are not a frame: there is nothing to convert.
    if ((result.frame as unknown) === Discarded) return result as Decoded<never>;
    // Read the inner result before converting: it may be an object the inner codec reuses.
    const bytesRead = result.bytesRead;
    let frame: In;
    try {
      frame = this.#mapping.decode(result.frame);
    } catch (error) {
      if (error instanceof MaiError) throw error;
      throw new DecodeError(`mapping.decode threw: ${describe(error)}`, { cause: error });
    }
    const mapped = this.#result;
    mapped.frame = frame;
    mapped.bytesRead = bytesRead;
    return mapped;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
