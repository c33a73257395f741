import { RespError, type RespValue } from '../../../src/codec/resp-types.js';
import { command, type CommandSpec, keyed, type Reply } from '../command.js';
import { parseInteger } from '../integers.js';
import type { KvState } from '../kv-state.js';
import { Errors } from '../replies.js';
import type { KvContext } from '../session.js';
import { type KvValue, keyBytes, keyOf, StringKind, typeName } from '../store.js';
import { isWord } from '../words.js';
import { expiryCommands } from './expiry.js';
import { encodingOf, objectCommand } from './object.js';

const SAME_OBJECT = new RespError('ERR source and destination objects are the same');

function del(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  let deleted = 0;
  for (let i = 1; i < args.length; i++) {
    const key = keyOf(args[i] as Buffer);
    if (kv.store.delete(key)) {
      deleted++;
      kv.store.written(key);
    }
  }
  return deleted;
}

/** EXISTS and TOUCH: how many of the keys exist (a key named twice counts twice). */
function exists(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  let count = 0;
  for (let i = 1; i < args.length; i++) if (kv.store.lookup(keyOf(args[i] as Buffer))) count++;
  return count;
}

/** A copy of a value COPY can store: strings are immutable Buffers here, containers clone. */
function duplicate(value: KvValue): KvValue {
  return Buffer.isBuffer(value) ? value : value.clone();
}

/** RENAME and RENAMENX: the value moves with its TTL; the destination is replaced (or kept). */
function rename(onlyNew: boolean) {
  return (kv: KvState, _ctx: KvContext, args: Buffer[]): Reply => {
    const from = keyOf(args[1] as Buffer);
    const to = keyOf(args[2] as Buffer);
    const entry = kv.store.lookup(from);
    if (entry === undefined) return Errors.noSuchKey;
    if (from === to) return onlyNew ? 0 : 'OK';
    if (onlyNew && kv.store.lookup(to) !== undefined) return 0;
    const { value, expiresAt, kind } = entry;
    kv.store.delete(to);
    kv.store.delete(from);
    const moved = kv.store.set(to, value, false, kind);
    if (expiresAt !== 0) kv.store.expireAt(to, moved, expiresAt);
    kv.store.written(from);
    kv.store.written(to);
    return onlyNew ? 1 : 'OK';
  };
}

/** COPY source destination [DB 0] [REPLACE]; only database 0 exists here. */
function copy(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  let replace = false;
  for (let i = 3; i < args.length; i++) {
    const option = args[i] as Buffer;
    if (isWord(option, 'REPLACE')) replace = true;
    else if (isWord(option, 'DB') && i + 1 < args.length) {
      const db = parseInteger(args[i + 1] as Buffer);
      if (db === undefined || db > 2147483647 || db < -2147483648) return Errors.notInteger;
      if (db !== 0) return Errors.dbIndex;
      i++;
    } else return Errors.syntax;
  }
  const from = keyOf(args[1] as Buffer);
  const to = keyOf(args[2] as Buffer);
  if (from === to) return SAME_OBJECT;
  const entry = kv.store.lookup(from);
  if (entry === undefined) return 0;
  if (kv.store.lookup(to) !== undefined) {
    if (!replace) return 0;
    kv.store.delete(to);
  }
  // Redis duplicates a shared integer into an object of its own.
  const kind = encodingOf(entry) === 'int' ? StringKind.IntCopy : entry.kind;
  const copied = kv.store.set(to, duplicate(entry.value), false, kind);
  if (entry.expiresAt !== 0) kv.store.expireAt(to, copied, entry.expiresAt);
  kv.store.written(to);
  return 1;
}

function randomkey(kv: KvState): Reply {
  const key = kv.store.randomKey();
  return key === undefined ? null : keyBytes(key);
}

function keys(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const pattern = keyOf(args[1] as Buffer);
  return kv.store.keys(pattern === '*' ? undefined : pattern).map(keyBytes);
}

/**
 * A SCAN cursor as Redis reads it (strtoul): no leading space, nothing after the digits, an
 * optional sign (a negative one wraps, as in C); an empty string is cursor 0.
 *
 * @example
 * ```ts
 * parseCursor(Buffer.from('17')); // 17
 * ```
 */
export function parseCursor(bytes: Buffer): number | undefined {
  const text = bytes.toString('latin1');
  if (text === '') return 0;
  const match = /^([+-]?)(\d+)$/.exec(text);
  if (match === null) return undefined;
  const value = BigInt(match[2] as string);
  if (value > 2n ** 64n - 1n) return undefined;
  return match[1] === '-' && value !== 0n ? Number.MAX_SAFE_INTEGER : Number(value);
}

/**
 * SCAN-family options from argument `from`: COUNT (≥ 1), MATCH, and TYPE when `allowType`;
 * any other word, or an option without its value, is a syntax error.
 *
 * @example
 * ```ts
 * parseScanOptions(args, 2, true); // { count: 10, pattern: undefined, type: undefined }
 * ```
 */
export function parseScanOptions(
  args: Buffer[],
  from: number,
  allowType: boolean,
): { count: number; pattern: string | undefined; type: string | undefined } | RespError {
  let count = 10;
  let pattern: string | undefined;
  let type: string | undefined;
  for (let i = from; i < args.length; i += 2) {
    const option = args[i] as Buffer;
    const value = args[i + 1];
    if (value !== undefined && isWord(option, 'COUNT')) {
      const parsed = parseInteger(value);
      if (parsed === undefined) return Errors.notInteger;
      if (parsed < 1) return Errors.syntax;
      count = Number(parsed);
    } else if (value !== undefined && isWord(option, 'MATCH')) {
      pattern = keyOf(value);
    } else if (value !== undefined && allowType && isWord(option, 'TYPE')) {
      type = value.toString('latin1').toLowerCase();
    } else {
      return Errors.syntax;
    }
  }
  // `*` matches everything: skip the matcher.
  return { count, pattern: pattern === '*' ? undefined : pattern, type };
}

function scan(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const cursor = parseCursor(args[1] as Buffer);
  if (cursor === undefined) return Errors.invalidCursor;
  const options = parseScanOptions(args, 2, true);
  if (options instanceof RespError) return options;
  const page = kv.store.scan(cursor, options.count, options.pattern, options.type);
  const found: RespValue[] = page.keys.map(keyBytes);
  return [Buffer.from(String(page.cursor), 'latin1'), found];
}

function type(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const entry = kv.store.lookup(keyOf(args[1] as Buffer));
  return entry === undefined ? 'none' : typeName(entry.value);
}

const group = 'generic';
const all = (spec: Parameters<typeof keyed>[0]) => keyed(spec, 1, -1, 1);

/**
 * The generic key commands: DEL, UNLINK, EXISTS, TOUCH, TYPE, RENAME, RENAMENX, COPY,
 * RANDOMKEY, KEYS, SCAN, OBJECT, and the expiry commands.
 *
 * @example
 * ```ts
 * const table = new CommandTable(keyCommands);
 * ```
 */
export const keyCommands: readonly CommandSpec[] = [
  all({
    name: 'del',
    arity: -2,
    group,
    flags: ['write'],
    summary: 'Deletes one or more keys.',
    handler: del,
  }),
  all({
    name: 'unlink',
    arity: -2,
    group,
    flags: ['write', 'fast'],
    summary: 'Asynchronously deletes one or more keys.',
    handler: del,
  }),
  all({
    name: 'exists',
    arity: -2,
    group,
    flags: ['readonly', 'fast'],
    summary: 'Determines whether one or more keys exist.',
    handler: exists,
  }),
  all({
    name: 'touch',
    arity: -2,
    group,
    flags: ['readonly', 'fast'],
    summary:
      'Returns the number of existing keys out of those specified after updating the time they were last accessed.',
    handler: exists,
  }),
  keyed({
    name: 'type',
    arity: 2,
    group,
    flags: ['readonly', 'fast'],
    summary: 'Determines the type of value stored at a key.',
    handler: type,
  }),
  keyed(
    {
      name: 'rename',
      arity: 3,
      group,
      flags: ['write'],
      summary: 'Renames a key and overwrites the destination.',
      handler: rename(false),
    },
    1,
    2,
    1,
  ),
  keyed(
    {
      name: 'renamenx',
      arity: 3,
      group,
      flags: ['write', 'fast'],
      summary: "Renames a key only when the target key name doesn't exist.",
      handler: rename(true),
    },
    1,
    2,
    1,
  ),
  keyed(
    {
      name: 'copy',
      arity: -3,
      group,
      flags: ['write', 'denyoom'],
      summary: 'Copies the value of a key to a new key.',
      handler: copy,
    },
    1,
    2,
    1,
  ),
  command({
    name: 'randomkey',
    arity: 1,
    group,
    flags: ['readonly'],
    summary: 'Returns a random key name from the database.',
    handler: randomkey,
  }),
  command({
    name: 'keys',
    arity: 2,
    group,
    flags: ['readonly'],
    summary: 'Returns all key names that match a pattern.',
    handler: keys,
  }),
  command({
    name: 'scan',
    arity: -2,
    group,
    flags: ['readonly'],
    summary: 'Iterates over the key names in the database.',
    handler: scan,
  }),
  objectCommand,
  ...expiryCommands,
];
