import { constants as bufferConstants } from 'node:buffer';
import { frameBytes } from '../buffer/copy-out.js';
import { DecodeError, EncodeError, FrameTooLongError, InvalidOptionError } from '../errors.js';
import {
  type BorrowOption,
  type Codec,
  type Decoded,
  type DecodeResult,
  type EncodeResult,
  IncompleteFrame,
  InsufficientBuffer,
} from './codec.js';

/**
 * Width of the length field in bytes, or `'varint'` for an unsigned LEB128 length.
 *
 * @example
 * ```ts
 * const width: LengthFieldLength = 2; // lengths up to 65,535
 * ```
 */
export type LengthFieldLength = 1 | 2 | 3 | 4 | 8 | 'varint';

/**
 * Byte order of a fixed-width length field.
 *
 * @example
 * ```ts
 * const order: ByteOrder = 'little'; // 258 in 2 bytes is 0x02 0x01
 * ```
 */
export type ByteOrder = 'big' | 'little';

/**
 * Options of {@link LengthPrefixedCodec}. Names and meanings follow Netty's
 * `LengthFieldBasedFrameDecoder`. tokio-util's `LengthDelimitedCodec` counts `num_skip`,
 * `length_adjustment` and `max_frame_length` differently: docs/codecs.md translates them.
 *
 * @example
 * ```ts
 * // | type (1 byte) | length (2 bytes, little-endian, counts the whole frame) | body |
 * const options: LengthPrefixedOptions = {
 *   lengthFieldOffset: 1,
 *   lengthFieldLength: 2,
 *   byteOrder: 'little',
 *   lengthIncludesHeader: true,
 *   initialBytesToStrip: 0, // keep the type byte: frames are whole wire frames
 * };
 * ```
 */
export interface LengthPrefixedOptions extends BorrowOption {
  /**
   * Bytes before the length field (a magic number, a type byte...). Default 0.
   *
   * ```text
   * lengthFieldOffset = 2, lengthFieldLength = 2
   * +--------+--------+--------+--------+---------------+
   * | prefix | prefix | len hi | len lo | payload ...   |
   * +--------+--------+--------+--------+---------------+
   *  <-- offset = 2 -> <- field: 2 ---->
   * ```
   */
  lengthFieldOffset?: number;
  /**
   * Width of the length field: 1, 2, 3, 4 or 8 bytes, or `'varint'` (unsigned LEB128, 1 to 8
   * bytes, 7 bits per byte, low group first, high bit set on every byte but the last). Default 4.
   *
   * ```text
   * lengthFieldLength = 'varint', payload of 300 bytes
   * +------+------+------------------+
   * | 0xac | 0x02 | 300 payload bytes |      300 = 0b10_0101100
   * +------+------+------------------+      0xac = 1_0101100, 0x02 = 0_0000010
   * ```
   */
  lengthFieldLength?: LengthFieldLength;
  /**
   * Byte order of a fixed-width length field. Default `'big'` (network order). Ignored for
   * `'varint'`, whose order is fixed (low group first).
   *
   * ```text
   * length 258 in a 2-byte field:  'big' -> 0x01 0x02    'little' -> 0x02 0x01
   * ```
   */
  byteOrder?: ByteOrder;
  /**
   * Added to the field's value to get the number of bytes that follow the length field (after
   * `lengthIncludesHeader` is applied). Use it when the length also counts a trailer, or counts
   * bytes that sit between the field and the payload. May be negative. Default 0.
   *
   * ```text
   * lengthFieldLength = 2, lengthAdjustment = 2 (the value counts the payload only,
   * and a 2-byte checksum follows the payload)
   * +------+------+-------------+-----+-----+
   * | 0x00 | 0x03 | p0  p1  p2  | c0  | c1  |    frame on the wire: 2 + 3 + 2 = 7 bytes
   * +------+------+-------------+-----+-----+
   * ```
   */
  lengthAdjustment?: number;
  /**
   * Whether the value in the length field counts the header (`lengthFieldOffset` bytes and the
   * length field itself) as well as what follows it. Default `false`.
   *
   * ```text
   * lengthFieldLength = 2, lengthIncludesHeader = true, payload of 3 bytes
   * +------+------+-------------+
   * | 0x00 | 0x05 | p0  p1  p2  |     5 = 2 (header) + 3 (payload)
   * +------+------+-------------+
   * ```
   */
  lengthIncludesHeader?: boolean;
  /**
   * How many bytes to drop from the start of each wire frame to make the decoded frame.
   * `'header'` (the default) drops the `lengthFieldOffset` bytes and the length field, so the
   * frame is what follows the length field; `0` keeps the whole wire frame, header included.
   *
   * ```text
   * lengthFieldOffset = 1, lengthFieldLength = 2, payload "abc"
   * wire:                 | 0x07 | 0x00 | 0x03 | a b c |
   * 'header' (default):                         | a b c |
   * 1:                           | 0x00 | 0x03 | a b c |
   * 0:                    | 0x07 | 0x00 | 0x03 | a b c |
   * ```
   */
  initialBytesToStrip?: number | 'header';
  /**
   * Largest frame accepted or produced, counted as **wire bytes of the whole frame**: the
   * `lengthFieldOffset` bytes, the length field, and everything the length says follows it —
   * the same measure as the engine's own `maxFrameLength`. Default 16 MiB; lowered to the largest
   * frame the length field can describe (e.g. 2 + 65,535 for a 2-byte field) and to Node's
   * largest Buffer. A header declaring more is rejected as soon as the header is read, before
   * any payload byte arrives: a defence against a peer that declares 2 GiB to exhaust memory.
   */
  maxFrameLength?: number;
}

/** Default `maxFrameLength`: 16 MiB, as the engine's. */
const DEFAULT_MAX_FRAME_LENGTH = 16 * 1024 * 1024;

/** 2^32, to combine the halves of an 8-byte field without overflowing 32-bit shifts. */
const TWO_POW_32 = 4_294_967_296;

/** Returned by `#frameLength` while the header is not complete yet. */
const HEADER_INCOMPLETE = -1;

/** How `encode` builds the wire frame from a frame, chosen once from the options. */
const EncodeMode = {
  /** The frame is the payload; write the length field, then the payload. */
  Prepend: 0,
  /** The frame is the whole wire frame (nothing stripped); check its header, copy it. */
  WholeFrame: 1,
  /** The decoded frame lacks bytes the encoder cannot invent; `encode` throws. */
  Unsupported: 2,
} as const;
type EncodeMode = (typeof EncodeMode)[keyof typeof EncodeMode];

/**
 * Frames preceded by their length: the codec of Netty's `LengthFieldBasedFrameDecoder` +
 * `LengthFieldPrepender`, with the same options, and of tokio-util's `LengthDelimitedCodec`,
 * whose settings translate (`initialBytesToStrip` is `num_skip`, `lengthAdjustment` is
 * `length_adjustment + num_skip - header`; docs/codecs.md has the table).
 *
 * A wire frame is `lengthFieldOffset` bytes, the length field, then the bytes the length
 * declares. Its size on the wire is
 *
 * ```text
 * header = lengthFieldOffset + width of the length field
 * wire   = value + lengthAdjustment + (lengthIncludesHeader ? 0 : header)
 * ```
 *
 * and the decoded frame is a `Buffer` copy of the wire frame minus its first
 * `initialBytesToStrip` bytes (by default the header, so the frame is the payload). Decoded
 * frames never share memory with the engine's buffers, so handlers may keep them; with
 * `borrow: true` they are views instead, valid until `onFrame` returns.
 *
 * Encoding: with `lengthFieldOffset` 0 and the default strip, `encode(payload)` writes the length
 * field then the payload. With `initialBytesToStrip: 0`, the frame is a whole wire frame: the
 * encoder checks that its header agrees with its size and copies it. Other layouts (bytes before
 * the length field that the decoder drops) cannot be rebuilt from a decoded frame, and `encode`
 * throws an `EncodeError`.
 *
 * Errors (the stream is corrupt; the engine closes it):
 * - `MAI_FRAME_TOO_LONG` (`FrameTooLongError`): the header declares more than `maxFrameLength`,
 *   an 8-byte value above 2^53 - 1, or a varint already longer than the limit allows. Raised
 *   from the header alone; the declared size is never allocated.
 * - `MAI_CORRUPT_FRAME` (`DecodeError`): the adjusted length is shorter than the header or than
 *   `initialBytesToStrip` (a negative payload), or a varint is not minimal (`0x80 0x00`).
 *
 * The codec keeps no state between calls: each `decode` reads the header again from `start`.
 * A header is at most `lengthFieldOffset` + 8 bytes, so re-reading it costs less than the
 * bookkeeping a resumable parser would need, and decode stays one short path.
 *
 * @example
 * ```ts
 * // 4-byte big-endian length, then the payload; frames are the payloads.
 * const engine = protocolEngine<Protocol<{ in: Buffer }>>({
 *   codec: () => new LengthPrefixedCodec(),
 *   handler: { onFrame: (ctx, payload) => void ctx.send(payload) },
 * });
 *
 * // A protobuf-style stream: varint lengths, at most 1 MiB per frame.
 * const codec = new LengthPrefixedCodec({ lengthFieldLength: 'varint', maxFrameLength: 1 << 20 });
 * ```
 */
export class LengthPrefixedCodec implements Codec<Buffer, Buffer | Uint8Array> {
  /** Bytes before the length field. */
  readonly #offset: number;
  /** Width of a fixed length field in bytes; 0 for varint. */
  readonly #width: number;
  /** Whether a fixed field is little-endian. */
  readonly #little: boolean;
  readonly #adjustment: number;
  readonly #includesHeader: boolean;
  /** Bytes stripped from each wire frame; -1 for "the header", whose size varies with varints. */
  readonly #strip: number;
  /** Effective limit on the wire size of a frame (see `maxFrameLength`). */
  readonly #max: number;
  /** Largest value the length field may hold (2^(8 width) - 1, or 2^53 - 1). */
  readonly #maxValue: number;
  readonly #encodeMode: EncodeMode;
  /** Whether frames are views of the input (the `borrow` option). */
  readonly borrowsInput: boolean;
  /** Size of the header read by the last `#frameLength` call (varint headers vary). */
  #headerLength = 0;
  /** Value of the varint read by the last `#readVarint` call. */
  #varintValue = 0;
  /** One result object, overwritten per frame: the engine reads it before calling again. */
  readonly #result: Decoded<Buffer> = { frame: Buffer.alloc(0), bytesRead: 0 };

  constructor(options: LengthPrefixedOptions = {}) {
    const offset = options.lengthFieldOffset ?? 0;
    const field = options.lengthFieldLength ?? 4;
    const byteOrder = options.byteOrder ?? 'big';
    const adjustment = options.lengthAdjustment ?? 0;
    const strip = options.initialBytesToStrip ?? 'header';
    const requestedMax = options.maxFrameLength ?? DEFAULT_MAX_FRAME_LENGTH;

    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new InvalidOptionError(`lengthFieldOffset must be an integer >= 0, got ${offset}`);
    }
    if (
      field !== 'varint' &&
      field !== 1 &&
      field !== 2 &&
      field !== 3 &&
      field !== 4 &&
      field !== 8
    ) {
      throw new InvalidOptionError(
        `lengthFieldLength must be 1, 2, 3, 4, 8 or 'varint', got ${String(field)}`,
      );
    }
    if (byteOrder !== 'big' && byteOrder !== 'little') {
      throw new InvalidOptionError(`byteOrder must be 'big' or 'little', got ${String(byteOrder)}`);
    }
    if (!Number.isSafeInteger(adjustment)) {
      throw new InvalidOptionError(`lengthAdjustment must be an integer, got ${adjustment}`);
    }
    if (strip !== 'header' && (!Number.isSafeInteger(strip) || strip < 0)) {
      throw new InvalidOptionError(
        `initialBytesToStrip must be an integer >= 0 or 'header', got ${String(strip)}`,
      );
    }
    if (!Number.isSafeInteger(requestedMax) || requestedMax < 1) {
      throw new InvalidOptionError(`maxFrameLength must be an integer >= 1, got ${requestedMax}`);
    }

    this.#offset = offset;
    this.#width = field === 'varint' ? 0 : field;
    this.#little = byteOrder === 'little';
    this.#adjustment = adjustment;
    this.#includesHeader = options.lengthIncludesHeader ?? false;
    this.borrowsInput = options.borrow === true;
    this.#maxValue =
      field === 'varint' || field === 8 ? Number.MAX_SAFE_INTEGER : 2 ** (8 * field) - 1;

    // The smallest header (a 1-byte varint) and the largest frame the field can describe.
    const smallestHeader = offset + (field === 'varint' ? 1 : field);
    const largestHeader = offset + (field === 'varint' ? 8 : field);
    const representable = this.#maxValue + adjustment + (this.#includesHeader ? 0 : largestHeader);
    this.#max = Math.min(requestedMax, representable, bufferConstants.MAX_LENGTH);
    if (this.#max < smallestHeader) {
      throw new InvalidOptionError(
        `maxFrameLength ${this.#max} (after clamping to what the length field can describe) ` +
          `is shorter than the ${smallestHeader}-byte header`,
      );
    }

    const stripsHeader = strip === 'header' || (field !== 'varint' && strip === smallestHeader);
    this.#strip = stripsHeader ? -1 : (strip as number);
    this.#encodeMode =
      stripsHeader && offset === 0
        ? EncodeMode.Prepend
        : strip === 0
          ? EncodeMode.WholeFrame
          : EncodeMode.Unsupported;
  }

  /**
   * The limit in force, in wire bytes of a whole frame: the `maxFrameLength` option after
   * clamping to what the length field can describe.
   */
  get maxFrameLength(): number {
    return this.#max;
  }

  decode(bytes: Buffer, start: number, end: number): DecodeResult<Buffer> {
    const total = this.#frameLength(bytes, start, end);
    if (total === HEADER_INCOMPLETE || total > end - start) return IncompleteFrame;
    const from = start + (this.#strip < 0 ? this.#headerLength : this.#strip);
    const to = start + total;
    // One allocation per frame, sized from bytes that have arrived, never from the header alone.
    const result = this.#result;
    result.frame = frameBytes(bytes, from, to, this.borrowsInput);
    result.bytesRead = total;
    return result;
  }

  /** The frame's wire size once its header has arrived, else -1 (`Codec.wireLength`). */
  wireLength(bytes: Buffer, start: number, end: number): number {
    return this.#frameLength(bytes, start, end);
  }

  encode(frame: Buffer | Uint8Array, buffer: Buffer, start: number): EncodeResult {
    if (this.#encodeMode === EncodeMode.Prepend) return this.#encodePrepend(frame, buffer, start);
    if (this.#encodeMode === EncodeMode.WholeFrame) return this.#encodeWhole(frame, buffer, start);
    throw new EncodeError(
      'LengthPrefixedCodec cannot encode when the decoder strips part of the header: ' +
        "use lengthFieldOffset 0 with initialBytesToStrip 'header', or initialBytesToStrip 0",
    );
  }

  /**
   * Reads the header at `start` and returns the wire size of the frame, or `HEADER_INCOMPLETE`.
   * Sets `#headerLength`. Throws as soon as the header (or, for a varint, its first bytes)
   * shows the frame is too long or malformed, without waiting for the rest.
   */
  #frameLength(bytes: Uint8Array, start: number, end: number): number {
    const fieldStart = start + this.#offset;
    let value: number;
    let fieldEnd: number;
    if (this.#width === 0) {
      fieldEnd = this.#readVarint(bytes, start, fieldStart, end);
      if (fieldEnd === HEADER_INCOMPLETE) return HEADER_INCOMPLETE;
      value = this.#varintValue;
    } else {
      fieldEnd = fieldStart + this.#width;
      if (fieldEnd > end) return HEADER_INCOMPLETE;
      value = this.#little
        ? readLittle(bytes, fieldStart, this.#width)
        : readBig(bytes, fieldStart, this.#width);
      if (value > Number.MAX_SAFE_INTEGER) throw tooLongValue(bytes, fieldStart, this.#little);
    }
    const header = fieldEnd - start;
    this.#headerLength = header;
    const total = value + this.#adjustment + (this.#includesHeader ? 0 : header);
    if (total > this.#max) throw new FrameTooLongError(total, this.#max, 'frame', 'maxFrameLength');
    if (total < header) {
      throw new DecodeError(
        `length field value ${value} with lengthAdjustment ${this.#adjustment} gives a ` +
          `${total}-byte frame, shorter than its ${header}-byte header`,
      );
    }
    if (total < this.#strip) {
      throw new DecodeError(
        `frame length ${total} is shorter than initialBytesToStrip ${this.#strip}`,
      );
    }
    return total;
  }

  /**
   * Reads an unsigned LEB128 varint from `from`; returns the index after it (and sets
   * `#varintValue`), or `HEADER_INCOMPLETE`. Fails fast: each continuation byte proves the value
   * is at least 2^(7 * bytes so far) (minimal encodings), so a varint that can only end above the
   * limit is rejected before its last byte arrives, which also bounds it to 8 bytes.
   */
  #readVarint(bytes: Uint8Array, start: number, from: number, end: number): number {
    let value = 0;
    let scale = 1;
    let index = from;
    while (index < end) {
      const byte = bytes[index] as number;
      index++;
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (byte === 0 && index - from > 1) {
          throw new DecodeError(
            `varint length field is not minimal: ${index - from} bytes ending in 0x00`,
          );
        }
        if (value > Number.MAX_SAFE_INTEGER) {
          throw new DecodeError(
            `varint length field value ${value} exceeds 2^53 - 1, the largest length mai can handle`,
            { code: 'MAI_FRAME_TOO_LONG' },
          );
        }
        this.#varintValue = value;
        return index;
      }
      scale *= 128;
      // The varint goes on, so the value is at least `value + scale` and the header one byte longer.
      const atLeast =
        value + scale + this.#adjustment + (this.#includesHeader ? 0 : index + 1 - start);
      if (atLeast > this.#max || value + scale > Number.MAX_SAFE_INTEGER) {
        throw new FrameTooLongError(
          atLeast,
          this.#max,
          'frame (lower bound from a varint)',
          'maxFrameLength',
        );
      }
    }
    return HEADER_INCOMPLETE;
  }

  /**
   * The payload itself, when `encode` writes the length field then the payload (the default
   * layout): the engine may then send it by reference (`sendByReferenceFrom`).
   */
  bodyOf(frame: Buffer | Uint8Array): Uint8Array | undefined {
    return this.#encodeMode === EncodeMode.Prepend ? frame : undefined;
  }

  /** The length field alone, for a payload the engine sends by reference (see `bodyOf`). */
  encodeHeader(frame: Buffer | Uint8Array, buffer: Buffer, start: number): EncodeResult {
    if (this.#encodeMode !== EncodeMode.Prepend) return this.encode(frame, buffer, start);
    return this.#encodePrepend(frame, buffer, start, false);
  }

  /** Writes the length field, then (with `withBody`) the payload. */
  #encodePrepend(frame: Uint8Array, buffer: Buffer, start: number, withBody = true): EncodeResult {
    const payload = frame.length;
    const adjustment = this.#adjustment;
    let width = this.#width;
    let value: number;
    if (width !== 0) {
      value = payload - adjustment + (this.#includesHeader ? width : 0);
    } else {
      // A varint counting itself: its width depends on its value. Widen until it fits (width
      // only grows, and 8 bytes hold any safe integer).
      width = 1;
      value = payload - adjustment + (this.#includesHeader ? 1 : 0);
      while (value >= 0 && varintWidth(value) > width) {
        width++;
        if (this.#includesHeader) value++;
      }
    }
    const total = width + payload;
    if (total > this.#max) {
      throw new EncodeError(
        `frame length ${total} (${width}-byte header + ${payload}-byte payload) exceeds ` +
          `maxFrameLength ${this.#max}`,
      );
    }
    // `#max` is clamped to what the field can describe, so only a negative value remains.
    if (value < 0) {
      throw new EncodeError(
        `a ${payload}-byte payload gives length field value ${value} with lengthAdjustment ` +
          `${adjustment}: a length field cannot be negative`,
      );
    }
    if (buffer.length - start < (withBody ? total : width)) return InsufficientBuffer;
    if (this.#width === 0) writeVarint(buffer, start, value);
    else if (this.#little) writeLittle(buffer, start, width, value);
    else writeBig(buffer, start, width, value);
    if (!withBody) return width;
    buffer.set(frame, start + width);
    return total;
  }

  #encodeWhole(frame: Uint8Array, buffer: Buffer, start: number): EncodeResult {
    let total: number;
    try {
      total = this.#frameLength(frame, 0, frame.length);
    } catch (error) {
      throw new EncodeError(`frame is not a valid wire frame: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (total !== frame.length) {
      throw new EncodeError(
        total === HEADER_INCOMPLETE
          ? `a ${frame.length}-byte frame is shorter than its header`
          : `the frame's header declares ${total} bytes but the frame has ${frame.length}`,
      );
    }
    if (buffer.length - start < total) return InsufficientBuffer;
    buffer.set(frame, start);
    return total;
  }
}

/** Reads a big-endian unsigned integer of 1, 2, 3, 4 or 8 bytes with shifts. */
function readBig(bytes: Uint8Array, at: number, width: number): number {
  switch (width) {
    case 1:
      return bytes[at] as number;
    case 2:
      return ((bytes[at] as number) << 8) | (bytes[at + 1] as number);
    case 3:
      return (
        ((bytes[at] as number) << 16) | ((bytes[at + 1] as number) << 8) | (bytes[at + 2] as number)
      );
    case 4:
      // `<< 24` would go negative above 2^31; a multiply keeps it unsigned.
      return (
        (bytes[at] as number) * 0x1000000 +
        (((bytes[at + 1] as number) << 16) |
          ((bytes[at + 2] as number) << 8) |
          (bytes[at + 3] as number))
      );
    default:
      return readBig(bytes, at, 4) * TWO_POW_32 + readBig(bytes, at + 4, 4);
  }
}

/** Reads a little-endian unsigned integer of 1, 2, 3, 4 or 8 bytes with shifts. */
function readLittle(bytes: Uint8Array, at: number, width: number): number {
  switch (width) {
    case 1:
      return bytes[at] as number;
    case 2:
      return (bytes[at] as number) | ((bytes[at + 1] as number) << 8);
    case 3:
      return (
        (bytes[at] as number) | ((bytes[at + 1] as number) << 8) | ((bytes[at + 2] as number) << 16)
      );
    case 4:
      return (
        ((bytes[at] as number) |
          ((bytes[at + 1] as number) << 8) |
          ((bytes[at + 2] as number) << 16)) +
        (bytes[at + 3] as number) * 0x1000000
      );
    default:
      return readLittle(bytes, at + 4, 4) * TWO_POW_32 + readLittle(bytes, at, 4);
  }
}

/** Writes `value` big-endian in `width` bytes (the value is known to fit). */
function writeBig(buffer: Buffer, at: number, width: number, value: number): void {
  let rest = value;
  for (let i = at + width - 1; i >= at; i--) {
    buffer[i] = rest & 0xff;
    rest = Math.floor(rest / 256);
  }
}

/** Writes `value` little-endian in `width` bytes (the value is known to fit). */
function writeLittle(buffer: Buffer, at: number, width: number, value: number): void {
  let rest = value;
  for (let i = at; i < at + width; i++) {
    buffer[i] = rest & 0xff;
    rest = Math.floor(rest / 256);
  }
}

/** Bytes of the minimal LEB128 encoding of `value`. */
function varintWidth(value: number): number {
  let width = 1;
  for (let rest = value; rest >= 128; rest = Math.floor(rest / 128)) width++;
  return width;
}

/** Writes `value` as a minimal unsigned LEB128 varint; returns the index after it. */
function writeVarint(buffer: Buffer, at: number, value: number): number {
  let index = at;
  let rest = value;
  while (rest >= 128) {
    buffer[index++] = (rest % 128) | 0x80;
    rest = Math.floor(rest / 128);
  }
  buffer[index++] = rest;
  return index;
}

/**
 * The error for an 8-byte field above 2^53 - 1, which a double cannot hold exactly. Cold path:
 * BigInt here only to print the exact value the peer sent.
 */
function tooLongValue(bytes: Uint8Array, at: number, little: boolean): DecodeError {
  let exact = 0n;
  for (let i = 0; i < 8; i++)
    exact = (exact << 8n) | BigInt(bytes[little ? at + 7 - i : at + i] as number);
  return new DecodeError(
    `8-byte length field value ${exact} exceeds 2^53 - 1, the largest length mai can handle`,
    { code: 'MAI_FRAME_TOO_LONG' },
  );
}
