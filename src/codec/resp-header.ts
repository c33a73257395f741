import { DecodeError, FrameTooLongError } from '../errors.js';

/**
 * The lines of RESP that both decoders read: header numbers, line ends, and the errors they
 * raise. Numbers are parsed from the bytes, without a string, and the value is written into a
 * `HeaderValue` the caller owns (no tuple is allocated per header).
 */

export const CR = 0x0d;
export const LF = 0x0a;

/**
 * Where `readLength` and `readInteger` put the number they read.
 *
 * @example
 * ```ts
 * const header: HeaderValue = { value: 0 };
 * const next = readLength(Buffer.from('$5\r\n'), 0, 5, header); // 5, header.value === 5
 * ```
 */
export interface HeaderValue {
  value: number | bigint;
}

/**
 * Reads the header line `<type><length>\r\n` at `at`: `-1`, `0` or `[1-9][0-9]*` within 64
 * bits (Redis's `string2ll` rules: no `+`, no leading zero, no `-0`). Stores the length in
 * `out.value` and returns the index after the LF, or -1 when the line is not complete yet. A byte
 * that cannot belong to the line is rejected at once, without waiting for the CRLF.
 *
 * @example
 * ```ts
 * readLength(Buffer.from('*-1\r\n'), 0, 5, header); // 5, header.value === -1
 * ```
 */
export function readLength(bytes: Buffer, at: number, end: number, out: HeaderValue): number {
  let i = at + 1;
  const negative = i < end && bytes[i] === 0x2d;
  if (negative) i++;
  const digitsStart = i;
  const cr = scanDigits(bytes, at, digitsStart, end, out);
  if (cr === -1) return -1;
  const digits = cr - digitsStart;
  if (digits === 0 || (digits > 1 && bytes[digitsStart] === 0x30)) {
    throw corrupt('invalid length', bytes, at, cr);
  }
  if (negative) {
    if (digits !== 1 || out.value !== 1) throw corrupt('negative length', bytes, at, cr);
    out.value = -1;
  } else if (digits === 19 && bytes.toString('latin1', digitsStart, cr) > '9223372036854775807') {
    throw corrupt('length overflows 64 bits', bytes, at, cr);
  }
  return cr + 2;
}

/**
 * The state of `readInteger`: the value it read, and where the scan of a line that is not
 * complete yet resumes, so that an integer arriving a byte at a time is scanned once, however
 * many leading zeros it has. Both offsets count from the `:` and are 0 for a new line; the
 * decoder keeps one of these per stream and never touches the offsets.
 */
export interface IntegerScan extends HeaderValue {
  /** Where the scan resumes (0: from the start of the line). */
  resume: number;
  /** The first significant (non-zero) digit seen so far, 0 while there is none. */
  significant: number;
}

/**
 * Reads `:[+-]digits\r\n` within int64 into `out.value`: a number when safe, else a bigint.
 * Leading zeros are allowed (the RESP3 spec's grammar) and do not count toward the 19 digits of
 * an int64: `:007\r\n` is 7 and `-0` is 0. Returns the index after the LF, or -1 when the line
 * is not complete yet (call again with the same line start and more bytes). A byte that is not a
 * digit, or a 20th significant digit, throws at once.
 *
 * @example
 * ```ts
 * const scan: IntegerScan = { value: 0, resume: 0, significant: 0 };
 * readInteger(Buffer.from(':-42\r\n'), 0, 6, scan); // 6, scan.value === -42
 * ```
 */
export function readInteger(bytes: Buffer, at: number, end: number, out: IntegerScan): number {
  const sign = at + 1 < end ? (bytes[at + 1] as number) : 0;
  const digitsStart = sign === 0x2d || sign === 0x2b ? at + 2 : at + 1;
  let i = out.resume > 0 ? at + out.resume : digitsStart;
  let significant = out.significant;
  for (;;) {
    if (i >= end) return pause(out, at, i, significant);
    const c = bytes[i] as number;
    if (c === CR) break;
    if (c < 0x30 || c > 0x39) throw restart(out, corrupt('invalid integer', bytes, at, i + 1));
    if (significant === 0 && c !== 0x30) significant = i - at;
    i++;
    if (significant !== 0 && i - at - significant > 19) {
      throw restart(out, corrupt('integer overflows 64 bits', bytes, at, i));
    }
  }
  if (i + 1 >= end) return pause(out, at, i, significant);
  restart(out, undefined);
  if (bytes[i + 1] !== LF) throw corrupt('CR not followed by LF', bytes, at, i + 2);
  if (i === digitsStart) throw corrupt('invalid integer', bytes, at, i);
  if (significant === 0) {
    out.value = 0;
    return i + 2;
  }
  const first = at + significant;
  if (i - first <= 15) {
    let value = 0;
    for (let k = first; k < i; k++) value = value * 10 + ((bytes[k] as number) - 0x30);
    out.value = sign === 0x2d ? -value : value;
    return i + 2;
  }
  const magnitude = BigInt(bytes.toString('latin1', first, i));
  const big = sign === 0x2d ? -magnitude : magnitude;
  if (big < -(2n ** 63n) || big >= 2n ** 63n) {
    throw corrupt('integer overflows 64 bits', bytes, at, i);
  }
  out.value =
    big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(big)
      : big;
  return i + 2;
}

/** `readInteger` is waiting for more bytes: remember where its scan stopped. */
function pause(out: IntegerScan, at: number, i: number, significant: number): number {
  // Nothing past the ':' yet: start afresh, the sign is still to be seen.
  out.resume = i > at + 1 ? i - at : 0;
  out.significant = significant;
  return -1;
}

/** `readInteger` is done with its line (read or rejected): the next line starts afresh. */
function restart<E>(out: IntegerScan, error: E): E {
  out.resume = 0;
  out.significant = 0;
  return error;
}

/**
 * Scans the ASCII digits of a length header from `from` up to its CR, at most 19 of them, and
 * stores their value (a double: exact up to 2^53) in `out.value`. Returns the CR's index, or -1
 * while the CRLF has not arrived. A non-digit, a 20th digit or a CR without LF throws at once.
 */
function scanDigits(
  bytes: Buffer,
  at: number,
  from: number,
  end: number,
  out: HeaderValue,
): number {
  let i = from;
  let value = 0;
  for (;;) {
    if (i >= end) return -1;
    const c = bytes[i] as number;
    if (c === CR) break;
    if (c < 0x30 || c > 0x39) throw corrupt('invalid length', bytes, at, i + 1);
    value = value * 10 + (c - 0x30);
    i++;
    if (i - from > 19) throw corrupt('length overflows 64 bits', bytes, at, i);
  }
  if (i + 1 >= end) return -1;
  if (bytes[i + 1] !== LF) throw corrupt('CR not followed by LF', bytes, at, i + 2);
  out.value = value;
  return i;
}

/** First index of `byte` in bytes[from, end), or -1. Never reports a byte at or past `end`. */
export function findByte(bytes: Buffer, byte: number, from: number, end: number): number {
  if (end - from <= 64) {
    for (let i = from; i < end; i++) if (bytes[i] === byte) return i;
    return -1;
  }
  const i = bytes.indexOf(byte, from);
  return i !== -1 && i < end ? i : -1;
}

/** A corrupt-frame error quoting the offending bytes (at most 40 of them). */
export function corrupt(what: string, bytes: Buffer, from: number, to: number): DecodeError {
  const shown = bytes.toString(
    'latin1',
    from,
    Math.min(Math.max(to, from), from + 40, bytes.length),
  );
  return new DecodeError(`RESP ${what}: ${JSON.stringify(shown)}`);
}

/** A limit error of a RESP decoder: `RESP <what> <observed> exceeds <option> <max>`. */
export function tooLong(
  what: string,
  observed: number,
  max: number,
  option: string,
): FrameTooLongError {
  const error = new FrameTooLongError(observed, max, what, option);
  // The class writes "<what> length ..."; RESP's limits are counts and depths too, so the
  // message says what was measured in its own words.
  error.message = `RESP ${what} ${observed} exceeds ${option} ${max}`;
  return error;
}
