import type { Context, Protocol } from '../../src/index.js';
import type { RespValue } from '../../src/codec/resp-types.js';
import type { KvOutbound } from './kv-codec.js';
import type { Transaction } from './transaction.js';

/**
 * CLIENT REPLY's modes: replies sent, none sent, or the next command's reply skipped.
 *
 * @example
 * ```ts
 * if (session.replies !== ReplyMode.On) return;
 * ```
 */
export const ReplyMode = { On: 0, Off: 1, SkipNext: 2, Skip: 3 } as const;
/**
 * One of `ReplyMode`'s values.
 *
 * @example
 * ```ts
 * let mode: ReplyMode = ReplyMode.On;
 * ```
 */
export type ReplyMode = (typeof ReplyMode)[keyof typeof ReplyMode];

/**
 * One client's state, kept in `ctx.session`.
 *
 * @example
 * ```ts
 * const engine = protocolEngine<KvProtocol>({ session: () => new KvSession(nextId++), … });
 * ```
 */
export class KvSession {
  /** CLIENT ID: unique, increasing, never reused. */
  readonly id: number;
  /** CLIENT SETNAME / HELLO SETNAME; null when unnamed. */
  name: Buffer | null = null;
  /** The RESP version this client speaks, switched by HELLO. */
  protocol: 2 | 3 = 2;
  /** Subscribed channels (latin1 keys); null until the first SUBSCRIBE, to keep idle clients small. */
  channels: Set<string> | null = null;
  /** Subscribed patterns (latin1); null until the first PSUBSCRIBE. */
  patterns: Set<string> | null = null;
  /** Unix time in ms of the connection, for CLIENT LIST's `age`. */
  readonly connectedAt = Date.now();
  /** AUTH passed, or no password was required when it connected (`auth.ts`). */
  authenticated = true;
  /** The server's coarse clock at the last command, for the idle `timeout` (`limits.ts`). */
  lastActive = 0;
  /** When its output went above its class's soft limit, or -1 (`client-output-buffer-limit`). */
  overSoftSince = -1;
  /** The commands queued since MULTI; null outside a transaction. */
  multi: Transaction | null = null;
  /** WATCHed keys (latin1); null when none. */
  watched: Set<string> | null = null;
  /** A WATCHed key changed: the next EXEC fails (Redis's CLIENT_DIRTY_CAS). */
  dirty = false;
  /**
   * True while EXEC runs the queued commands: a blocking command must answer at once, as
   * redis-server's do inside MULTI (CLIENT_DENY_BLOCKING).
   */
  inExec = false;
  /** CLIENT REPLY ON / OFF / SKIP. */
  replies: ReplyMode = ReplyMode.On;
  /** CLIENT NO-EVICT: kept out of client eviction (reported as flag `e`). */
  noEvict = false;
  /** The last command run (its lower-case full name), for CLIENT LIST's `cmd`. */
  lastCommand = 'NULL';

  constructor(id: number) {
    this.id = id;
  }

  /** Channels plus patterns: the count (P)SUBSCRIBE replies carry. */
  get subscriptions(): number {
    return (this.channels?.size ?? 0) + (this.patterns?.size ?? 0);
  }
}

/**
 * The mai protocol bundle of the server: client requests in (always `Buffer[]`, as
 * `RespCodec({ inlineCommands: true })` delivers them), replies out.
 *
 * @example
 * ```ts
 * protocolEngine<KvProtocol>({ codec: () => new RespCodec({ inlineCommands: true }), handler });
 * ```
 */
export type KvProtocol = Protocol<{
  in: RespValue;
  out: KvOutbound;
  session: KvSession;
  timeout: 'sweep';
}>;

/**
 * A client as command handlers see it.
 *
 * @example
 * ```ts
 * const clientId: CommandHandler = (_kv, ctx: KvContext) => ctx.session.id;
 * ```
 */
export type KvContext = Context<KvProtocol>;
