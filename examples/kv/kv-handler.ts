import type { RespValue } from '../../src/codec/resp-types.js';
import type { Handler } from '../../src/engine/protocol.js';
import { ErrorCode, type MaiError } from '../../src/errors.js';
import { deferIfBlocked, forgetBlocked, setFrameRunner } from './blocking.js';
import type { CommandSpec } from './command.js';
import type { KvState } from './kv-state.js';
import { arityError, NO_REPLY, unknownCommand, unknownSubcommand } from './replies.js';
import { RespError } from '../../src/codec/resp-types.js';
import type { KvContext, KvProtocol } from './session.js';

/** Commands a RESP2 client may run while subscribed (its connection only reads pushes then). */
const SUBSCRIBED_ALLOWED = new Set([
  'subscribe',
  'unsubscribe',
  'psubscribe',
  'punsubscribe',
  'ping',
  'quit',
  'reset',
]);

function arityMatches(arity: number, count: number): boolean {
  return arity >= 0 ? count === arity : count >= -arity;
}

/**
 * The engine handler: looks the command up, checks it the way redis-server's processCommand
 * does (unknown command, then arity, then subscribed-mode rules, each with Redis's words) and
 * sends the reply. One request, one reply, in order, so pipelines of any depth just work: the
 * engine batches the replies of one read into one write.
 *
 * @example
 * ```ts
 * protocolEngine<KvProtocol>({ codec: () => new RespCodec({ inlineCommands: true }), handler: new KvHandler(kv) });
 * ```
 */
export class KvHandler implements Handler<KvProtocol> {
  readonly #kv: KvState;

  constructor(kv: KvState) {
    this.#kv = kv;
    setFrameRunner(kv, (ctx, frame) => this.onFrame(ctx, frame));
  }

  onReady(ctx: KvContext): void {
    this.#kv.clients.add(ctx);
    this.#kv.connectionsReceived++;
  }

  onFrame(ctx: KvContext, frame: RespValue): void {
    // With `inlineCommands` every request is a Buffer[]; an empty one is skipped, as Redis does.
    const args = frame as Buffer[];
    if (args.length === 0) return;
    const kv = this.#kv;
    // A client blocked in BZPOPMIN and the like runs its next requests once it is served.
    if (deferIfBlocked(kv, ctx, frame)) return;
    kv.commandsProcessed++;
    let spec: CommandSpec | undefined = kv.table.lookup(args[0] as Buffer);
    if (spec === undefined) {
      ctx.send(unknownCommand(args));
      return;
    }
    if (!arityMatches(spec.arity, args.length)) {
      ctx.send(arityError(spec.name));
      return;
    }
    const subcommands = spec.subcommands;
    if (subcommands !== undefined && args.length >= 2) {
      const name = (args[1] as Buffer).toString('latin1').toLowerCase();
      const sub = subcommands.get(name);
      if (sub === undefined) {
        ctx.send(unknownSubcommand(args[1] as Buffer, spec.name.toUpperCase()));
        return;
      }
      if (!arityMatches(sub.arity, args.length)) {
        ctx.send(arityError(sub.name));
        return;
      }
      spec = sub;
    }
    const session = ctx.session;
    if (session.protocol === 2 && session.subscriptions > 0 && !SUBSCRIBED_ALLOWED.has(spec.name)) {
      ctx.send(
        new RespError(
          `ERR Can't execute '${spec.name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`,
        ),
      );
      return;
    }
    const reply = spec.handler(kv, ctx, args);
    if (reply !== NO_REPLY) ctx.send(reply);
  }

  /**
   * A malformed request closes the connection, as in Redis; like Redis, say why first
   * (`-ERR Protocol error: …`), with mai's description of the bytes rather than Redis's.
   */
  onError(ctx: KvContext, error: MaiError): void {
    if (error.code === ErrorCode.CorruptFrame || error.code === ErrorCode.FrameTooLong) {
      ctx.send(new RespError(`ERR Protocol error: ${error.message.replace(/[\r\n]/g, ' ')}`));
    }
  }

  onClosed(ctx: KvContext): void {
    this.#kv.clients.delete(ctx);
    this.#kv.pubsub.forget(ctx);
    forgetBlocked(this.#kv, ctx);
  }

  onEngineTimeout(value: 'sweep'): void {
    if (value !== 'sweep') return;
    this.#kv.store.sweep();
    this.#kv.scheduleSweep();
  }
}
