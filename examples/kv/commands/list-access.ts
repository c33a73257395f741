import type { RespError } from '../../../src/codec/resp-types.js';
import type { KvState } from '../kv-state.js';
import { Errors } from '../replies.js';
import { KvList } from '../store.js';

/**
 * The list at `key`, undefined if none, or the WRONGTYPE error.
 *
 * @example
 * ```ts
 * const list = listAt(kv, 'queue');
 * ```
 */
export function listAt(kv: KvState, key: string): KvList | undefined | RespError {
  const entry = kv.store.lookup(key);
  if (entry === undefined) return undefined;
  return entry.value instanceof KvList ? entry.value : Errors.wrongType;
}

/**
 * Pushes `items` at one end of the list at `key`, creating it; the new length. The caller has
 * checked the type. Signals the write, which is what wakes blocked clients.
 *
 * @example
 * ```ts
 * pushItems(kv, 'queue', [Buffer.from('job')], false);
 * ```
 */
export function pushItems(
  kv: KvState,
  key: string,
  items: readonly Buffer[],
  left: boolean,
): number {
  let list = kv.store.lookup(key)?.value;
  if (!(list instanceof KvList)) {
    list = new KvList();
    kv.store.set(key, list);
  }
  // LPUSH k a b c inserts a, then b, then c at the head: the list reads c b a.
  for (const item of items) {
    if (left) list.items.pushFront(item);
    else list.items.pushBack(item);
  }
  kv.store.written(key);
  return list.items.length;
}

/**
 * Pops up to `count` items from one end, deleting the key when the list empties.
 *
 * @example
 * ```ts
 * popItems(kv, 'queue', list, 1, true); // [<job>]
 * ```
 */
export function popItems(
  kv: KvState,
  key: string,
  list: KvList,
  count: number,
  left: boolean,
): Buffer[] {
  const popped: Buffer[] = [];
  for (let i = 0; i < count && list.items.length > 0; i++) {
    popped.push((left ? list.items.popFront() : list.items.popBack()) as Buffer);
  }
  if (list.items.length === 0) kv.store.delete(key);
  kv.store.written(key);
  return popped;
}

/**
 * LEFT or RIGHT (any case) as a side: true for left, or the syntax error.
 *
 * @example
 * ```ts
 * sideOf(Buffer.from('left')); // true
 * ```
 */
export function sideOf(word: Buffer): boolean | RespError {
  const text = word.toString('latin1').toUpperCase();
  if (text === 'LEFT') return true;
  if (text === 'RIGHT') return false;
  return Errors.syntax;
}
