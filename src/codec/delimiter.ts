import { frameBytes } from '../buffer/copy-out.js';
import { EncodeError, FrameTooLongError, InvalidOptionError } from '../errors.js';
import {
  type BorrowOption,
  type Codec,
  type Decoded,
  type DecodeResult,
  type EncodeResult,
  IncompleteFrame,
  InsufficientBuffer,
} from './codec.js';

/** Default `maxLength`: 64 KiB of frame content, the delimiter not counted. */
export const DEFAULT_MAX_DELIMITED_LENGTH = 64 * 1024;

/** Options of `DelimiterCodec`. */
export interface DelimiterCodecOptions extends BorrowOption {
  /**
   * One delimiter or several (strings are UTF-8). With several, the one that starts first in
   * the stream ends the frame, and at the same position the longest wins:
   *
   * ```text
   * delimiters ["\n", "\r\n"]     "a\r\nb\n"  → "a", "b"      ("\r\n" starts first)
   * delimiters ["\0", "\0\0"]     "a\0\0b\0"  → "a", "b"      (longest at the same position)
   * ```
   *
   * Deciding "longest" can need the bytes after a match: with `"\0"` and `"\0\0"`, a frame
   * ending in `"\0"` at the end of the bytes received so far waits for one more byte (or for
   * the end of the stream), so the result never depends on how the bytes were chunked.
   *
   * Encoding appends the first delimiter. Put the one you send first, and prefer sets where the
   * first is the longest of those it is a prefix of (`["\r\n", "\n"]`, not `["\n", "\r\n"]`):
   * a frame whose bytes would end it early, or make another delimiter match first, is refused
   * with `MAI_ENCODE_FAILED`.
   */
  delimiters: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
  /**
   * Keep the delimiter at the end of each decoded frame. Default false (stripped).
   *
   * ```text
   * "a;b;"  keepDelimiter false → "a", "b"      true → "a;", "b;"
   * ```
   */
  keepDelimiter?: boolean;
  /**
   * Longest frame content in bytes, the delimiter not counted. Default 64 KiB. Bytes without a
   * delimiter are `MAI_FRAME_TOO_LONG` once no delimiter can end them within the limit (after
   * `maxLength + longest delimiter` bytes at most), so garbage never holds more than that.
   */
  maxLength?: number;
  /**
   * Bytes after the last delimiter when the stream ends: `'error'` (default) reports
   * `MAI_TRUNCATED_FRAME`, `'deliver'` delivers them as a last frame.
   */
  lastFrame?: 'error' | 'deliver';
}

/** Above this many stale bytes after `end`, searches run on a view ending at `end`. */
const SCAN_SLACK = 256;

/**
 * Frames ended by a delimiter: NUL-terminated messages (STOMP), record separators, `"\r\n\r\n"`
 * ended headers, or lines with an unusual end. Frames are Buffers (copies).
 *
 * ```text
 *  delimiters ["\0"]
 * ┌─────────────┬──┬─────────┬──┬──┐
 * │  content    │\0│ content │\0│\0│   → "content", "content", ""   (empty frames are valid)
 * └─────────────┴──┴─────────┴──┴──┘
 *   ≤ maxLength
 * ```
 *
 * Decoding remembers, for each delimiter, where its next match is or how far it has searched
 * (tokio's `next_index`, per delimiter, relative to the start of the pending frame), so bytes
 * arriving one at a time, or a delimiter that rarely occurs, cost O(n) per delimiter rather
 * than O(n²).
 *
 * | state    | bytes without a delimiter so far         | a delimiter is found            |
 * |----------|------------------------------------------|---------------------------------|
 * | scanning | could still end within `maxLength`       | deliver (or wait: longer match?)|
 * | too long | cannot: throw MAI_FRAME_TOO_LONG         | content > maxLength: throw      |
 *
 * @example
 * ```ts
 * // STOMP frames end with a NUL byte.
 * const codec = () => new DelimiterCodec({ delimiters: '\0', maxLength: 1024 * 1024 });
 * ```
 */
export class DelimiterCodec implements Codec<Buffer, Uint8Array> {
  readonly #delimiters: Buffer[];
  /** A single-byte delimiter is searched as a number, which is faster than a Buffer needle. */
  readonly #needles: Array<number | Buffer>;
  readonly #longest: number;
  readonly #keep: boolean;
  readonly #max: number;
  readonly #deliverLast: boolean;
  /** Per delimiter: where its earliest match is (relative to the frame start), -1 if unknown. */
  readonly #next: number[];
  /** Per delimiter: how far (relative) its search has covered; no match ends before this. */
  readonly #covered: number[];
  readonly #result: Decoded<Buffer> = { frame: Buffer.alloc(0), bytesRead: 0 };
  /** Whether frames are views of the input (the `borrow` option). */
  readonly borrowsInput: boolean;

  constructor(options: DelimiterCodecOptions) {
    const given =
      typeof options.delimiters === 'string' || options.delimiters instanceof Uint8Array
        ? [options.delimiters]
        : [...options.delimiters];
    if (given.length === 0) throw new InvalidOptionError('delimiters must not be empty');
    this.#delimiters = given.map((delimiter) => {
      const bytes =
        typeof delimiter === 'string' ? Buffer.from(delimiter, 'utf8') : Buffer.from(delimiter);
      if (bytes.length === 0)
        throw new InvalidOptionError('a delimiter must have at least one byte');
      return bytes;
    });
    this.#needles = this.#delimiters.map((d) => (d.length === 1 ? (d[0] as number) : d));
    this.#longest = Math.max(...this.#delimiters.map((d) => d.length));
    const max = options.maxLength ?? DEFAULT_MAX_DELIMITED_LENGTH;
    if (!Number.isSafeInteger(max) || max < 0) {
      throw new InvalidOptionError(`maxLength must be a non-negative integer, got ${max}`);
    }
    this.#max = max;
    this.#keep = options.keepDelimiter === true;
    this.#deliverLast = options.lastFrame === 'deliver';
    this.borrowsInput = options.borrow === true;
    this.#next = this.#delimiters.map(() => -1);
    this.#covered = this.#delimiters.map(() => 0);
  }

  decode(bytes: Buffer, start: number, end: number): DecodeResult<Buffer> {
    return this.#decode(bytes, start, end, false);
  }

  decodeEof(bytes: Buffer, start: number, end: number): DecodeResult<Buffer> {
    const result = this.#decode(bytes, start, end, true);
    if (result !== IncompleteFrame) return result;
    this.#reset();
    // No bytes, no last frame: a frame must consume at least one byte.
    if (!this.#deliverLast || end <= start) return IncompleteFrame;
    if (end - start > this.#max)
      throw new FrameTooLongError(end - start, this.#max, 'last frame', 'maxLength');
    return this.#frame(bytes, start, end, end - start);
  }

  encode(frame: Uint8Array, buffer: Buffer, start: number): EncodeResult {
    const delimiter = this.#delimiters[0] as Buffer;
    const length = frame.length;
    if (length > this.#max) {
      throw new EncodeError(`frame length ${length} exceeds maxLength ${this.#max}`);
    }
    const total = length + delimiter.length;
    if (total > buffer.length - start) return InsufficientBuffer;
    buffer.set(frame, start);
    delimiter.copy(buffer, start + length);
    // The frame must end exactly where its delimiter starts: no delimiter inside it, and none
    // straddling into the one appended.
    const [at, matched] = this.#earliest(buffer, start, start + total);
    if (at !== start + length || matched !== delimiter.length) {
      throw new EncodeError(
        `frame contains a delimiter (at byte ${at - start}), which would end it early`,
      );
    }
    return total;
  }

  #decode(bytes: Buffer, start: number, end: number, eof: boolean): DecodeResult<Buffer> {
    const held = end - start;
    let best = -1;
    let bestLength = 0;
    for (let k = 0; k < this.#delimiters.length; k++) {
      let next = this.#next[k] as number;
      if (next < 0) {
        const length = (this.#delimiters[k] as Buffer).length;
        const from = start + Math.max(0, (this.#covered[k] as number) - length + 1);
        const found = indexWithin(bytes, this.#needles[k] as number | Buffer, length, from, end);
        if (found >= 0) {
          next = found - start;
          this.#next[k] = next;
          this.#covered[k] = next + length;
        } else {
          this.#covered[k] = held;
        }
      }
      if (next < 0) continue;
      const length = (this.#delimiters[k] as Buffer).length;
      if (best < 0 || next < best || (next === best && length > bestLength)) {
        best = next;
        bestLength = length;
      }
    }
    if (best < 0) {
      // Any delimiter still to come starts after held - longest: is that already too far?
      if (held - this.#longest + 1 > this.#max) {
        throw new FrameTooLongError(held, this.#max, 'frame without delimiter', 'maxLength');
      }
      return IncompleteFrame;
    }
    // Too long is decided before waiting for a longer match: a match that could still win
    // starts after held - longest, and if that is past the limit too, waiting changes nothing
    // (and the bytes-one-at-a-time path above would already have thrown).
    if (best > this.#max && held - this.#longest + 1 > this.#max) {
      throw new FrameTooLongError(best, this.#max, 'frame', 'maxLength');
    }
    if (!eof && best + this.#longest > held && this.#mayGrow(bytes, start, end, best, bestLength)) {
      return IncompleteFrame;
    }
    if (best > this.#max) throw new FrameTooLongError(best, this.#max, 'frame', 'maxLength');
    const bytesRead = best + bestLength;
    this.#advance(bytesRead);
    return this.#frame(bytes, start, start + (this.#keep ? bytesRead : best), bytesRead);
  }

  /**
   * Whether a delimiter that would win over the match at `best` (by starting earlier, or by
   * being longer at the same place) is still possible once more bytes arrive.
   */
  #mayGrow(bytes: Buffer, start: number, end: number, best: number, bestLength: number): boolean {
    const held = end - start;
    for (const delimiter of this.#delimiters) {
      const first = Math.max(0, held - delimiter.length + 1);
      for (let q = first; q <= best; q++) {
        if (q === best && delimiter.length <= bestLength) continue;
        if (q + delimiter.length <= held) continue; // fully present: the search saw it
        if (bytes.compare(delimiter, 0, held - q, start + q, end) === 0) return true;
      }
    }
    return false;
  }

  /** A frame of `bytesRead` bytes was taken: positions become relative to the next frame. */
  #advance(bytesRead: number): void {
    for (let k = 0; k < this.#next.length; k++) {
      const next = this.#next[k] as number;
      if (next >= bytesRead) {
        this.#next[k] = next - bytesRead;
      } else {
        this.#next[k] = -1;
      }
      this.#covered[k] = Math.max(0, (this.#covered[k] as number) - bytesRead);
    }
  }

  #reset(): void {
    this.#next.fill(-1);
    this.#covered.fill(0);
  }

  /** The earliest (then longest) delimiter match in [from, end): [position, length], or [-1, 0]. */
  #earliest(bytes: Buffer, from: number, end: number): [number, number] {
    let best = -1;
    let bestLength = 0;
    for (let k = 0; k < this.#delimiters.length; k++) {
      const length = (this.#delimiters[k] as Buffer).length;
      const found = indexWithin(bytes, this.#needles[k] as number | Buffer, length, from, end);
      if (found >= 0 && (best < 0 || found < best || (found === best && length > bestLength))) {
        best = found;
        bestLength = length;
      }
    }
    return [best, bestLength];
  }

  #frame(bytes: Buffer, start: number, contentEnd: number, bytesRead: number): Decoded<Buffer> {
    const result = this.#result;
    result.frame = frameBytes(bytes, start, contentEnd, this.borrowsInput);
    result.bytesRead = bytesRead;
    return result;
  }
}

/**
 * The first match of `needle` (a byte, or `length` bytes) starting at or after `from` and
 * ending by `end`; -1 if none. `Buffer.indexOf` searches to the end of the buffer, where a
 * pooled buffer may hold kilobytes of stale bytes: past some slack, search a view ending at
 * `end` instead.
 */
function indexWithin(
  bytes: Buffer,
  needle: number | Buffer,
  length: number,
  from: number,
  end: number,
): number {
  if (from + length > end) return -1;
  const index =
    bytes.length - end > SCAN_SLACK
      ? bytes.subarray(0, end).indexOf(needle, from)
      : bytes.indexOf(needle, from);
  return index === -1 || index + length > end ? -1 : index;
}
