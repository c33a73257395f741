import { copyOut } from '../buffer/copy-out.js';
import { type Decoded, type DecodeResult, IncompleteFrame } from './codec.js';
import { DecodeError } from '../errors.js';
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
/** `#args` of a request that spans calls: its arguments are copied out only once it is whole. */
const PARTIAL: Buffer[] = [];

/** What redis-server would answer to each error this decoder threw, keyed by the error. */
const REDIS_TEXT = new WeakMap<Error, string>();

function protocolError<E extends DecodeError>(error: E, redisText: string): E {
  REDIS_TEXT.set(error, redisText);
  return error;
}

/** A byte as redis-server prints it in `got '%c'`: its reply sanitiser turns CR and LF into spaces. */
function printable(byte: number): string {
  return byte === CR || byte === LF ? ' ' : String.fromCharCode(byte);
}

/**
 * The words redis-server 7.0 uses for the protocol error behind `error`, when the request
 * decoder threw it (`invalid multibulk length`, `invalid bulk length`, `expected '$', got 'x'`,
 * `unbalanced quotes in request`, `too big inline request`); undefined for any other error. The error's own message stays
 * mai's, which quotes the bytes; a server that must answer as Redis does sends
 * `-ERR Protocol error: <this>`.
 *
 * @example
 * ```ts
 * try { decoder.decode(Buffer.from('*x\r\n'), 0, 4); }
 * catch (error) { redisProtocolError(error as Error); } // 'invalid multibulk length'
 * ```
 */
export function redisProtocolError(error: Error): string | undefined {
  return REDIS_TEXT.get(error);
}

/**
 * Reads client requests exactly as redis-server does (the decoding half of `RespCodec` with
 * `inlineCommands: true`): a request starting with `*` is a command, an array of bulk strings
 * and nothing else; any other request is an inline command line. Every request is delivered
 * as a `Buffer[]`; empty ones (`\r\n`, `*0`, `*-1`) as `[]`.
 *
 * Like `RespDecoder` it resumes an incomplete request where it stopped (the offset of the next
 * argument, where the scan for an inline line end stopped), so a request delivered byte by byte
 * costs O(n). What an unfinished request holds does not depend on what it declared: a count of
 * 2^31 - 1 or a bulk of 512 MiB reserves nothing until the bytes come, and the arguments that
 * did come are not copied until the last one has (see `#decodeArguments`).
 *
 * Errors carry redis-server's wording for the same bytes (`redisProtocolError`), beside mai's
 * message, which quotes them.
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
  /** Declared argument count of the command being read. */
  #count = 0;

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
        const next = this.#readHeader(bytes, start, end, 'multibulk');
        if (next < 0) return IncompleteFrame;
        const count = this.#header.value as number;
        if (count <= 0) return this.#complete([], next - start);
        if (count > this.#maxArrayLength) {
          throw protocolError(
            tooLong('command argument count', count, this.#maxArrayLength, 'maxArrayLength'),
            'invalid multibulk length',
          );
        }
        this.#args = [];
        this.#count = count;
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

  /**
   * States "argument" and "argument body", until every declared argument is read. A request that
   * ends in this call is copied out as it is parsed (the common case). One that does not
   * keeps nothing but counters: what it has sent so far stays in the engine's buffer (the bytes
   * from the request start are given again on the next call), and its arguments are copied out
   * in one more pass once the last one has arrived. So an unfinished request holds memory in
   * proportion to the bytes it sent, never to what it declared, and not the per-argument
   * overhead of a `Buffer` per argument (some twenty times the bytes of a small argument).
   */
  #decodeArguments(bytes: Buffer, start: number, end: number): DecodeResult<RespValue> {
    const args: Buffer[] | null = this.#args === PARTIAL ? null : this.#args;
    let remaining = this.#remaining;
    let pos = this.#pos;
    while (remaining > 0) {
      let length = this.#bulkLength;
      if (length < 0) {
        const at = start + pos;
        if (at >= end) break;
        if (bytes[at] !== RespType.BulkString) {
          throw protocolError(
            corrupt("expected '$'", bytes, at, at + 1),
            `expected '$', got '${printable(bytes[at] as number)}'`,
          );
        }
        const next = this.#readHeader(bytes, at, end, 'bulk');
        if (next < 0) break;
        length = this.#header.value as number;
        if (length < 0) {
          throw protocolError(
            corrupt('null bulk string in a command', bytes, at, next),
            'invalid bulk length',
          );
        }
        if (length > this.#maxBulkLength) {
          throw protocolError(
            tooLong('bulk length', length, this.#maxBulkLength, 'maxBulkLength'),
            'invalid bulk length',
          );
        }
        this.#bulkLength = length;
        pos = next - start;
      }
      const body = start + pos;
      if (body + length + 2 > end) break;
      if (bytes[body + length] !== CR || bytes[body + length + 1] !== LF) {
        throw corrupt(`bulk of ${length} bytes not followed by CRLF`, bytes, body + length, end);
      }
      if (args !== null) args.push(copyOut(bytes, body, body + length));
      this.#bulkLength = -1;
      pos += length + 2;
      remaining--;
    }
    if (remaining > 0) {
      // Drop the copies made so far (garbage of one read at most): from now on only count.
      this.#args = PARTIAL;
      this.#remaining = remaining;
      this.#pos = pos;
      return IncompleteFrame;
    }
    return this.#complete(args ?? this.#copyArguments(bytes, start, end), pos);
  }

  /** The second pass of a request that spanned calls: every header is known to be valid. */
  #copyArguments(bytes: Buffer, start: number, end: number): Buffer[] {
    const args: Buffer[] = [];
    let at = readLength(bytes, start, end, this.#header);
    for (let i = this.#count; i > 0; i--) {
      const body = readLength(bytes, at, end, this.#header);
      const length = this.#header.value as number;
      args.push(copyOut(bytes, body, body + length));
      at = body + length + 2;
    }
    return args;
  }

  /**
   * `readLength`, with the words redis-server uses when the line is malformed. A header line
   * cannot grow long unseen: `readLength` refuses a 20th digit at once.
   */
  #readHeader(bytes: Buffer, at: number, end: number, kind: 'multibulk' | 'bulk'): number {
    try {
      return readLength(bytes, at, end, this.#header);
    } catch (error) {
      if (error instanceof DecodeError && !REDIS_TEXT.has(error)) {
        REDIS_TEXT.set(error, `invalid ${kind} length`);
      }
      throw error;
    }
  }

  /** State "inline": a line ending in LF (an optional CR before it is dropped). */
  #decodeInline(bytes: Buffer, start: number, end: number): DecodeResult<RespValue> {
    const lf = findByte(bytes, LF, start + this.#scan, end);
    const max = this.#maxInlineLength;
    if (lf < 0) {
      const seen = end - start;
      // The line so far may end in the CR of its CRLF, which does not count.
      if (seen > max + 1 || (seen === max + 1 && bytes[end - 1] !== CR)) {
        throw protocolError(
          tooLong('inline command length', seen, max, 'maxInlineLength'),
          'too big inline request',
        );
      }
      this.#scan = seen;
      return IncompleteFrame;
    }
    const lineEnd = lf > start && bytes[lf - 1] === CR ? lf - 1 : lf;
    if (lineEnd - start > max) {
      throw protocolError(
        tooLong('inline command length', lineEnd - start, max, 'maxInlineLength'),
        'too big inline request',
      );
    }
    let args: Buffer[];
    try {
      args = splitInlineArgs(bytes, start, lineEnd);
    } catch (error) {
      throw error instanceof DecodeError
        ? protocolError(error, 'unbalanced quotes in request')
        : error;
    }
    return this.#complete(args, lf + 1 - start);
  }
}
