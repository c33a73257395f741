import { RespError } from '../../src/codec/resp-types.js';
import type { OutputLimit } from './config.js';
import type { KvState } from './kv-state.js';
import type { KvContext } from './session.js';

/** Redis's answer to a connection beyond `maxclients`, sent before it is closed. */
export const MAX_CLIENTS_REACHED = new RespError('ERR max number of clients reached');

/**
 * The limits a client is held to, beside AUTH and `maxmemory`: `maxclients`, the idle
 * `timeout`, and `client-output-buffer-limit`.
 *
 * Output limits follow Redis's rule: a client whose queued output is at or above its class's
 * hard limit, or has stayed at or above its soft limit for more than the soft seconds, is
 * closed at once, its queued output dropped; a client with subscriptions is of class `pubsub`,
 * any other of class `normal`. The queue is read from the engine (`ctx.queuedBytes`) when a
 * send leaves it above the engine's write high-water mark (`ctx.send` returned false), before
 * each message to a subscriber over that mark, and on the 100 ms tick for clients already
 * over a soft limit; below the high-water mark no limit is checked, so a limit smaller than
 * that mark acts as the mark.
 *
 * @example
 * ```ts
 * if (!ctx.send(reply)) kv.limits.enforceOutput(ctx);
 * ```
 */
export class ClientLimits {
  readonly #kv: KvState;
  /** Clients closed for their output since start (INFO `client_output_buffer_limit_disconnections`). */
  outputDisconnections = 0;
  /** Clients refused for `maxclients` since start (INFO `rejected_connections`). */
  rejected = 0;
  /** Clients closed by the idle `timeout`. */
  timedOut = 0;
  #lastIdleCheck = 0;
  /** Clients above their soft limit, whose timers the tick runs out. */
  readonly #overSoft = new Set<KvContext>();

  constructor(kv: KvState) {
    this.#kv = kv;
  }

  /** On connect: false (after Redis's error) when `maxclients` clients are open already. */
  admit(ctx: KvContext): boolean {
    if (this.#kv.clients.size < this.#kv.config.maxclients) return true;
    this.rejected++;
    ctx.send(MAX_CLIENTS_REACHED);
    ctx.close();
    return false;
  }

  /**
   * Whether the client's queued output breaks its class's limit (as of `now`, the coarse
   * clock); remembers when it first passed the soft limit.
   */
  overOutputLimit(ctx: KvContext, now = this.#kv.clock): boolean {
    const session = ctx.session;
    const config = this.#kv.config.outputLimits;
    const limit: OutputLimit = session.subscriptions > 0 ? config.pubsub : config.normal;
    const queued = ctx.queuedBytes;
    if (limit.hard > 0 && queued >= limit.hard) return true;
    if (limit.soft > 0 && queued >= limit.soft) {
      if (session.overSoftSince < 0) {
        session.overSoftSince = now;
        this.#overSoft.add(ctx);
        return false;
      }
      return now - session.overSoftSince > limit.softSeconds * 1000;
    }
    if (session.overSoftSince >= 0) this.forget(ctx);
    return false;
  }

  /** Closes the client if its output breaks its limit; true if it did. */
  enforceOutput(ctx: KvContext): boolean {
    if (ctx.closed || !this.overOutputLimit(ctx)) return false;
    this.dropForOutput(ctx);
    return true;
  }

  /** Closes a client over its output limit now, discarding what it has not read. */
  dropForOutput(ctx: KvContext): void {
    if (ctx.closed) return;
    this.forget(ctx);
    this.outputDisconnections++;
    this.#kv.pubsub.forget(ctx);
    ctx.abort();
  }

  /** On close, or once below the soft limit again: no timer runs for the client. */
  forget(ctx: KvContext): void {
    ctx.session.overSoftSince = -1;
    this.#overSoft.delete(ctx);
  }

  /** The periodic part: soft-limit timers run out, and once a second, the idle timeout. */
  tick(now: number): void {
    for (const ctx of this.#overSoft) this.enforceOutput(ctx);
    const idleMs = this.#kv.config.timeout * 1000;
    if (idleMs === 0 || now - this.#lastIdleCheck < 1000) return;
    this.#lastIdleCheck = now;
    for (const ctx of this.#kv.clients) {
      // Redis leaves subscribers alone: they wait for messages, not for commands.
      if (ctx.session.subscriptions === 0 && now - ctx.session.lastActive > idleMs) {
        this.timedOut++;
        ctx.close();
      }
    }
  }
}
