import type { RespValue } from '../../src/codec/resp-types.js';
import { deliver } from './execute.js';
import type { KvState } from './kv-state.js';
import type { KvContext } from './session.js';

/**
 * Clients blocked on keys (BZPOPMIN, BZMPOP, and any other blocking pop): a blocked client gets
 * no reply until one of its keys can serve it or its timeout passes, and, as in Redis, the
 * commands it pipelined behind the blocking one wait their turn.
 *
 * A write that may make a key servable calls `wakeKey`; the waiters on that key are tried in
 * the order they blocked, each through its own `serve` (which pops and returns the reply, or
 * undefined when the key has nothing for it). Writes the store reports (`writeListeners`) wake
 * a key's waiters too, once the running command has returned its reply (a microtask later), so
 * LPUSH still answers the length it made. The state lives beside `KvState` in a WeakMap so that
 * the keyspace classes need not know about it.
 */

/** Tries to serve a waiter from `key`: its reply, or undefined to keep waiting. */
export type Serve = (key: string) => RespValue | undefined;

interface Waiter {
  readonly ctx: KvContext;
  readonly keys: readonly string[];
  readonly serve: Serve;
  timer: ReturnType<typeof setTimeout> | undefined;
}

interface Blocking {
  readonly byKey: Map<string, Waiter[]>;
  readonly byClient: Map<KvContext, Waiter>;
  /** Requests that arrived behind a blocking command, per client. */
  readonly queued: Map<KvContext, RespValue[]>;
  runner: ((ctx: KvContext, frame: RespValue) => void) | undefined;
  /** Keys written since the last wake-up, served in a microtask. */
  readonly written: Set<string>;
}

const registry = new WeakMap<KvState, Blocking>();
const MAX_TIMER_MS = 2 ** 31 - 1;

function blockingOf(kv: KvState): Blocking {
  let blocking = registry.get(kv);
  if (blocking === undefined) {
    const created: Blocking = {
      byKey: new Map(),
      byClient: new Map(),
      queued: new Map(),
      runner: undefined,
      written: new Set(),
    };
    kv.store.writeListeners.push((key) => {
      if (!created.byKey.has(key)) return;
      if (created.written.size === 0) queueMicrotask(() => wakeWritten(kv, created));
      created.written.add(key);
    });
    registry.set(kv, created);
    blocking = created;
  }
  return blocking;
}

function wakeWritten(kv: KvState, blocking: Blocking): void {
  // Serving can write more keys (BLMOVE pushes): bounded by the waiters there are.
  for (let round = 0; round < 10_000 && blocking.written.size > 0; round++) {
    const key = blocking.written.values().next().value as string;
    blocking.written.delete(key);
    wakeKey(kv, key);
  }
}

/**
 * Tells the registry how to run a request that was held back while its client was blocked
 * (the handler's own `onFrame`).
 *
 * @example
 * ```ts
 * setFrameRunner(kv, (ctx, frame) => handler.onFrame(ctx, frame));
 * ```
 */
export function setFrameRunner(kv: KvState, runner: (ctx: KvContext, frame: RespValue) => void) {
  blockingOf(kv).runner = runner;
}

/**
 * Blocks `ctx` on `keys` until `serve` answers for one of them, or for `timeoutMs` (0: for
 * ever, as is anything past 24.8 days), after which it gets `timeoutReply`. Inside EXEC it
 * gets `timeoutReply` at once, as redis-server answers a blocking command in a transaction.
 *
 * @example
 * ```ts
 * block(kv, ctx, ['queue'], 1000, (key) => popFrom(key), null);
 * return NO_REPLY;
 * ```
 */
export function block(
  kv: KvState,
  ctx: KvContext,
  keys: readonly string[],
  timeoutMs: number,
  serve: Serve,
  timeoutReply: RespValue,
): void {
  // Inside EXEC nothing may block (Redis's CLIENT_DENY_BLOCKING): the command times out at once.
  if (ctx.session.inExec) {
    deliver(ctx, timeoutReply);
    return;
  }
  const blocking = blockingOf(kv);
  const waiter: Waiter = { ctx, keys, serve, timer: undefined };
  for (const key of keys) {
    const list = blocking.byKey.get(key);
    if (list === undefined) blocking.byKey.set(key, [waiter]);
    else if (!list.includes(waiter)) list.push(waiter);
  }
  blocking.byClient.set(ctx, waiter);
  // Node fires a timer longer than 2^31 - 1 ms at once; one that long (24.8 days) is treated as
  // for ever.
  if (timeoutMs > 0 && timeoutMs <= MAX_TIMER_MS) {
    waiter.timer = setTimeout(() => release(kv, waiter, timeoutReply), timeoutMs);
    waiter.timer.unref?.();
  }
}

/**
 * Serves the clients blocked on `key`, oldest first, while the key has something for them.
 *
 * @example
 * ```ts
 * zset.add(member, score);
 * wakeKey(kv, key);
 * ```
 */
export function wakeKey(kv: KvState, key: string): void {
  const blocking = registry.get(kv);
  const list = blocking?.byKey.get(key);
  if (list === undefined) return;
  for (const waiter of [...list]) {
    if (blocking?.byClient.get(waiter.ctx) !== waiter) continue;
    const reply = waiter.serve(key);
    if (reply === undefined) break;
    release(kv, waiter, reply);
  }
}

/**
 * Holds `frame` back if `ctx` is blocked (true), so that it runs once the client is served.
 *
 * @example
 * ```ts
 * onFrame(ctx, frame) { if (deferIfBlocked(kv, ctx, frame)) return; … }
 * ```
 */
export function deferIfBlocked(kv: KvState, ctx: KvContext, frame: RespValue): boolean {
  const blocking = registry.get(kv);
  if (blocking === undefined || !blocking.byClient.has(ctx)) return false;
  const queue = blocking.queued.get(ctx);
  if (queue === undefined) blocking.queued.set(ctx, [frame]);
  else queue.push(frame);
  return true;
}

/**
 * Forgets a closed client: no reply, no timer.
 *
 * @example
 * ```ts
 * onClosed(ctx) { forgetBlocked(kv, ctx); }
 * ```
 */
export function forgetBlocked(kv: KvState, ctx: KvContext): void {
  const blocking = registry.get(kv);
  if (blocking === undefined) return;
  const waiter = blocking.byClient.get(ctx);
  if (waiter !== undefined) unlink(blocking, waiter);
  blocking.queued.delete(ctx);
}

/** How many clients are blocked (INFO's `blocked_clients`). */
export function blockedCount(kv: KvState): number {
  return registry.get(kv)?.byClient.size ?? 0;
}

function unlink(blocking: Blocking, waiter: Waiter): void {
  if (waiter.timer !== undefined) clearTimeout(waiter.timer);
  blocking.byClient.delete(waiter.ctx);
  for (const key of waiter.keys) {
    const list = blocking.byKey.get(key);
    if (list === undefined) continue;
    const at = list.indexOf(waiter);
    if (at >= 0) list.splice(at, 1);
    if (list.length === 0) blocking.byKey.delete(key);
  }
}

/** Unblocks with `reply`, then runs what the client pipelined behind, until it blocks again. */
function release(kv: KvState, waiter: Waiter, reply: RespValue): void {
  const blocking = blockingOf(kv);
  if (blocking.byClient.get(waiter.ctx) !== waiter) return;
  unlink(blocking, waiter);
  waiter.ctx.send(reply);
  const queue = blocking.queued.get(waiter.ctx);
  if (queue === undefined) return;
  while (queue.length > 0 && !blocking.byClient.has(waiter.ctx)) {
    blocking.runner?.(waiter.ctx, queue.shift() as RespValue);
  }
  if (queue.length === 0) blocking.queued.delete(waiter.ctx);
}

/**
 * `block` with its arguments in the order the list commands give them.
 *
 * @example
 * ```ts
 * blockOn(kv, ctx, ['queue'], (key) => popReply(key), 1000, NULL_ARRAY);
 * return NO_REPLY;
 * ```
 */
export function blockOn(
  kv: KvState,
  ctx: KvContext,
  keys: readonly string[],
  serve: Serve,
  timeoutMs: number,
  onTimeout: RespValue,
): void {
  block(kv, ctx, [...new Set(keys)], timeoutMs, serve, onTimeout);
}
