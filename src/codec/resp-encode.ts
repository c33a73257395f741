import { type EncodeResult, InsufficientBuffer } from './codec.js';
import { EncodeError } from '../errors.js';
import {
  RespAttributed,
  RespBigNumber,
  RespDouble,
  RespError,
  RespMap,
  RespNullArray,
  type RespPair,
  RespPush,
  RespSet,
  RespType,
  type RespValue,
  RespVerbatim,
} from './resp-types.js';

/**
 * The protocol version a peer speaks: 2 until it sends `HELLO 3`.
 *
 * @example
 * ```ts
 * const protocol: RespProtocol = 3;
 * ```
 */
export type RespProtocol = 2 | 3;

/**
 * Limits the encoder shares with the decoder, so that it never sends what a peer would reject.
 *
 * @example
 * ```ts
 * new RespEncoder({ maxBulkLength: 64 * 1024 * 1024, maxArrayLength: 1 << 20, maxDepth: 8 });
 * ```
 */
export interface RespEncoderLimits {
  maxBulkLength: number;
  maxArrayLength: number;
  maxDepth: number;
}

const CR = 0x0d;
const LF = 0x0a;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** CR or LF (would end the line early) or a lone surrogate (Buffer.from would replace it). */
const NOT_A_LINE = /[\r\n]|\p{Cs}/u;
const LONE_SURROGATE = /\p{Cs}/u;

// What an encoder stack entry iterates over.
const Walk = {
  /** `ref` is a RespValue[]; item i is ref[i]. */
  Items: 0,
  /** `ref` is a RespPair[]; item i is ref[i >> 1][i & 1]. */
  Pairs: 1,
  /** `ref` is a single RespValue (the value an attribute annotates). */
  Single: 2,
} as const;

type Walk = (typeof Walk)[keyof typeof Walk];

/**
 * Writes RESP values into a buffer: every RESP3 type, and for a RESP2 peer (`protocol = 2`) the
 * RESP3-only types mapped down the way redis-server maps them:
 *
 * | value           | protocol 3             | protocol 2                              |
 * |-----------------|------------------------|-----------------------------------------|
 * | `null`          | `_\r\n`                | `$-1\r\n`                               |
 * | `boolean`       | `#t\r\n` / `#f\r\n`    | `:1\r\n` / `:0\r\n`                     |
 * | `RespDouble`    | `,1.5\r\n`             | `$3\r\n1.5\r\n`                         |
 * | `RespBigNumber` | `(123…\r\n`            | `$n\r\n123…\r\n`                        |
 * | `RespVerbatim`  | `=n\r\ntxt:…\r\n`      | `$n\r\n…\r\n` (text only)               |
 * | `RespMap`       | `%n\r\n` k v …         | `*2n\r\n` k v …                         |
 * | `RespSet`       | `~n\r\n` …             | `*n\r\n` …                              |
 * | `RespPush`      | `>n\r\n` …             | `*n\r\n` …                              |
 * | `RespAttributed`| `\|n\r\n` k v … value  | value only                              |
 * | bulk `RespError`| `!n\r\n…\r\n`          | `-…\r\n`, CR and LF replaced by spaces   |
 *
 * It walks nested values with its own stack, so no nesting depth overflows the JS stack, and it
 * enforces the decoder's limits on what it writes (bulk and line lengths, the declared element
 * count, for a RESP2 map that of its flat array, and depth) with an `EncodeError`: what one mai
 * peer sends, another with the same limits accepts. A buffer too small gives
 * `InsufficientBuffer` (the engine retries with a larger one).
 *
 * @example
 * ```ts
 * const encoder = new RespEncoder({ maxBulkLength: 1 << 20, maxArrayLength: 1024, maxDepth: 8 });
 * encoder.protocol = 3;
 * const n = encoder.encode(new RespMap([['proto', 3]]), Buffer.alloc(64), 0); // %1 +proto :3
 * ```
 */
export class RespEncoder {
  /** The peer's protocol version. Switch it when the peer sends `HELLO 3` (or `HELLO 2`). */
  protocol: RespProtocol = 2;
  readonly #limits: RespEncoderLimits;
  // The walk stack, as parallel arrays so that pushing a level allocates nothing once grown.
  readonly #walks: Walk[] = [];
  readonly #refs: unknown[] = [];
  readonly #next: number[] = [];
  readonly #counts: number[] = [];
  readonly #levels: number[] = [];
  #top = 0;

  constructor(limits: RespEncoderLimits, protocol: RespProtocol = 2) {
    this.#limits = limits;
    this.protocol = protocol;
  }

  /** Writes `value` at `buffer[start]`; returns the bytes written or `InsufficientBuffer`. */
  encode(value: RespValue, buffer: Buffer, start: number): EncodeResult {
    this.#top = 0;
    let pos = start;
    let current: RespValue = value;
    let level = 0;
    for (;;) {
      pos = this.#writeValue(current, level, buffer, pos);
      if (pos < 0) {
        this.#clear();
        return InsufficientBuffer;
      }
      // Pick the next value to write from the innermost unfinished aggregate.
      let found = false;
      while (this.#top > 0) {
        const t = this.#top - 1;
        const i = this.#next[t] as number;
        if (i === this.#counts[t]) {
          this.#top = t;
          this.#refs[t] = undefined;
          continue;
        }
        this.#next[t] = i + 1;
        const ref = this.#refs[t];
        const walk = this.#walks[t];
        current =
          walk === Walk.Items
            ? ((ref as RespValue[])[i] as RespValue)
            : walk === Walk.Pairs
              ? (((ref as RespPair[])[i >> 1] as RespPair)[i & 1] as RespValue)
              : (ref as RespValue);
        level = this.#levels[t] as number;
        found = true;
        break;
      }
      if (!found) return pos - start;
    }
  }

  #clear(): void {
    for (let t = 0; t < this.#top; t++) this.#refs[t] = undefined;
    this.#top = 0;
  }

  #push(walk: Walk, ref: unknown, count: number, level: number): void {
    const t = this.#top++;
    this.#walks[t] = walk;
    this.#refs[t] = ref;
    this.#next[t] = 0;
    this.#counts[t] = count;
    this.#levels[t] = level;
  }

  /** Writes one value (an aggregate's header only, pushing its items). Returns pos or -1. */
  #writeValue(value: RespValue, level: number, buffer: Buffer, pos: number): number {
    if (value instanceof Uint8Array)
      return this.#writeBulk(RespType.BulkString, value, buffer, pos);
    if (typeof value === 'string')
      return this.#writeLine(RespType.SimpleString, value, buffer, pos);
    if (typeof value === 'number') return writeNumber(value, buffer, pos);
    if (value === null) {
      return this.protocol === 3
        ? writeAscii('_\r\n', buffer, pos)
        : writeAscii('$-1\r\n', buffer, pos);
    }
    if (Array.isArray(value))
      return this.#writeAggregate(RespType.Array, value, false, level, buffer, pos);
    if (typeof value === 'boolean') {
      if (this.protocol === 3) return writeAscii(value ? '#t\r\n' : '#f\r\n', buffer, pos);
      return writeAscii(value ? ':1\r\n' : ':0\r\n', buffer, pos);
    }
    if (typeof value === 'bigint') return writeBigInteger(value, buffer, pos);
    if (value instanceof RespError) return this.#writeError(value, buffer, pos);
    if (value instanceof RespDouble) {
      const text = value.text ?? doubleText(value.value);
      if (this.protocol === 3) return this.#writeLine(RespType.Double, text, buffer, pos);
      return this.#writeBulk(RespType.BulkString, Buffer.from(text, 'latin1'), buffer, pos);
    }
    if (value instanceof RespBigNumber) {
      const text = value.value.toString();
      if (this.protocol === 3) return this.#writeLine(RespType.BigNumber, text, buffer, pos);
      return this.#writeBulk(RespType.BulkString, Buffer.from(text, 'latin1'), buffer, pos);
    }
    if (value instanceof RespVerbatim) return this.#writeVerbatim(value, buffer, pos);
    if (value instanceof RespNullArray) {
      return writeAscii(this.protocol === 3 ? '_\r\n' : '*-1\r\n', buffer, pos);
    }
    if (value instanceof RespMap) {
      const type = this.protocol === 3 ? RespType.Map : RespType.Array;
      return this.#writeAggregate(type, value.entries, true, level, buffer, pos);
    }
    if (value instanceof RespSet) {
      const type = this.protocol === 3 ? RespType.Set : RespType.Array;
      return this.#writeAggregate(type, value.items, false, level, buffer, pos);
    }
    if (value instanceof RespPush) {
      const type = this.protocol === 3 ? RespType.Push : RespType.Array;
      return this.#writeAggregate(type, value.items, false, level, buffer, pos);
    }
    if (value instanceof RespAttributed) {
      // RESP2 has no attributes: Redis only ever sends them to RESP3 clients.
      if (this.protocol === 2) {
        let annotated = value.value;
        while (annotated instanceof RespAttributed) annotated = annotated.value;
        return this.#writeValue(annotated, level, buffer, pos);
      }
      const count = value.attributes.length;
      const inner = this.#enter(count, level, 'attribute');
      const next = writeHeader(RespType.Attribute, count, buffer, pos);
      if (next < 0) return -1;
      // LIFO: the pairs are written first, then the value they annotate.
      this.#push(Walk.Single, value.value, 1, inner);
      this.#push(Walk.Pairs, value.attributes, count * 2, inner);
      return next;
    }
    throw new EncodeError(`not a RESP value: ${describe(value)}`);
  }

  /** Checks the limits for an aggregate of `count` elements opened at `level`; returns its level. */
  #enter(count: number, level: number, what: string): number {
    const limits = this.#limits;
    if (count > limits.maxArrayLength) {
      throw new EncodeError(
        `${what} of ${count} elements exceeds maxArrayLength ${limits.maxArrayLength}`,
      );
    }
    if (level + 1 > limits.maxDepth) {
      throw new EncodeError(`nesting depth ${level + 1} exceeds maxDepth ${limits.maxDepth}`);
    }
    return level + 1;
  }

  /** Writes an aggregate header and pushes its items; `pairs` walks RespPair entries (2 per). */
  #writeAggregate(
    type: RespType,
    items: RespValue[] | RespPair[],
    pairs: boolean,
    level: number,
    buffer: Buffer,
    pos: number,
  ): number {
    const count = items.length;
    // A map sent to a RESP2 peer is a flat array of keys and values: twice as many elements,
    // and that array's count is what the peer checks against its maxArrayLength.
    const flat = pairs && type === RespType.Array;
    const declared = flat ? count * 2 : count;
    const inner = this.#enter(
      declared,
      level,
      flat ? 'map (as a RESP2 array)' : pairs ? 'map' : 'aggregate',
    );
    const next = writeHeader(type, declared, buffer, pos);
    if (next < 0) return -1;
    if (count > 0) {
      if (pairs) this.#push(Walk.Pairs, items, count * 2, inner);
      else this.#push(Walk.Items, items, count, inner);
    }
    return next;
  }

  #writeBulk(type: RespType, data: Uint8Array, buffer: Buffer, pos: number): number {
    const length = data.length;
    if (length > this.#limits.maxBulkLength) {
      throw new EncodeError(
        `bulk string of ${length} bytes exceeds maxBulkLength ${this.#limits.maxBulkLength}`,
      );
    }
    if (buffer.length - pos < headerLength(length) + length + 2) return -1;
    pos = writeHeader(type, length, buffer, pos);
    buffer.set(data, pos);
    pos += length;
    buffer[pos] = CR;
    buffer[pos + 1] = LF;
    return pos + 2;
  }

  #writeError(error: RespError, buffer: Buffer, pos: number): number {
    const message = error.message;
    if (!error.bulk) return this.#writeLine(RespType.SimpleError, message, buffer, pos);
    if (LONE_SURROGATE.test(message)) {
      throw new EncodeError('error message contains a lone surrogate (not valid UTF-8)');
    }
    if (this.protocol === 2) {
      // Redis's own rule for errors with newlines: replace them, or the line would end early.
      return this.#writeLine(RespType.SimpleError, message.replace(/[\r\n]/g, ' '), buffer, pos);
    }
    return this.#writeBulk(RespType.BulkError, Buffer.from(message, 'utf8'), buffer, pos);
  }

  /**
   * A line type (simple string or error, double, big number) within maxBulkLength, the limit
   * the decoder puts on the bytes of a line.
   */
  #writeLine(type: RespType, text: string, buffer: Buffer, pos: number): number {
    const max = this.#limits.maxBulkLength;
    // A UTF-16 unit is 1 to 3 UTF-8 bytes (writeLine refuses lone surrogates), so the text is
    // only measured when neither bound decides.
    if (text.length > max || (text.length * 3 > max && Buffer.byteLength(text, 'utf8') > max)) {
      throw new EncodeError(
        `${lineName(type)} of ${Buffer.byteLength(text, 'utf8')} bytes exceeds maxBulkLength ${max}`,
      );
    }
    return writeLine(type, text, buffer, pos);
  }

  #writeVerbatim(value: RespVerbatim, buffer: Buffer, pos: number): number {
    if (this.protocol === 2) return this.#writeBulk(RespType.BulkString, value.text, buffer, pos);
    const format = value.format;
    if (format.length !== 3 || !isLatin1(format)) {
      throw new EncodeError(
        `verbatim string format must be 3 latin1 characters, got ${JSON.stringify(format)}`,
      );
    }
    const length = value.text.length + 4;
    if (length > this.#limits.maxBulkLength) {
      throw new EncodeError(
        `verbatim string of ${length} bytes exceeds maxBulkLength ${this.#limits.maxBulkLength}`,
      );
    }
    if (buffer.length - pos < headerLength(length) + length + 2) return -1;
    pos = writeHeader(RespType.VerbatimString, length, buffer, pos);
    buffer.write(format, pos, 'latin1');
    buffer[pos + 3] = 0x3a;
    buffer.set(value.text, pos + 4);
    pos += length;
    buffer[pos] = CR;
    buffer[pos + 1] = LF;
    return pos + 2;
  }
}

/** Writes `<type><n>\r\n` for a non-negative count or length. Returns pos or -1. */
function writeHeader(type: RespType, n: number, buffer: Buffer, pos: number): number {
  if (buffer.length - pos < headerLength(n)) return -1;
  buffer[pos] = type;
  pos = writeDigits(n, buffer, pos + 1);
  buffer[pos] = CR;
  buffer[pos + 1] = LF;
  return pos + 2;
}

/** Bytes of `<type><n>\r\n` for a non-negative safe integer n. */
function headerLength(n: number): number {
  let digits = 1;
  for (let t = n; t >= 10; t = Math.floor(t / 10)) digits++;
  return digits + 3;
}

/** Writes the decimal digits of a non-negative safe integer, without a string. */
function writeDigits(n: number, buffer: Buffer, pos: number): number {
  if (n < 10) {
    buffer[pos] = 0x30 + n;
    return pos + 1;
  }
  let digits = 1;
  for (let t = n; t >= 10; t = Math.floor(t / 10)) digits++;
  let p = pos + digits;
  while (n >= 10) {
    const q = Math.floor(n / 10);
    buffer[--p] = 0x30 + (n - q * 10);
    n = q;
  }
  buffer[p - 1] = 0x30 + n;
  return pos + digits;
}

/** An integer reply `:<n>\r\n`; only safe integers, so that it decodes to the same number. */
function writeNumber(n: number, buffer: Buffer, pos: number): number {
  if (!Number.isSafeInteger(n)) {
    throw new EncodeError(
      `number ${n} is not a safe integer: send a bigint for a 64-bit integer, a RespDouble for a double`,
    );
  }
  if (buffer.length - pos < headerLength(Math.abs(n)) + (n < 0 ? 1 : 0)) return -1;
  buffer[pos++] = RespType.Integer;
  if (n < 0) {
    buffer[pos++] = 0x2d;
    n = -n;
  }
  pos = writeDigits(n, buffer, pos);
  buffer[pos] = CR;
  buffer[pos + 1] = LF;
  return pos + 2;
}

/** A 64-bit integer reply from a bigint; outside int64 it is a RespBigNumber's job. */
function writeBigInteger(n: bigint, buffer: Buffer, pos: number): number {
  if (n < INT64_MIN || n > INT64_MAX) {
    throw new EncodeError(`integer ${n} is outside the 64-bit range: send a RespBigNumber`);
  }
  const text = n.toString();
  if (buffer.length - pos < text.length + 3) return -1;
  buffer[pos] = RespType.Integer;
  pos += 1 + buffer.write(text, pos + 1, 'latin1');
  buffer[pos] = CR;
  buffer[pos + 1] = LF;
  return pos + 2;
}

/** Lines up to this many UTF-16 units try the printable-ASCII path first. */
const SHORT_LINE = 64;

/** Writes `<type><text>\r\n` for a line type (simple string or error, double, big number). */
function writeLine(type: RespType, text: string, buffer: Buffer, pos: number): number {
  // Replies like +OK and +PONG are short printable ASCII: copy the units as bytes, no regex and
  // no UTF-8 encoder (several times faster for `+OK`). Anything else takes the full path.
  const length = text.length;
  if (length <= SHORT_LINE && buffer.length - pos - 3 >= length) {
    let i = 0;
    while (i < length) {
      const unit = text.charCodeAt(i);
      if (unit < 0x20 || unit > 0x7e) break;
      buffer[pos + 1 + i] = unit;
      i++;
    }
    if (i === length) {
      buffer[pos] = type;
      buffer[pos + 1 + length] = CR;
      buffer[pos + 2 + length] = LF;
      return pos + length + 3;
    }
  }
  if (NOT_A_LINE.test(text)) {
    throw new EncodeError(
      `${lineName(type)} contains CR, LF or a lone surrogate: ${JSON.stringify(text.slice(0, 32))}`,
    );
  }
  const room = buffer.length - pos - 3;
  // A UTF-16 unit is at most 3 UTF-8 bytes: only measure when that bound does not fit.
  if (text.length * 3 > room && Buffer.byteLength(text, 'utf8') > room) return -1;
  buffer[pos] = type;
  pos += 1 + buffer.write(text, pos + 1, 'utf8');
  buffer[pos] = CR;
  buffer[pos + 1] = LF;
  return pos + 2;
}

function lineName(type: RespType): string {
  if (type === RespType.SimpleString) return 'simple string';
  if (type === RespType.SimpleError) return 'simple error';
  return type === RespType.Double ? 'double' : 'big number';
}

function writeAscii(text: string, buffer: Buffer, pos: number): number {
  if (buffer.length - pos < text.length) return -1;
  return pos + buffer.write(text, pos, 'latin1');
}

/**
 * The shortest text that reads back to the same double, in the RESP3 grammar
 * (`[+-]digits[.digits][e[+-]digits]`, `inf`, `-inf`, `nan`). -0 keeps its sign.
 *
 * @example
 * ```ts
 * doubleText(0.1); // '0.1'
 * doubleText(1e21); // '1e+21'
 * doubleText(Number.NEGATIVE_INFINITY); // '-inf'
 * ```
 */
export function doubleText(d: number): string {
  if (d === Number.POSITIVE_INFINITY) return 'inf';
  if (d === Number.NEGATIVE_INFINITY) return '-inf';
  if (Number.isNaN(d)) return 'nan';
  if (d === 0 && 1 / d < 0) return '-0';
  return String(d);
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return typeof value;
}

function isLatin1(text: string): boolean {
  for (let k = 0; k < text.length; k++) if (text.charCodeAt(k) > 0xff) return false;
  return true;
}
