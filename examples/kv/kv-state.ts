import type { ProtocolEngine } from '../../src/engine/engine.js';
import { ClientLimits } from './client-limits.js';
import type { CommandTable } from './command.js';
import { KvConfig } from './config.js';
import { MemoryGuard } from './memory.js';
import { PubSub } from './pubsub.js';
import type { KvContext, KvProtocol } from './session.js';
import { KvStore } from './store.js';
import { Watches } from './transaction.js';

/**
 * Everything command handlers share: the keyspace, pub/sub, the engine, the command table and
 * the counters INFO reports.
 *
 * @example
 * ```ts
 * const kv = new KvState(table);
 * kv.store.set('k', Buffer.from('v'));
 * ```
 */
export class KvState {
  readonly store = new KvStore();
  readonly pubsub = new PubSub(this);
  /** What CONFIG GET/SET read and write. */
  readonly config = new KvConfig();
  /** Used-memory estimate and the `maxmemory` verdict. */
  readonly memory = new MemoryGuard();
  readonly limits = new ClientLimits(this);
  /** A coarse clock (Date.now() at the last tick, every 100 ms) for idle and soft-limit times. */
  clock = Date.now();
  /** WATCHed keys and their clients. */
  readonly watches = new Watches(this.store);
  /** Set once by `startKvServer` right after the engine is built (they need each other). */
  engine!: ProtocolEngine<KvProtocol>;
  readonly table: CommandTable;
  readonly startedAt = Date.now();
  /** The TCP port listened on (INFO `tcp_port`), 0 if none. */
  tcpPort = 0;
  /** Open clients, for CLIENT LIST. */
  readonly clients = new Set<KvContext>();
  connectionsReceived = 0;
  commandsProcessed = 0;
  #nextClientId = 1;
  /** Set when shutdown begins: no timer may be armed after it. */
  stopped = false;
  /** Period of the expiry sweep; 0 disables it (lazy expiry still applies). */
  readonly sweepIntervalMs: number;

  constructor(table: CommandTable, sweepIntervalMs = 100) {
    this.sweepIntervalMs = sweepIntervalMs;
    this.table = table;
  }

  /**
   * Arms the next tick, an engine timeout (so shutdown clears it): the expiry sweep (unless
   * `sweepIntervalMs` is 0), the memory estimate and the client limits.
   */
  scheduleSweep(): void {
    if (!this.stopped) this.engine.setTimeout('sweep', this.sweepIntervalMs || 100);
  }

  /** For PubSub, whose owner this is: is this subscriber over its output-buffer limit? */
  overOutputLimit(ctx: KvContext): boolean {
    return this.limits.overOutputLimit(ctx);
  }

  /** A new CLIENT ID. */
  nextClientId(): number {
    return this.#nextClientId++;
  }
}
