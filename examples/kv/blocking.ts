import type { RespValue } from '../../src/codec/resp-types.js';
import type { KvState } from './kv-state.js';
import type { KvContext } from './session.js';
import { KvList, type KvStore } from './store.js';

/**
 * Clients blocked in BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP: per key, in the order they
 * blocked (Redis serves them first come, first served). A write to a key that leaves a
 * non-empty list there marks it ready; ready keys are served once the running command has
 * returned its reply (a microtask later), so LPUSH still answers the length it made.
 *
 * A waiter's `serve` tries to complete its command from a key: it returns the reply, or
 * undefined to stay blocked (the key holds no list, or it is empty again). A client that
 * disconnected is skipped and dropped; one whose timeout fires gets its timeout reply.
 */
interface Waiter {
  readonly ctx: KvContext;
  readonly keys: readonly string[];
  readonly serve: (key: string) => RespValue | undefined;
  timer: NodeJS.Timeout | undefined;
  done: boolean;
}

class Blocked {
  readonly #kv: KvState;
  readonly #byKey = new Map<string, Waiter[]>();
  readonly #ready = new Set<string>();
  #scheduled = false;

  constructor(kv: KvState) {
    this.#kv = kv;
    kv.store.writeListeners.push((key) => {
      if (!this.#byKey.has(key)) return;
      this.#ready.add(key);
      if (!this.#scheduled) {
        this.#scheduled = true;
        queueMicrotask(() => this.#serveReady());
      }
    });
  }

  block(waiter: Waiter, timeoutMs: number, onTimeout: RespValue): void {
    for (const key of waiter.keys) {
      const list = this.#byKey.get(key) ?? [];
      list.push(waiter);
      this.#byKey.set(key, list);
    }
    if (timeoutMs > 0) {
      waiter.timer = setTimeout(() => {
        this.#finish(waiter);
        if (!waiter.ctx.closed) waiter.ctx.send(onTimeout);
      }, timeoutMs);
      waiter.timer.unref();
    }
  }

  #finish(waiter: Waiter): void {
    waiter.done = true;
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    for (const key of waiter.keys) {
      const list = this.#byKey.get(key);
      if (list === undefined) continue;
      const rest = list.filter((w) => w !== waiter);
      if (rest.length === 0) this.#byKey.delete(key);
      else this.#byKey.set(key, rest);
    }
  }

  #serveReady(): void {
    this.#scheduled = false;
    // Serving can make more keys ready (BLMOVE pushes): bounded by the waiters there are.
    for (let round = 0; round < 10_000 && this.#ready.size > 0; round++) {
      const key = this.#ready.values().next().value as string;
      this.#ready.delete(key);
      const waiters = [...(this.#byKey.get(key) ?? [])];
      for (const waiter of waiters) {
        if (waiter.done) continue;
        if (waiter.ctx.closed) {
          this.#finish(waiter);
          continue;
        }
        const value = this.#kv.store.peek(key)?.value;
        if (!(value instanceof KvList) || value.items.length === 0) break;
        const reply = waiter.serve(key);
        if (reply === undefined) continue;
        this.#finish(waiter);
        waiter.ctx.send(reply);
      }
    }
  }
}

const registries = new WeakMap<KvStore, Blocked>();

/**
 * Blocks `ctx` on `keys` until `serve` completes its command from one of them, or `timeoutMs`
 * (0: forever) passes and it gets `onTimeout`.
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
  serve: (key: string) => RespValue | undefined,
  timeoutMs: number,
  onTimeout: RespValue,
): void {
  let registry = registries.get(kv.store);
  if (registry === undefined) {
    registry = new Blocked(kv);
    registries.set(kv.store, registry);
  }
  registry.block(
    { ctx, keys: [...new Set(keys)], serve, timer: undefined, done: false },
    timeoutMs,
    onTimeout,
  );
}
