import type { RespValue } from '../../src/codec/resp-types.js';
import type { Handler } from '../../src/engine/protocol.js';
import { ErrorCode, type MaiError } from '../../src/errors.js';
import type { CommandSpec } from './command.js';
import type { KvState } from './kv-state.js';
import { rejectCommand, runCommand } from './execute.js';
import { arityError, unknownCommand, unknownSubcommand } from './replies.js';
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
    kv.commandsProcessed++;
    let spec: CommandSpec | undefined = kv.table.lookup(args[0] as Buffer);
    // Refusals and the run itself go through execute.ts: MULTI queueing, EXECABORT and
    // CLIENT REPLY OFF/SKIP live there.
    if (spec === undefined) {
      rejectCommand(kv, ctx, spec, unknownCommand(args));
      return;
    }
    if (!arityMatches(spec.arity, args.length)) {
      rejectCommand(kv, ctx, spec, arityError(spec.name));
      return;
    }
    const subcommands = spec.subcommands;
    if (subcommands !== undefined && args.length >= 2) {
      const name = (args[1] as Buffer).toString('latin1').toLowerCase();
      const sub = subcommands.get(name);
      if (sub === undefined) {
        rejectCommand(kv, ctx, spec, unknownSubcommand(args[1] as Buffer, spec.name.toUpperCase()));
        return;
      }
      if (!arityMatches(sub.arity, args.length)) {
        rejectCommand(kv, ctx, sub, arityError(sub.name));
        return;
      }
      spec = sub;
    }
    const session = ctx.session;
    if (session.protocol === 2 && session.subscriptions > 0 && !SUBSCRIBED_ALLOWED.has(spec.name)) {
      rejectCommand(
        kv,
        ctx,
        spec,
        new RespError(
          `ERR Can't execute '${spec.name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`,
        ),
      );
      return;
    }
    runCommand(kv, ctx, spec, args);
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
    this.#kv.watches.unwatchAll(ctx);
  }

  onEngineTimeout(value: 'sweep'): void {
    if (value !== 'sweep') return;
    this.#kv.store.sweep();
    this.#kv.scheduleSweep();
  }
}
