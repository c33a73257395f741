import { RespError, RespMap, type RespValue } from '../../../src/codec/resp-types.js';
import { type CommandSpec, keyed, type Reply } from '../command.js';
import { parseInteger } from '../integers.js';
import type { KvState } from '../kv-state.js';
import { Errors } from '../replies.js';
import type { KvContext } from '../session.js';
import { keyOf, StringKind } from '../store.js';
import { isWord } from '../words.js';

/** proto-max-bulk-len: the longest string APPEND and SETRANGE may build. */
const MAX_STRING = 512 * 1024 * 1024;
const EMPTY = Buffer.alloc(0);
const LCS_TYPES = new RespError('ERR The specified keys must contain string values');
const LCS_LEN_AND_IDX = new RespError(
  'ERR If you want both the length and indexes, please just use IDX.',
);
const LCS_MEMORY = new RespError(
  'ERR Insufficient memory, failed allocating transient memory for LCS',
);
/** The largest LCS table built (cells); Redis's limit is the memory it can allocate. */
const LCS_MAX_CELLS = 1 << 26;

function append(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const key = keyOf(args[1] as Buffer);
  const entry = kv.store.lookup(key);
  const tail = args[2] as Buffer;
  if (entry === undefined) {
    kv.store.set(key, tail);
    kv.store.written(key);
    return tail.length;
  }
  if (!Buffer.isBuffer(entry.value)) return Errors.wrongType;
  if (entry.value.length + tail.length > MAX_STRING) return Errors.stringTooLong;
  entry.value = Buffer.concat([entry.value, tail]);
  entry.kind = StringKind.Raw;
  kv.store.written(key);
  return entry.value.length;
}

function strlen(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const entry = kv.store.lookup(keyOf(args[1] as Buffer));
  if (entry === undefined) return 0;
  return Buffer.isBuffer(entry.value) ? entry.value.length : Errors.wrongType;
}

/** GETRANGE (and SUBSTR): Redis's index rules, with its special case for two negatives. */
function getrange(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const startArg = parseInteger(args[2] as Buffer);
  if (startArg === undefined) return Errors.notInteger;
  const endArg = parseInteger(args[3] as Buffer);
  if (endArg === undefined) return Errors.notInteger;
  const entry = kv.store.lookup(keyOf(args[1] as Buffer));
  if (entry === undefined) return EMPTY;
  if (!Buffer.isBuffer(entry.value)) return Errors.wrongType;
  const value = entry.value;
  let start = Number(startArg);
  let end = Number(endArg);
  if (start < 0 && end < 0 && start > end) return EMPTY;
  const length = value.length;
  if (start < 0) start = length + start;
  if (end < 0) end = length + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= length) end = length - 1;
  if (start > end || length === 0) return EMPTY;
  return value.subarray(start, end + 1);
}

function setrange(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const offsetArg = parseInteger(args[2] as Buffer);
  if (offsetArg === undefined) return Errors.notInteger;
  if (offsetArg < 0) return Errors.offsetRange;
  const offset = Number(offsetArg);
  const patch = args[3] as Buffer;
  const key = keyOf(args[1] as Buffer);
  const entry = kv.store.lookup(key);
  if (entry !== undefined && !Buffer.isBuffer(entry.value)) return Errors.wrongType;
  const current = entry?.value as Buffer | undefined;
  if (patch.length === 0) return current?.length ?? 0;
  if (offset + patch.length > MAX_STRING) return Errors.stringTooLong;
  let value = current ?? EMPTY;
  if (offset + patch.length > value.length) {
    const grown = Buffer.alloc(offset + patch.length);
    value.copy(grown);
    value = grown;
  } else {
    // The stored Buffer may be a request's bytes shared with a reply still queued: copy it.
    value = Buffer.from(value);
  }
  patch.copy(value, offset);
  if (entry === undefined) kv.store.set(key, value, false, StringKind.Raw);
  else {
    entry.value = value;
    entry.kind = StringKind.Raw;
  }
  kv.store.written(key);
  return value.length;
}

interface LcsOptions {
  len: boolean;
  idx: boolean;
  withMatchLen: boolean;
  minMatchLen: number;
}

function lcs(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const first = kv.store.lookup(keyOf(args[1] as Buffer));
  const second = kv.store.lookup(keyOf(args[2] as Buffer));
  if (
    (first !== undefined && !Buffer.isBuffer(first.value)) ||
    (second !== undefined && !Buffer.isBuffer(second.value))
  ) {
    return LCS_TYPES;
  }
  const options: LcsOptions = { len: false, idx: false, withMatchLen: false, minMatchLen: 0 };
  for (let i = 3; i < args.length; i++) {
    const option = args[i] as Buffer;
    if (isWord(option, 'IDX')) options.idx = true;
    else if (isWord(option, 'LEN')) options.len = true;
    else if (isWord(option, 'WITHMATCHLEN')) options.withMatchLen = true;
    else if (isWord(option, 'MINMATCHLEN') && i + 1 < args.length) {
      const parsed = parseInteger(args[i + 1] as Buffer);
      if (parsed === undefined) return Errors.notInteger;
      options.minMatchLen = parsed < 0 ? 0 : Number(parsed);
      i++;
    } else return Errors.syntax;
  }
  if (options.len && options.idx) return LCS_LEN_AND_IDX;
  const a = (first?.value as Buffer | undefined) ?? EMPTY;
  const b = (second?.value as Buffer | undefined) ?? EMPTY;
  if ((a.length + 1) * (b.length + 1) > LCS_MAX_CELLS) return LCS_MEMORY;
  return lcsReply(a, b, options);
}

/** The dynamic-programming LCS, walked back from the end as Redis walks it. */
function lcsReply(a: Buffer, b: Buffer, options: LcsOptions): RespValue {
  const width = b.length + 1;
  const table = new Uint32Array((a.length + 1) * width);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      table[i * width + j] =
        a[i - 1] === b[j - 1]
          ? (table[(i - 1) * width + j - 1] as number) + 1
          : Math.max(table[(i - 1) * width + j] as number, table[i * width + j - 1] as number);
    }
  }
  const total = table[a.length * width + b.length] as number;
  if (options.len) return total;
  const result = Buffer.alloc(total);
  const matches: RespValue[] = [];
  let idx = total;
  let i = a.length;
  let j = b.length;
  // `aStart === a.length` means no range is open.
  let aStart = a.length;
  let aEnd = 0;
  let bStart = 0;
  let bEnd = 0;
  while (i > 0 && j > 0) {
    let emit = false;
    if (a[i - 1] === b[j - 1]) {
      result[idx - 1] = a[i - 1] as number;
      if (aStart === a.length) {
        aStart = i - 1;
        aEnd = i - 1;
        bStart = j - 1;
        bEnd = j - 1;
      } else if (aStart === i && bStart === j) {
        aStart--;
        bStart--;
      } else {
        emit = true;
      }
      if (aStart === 0 || bStart === 0) emit = true;
      idx--;
      i--;
      j--;
    } else {
      if ((table[(i - 1) * width + j] as number) > (table[i * width + j - 1] as number)) i--;
      else j--;
      if (aStart !== a.length) emit = true;
    }
    if (emit) {
      const matchLen = aEnd - aStart + 1;
      if (options.idx && (options.minMatchLen === 0 || matchLen >= options.minMatchLen)) {
        const match: RespValue[] = [
          [aStart, aEnd],
          [bStart, bEnd],
        ];
        if (options.withMatchLen) match.push(matchLen);
        matches.push(match);
      }
      aStart = a.length;
    }
  }
  if (!options.idx) return result;
  return new RespMap([
    [Buffer.from('matches'), matches],
    [Buffer.from('len'), total],
  ]);
}

const group = 'string';

/**
 * APPEND, STRLEN, GETRANGE, SUBSTR, SETRANGE and LCS.
 *
 * @example
 * ```ts
 * const table = new CommandTable(stringRangeCommands);
 * ```
 */
export const stringRangeCommands: readonly CommandSpec[] = [
  keyed({
    name: 'append',
    arity: 3,
    group,
    flags: ['write', 'denyoom', 'fast'],
    summary: "Appends a string to the value of a key. Creates the key if it doesn't exist.",
    handler: append,
  }),
  keyed({
    name: 'strlen',
    arity: 2,
    group,
    flags: ['readonly', 'fast'],
    summary: 'Returns the length of a string value.',
    handler: strlen,
  }),
  keyed({
    name: 'getrange',
    arity: 4,
    group,
    flags: ['readonly'],
    summary: 'Returns a substring of the string stored at a key.',
    handler: getrange,
  }),
  keyed({
    name: 'substr',
    arity: 4,
    group,
    flags: ['readonly'],
    summary: 'Returns a substring from a string value.',
    handler: getrange,
  }),
  keyed({
    name: 'setrange',
    arity: 4,
    group,
    flags: ['write', 'denyoom'],
    summary:
      "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.",
    handler: setrange,
  }),
  keyed(
    {
      name: 'lcs',
      arity: -3,
      group,
      flags: ['readonly'],
      summary: 'Finds the longest common substring.',
      handler: lcs,
    },
    1,
    2,
    1,
  ),
];
