import type { Context, Protocol } from '../../src/index.js';
import type { RespOutbound, RespValue } from '../../src/codec/resp-types.js';

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
  out: RespOutbound;
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
