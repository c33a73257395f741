import type { RespError } from '../../../src/codec/resp-types.js';
import type { KvState } from '../kv-state.js';
import { Errors } from '../replies.js';
import { KvHash } from '../store.js';

/**
 * The hash at `key`, undefined if none, or the WRONGTYPE error.
 *
 * @example
 * ```ts
 * const hash = hashAt(kv, 'h');
 * ```
 */
export function hashAt(kv: KvState, key: string): KvHash | undefined | RespError {
  const entry = kv.store.lookup(key);
  if (entry === undefined) return undefined;
  return entry.value instanceof KvHash ? entry.value : Errors.wrongType;
}

/**
 * The hash at `key`, created (and stored) if missing, or the WRONGTYPE error.
 *
 * @example
 * ```ts
 * const hash = hashForWrite(kv, 'h');
 * ```
 */
export function hashForWrite(kv: KvState, key: string): KvHash | RespError {
  const hash = hashAt(kv, key);
  if (hash !== undefined) return hash;
  const created = new KvHash();
  kv.store.set(key, created);
  return created;
}
