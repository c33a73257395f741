import { RespMap, type RespPair, type RespValue } from '../../../src/codec/resp-types.js';
import { type CommandSpec, keyed, type Reply } from '../command.js';
import type { KvState } from '../kv-state.js';
import { arityError, Errors } from '../replies.js';
import type { KvContext } from '../session.js';
import { KvHash, keyBytes, keyOf } from '../store.js';

/** The hash at `key`, undefined if none, or the WRONGTYPE error. */
function hashAt(kv: KvState, key: string): KvHash | undefined | RespValue {
  const entry = kv.store.lookup(key);
  if (entry === undefined) return undefined;
  return entry.value instanceof KvHash ? entry.value : Errors.wrongType;
}

function hset(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  // Field/value pairs: an odd count is an arity error in Redis's words.
  if (args.length % 2 !== 0) return arityError('hset');
  const key = keyOf(args[1] as Buffer);
  let hash = hashAt(kv, key);
  if (hash !== undefined && !(hash instanceof KvHash)) return hash;
  if (hash === undefined) {
    hash = new KvHash();
    kv.store.set(key, hash);
  }
  let added = 0;
  for (let i = 2; i < args.length; i += 2) {
    const field = keyOf(args[i] as Buffer);
    if (!hash.fields.has(field)) added++;
    hash.fields.set(field, args[i + 1] as Buffer);
  }
  kv.store.modified(key);
  return added;
}

function hget(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const hash = hashAt(kv, keyOf(args[1] as Buffer));
  if (hash === undefined) return null;
  if (!(hash instanceof KvHash)) return hash;
  return hash.fields.get(keyOf(args[2] as Buffer)) ?? null;
}

function hmget(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const hash = hashAt(kv, keyOf(args[1] as Buffer));
  if (hash !== undefined && !(hash instanceof KvHash)) return hash;
  const values: RespValue[] = [];
  for (let i = 2; i < args.length; i++) {
    values.push(hash?.fields.get(keyOf(args[i] as Buffer)) ?? null);
  }
  return values;
}

/** A map for RESP3 clients; the codec flattens it to `*2n` for RESP2 ones, as Redis does. */
function hgetall(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const hash = hashAt(kv, keyOf(args[1] as Buffer));
  if (hash === undefined) return new RespMap([]);
  if (!(hash instanceof KvHash)) return hash;
  const entries: RespPair[] = [];
  for (const [field, value] of hash.fields) entries.push([keyBytes(field), value]);
  return new RespMap(entries);
}

function hdel(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const key = keyOf(args[1] as Buffer);
  const hash = hashAt(kv, key);
  if (hash === undefined) return 0;
  if (!(hash instanceof KvHash)) return hash;
  let deleted = 0;
  for (let i = 2; i < args.length; i++) if (hash.fields.delete(keyOf(args[i] as Buffer))) deleted++;
  if (hash.fields.size === 0) kv.store.delete(key);
  else if (deleted > 0) kv.store.modified(key);
  return deleted;
}

function hlen(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const hash = hashAt(kv, keyOf(args[1] as Buffer));
  if (hash === undefined) return 0;
  return hash instanceof KvHash ? hash.fields.size : hash;
}

function hexists(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const hash = hashAt(kv, keyOf(args[1] as Buffer));
  if (hash === undefined) return 0;
  if (!(hash instanceof KvHash)) return hash;
  return hash.fields.has(keyOf(args[2] as Buffer)) ? 1 : 0;
}

const group = 'hash';

/**
 * HSET, HGET, HMGET, HGETALL, HDEL, HLEN, HEXISTS.
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
    flags: ['write', 'denyoom', 'fast'],
    summary: 'Creates or modifies the value of a field in a hash.',
    handler: hset,
  }),
  keyed({
    name: 'hget',
    arity: 3,
    group,
    flags: ['readonly', 'fast'],
    summary: 'Returns the value of a field in a hash.',
    handler: hget,
  }),
  keyed({
    name: 'hmget',
    arity: -3,
    group,
    flags: ['readonly', 'fast'],
    summary: 'Returns the values of all fields in a hash.',
    handler: hmget,
  }),
  keyed({
    name: 'hgetall',
    arity: 2,
    group,
    flags: ['readonly'],
    summary: 'Returns all fields and values in a hash.',
    handler: hgetall,
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
  keyed({
    name: 'hlen',
    arity: 2,
    group,
    flags: ['readonly', 'fast'],
    summary: 'Returns the number of fields in a hash.',
    handler: hlen,
  }),
  keyed({
    name: 'hexists',
    arity: 3,
    group,
    flags: ['readonly', 'fast'],
    summary: 'Determines whether a field exists in a hash.',
    handler: hexists,
  }),
];
