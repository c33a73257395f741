import { DecodeError } from '../errors.js';

/**
 * Splits an inline command line (`SET key "hello world"`, typed by a person over telnet) into
 * its arguments, with the rules redis-server applies to inline commands:
 *
 * - arguments are separated by whitespace (space, tab, CR, LF, VT, FF);
 * - `"double quotes"` take escapes `\n \r \t \b \a \\ \" \xHH` (any other `\c` is `c`);
 * - `'single quotes'` take only `\'`;
 * - a quote may open in the middle of an argument (`a"b c"` is one argument `ab c`), but a
 *   closing quote must be followed by whitespace or the end of the line;
 * - an unclosed quote makes the line invalid.
 *
 * One deliberate difference: redis-server reads the line as a C string, so a NUL byte ends it
 * there (and in practice makes the server wait for a newline it cannot see). Here a NUL byte
 * ends an unquoted argument like a space does and is kept inside quotes: the line is bytes.
 *
 * @example
 * ```ts
 * splitInlineArgs(Buffer.from('SET k "a b"'), 0, 11); // [<SET>, <k>, <a b>]
 * ```
 */
export function splitInlineArgs(bytes: Buffer, start: number, end: number): Buffer[] {
  const args: Buffer[] = [];
  // An argument is never longer than the line; build it here, then copy it out.
  let scratch: Buffer | undefined;
  let p = start;
  for (;;) {
    while (p < end && isSpace(bytes[p] as number)) p++;
    if (p >= end) return args;
    scratch ??= Buffer.allocUnsafe(end - start);
    let length = 0;
    let quote = 0; // 0, or the quote byte we are inside
    for (;;) {
      if (p >= end) {
        if (quote !== 0) throw unbalanced(bytes, start, end);
        break;
      }
      const c = bytes[p] as number;
      if (quote === DOUBLE_QUOTE) {
        if (c === BACKSLASH && p + 1 < end) {
          const e = bytes[p + 1] as number;
          if (
            e === 0x78 &&
            p + 3 < end &&
            isHex(bytes[p + 2] as number) &&
            isHex(bytes[p + 3] as number)
          ) {
            scratch[length++] =
              (hexValue(bytes[p + 2] as number) << 4) | hexValue(bytes[p + 3] as number);
            p += 4;
            continue;
          }
          scratch[length++] = escaped(e);
          p += 2;
          continue;
        }
        if (c === DOUBLE_QUOTE) {
          if (p + 1 < end && !isSpace(bytes[p + 1] as number)) throw unbalanced(bytes, start, end);
          p++;
          break;
        }
        scratch[length++] = c;
        p++;
      } else if (quote === SINGLE_QUOTE) {
        if (c === BACKSLASH && p + 1 < end && bytes[p + 1] === SINGLE_QUOTE) {
          scratch[length++] = SINGLE_QUOTE;
          p += 2;
          continue;
        }
        if (c === SINGLE_QUOTE) {
          if (p + 1 < end && !isSpace(bytes[p + 1] as number)) throw unbalanced(bytes, start, end);
          p++;
          break;
        }
        scratch[length++] = c;
        p++;
      } else {
        // Only these end an unquoted argument; VT and FF do not (they only separate arguments).
        if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0x00) {
          p++;
          break;
        }
        if (c === DOUBLE_QUOTE || c === SINGLE_QUOTE) quote = c;
        else scratch[length++] = c;
        p++;
      }
    }
    const arg = Buffer.allocUnsafe(length);
    scratch.copy(arg, 0, 0, length);
    args.push(arg);
  }
}

const DOUBLE_QUOTE = 0x22;
const SINGLE_QUOTE = 0x27;
const BACKSLASH = 0x5c;

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

function hexValue(c: number): number {
  if (c <= 0x39) return c - 0x30;
  return (c | 0x20) - 0x61 + 10;
}

function escaped(c: number): number {
  switch (c) {
    case 0x6e: // n
      return 0x0a;
    case 0x72: // r
      return 0x0d;
    case 0x74: // t
      return 0x09;
    case 0x62: // b
      return 0x08;
    case 0x61: // a
      return 0x07;
    default:
      return c;
  }
}

function unbalanced(bytes: Buffer, start: number, end: number): DecodeError {
  const shown = JSON.stringify(bytes.toString('latin1', start, Math.min(end, start + 64)));
  return new DecodeError(`unbalanced quotes in inline command ${shown}`);
}
