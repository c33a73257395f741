import type { RespError } from '../../src/codec/resp-types.js';
import { parseInteger } from './integers.js';
import { Errors } from './replies.js';
import { isWord } from './words.js';

/**
 * SSCAN and ZSCAN's arguments after the key: the cursor, then MATCH and COUNT in any order.
 * Redis reads the cursor first (refusing it before the key is looked at) and the options only
 * once it has found the key, so the two are parsed apart.
 */

/**
 * The cursor as Redis's `strtoul` reads it: digits only here; undefined when invalid.
 *
 * @example
 * ```ts
 * parseCursor(Buffer.from('17')); // 17
 * ```
 */
export function parseCursor(bytes: Buffer): number | undefined {
  const text = bytes.toString('latin1');
  if (text.length === 0 || text.length > 20 || !/^[0-9]+$/.test(text)) return undefined;
  return Number(text);
}

/**
 * MATCH and COUNT from `args[from]` on; `pattern` is undefined for none or `*`.
 *
 * @example
 * ```ts
 * const options = parseScanOptions(args, 3);
 * if (options instanceof RespError) return options;
 * ```
 */
export function parseScanOptions(
  args: readonly Buffer[],
  from: number,
): { count: number; pattern: string | undefined } | RespError {
  let count = 10;
  let pattern: string | undefined;
  for (let i = from; i < args.length; i += 2) {
    const option = args[i] as Buffer;
    const value = args[i + 1];
    if (value === undefined) return Errors.syntax;
    if (isWord(option, 'COUNT')) {
      const parsed = parseInteger(value);
      if (parsed === undefined) return Errors.notInteger;
      if (parsed < 1) return Errors.syntax;
      count = Number(parsed);
    } else if (isWord(option, 'MATCH')) {
      const text = value.toString('latin1');
      pattern = text === '*' ? undefined : text;
    } else {
      return Errors.syntax;
    }
  }
  return { count, pattern };
}

/**
 * The reply of a SCAN-family command: the next cursor as a bulk string, then the items.
 *
 * @example
 * ```ts
 * scanReply(0, [Buffer.from('a')]); // [<Buffer 30>, [<Buffer 61>]]
 * ```
 */
export function scanReply(cursor: number, items: Buffer[]): [Buffer, Buffer[]] {
  return [Buffer.from(String(cursor), 'latin1'), items];
}

/** What every SSCAN and ZSCAN of a missing key gets. */
export const EMPTY_SCAN = (): [Buffer, Buffer[]] => scanReply(0, []);
