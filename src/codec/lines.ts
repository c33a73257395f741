import { frameBytes } from '../buffer/copy-out.js';
import { sliceFor, writeFor } from '../buffer/text.js';
import { DecodeError, EncodeError, FrameTooLongError, InvalidOptionError } from '../errors.js';
import {
  type Codec,
  type Decoded,
  type DecodeResult,
  discarded,
  type EncodeResult,
  IncompleteFrame,
  InsufficientBuffer,
} from './codec.js';

const LF = 0x0a;
const CR = 0x0d;

/** Default `maxLineLength`: 64 KiB of line content, the terminator not counted. */
export const DEFAULT_MAX_LINE_LENGTH = 64 * 1024;

/**
 * Which bytes end a line.
 *
 * ```text
 * lenient (default)   "GET /\r\n"  → "GET /"     "GET /\n" → "GET /"     encodes "…\n"
 *                      └ content ┘└┬─┘           one CR right before the LF is dropped
 * crlf (strict)       "EHLO x\r\n" → "EHLO x"    "EHLO x\n" → MAI_CORRUPT_FRAME (bare LF)
 *                                                 encodes "…\r\n"
 * lf                  "a\r\n" → "a\r"            only LF ends a line; CR is content
 *                                                 encodes "…\n"
 * ```
 */
export const LineEnding = {
  Lenient: 'lenient',
  Crlf: 'crlf',
  Lf: 'lf',
} as const;
export type LineEnding = (typeof LineEnding)[keyof typeof LineEnding];

/** How decoded lines are handed over: `string` in the chosen encoding, or `buffer` (a copy). */
export type LineFrames = 'string' | 'buffer';

/** The frame type for a `LineFrames` choice. */
export type LineFrame<M extends LineFrames> = M extends 'buffer' ? Buffer : string;

/**
 * Delivered in place of an over-long line in discard mode (`discard: true`).
 *
 * @example
 * ```ts
 * onFrame(ctx, line) {
 *   if (line instanceof LineTooLong) return void ctx.send(`ERR line of ${line.length} bytes`);
 * }
 * ```
 */
export class LineTooLong {
  /** Bytes of content the dropped line had (its terminator not counted). */
  readonly length: number;
  /** The `maxLineLength` it exceeded. */
  readonly limit: number;

  constructor(length: number, limit: number) {
    this.length = length;
    this.limit = limit;
  }
}

/** Options of `LinesCodec`. */
export interface LinesCodecOptions<M extends LineFrames = 'string', D extends boolean = false> {
  /** Which bytes end a line (see `LineEnding`). Default `'lenient'`. */
  newline?: LineEnding;
  /** Lines as strings (default) or as Buffers (copies of the content bytes). */
  frames?: M;
  /**
   * Text encoding of string lines: `'utf8'` (default) or `'latin1'`. Only encodings where LF
   * and CR are single bytes that never occur inside another character. Invalid UTF-8 decodes
   * to U+FFFD, as `Buffer.toString` does; take `frames: 'buffer'` to see the exact bytes.
   */
  encoding?: 'utf8' | 'latin1';
  /**
   * Longest line content, in bytes, terminator not counted. Default 64 KiB. A longer line is
   * `MAI_FRAME_TOO_LONG` as soon as it is certain (after `maxLineLength + 1` bytes without a
   * line end, `+ 2` when a CR may still precede the LF), so garbage without newlines never
   * holds more than that.
   */
  maxLineLength?: number;
  /**
   * Discard mode: an over-long line is dropped and a `LineTooLong` frame is delivered in its
   * place, once, when its line end arrives (or at end of stream); the stream goes on.
   *
   * The bytes of a line being discarded are dropped as they arrive (`discarded(n)` results), so
   * memory stays within `maxLineLength` however long the line; `LineTooLong.length` counts them
   * all. An in-band frame rather than a callback, because the handler is who can answer the
   * peer ("line too long") and carry on.
   */
  discard?: D;
  /**
   * A last line without a line end when the stream ends: `'error'` (default) reports
   * `MAI_TRUNCATED_FRAME` (a half-received command must not run), `'deliver'` delivers it as a
   * line (one trailing CR dropped, except with `newline: 'lf'`).
   *
   * ```text
   * "a\nb" + EOF   error   → "a", then MAI_TRUNCATED_FRAME
   *                deliver → "a", "b"
   * ```
   */
  lastLine?: 'error' | 'deliver';
  /**
   * With `frames: 'buffer'`: deliver each line as a view of the engine's input instead of a
   * copy, valid **only until `onFrame` returns** (see `Codec.borrowsInput`); copy what you keep.
   * Default false. Ignored for string lines, which never share memory.
   */
  borrow?: boolean;
}

/** Lone UTF-16 surrogates: `Buffer.write` would turn them into U+FFFD, which decodes differently. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** Anything above U+00FF: the only characters latin1 cannot carry. */
const NOT_LATIN1 = /[\u0100-\uffff]/;

/** Above this many stale bytes after `end`, searches run on a view ending at `end`. */
const SCAN_SLACK = 256;

/**
 * Lines of text (or bytes) ended by LF or CRLF: the framing of SMTP, POP3, IRC, memcached's text
 * protocol, line-delimited JSON and most debug consoles.
 *
 * ```text
 *   frame 1            frame 2      frame 3
 * ┌──────────────┬────┬──────────┬──┬─┬──┐
 * │ line content │ \r\n │ content │\n│ │\n│     lenient: CRLF or LF; "" is a valid line
 * └──────────────┴────┴──────────┴──┴─┴──┘
 *   ≤ maxLineLength    ≤ maxLineLength  ""
 * ```
 *
 * Decoding keeps a scan index (tokio's `next_index`): bytes already searched for LF are not
 * searched again when more arrive, so a line received one byte at a time costs O(n), not
 * O(n²). The index counts from the start of the pending line, which the engine keeps in place
 * between calls (the codec contract), so it survives the engine moving its buffers.
 *
 * | state    | bytes so far without a line end           | line end arrives          |
 * |----------|-------------------------------------------|---------------------------|
 * | scanning | ≤ maxLineLength (+1 for a possible CR)    | deliver the line          |
 * | too long | more: throw MAI_FRAME_TOO_LONG            | (never reached)           |
 * |   …with `discard: true`: keep scanning            | deliver `LineTooLong`     |
 *
 * Encoding takes a string (in `encoding`) or bytes, and appends the line end of `newline`. A
 * line that could not come back unchanged is refused with `MAI_ENCODE_FAILED`: one holding an
 * LF, one ending in CR in lenient mode, one longer than `maxLineLength`, lone surrogates in
 * UTF-8, characters above U+00FF in latin1.
 *
 * @example
 * ```ts
 * type Chat = Protocol<{ in: string }>;
 * const engine = protocolEngine<Chat>({
 *   codec: () => new LinesCodec({ maxLineLength: 4096 }),
 *   handler: { onFrame: (ctx, line) => void ctx.send(`you said: ${line}`) },
 * });
 * ```
 */
export class LinesCodec<M extends LineFrames = 'string', D extends boolean = false>
  implements Codec<LineFrame<M> | (D extends true ? LineTooLong : never), string | Uint8Array>
{
  readonly #newline: LineEnding;
  readonly #buffers: boolean;
  /** Whether line Buffers are views of the input (`frames: 'buffer'` with `borrow`). */
  readonly borrowsInput: boolean;
  readonly #encoding: 'utf8' | 'latin1';
  readonly #slice: (this: Buffer, start: number, end: number) => string;
  readonly #write: (this: Buffer, text: string, offset: number, length: number) => number;
  /** `#indexOfLf`'s view of the last buffer searched, bounded at `#viewEnd`. */
  #view: Buffer | null = null;
  #viewOf: Buffer | null = null;
  #viewEnd = 0;
  readonly #max: number;
  readonly #discard: boolean;
  readonly #deliverLast: boolean;
  /** A CR may still come before the LF: one byte over the limit is not yet certain. */
  readonly #crAllowance: number;
  /** Bytes after the start of the pending line already searched for LF (tokio's `next_index`). */
  #scanned = 0;
  /** Discard mode: content bytes of the current over-long line already dropped (0: none). */
  #dropped = 0;
  readonly #result: Decoded<LineFrame<M> | (D extends true ? LineTooLong : never)> = {
    frame: '' as LineFrame<M>,
    bytesRead: 0,
  };

  constructor(options: LinesCodecOptions<M, D> = {}) {
    const newline = options.newline ?? LineEnding.Lenient;
    if (newline !== 'lenient' && newline !== 'crlf' && newline !== 'lf') {
      throw new InvalidOptionError(
        `newline must be 'lenient', 'crlf' or 'lf', got ${String(newline)}`,
      );
    }
    const max = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    if (!Number.isSafeInteger(max) || max < 0) {
      throw new InvalidOptionError(`maxLineLength must be a non-negative integer, got ${max}`);
    }
    const encoding = options.encoding ?? 'utf8';
    if (encoding !== 'utf8' && encoding !== 'latin1') {
      throw new InvalidOptionError(`encoding must be 'utf8' or 'latin1', got ${String(encoding)}`);
    }
    this.#newline = newline;
    this.#buffers = options.frames === 'buffer';
    this.borrowsInput = this.#buffers && options.borrow === true;
    this.#encoding = encoding;
    this.#slice = sliceFor(encoding);
    this.#write = writeFor(encoding);
    this.#max = max;
    this.#discard = options.discard === true;
    this.#deliverLast = options.lastLine === 'deliver';
    this.#crAllowance = newline === 'lf' ? 0 : 1;
  }

  decode(
    bytes: Buffer,
    start: number,
    end: number,
  ): DecodeResult<LineFrame<M> | (D extends true ? LineTooLong : never)> {
    const lf = this.#indexOfLf(bytes, start + this.#scanned, end);
    if (lf === -1) {
      // The lines of this read are done: hold no view of the buffer past them.
      this.#view = null;
      this.#viewOf = null;
      this.#scanned = end - start;
      if (!this.#discard) {
        this.#checkPending(bytes, start, end);
        return IncompleteFrame;
      }
      // Discard mode: once the line is certainly too long, drop what is held, all but its last
      // byte (it may be the CR of a CRLF, and a held byte lets decodeEof see the line at end of
      // stream). Memory stays within maxLineLength however long the line.
      const held = end - start;
      if (held > 1 && (this.#dropped > 0 || this.#certainlyTooLong(bytes, start, end))) {
        this.#dropped += held - 1;
        this.#scanned = 1;
        return discarded(held - 1);
      }
      return IncompleteFrame;
    }
    this.#scanned = 0;
    let contentEnd = lf;
    if (this.#crAllowance === 1 && lf > start && bytes[lf - 1] === CR) contentEnd = lf - 1;
    // The length first, the bare-LF check second: that is the order in which bytes arriving
    // one at a time reveal them, and the error must not depend on the chunking.
    const tooLong = this.#tooLong(this.#dropped + contentEnd - start, lf + 1 - start);
    this.#dropped = 0;
    if (tooLong !== undefined) return tooLong;
    if (this.#newline === 'crlf' && contentEnd === lf) {
      throw new DecodeError(
        `bare LF without CR at offset ${lf - start} of a line (newline: 'crlf')`,
      );
    }
    return this.#line(bytes, start, contentEnd, lf + 1 - start);
  }

  decodeEof(
    bytes: Buffer,
    start: number,
    end: number,
  ): DecodeResult<LineFrame<M> | (D extends true ? LineTooLong : never)> {
    this.#scanned = 0;
    const dropped = this.#dropped;
    this.#dropped = 0;
    // No bytes, no last line: a frame must consume at least one byte.
    if (!this.#deliverLast || end <= start) return IncompleteFrame;
    let contentEnd = end;
    if (this.#crAllowance === 1 && bytes[end - 1] === CR) contentEnd = end - 1;
    const tooLong = this.#tooLong(dropped + contentEnd - start, end - start);
    if (tooLong !== undefined) return tooLong;
    return this.#line(bytes, start, contentEnd, end - start);
  }

  encode(line: string | Uint8Array, buffer: Buffer, start: number): EncodeResult {
    const crlf = this.#newline === 'crlf';
    const terminator = crlf ? 2 : 1;
    let length: number;
    if (typeof line === 'string') {
      const room = buffer.length - start - terminator;
      if (this.#encoding === 'utf8' && line.length * 3 <= room) {
        // Room for the longest UTF-8 the string can make (3 bytes per UTF-16 unit): write it,
        // and the count written is its length. Saves measuring it first (E5 profile); the
        // checks then run on the count, and bytes left behind by a throw are never queued.
        length = this.#write.call(buffer, line, start, room);
        this.#checkText(line, length);
        if (length > this.#max) throw this.#encodeTooLong(length);
      } else {
        length = this.#encoding === 'latin1' ? line.length : Buffer.byteLength(line, 'utf8');
        this.#checkText(line, length);
        if (length > this.#max) throw this.#encodeTooLong(length);
        if (length > room) return InsufficientBuffer;
        this.#write.call(buffer, line, start, length);
      }
    } else {
      length = line.length;
      if (line.indexOf(LF) !== -1) throw new EncodeError('line contains LF, which would end it');
      if (this.#newline === 'lenient' && line[length - 1] === CR) throw this.#trailingCr();
      if (length > this.#max) throw this.#encodeTooLong(length);
      if (length + terminator > buffer.length - start) return InsufficientBuffer;
      buffer.set(line, start);
    }
    let at = start + length;
    if (crlf) buffer[at++] = CR;
    buffer[at] = LF;
    return length + terminator;
  }

  /** `bytes`: the encoded length (UTF-8), or the string's length (latin1). */
  #checkText(line: string, bytes: number): void {
    if (line.includes('\n')) throw new EncodeError('line contains LF, which would end it');
    if (this.#newline === 'lenient' && line.endsWith('\r')) throw this.#trailingCr();
    // One byte per character in UTF-8 means ASCII: nothing to check further.
    if (this.#encoding === 'utf8' && bytes === line.length) return;
    const invalid = this.#encoding === 'utf8' ? LONE_SURROGATE : NOT_LATIN1;
    if (invalid.test(line)) {
      throw new EncodeError(`line has characters ${this.#encoding} cannot carry unchanged`);
    }
  }

  #trailingCr(): EncodeError {
    return new EncodeError("line ends in CR, which newline: 'lenient' would take for a CRLF");
  }

  #encodeTooLong(length: number): EncodeError {
    return new EncodeError(`line length ${length} exceeds maxLineLength ${this.#max}`);
  }

  /** Throws once the pending line can no longer fit, whatever arrives next. */
  #checkPending(bytes: Buffer, start: number, end: number): void {
    if (this.#certainlyTooLong(bytes, start, end)) {
      throw new FrameTooLongError(end - start, this.#max, 'line', 'maxLineLength');
    }
  }

  /** Whether the pending line is over the limit whatever comes next (a last CR may be a CRLF's). */
  #certainlyTooLong(bytes: Buffer, start: number, end: number): boolean {
    const held = end - start;
    if (held <= this.#max) return false;
    return !(held === this.#max + 1 && this.#crAllowance === 1 && bytes[end - 1] === CR);
  }

  #tooLong(
    length: number,
    bytesRead: number,
  ): Decoded<LineFrame<M> | (D extends true ? LineTooLong : never)> | undefined {
    if (length <= this.#max) return undefined;
    if (!this.#discard) throw new FrameTooLongError(length, this.#max, 'line', 'maxLineLength');
    const result = this.#result;
    result.frame = new LineTooLong(length, this.#max) as D extends true ? LineTooLong : never;
    result.bytesRead = bytesRead;
    return result;
  }

  /**
   * `bytes.indexOf(LF, from)` limited to `end`. `Buffer.indexOf` searches to the end of the
   * buffer, and past `end` a buffer (the engine's read buffer, a pooled one) may hold kilobytes
   * of stale bytes: searching those on every call would make byte-at-a-time input quadratic
   * again. So with more than SCAN_SLACK stale bytes the search runs on a view ending at `end`,
   * made once per (buffer, end) rather than once per line.
   */
  #indexOfLf(bytes: Buffer, from: number, end: number): number {
    let target = bytes;
    if (bytes.length - end > SCAN_SLACK) {
      if (this.#viewOf !== bytes || this.#viewEnd !== end) {
        this.#view = bytes.subarray(0, end);
        this.#viewOf = bytes;
        this.#viewEnd = end;
      }
      target = this.#view as Buffer;
    }
    const index = target.indexOf(LF, from);
    return index === -1 || index >= end ? -1 : index;
  }

  #line(
    bytes: Buffer,
    start: number,
    contentEnd: number,
    bytesRead: number,
  ): Decoded<LineFrame<M> | (D extends true ? LineTooLong : never)> {
    const result = this.#result;
    if (this.#buffers) {
      result.frame = frameBytes(bytes, start, contentEnd, this.borrowsInput) as LineFrame<M>;
    } else {
      result.frame = this.#slice.call(bytes, start, contentEnd) as LineFrame<M>;
    }
    result.bytesRead = bytesRead;
    return result;
  }
}
