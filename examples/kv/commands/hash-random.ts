import { RespError, type RespValue } from '../../../src/codec/resp-types.js';
import { type CommandSpec, keyed, type Reply } from '../command.js';
import { globMatch } from '../glob.js';
import { parseInteger } from '../integers.js';
import type { KvState } from '../kv-state.js';
import { Errors } from '../replies.js';
import type { KvContext } from '../session.js';
import { type KvHash, keyBytes, keyOf } from '../store.js';
import { isWord } from '../words.js';
import { hashAt } from './hash-access.js';
import { parseCursor, parseScanOptions } from './keys.js';

const OUT_OF_RANGE = new RespError('ERR value is out of range');
/** LONG_MAX / 2: the largest count HRANDFIELD WITHVALUES takes. */
const HALF_LONG = 2n ** 62n - 1n;

/** One field, or with its value: flat for RESP2, a pair for RESP3 (as Redis replies). */
function pushField(out: RespValue[], hash: KvHash, field: string, values: boolean, resp3: boolean) {
  const name = keyBytes(field);
  if (!values) out.push(name);
  else if (resp3) out.push([name, hash.fields.get(field) as Buffer]);
  else out.push(name, hash.fields.get(field) as Buffer);
}

/**
 * HRANDFIELD key [count [WITHVALUES]]: a negative count may repeat fields, a positive one
 * does not, and a count at least the hash's size returns the whole hash.
 */
function hrandfield(kv: KvState, ctx: KvContext, args: Buffer[]): Reply {
  let count: number | bigint | undefined;
  let values = false;
  if (args.length >= 3) {
    count = parseInteger(args[2] as Buffer);
    if (count === undefined) return Errors.notInteger;
    if (args.length > 4 || (args.length === 4 && !isWord(args[3] as Buffer, 'WITHVALUES')))
      return Errors.syntax;
    if (args.length === 4) {
      values = true;
      if (count < -HALF_LONG || count > HALF_LONG) return OUT_OF_RANGE;
    }
  }
  const hash = hashAt(kv, keyOf(args[1] as Buffer));
  if (hash instanceof RespError) return hash;
  if (count === undefined) {
    if (hash === undefined) return null;
    return keyBytes(randomField(hash));
  }
  if (hash === undefined || count === 0 || count === 0n) return [];
  const resp3 = ctx.session.protocol === 3;
  const out: RespValue[] = [];
  const wanted = Number(count < 0 ? -count : count);
  if (count < 0 || wanted === 1) {
    // Bounded by the count the client asked for, as Redis is.
    for (let i = 0; i < wanted; i++) pushField(out, hash, randomField(hash), values, resp3);
    return out;
  }
  const fields = [...hash.fields.keys()];
  if (wanted < fields.length) {
    // A partial Fisher-Yates shuffle: the first `wanted` are a uniform sample.
    for (let i = 0; i < wanted; i++) {
      const j = i + Math.floor(Math.random() * (fields.length - i));
      [fields[i], fields[j]] = [fields[j] as string, fields[i] as string];
    }
    fields.length = wanted;
  }
  for (const field of fields) pushField(out, hash, field, values, resp3);
  return out;
}

function randomField(hash: KvHash): string {
  let skip = Math.floor(Math.random() * hash.fields.size);
  for (const field of hash.fields.keys()) if (skip-- === 0) return field;
  return hash.fields.keys().next().value as string;
}

/**
 * HSCAN key cursor [MATCH p] [COUNT n]: a small (listpack) hash is returned whole with cursor
 * 0, as Redis does; a large one a page of about COUNT fields at a time, the cursor being a
 * position in insertion order.
 */
function hscan(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const cursor = parseCursor(args[2] as Buffer);
  if (cursor === undefined) return Errors.invalidCursor;
  const hash = hashAt(kv, keyOf(args[1] as Buffer));
  if (hash instanceof RespError) return hash;
  if (hash === undefined) return [Buffer.from('0'), []];
  const options = parseScanOptions(args, 3, false);
  if (options instanceof RespError) return options;
  const fields = [...hash.fields.keys()];
  const from = hash.encoding === 'listpack' ? 0 : Math.min(cursor, fields.length);
  const to =
    hash.encoding === 'listpack' ? fields.length : Math.min(from + options.count, fields.length);
  const out: RespValue[] = [];
  for (let i = from; i < to; i++) {
    const field = fields[i] as string;
    if (options.pattern !== undefined && !globMatch(options.pattern, field)) continue;
    out.push(keyBytes(field), hash.fields.get(field) as Buffer);
  }
  return [Buffer.from(String(to >= fields.length ? 0 : to), 'latin1'), out];
}

const group = 'hash';

/**
 * HRANDFIELD and HSCAN.
 *
 * @example
 * ```ts
 * const table = new CommandTable(hashRandomCommands);
 * ```
 */
export const hashRandomCommands: readonly CommandSpec[] = [
  keyed({
    name: 'hrandfield',
    arity: -2,
    group,
    flags: ['readonly'],
    summary: 'Returns one or more random fields from a hash.',
    handler: hrandfield,
  }),
  keyed({
    name: 'hscan',
    arity: -3,
    group,
    flags: ['readonly'],
    summary: 'Iterates over fields and values of a hash.',
    handler: hscan,
  }),
];
