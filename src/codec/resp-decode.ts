import { copyOut } from '../buffer/copy-out.js';
import { type Decoded, type DecodeResult, IncompleteFrame } from './codec.js';
import {
  CR,
  corrupt,
  findByte,
  type IntegerScan,
  LF,
  readInteger,
  readLength,
  tooLong,
} from './resp-header.js';
import {
  RespAttributed,
  RespBigNumber,
  RespDouble,
  RespError,
  RespMap,
  type RespPair,
  RespPush,
  RespSet,
  RespType,
  type RespValue,
  RespVerbatim,
} from './resp-types.js';

/**
 * The decoder's limits; see `RespCodecOptions` for what each one means.
 *
 * @example
 * ```ts
 * new RespDecoder({ maxBulkLength: 1 << 20, maxArrayLength: 1024, maxDepth: 8 });
 * ```
 */
export interface RespDecoderOptions {
  maxBulkLength: number;
  maxArrayLength: number;
  maxDepth: number;
}

/** Marks a stack level whose attributes are read and whose annotated value is awaited. */
const ATTRIBUTED = 0;

/**
 * Reads RESP values from the bytes of one stream (the decoding half of `RespCodec`).
 *
 * It is an explicit state machine with its own stack: no nesting depth can overflow the JS
 * stack (a million nested `*1` give a typed error at `maxDepth + 1`). It is resumable: when a
 * frame is incomplete it keeps what it has parsed (the open aggregates and their elements, the
 * offset of the next element, where the scan for a line end stopped), and on the next call,
 * which the engine makes with the same frame start and more bytes, it continues from there
 * instead of restarting the frame. A frame delivered byte by byte costs O(n), not O(n^2).
 *
 * | state          | reads                                   | next state                       |
 * |----------------|-----------------------------------------|----------------------------------|
 * | value          | a type byte and its header line         | deliver / bulk body / open level |
 * | bulk body      | `length` bytes, then CRLF               | deliver                          |
 * | open level     | (pushes an aggregate on the stack)      | value                            |
 * | deliver        | adds the value to the innermost level   | value, or close the full level   |
 * | close level    | pops it; its value is delivered upward  | deliver; empty stack → frame     |
 *
 * Malformed input (an unknown type byte, a length that is negative other than -1, not a
 * canonical decimal or beyond 64 bits, a missing CRLF) throws a `DecodeError`
 * (`MAI_CORRUPT_FRAME`) quoting the offending bytes; a length or count above its limit throws a
 * `FrameTooLongError` (`MAI_FRAME_TOO_LONG`) carrying the declared size and the limit. Nothing
 * is allocated from a declared size: `$2000000000\r\n` allocates nothing.
 *
 * @example
 * ```ts
 * const decoder = new RespDecoder(RESP_DEFAULTS);
 * const bytes = Buffer.from('*1\r\n$4\r\nPING\r\n');
 * decoder.decode(bytes, 0, bytes.length); // { frame: [<PING>], bytesRead: 14 }
 * ```
 */
export class RespDecoder {
  readonly #maxBulkLength: number;
  readonly #maxArrayLength: number;
  readonly #maxDepth: number;
  readonly #result: Decoded<RespValue> = { frame: null, bytesRead: 0 };

  // Resumable decode state, all offsets relative to the frame start.
  /** Where parsing continues: the next type byte, or the body of the pending bulk. */
  #pos = 0;
  /** Declared length of the bulk whose header is read and body awaited, or -1. */
  #bulkLength = -1;
  #bulkType: number = RespType.BulkString;
  /** Where the scan for the end of the current line resumes. */
  #scan = 0;
  /** The number of the last header read, and the scan state of an unfinished integer line. */
  readonly #header: IntegerScan = { value: 0, resume: 0, significant: 0 };

  // The open aggregates, innermost last, as parallel arrays: pushing a level allocates nothing.
  #depth = 0;
  readonly #kinds: number[] = [];
  readonly #items: RespValue[][] = [];
  readonly #remaining: number[] = [];
  readonly #attributes: (RespPair[] | undefined)[] = [];

  constructor(options: RespDecoderOptions) {
    this.#maxBulkLength = options.maxBulkLength;
    this.#maxArrayLength = options.maxArrayLength;
    this.#maxDepth = options.maxDepth;
  }

  decode(bytes: Buffer, start: number, end: number): DecodeResult<RespValue> {
    try {
      return this.#decodeValue(bytes, start, end);
    } catch (error) {
      // The stream is corrupt and will be closed; leave no half-parsed state behind anyway.
      this.#reset();
      throw error;
    }
  }

  #reset(): void {
    this.#pos = 0;
    this.#bulkLength = -1;
    this.#scan = 0;
    this.#header.resume = 0;
    this.#header.significant = 0;
    for (let d = 0; d < this.#depth; d++) {
      this.#items[d] = EMPTY;
      this.#attributes[d] = undefined;
    }
    this.#depth = 0;
  }

  #complete(frame: RespValue, bytesRead: number): Decoded<RespValue> {
    this.#reset();
    this.#result.frame = frame;
    this.#result.bytesRead = bytesRead;
    return this.#result;
  }

  /** Any RESP value: the state machine of the table above. */
  #decodeValue(bytes: Buffer, start: number, end: number): DecodeResult<RespValue> {
    const available = end - start;
    let pos = this.#pos;
    for (;;) {
      let value: RespValue = null;
      if (this.#bulkLength >= 0) {
        // State "bulk body": the header is read, wait for the bytes and the CRLF after them.
        const length = this.#bulkLength;
        if (pos + length + 2 > available) {
          this.#pos = pos;
          return IncompleteFrame;
        }
        const body = start + pos;
        if (bytes[body + length] !== CR || bytes[body + length + 1] !== LF) {
          throw corrupt(`bulk of ${length} bytes not followed by CRLF`, bytes, body + length, end);
        }
        value = this.#bulkValue(bytes, body, length);
        this.#bulkLength = -1;
        pos += length + 2;
      } else {
        // State "value": a type byte and its header line.
        if (pos >= available) {
          this.#pos = pos;
          return IncompleteFrame;
        }
        const at = start + pos;
        const type = bytes[at] as number;
        let next: number;
        switch (type) {
          case RespType.BulkString:
          case RespType.BulkError:
          case RespType.VerbatimString: {
            next = readLength(bytes, at, end, this.#header);
            if (next < 0) break;
            const length = this.#header.value as number;
            if (length < 0) {
              if (type !== RespType.BulkString) throw corrupt('negative length', bytes, at, next);
              value = null;
              break;
            }
            if (length > this.#maxBulkLength) {
              throw tooLong('bulk length', length, this.#maxBulkLength, 'maxBulkLength');
            }
            if (type === RespType.VerbatimString && length < 4) {
              throw corrupt('verbatim string shorter than its format prefix', bytes, at, next);
            }
            this.#bulkLength = length;
            this.#bulkType = type;
            pos = next - start;
            continue;
          }
          case RespType.Array:
          case RespType.Map:
          case RespType.Set:
          case RespType.Push:
          case RespType.Attribute: {
            next = readLength(bytes, at, end, this.#header);
            if (next < 0) break;
            const count = this.#header.value as number;
            if (count < 0) {
              if (type !== RespType.Array) throw corrupt('negative count', bytes, at, next);
              value = null;
              break;
            }
            if (count > this.#maxArrayLength) {
              throw tooLong('aggregate count', count, this.#maxArrayLength, 'maxArrayLength');
            }
            if (this.#depth + 1 > this.#maxDepth) {
              throw tooLong('nesting depth', this.#depth + 1, this.#maxDepth, 'maxDepth');
            }
            pos = next - start;
            if (count === 0 && type !== RespType.Attribute) {
              value = emptyAggregate(type);
              break;
            }
            this.#open(type, count);
            continue;
          }
          case RespType.SimpleString:
          case RespType.SimpleError:
          case RespType.Double:
          case RespType.BigNumber: {
            const cr = this.#findLineEnd(bytes, start, at + 1, end);
            if (cr < 0) {
              next = -1;
              break;
            }
            value = lineValue(type, bytes, at, cr);
            next = cr + 2;
            break;
          }
          case RespType.Integer:
            next = readInteger(bytes, at, end, this.#header);
            value = this.#header.value;
            break;
          case RespType.Boolean: {
            const t = bytes[at + 1];
            next = this.#fixedLine(bytes, at, end, t === 0x66 ? '#f\r\n' : '#t\r\n');
            value = t === 0x74;
            break;
          }
          case RespType.Null:
            next = this.#fixedLine(bytes, at, end, '_\r\n');
            value = null;
            break;
          default:
            throw corrupt('unknown RESP type byte', bytes, at, at + 1);
        }
        if (next < 0) {
          this.#pos = pos;
          return IncompleteFrame;
        }
        pos = next - start;
      }
      // State "deliver": add the value to the innermost open aggregate, closing full ones.
      for (;;) {
        const d = this.#depth - 1;
        if (d < 0) return this.#complete(value, pos);
        const kind = this.#kinds[d] as number;
        if (kind === ATTRIBUTED) {
          value = new RespAttributed(this.#attributes[d] as RespPair[], value);
          this.#close(d);
          continue;
        }
        const items = this.#items[d] as RespValue[];
        items.push(value);
        const remaining = (this.#remaining[d] as number) - 1;
        this.#remaining[d] = remaining;
        if (remaining > 0) break;
        if (kind === RespType.Attribute) {
          // The attributes are read; the value they annotate comes next, at the same level.
          this.#kinds[d] = ATTRIBUTED;
          this.#attributes[d] = toPairs(items);
          this.#items[d] = EMPTY;
          break;
        }
        this.#close(d);
        value = closeAggregate(kind, items);
      }
    }
  }

  #open(type: number, count: number): void {
    const d = this.#depth++;
    // An attribute with no pairs awaits its value straight away.
    const bare = type === RespType.Attribute && count === 0;
    this.#kinds[d] = bare ? ATTRIBUTED : type;
    this.#items[d] = bare ? EMPTY : [];
    this.#attributes[d] = bare ? [] : undefined;
    this.#remaining[d] = type === RespType.Map || type === RespType.Attribute ? count * 2 : count;
  }

  #close(d: number): void {
    this.#items[d] = EMPTY;
    this.#attributes[d] = undefined;
    this.#depth = d;
  }

  /** Materializes a bulk body: copies it out of the engine's buffer. */
  #bulkValue(bytes: Buffer, body: number, length: number): RespValue {
    switch (this.#bulkType) {
      case RespType.BulkError:
        return new RespError(bytes.toString('utf8', body, body + length), true);
      case RespType.VerbatimString:
        if (bytes[body + 3] !== 0x3a) {
          throw corrupt('verbatim string without "xxx:" format prefix', bytes, body, body + 4);
        }
        return new RespVerbatim(
          bytes.toString('latin1', body, body + 3),
          copyOut(bytes, body + 4, body + length),
        );
      default:
        return copyOut(bytes, body, body + length);
    }
  }

  /** Matches a fixed line (`_\r\n`, `#t\r\n`); -1 while it is a prefix of it. */
  #fixedLine(bytes: Buffer, at: number, end: number, line: string): number {
    for (let k = 1; k < line.length; k++) {
      if (at + k >= end) return -1;
      if (bytes[at + k] !== line.charCodeAt(k))
        throw corrupt('malformed line', bytes, at, at + k + 1);
    }
    return at + line.length;
  }

  /**
   * Finds the CR of a line that starts at `lineStart` and must end in CRLF, with no bare CR or
   * LF inside. Returns -1 while the line is incomplete, remembering where to resume the scan.
   */
  #findLineEnd(bytes: Buffer, start: number, lineStart: number, end: number): number {
    const cr = findByte(bytes, CR, Math.max(lineStart, start + this.#scan), end);
    if (cr < 0 || cr + 1 >= end) {
      if (end - lineStart > this.#maxBulkLength + 1) {
        throw tooLong('line length', end - lineStart, this.#maxBulkLength, 'maxBulkLength');
      }
      this.#scan = (cr < 0 ? end : cr) - start;
      return -1;
    }
    if (bytes[cr + 1] !== LF) throw corrupt('CR not followed by LF', bytes, lineStart - 1, cr + 2);
    if (cr - lineStart > this.#maxBulkLength) {
      throw tooLong('line length', cr - lineStart, this.#maxBulkLength, 'maxBulkLength');
    }
    if (bytes.indexOf(LF, lineStart) < cr)
      throw corrupt('LF inside a line', bytes, lineStart - 1, cr);
    return cr;
  }
}

const EMPTY: RespValue[] = [];

function emptyAggregate(type: number): RespValue {
  if (type === RespType.Map) return new RespMap([]);
  if (type === RespType.Set) return new RespSet([]);
  if (type === RespType.Push) return new RespPush([]);
  return [];
}

function closeAggregate(kind: number, items: RespValue[]): RespValue {
  if (kind === RespType.Array) return items;
  if (kind === RespType.Map) return new RespMap(toPairs(items));
  if (kind === RespType.Set) return new RespSet(items);
  return new RespPush(items);
}

function toPairs(items: RespValue[]): RespPair[] {
  const pairs: RespPair[] = [];
  for (let i = 0; i < items.length; i += 2)
    pairs.push([items[i] as RespValue, items[i + 1] as RespValue]);
  return pairs;
}

const DOUBLE = /^[+-]?(?:\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|inf|nan)$/i;
const BIG_NUMBER = /^[+-]?\d+$/;

/** The value of a complete line type: `bytes[at]` is the type byte, `cr` the CR of its CRLF. */
function lineValue(type: number, bytes: Buffer, at: number, cr: number): RespValue {
  switch (type) {
    case RespType.SimpleString:
      return bytes.toString('utf8', at + 1, cr);
    case RespType.SimpleError:
      return new RespError(bytes.toString('utf8', at + 1, cr));
    case RespType.Double: {
      const text = bytes.toString('latin1', at + 1, cr);
      if (!DOUBLE.test(text)) throw corrupt('invalid double', bytes, at, cr);
      const lower = text.toLowerCase();
      if (lower.endsWith('inf')) {
        return new RespDouble(
          lower[0] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY,
        );
      }
      return new RespDouble(lower.endsWith('nan') ? Number.NaN : Number(text));
    }
    default: {
      const text = bytes.toString('latin1', at + 1, cr);
      if (!BIG_NUMBER.test(text)) throw corrupt('invalid big number', bytes, at, cr);
      return new RespBigNumber(BigInt(text));
    }
  }
}
