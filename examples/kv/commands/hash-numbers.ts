import { RespError } from '../../../src/codec/resp-types.js';
import { type CommandSpec, keyed, type Reply } from '../command.js';
import { addInteger, parseInteger } from '../integers.js';
import type { KvState } from '../kv-state.js';
import {
  addLongDouble,
  formatLongDouble,
  type LongDouble,
  parseLongDouble,
} from '../long-double.js';
import { Errors } from '../replies.js';
import type { KvContext } from '../session.js';
import { keyOf } from '../store.js';
import { hashForWrite } from './hash-access.js';

const NOT_INTEGER = new RespError('ERR hash value is not an integer');
const NOT_FLOAT = new RespError('ERR hash value is not a float');
const NAN_OR_INFINITY = new RespError('ERR value is NaN or Infinity');
const ZERO: LongDouble = { negative: false, m: 0n, e: 0 };

/** HINCRBY: the increment is read first, then the hash is found or created, as in Redis. */
function hincrby(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const by = parseInteger(args[3] as Buffer);
  if (by === undefined) return Errors.notInteger;
  const key = keyOf(args[1] as Buffer);
  const hash = hashForWrite(kv, key);
  if (hash instanceof RespError) return hash;
  const field = keyOf(args[2] as Buffer);
  const stored = hash.fields.get(field);
  const current = stored === undefined ? 0 : parseInteger(stored);
  if (current === undefined) return NOT_INTEGER;
  const next = addInteger(current, by);
  if (next === undefined) return Errors.overflow;
  hash.put(field, Buffer.from(String(next), 'latin1'));
  kv.store.written(key);
  return next;
}

function hincrbyfloat(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const by = parseLongDouble(args[3] as Buffer);
  if (by === undefined) return Errors.notFloat;
  if ('infinite' in by) return NAN_OR_INFINITY;
  const key = keyOf(args[1] as Buffer);
  const hash = hashForWrite(kv, key);
  if (hash instanceof RespError) return hash;
  const field = keyOf(args[2] as Buffer);
  const stored = hash.fields.get(field);
  const current = stored === undefined ? ZERO : parseLongDouble(stored);
  if (current === undefined) return NOT_FLOAT;
  const sum = addLongDouble(current, by);
  if (sum === 'nan' || 'infinite' in sum) return Errors.nanOrInfinity;
  const bytes = Buffer.from(formatLongDouble(sum), 'latin1');
  hash.put(field, bytes);
  kv.store.written(key);
  return bytes;
}

const group = 'hash';

/**
 * HINCRBY and HINCRBYFLOAT.
 *
 * @example
 * ```ts
 * const table = new CommandTable(hashNumberCommands);
 * ```
 */
export const hashNumberCommands: readonly CommandSpec[] = [
  keyed({
    name: 'hincrby',
    arity: 4,
    group,
    flags: ['write', 'denyoom', 'fast'],
    summary: 'Increments the integer value of a field in a hash by a number.',
    handler: hincrby,
  }),
  keyed({
    name: 'hincrbyfloat',
    arity: 4,
    group,
    flags: ['write', 'denyoom', 'fast'],
    summary: 'Increments the floating point value of a field by a number.',
    handler: hincrbyfloat,
  }),
];
