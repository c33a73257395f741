import { copyOut } from '../buffer/copy-out.js';
import { type Decoded, type DecodeResult, IncompleteFrame } from './codec.js';
import { CR, corrupt, findByte, type HeaderValue, LF, readLength, tooLong } from './resp-header.js';
import { splitInlineArgs } from './resp-inline.js';
import { RespType, type RespValue } from './resp-types.js';

/**
 * The limits of a request decoder; see `RespCodecOptions` for what each one means.
 *
 * @example
 * ```ts
 * new RespRequestDecoder({ maxBulkLength: 1 << 20, maxArrayLength: 1024, maxInlineLength: 65536 });
 * ```
 */
export interface RespRequestDecoderOptions {
  maxBulkLength: number;
  maxArrayLength: number;
  maxInlineLength: number;
}

const NO_ARGS: Buffer[] = [];

/**
 * Reads client requests exactly as redis-server does (the decoding half of `RespCodec` with
 * `inlineCommands: true`): a request starting with `*` is a command, an array of bulk strings
 * and nothing else; any other request is an inline command line. Every request is delivered
 * as a `Buffer[]`; empty ones (`\r\n`, `*0`, `*-1`) as `[]`.
 *
 * Like `RespDecoder` it resumes an incomplete request where it stopped (the arguments decoded so
 * far, the offset of the next one, where the scan for an inline line end stopped), so a request
 * delivered byte by byte costs O(n).
 *
 * | state          | reads                                          | next state              |
 * |----------------|------------------------------------------------|-------------------------|
 * | request        | `*<count>\r\n`, or anything else               | argument / inline       |
 * | argument       | `$<length>\r\n` (any other byte is corrupt)    | argument body           |
 * | argument body  | `length` bytes, then CRLF                      | argument, or frame      |
 * | inline         | a line ending in LF, split like redis-server   | frame                   |
 *
 * @example
 * ```ts
 * const decoder = new RespRequestDecoder({ maxBulkLength: 1 << 20, maxArrayLength: 1024, maxInlineLength: 65536 });
 * const bytes = Buffer.from('SET k "a b"\r\n');
 * decoder.decode(bytes, 0, bytes.length); // { frame: [<SET>, <k>, <a b>], bytesRead: 13 }
 * ```
 */
export class RespRequestDecoder {
  readonly #maxBulkLength: number;
  readonly #maxArrayLength: number;
  readonly #maxInlineLength: number;
  readonly #result: Decoded<RespValue> = { frame: null, bytesRead: 0 };
  readonly #header: HeaderValue = { value: 0 };

  // Resumable state, offsets relative to the request start.
  /** Arguments of the command being read, or NO_ARGS between requests. */
  #args: Buffer[] = NO_ARGS;
  /** Arguments still to read. */
  #remaining = 0;
  /** Where the next argument (or the pending argument's body) starts. */
  #pos = 0;
  /** Declared length of the argument whose body is awaited, or -1. */
  #bulkLength = -1;
  /** Where the scan for the LF of an inline line resumes. */
  #scan = 0;

  constructor(options: RespRequestDecoderOptions) {
    this.#maxBulkLength = options.maxBulkLength;
    this.#maxArrayLength = options.maxArrayLength;
    this.#maxInlineLength = options.maxInlineLength;
  }

  decode(bytes: Buffer, start: number, end: number): DecodeResult<RespValue> {
    try {
      if (this.#args === NO_ARGS) {
        if (end <= start) return IncompleteFrame;
        if (bytes[start] !== RespType.Array) return this.#decodeInline(bytes, start, end);
        const next = readLength(bytes, start, end, this.#header);
        if (next < 0) return IncompleteFrame;
        const count = this.#header.value as number;
        if (count <= 0) return this.#complete([], next - start);
        if (count > this.#maxArrayLength) {
          throw tooLong('command argument count', count, this.#maxArrayLength, 'maxArrayLength');
        }
        this.#args = [];
        this.#remaining = count;
        this.#pos = next - start;
      }
      return this.#decodeArguments(bytes, start, end);
    } catch (error) {
      // The stream is corrupt and will be closed; leave no half-parsed state behind anyway.
      this.#reset();
      throw error;
    }
  }

  #reset(): void {
    this.#args = NO_ARGS;
    this.#pos = 0;
    this.#bulkLength = -1;
    this.#scan = 0;
  }

  #complete(frame: Buffer[], bytesRead: number): Decoded<RespValue> {
    this.#reset();
    this.#result.frame = frame;
    this.#result.bytesRead = bytesRead;
    return this.#result;
  }

  /** States "argument" and "argument body", until every declared argument is read. */
  #decodeArguments(bytes: Buffer, start: number, end: number): DecodeResult<RespValue> {
    const args = this.#args;
    let remaining = this.#remaining;
    let pos = this.#pos;
    while (remaining > 0) {
      let length = this.#bulkLength;
      if (length < 0) {
        const at = start + pos;
        if (at >= end) break;
        if (bytes[at] !== RespType.BulkString) throw corrupt("expected '$'", bytes, at, at + 1);
        const next = readLength(bytes, at, end, this.#header);
        if (next < 0) break;
        length = this.#header.value as number;
        if (length < 0) throw corrupt('null bulk string in a command', bytes, at, next);
        if (length > this.#maxBulkLength) {
          throw tooLong('bulk length', length, this.#maxBulkLength, 'maxBulkLength');
        }
        this.#bulkLength = length;
        pos = next - start;
      }
      const body = start + pos;
      if (body + length + 2 > end) break;
      if (bytes[body + length] !== CR || bytes[body + length + 1] !== LF) {
        throw corrupt(`bulk of ${length} bytes not followed by CRLF`, bytes, body + length, end);
      }
      args.push(copyOut(bytes, body, body + length));
      this.#bulkLength = -1;
      pos += length + 2;
      remaining--;
    }
    if (remaining > 0) {
      this.#remaining = remaining;
      this.#pos = pos;
      return IncompleteFrame;
    }
    return this.#complete(args, pos);
  }

  /** State "inline": a line ending in LF (an optional CR before it is dropped). */
  #decodeInline(bytes: Buffer, start: number, end: number): DecodeResult<RespValue> {
    const lf = findByte(bytes, LF, start + this.#scan, end);
    const max = this.#maxInlineLength;
    if (lf < 0) {
      const seen = end - start;
      // The line so far may end in the CR of its CRLF, which does not count.
      if (seen > max + 1 || (seen === max + 1 && bytes[end - 1] !== CR)) {
        throw tooLong('inline command length', seen, max, 'maxInlineLength');
      }
      this.#scan = seen;
      return IncompleteFrame;
    }
    const lineEnd = lf > start && bytes[lf - 1] === CR ? lf - 1 : lf;
    if (lineEnd - start > max) {
      throw tooLong('inline command length', lineEnd - start, max, 'maxInlineLength');
    }
    return this.#complete(splitInlineArgs(bytes, start, lineEnd), lf + 1 - start);
  }
}
