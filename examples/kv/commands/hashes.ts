import {
  RespError,
  RespMap,
  type RespPair,
  type RespValue,
} from '../../../src/codec/resp-types.js';
import { type CommandSpec, keyed, type Reply } from '../command.js';
import type { KvState } from '../kv-state.js';
import { arityError } from '../replies.js';
import type { KvContext } from '../session.js';
import { type KvHash, keyBytes, keyOf } from '../store.js';
import { hashAt, hashForWrite } from './hash-access.js';
import { hashNumberCommands } from './hash-numbers.js';
import { hashRandomCommands } from './hash-random.js';

/** HSET and HMSET: field/value pairs (an odd count is an arity error in Redis's words). */
function hset(name: 'hset' | 'hmset') {
  return (kv: KvState, _ctx: KvContext, args: Buffer[]): Reply => {
    if (args.length % 2 !== 0) return arityError(name);
    const key = keyOf(args[1] as Buffer);
    const hash = hashForWrite(kv, key);
    if (hash instanceof RespError) return hash;
    let added = 0;
    for (let i = 2; i < args.length; i += 2) {
      if (hash.put(keyOf(args[i] as Buffer), args[i + 1] as Buffer)) added++;
    }
    kv.store.written(key);
    return name === 'hset' ? added : 'OK';
  };
}

function hsetnx(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const key = keyOf(args[1] as Buffer);
  const hash = hashForWrite(kv, key);
  if (hash instanceof RespError) return hash;
  const field = keyOf(args[2] as Buffer);
  if (hash.fields.has(field)) return 0;
  hash.put(field, args[3] as Buffer);
  kv.store.written(key);
  return 1;
}

/** Reads one field: `reply` maps the value (undefined when absent) to the answer. */
function field(missing: RespValue, reply: (value: Buffer | undefined) => RespValue) {
  return (kv: KvState, _ctx: KvContext, args: Buffer[]): Reply => {
    const hash = hashAt(kv, keyOf(args[1] as Buffer));
    if (hash === undefined) return missing;
    if (hash instanceof RespError) return hash;
    return reply(hash.fields.get(keyOf(args[2] as Buffer)));
  };
}

function hmget(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const hash = hashAt(kv, keyOf(args[1] as Buffer));
  if (hash instanceof RespError) return hash;
  const values: RespValue[] = [];
  for (let i = 2; i < args.length; i++) {
    values.push(hash?.fields.get(keyOf(args[i] as Buffer)) ?? null);
  }
  return values;
}

/** HGETALL (a map: RESP2 clients get it flat, as from Redis), HKEYS, HVALS, HLEN. */
function whole(reply: (hash: KvHash) => RespValue, missing: () => RespValue) {
  return (kv: KvState, _ctx: KvContext, args: Buffer[]): Reply => {
    const hash = hashAt(kv, keyOf(args[1] as Buffer));
    if (hash === undefined) return missing();
    if (hash instanceof RespError) return hash;
    return reply(hash);
  };
}

function allPairs(hash: KvHash): RespValue {
  const entries: RespPair[] = [];
  for (const [name, value] of hash.fields) entries.push([keyBytes(name), value]);
  return new RespMap(entries);
}

function hdel(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const key = keyOf(args[1] as Buffer);
  const hash = hashAt(kv, key);
  if (hash === undefined) return 0;
  if (hash instanceof RespError) return hash;
  let deleted = 0;
  for (let i = 2; i < args.length; i++) if (hash.fields.delete(keyOf(args[i] as Buffer))) deleted++;
  if (hash.fields.size === 0) kv.store.delete(key);
  if (deleted > 0) kv.store.written(key);
  return deleted;
}

const group = 'hash';
const read = ['readonly', 'fast'];
const write = ['write', 'denyoom', 'fast'];

/**
 * The hash commands: HSET, HMSET, HSETNX, HGET, HMGET, HGETALL, HKEYS, HVALS, HLEN, HEXISTS,
 * HSTRLEN, HDEL, and (from their own files) HINCRBY, HINCRBYFLOAT, HRANDFIELD, HSCAN.
 *
 * @example
 * ```ts
 * const table = new CommandTable(hashCommands);
 * ```
 */
export const hashCommands: readonly CommandSpec[] = [
  keyed({
    name: 'hset',
    arity: -4,
    group,
    flags: write,
    summary: 'Creates or modifies the value of a field in a hash.',
    handler: hset('hset'),
  }),
  keyed({
    name: 'hmset',
    arity: -4,
    group,
    flags: write,
    summary: 'Sets the values of multiple fields.',
    handler: hset('hmset'),
  }),
  keyed({
    name: 'hsetnx',
    arity: 4,
    group,
    flags: write,
    summary: "Sets the value of a field in a hash only when the field doesn't exist.",
    handler: hsetnx,
  }),
  keyed({
    name: 'hget',
    arity: 3,
    group,
    flags: read,
    summary: 'Returns the value of a field in a hash.',
    handler: field(null, (v) => v ?? null),
  }),
  keyed({
    name: 'hmget',
    arity: -3,
    group,
    flags: read,
    summary: 'Returns the values of all fields in a hash.',
    handler: hmget,
  }),
  keyed({
    name: 'hgetall',
    arity: 2,
    group,
    flags: ['readonly'],
    summary: 'Returns all fields and values in a hash.',
    handler: whole(allPairs, () => new RespMap([])),
  }),
  keyed({
    name: 'hkeys',
    arity: 2,
    group,
    flags: ['readonly'],
    summary: 'Returns all fields in a hash.',
    handler: whole(
      (h) => [...h.fields.keys()].map(keyBytes),
      () => [],
    ),
  }),
  keyed({
    name: 'hvals',
    arity: 2,
    group,
    flags: ['readonly'],
    summary: 'Returns all values in a hash.',
    handler: whole(
      (h) => [...h.fields.values()],
      () => [],
    ),
  }),
  keyed({
    name: 'hlen',
    arity: 2,
    group,
    flags: read,
    summary: 'Returns the number of fields in a hash.',
    handler: whole(
      (h) => h.fields.size,
      () => 0,
    ),
  }),
  keyed({
    name: 'hexists',
    arity: 3,
    group,
    flags: read,
    summary: 'Determines whether a field exists in a hash.',
    handler: field(0, (v) => (v === undefined ? 0 : 1)),
  }),
  keyed({
    name: 'hstrlen',
    arity: 3,
    group,
    flags: read,
    summary: 'Returns the length of the value of a field.',
    handler: field(0, (v) => v?.length ?? 0),
  }),
  keyed({
    name: 'hdel',
    arity: -3,
    group,
    flags: ['write', 'fast'],
    summary:
      'Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.',
    handler: hdel,
  }),
  ...hashNumberCommands,
  ...hashRandomCommands,
];
