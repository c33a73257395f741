import type { CommandSpec } from './command.js';
import type { KvContext } from './session.js';
import type { KvStore } from './store.js';

/**
 * The commands a client queued after MULTI, and whether queueing one of them failed (an
 * unknown command, a wrong argument count: EXEC then discards them all, as Redis does).
 *
 * @example
 * ```ts
 * session.multi = new Transaction();
 * session.multi.commands.push({ spec, args });
 * ```
 */
export class Transaction {
  readonly commands: { spec: CommandSpec; args: Buffer[] }[] = [];
  /** A command was rejected while queueing (Redis's CLIENT_DIRTY_EXEC). */
  failed = false;
}

/**
 * Who WATCHes which key. It listens to the store's one write hook (`writeListeners`, which
 * every write and expiry reaches), so a write nobody watches costs one Map lookup. A change to
 * a watched key marks
 * each watcher dirty (its next EXEC fails) and drops all of that client's watches, as Redis
 * does: once dirty, further changes cannot matter.
 *
 * Expiry counts as a change for a key that was alive when watched. A key already expired when
 * WATCH runs is deleted first (by the `has` check in `watch`), so its later removal is no
 * change, which is Redis's rule for keys that were logically gone at WATCH time. `check` runs
 * the same test at EXEC, so a key that expired unread in between fails the transaction.
 *
 * @example
 * ```ts
 * const watches = new Watches(store);
 * watches.watch(ctx, 'k');
 * store.written('k'); // ctx.session.dirty === true
 * ```
 */
export class Watches {
  readonly #store: KvStore;
  readonly #byKey = new Map<string, Set<KvContext>>();

  constructor(store: KvStore) {
    this.#store = store;
    store.writeListeners.push((key) => this.modified(key));
  }

  /** Watched keys with at least one watcher. */
  get size(): number {
    return this.#byKey.size;
  }

  watch(ctx: KvContext, key: string): void {
    const session = ctx.session;
    this.#store.has(key);
    // A client already dirty gains nothing by watching more (its EXEC fails anyway).
    if (session.dirty) return;
    session.watched ??= new Set();
    if (session.watched.has(key)) return;
    session.watched.add(key);
    let watchers = this.#byKey.get(key);
    if (watchers === undefined) {
      watchers = new Set();
      this.#byKey.set(key, watchers);
    }
    watchers.add(ctx);
  }

  /** UNWATCH, EXEC, DISCARD, RESET and disconnect: drops the client's watches, and dirt. */
  unwatchAll(ctx: KvContext): void {
    this.#forget(ctx);
    ctx.session.dirty = false;
  }

  /** Expires watched keys that are due, so that an expiry since WATCH marks the client dirty. */
  check(ctx: KvContext): void {
    const watched = ctx.session.watched;
    if (watched === null) return;
    for (const key of [...watched]) this.#store.has(key);
  }

  /** `key` was written, deleted or expired: its watchers go dirty (Redis's touchWatchedKey). */
  modified(key: string): void {
    const watchers = this.#byKey.get(key);
    if (watchers === undefined) return;
    for (const ctx of [...watchers]) {
      ctx.session.dirty = true;
      this.#forget(ctx);
    }
  }

  #forget(ctx: KvContext): void {
    const watched = ctx.session.watched;
    if (watched === null) return;
    for (const key of watched) {
      const watchers = this.#byKey.get(key);
      if (watchers === undefined) continue;
      watchers.delete(ctx);
      if (watchers.size === 0) this.#byKey.delete(key);
    }
    ctx.session.watched = null;
  }
}
