import type { RespValue } from '../../src/codec/resp-types.js';
import type { Handler } from '../../src/engine/protocol.js';
import { redisProtocolError } from '../../src/codec/resp-request.js';
import { ErrorCode, type MaiError } from '../../src/errors.js';
import { NOAUTH, runsBeforeAuth, startsAuthenticated } from './auth.js';
import { deferIfBlocked, forgetBlocked, setFrameRunner } from './blocking.js';
import type { CommandSpec } from './command.js';
import type { KvState } from './kv-state.js';
import { rejectCommand, runCommand } from './execute.js';
import { arityError, unknownCommand, unknownSubcommand } from './replies.js';
import { RespError } from '../../src/codec/resp-types.js';
import type { KvContext, KvProtocol, KvSession } from './session.js';

/** Redis's answer to a command that may grow memory while used memory is above `maxmemory`. */
const OOM = new RespError("OOM command not allowed when used memory > 'maxmemory'.");

/** Commands that still run inside MULTI when memory is above `maxmemory` (as in Redis). */
const OOM_EXEMPT_IN_MULTI = new Set(['exec', 'discard', 'quit', 'reset']);

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

/**
 * Whether the `maxmemory` check applies: to a `denyoom` command, to an EXEC that queued one,
 * and inside MULTI to anything but EXEC, DISCARD, QUIT and RESET, since queueing itself takes
 * memory (Redis's processCommand rule).
 */
function mayGrowMemory(session: KvSession, spec: CommandSpec): boolean {
  if (spec.denyOom === true) return true;
  const multi = session.multi;
  if (multi === null) return false;
  if (spec.name === 'exec') return multi.commands.some((queued) => queued.spec.denyOom === true);
  return !OOM_EXEMPT_IN_MULTI.has(spec.name);
}

function arityMatches(arity: number, count: number): boolean {
  return arity >= 0 ? count === arity : count >= -arity;
}

/**
 * The engine handler: looks the command up, checks it the way redis-server's processCommand
 * does (unknown command, then arity, then AUTH, then `maxmemory`, then subscribed-mode
 * rules, each with Redis's words) and sends the reply, then applies the client's output limit
 * if the send left its queue above the high-water mark. One request, one reply, in order, so
 * pipelines of any depth just work: the engine batches the replies of one read into one write.
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
    const kv = this.#kv;
    kv.connectionsReceived++;
    if (!kv.limits.admit(ctx)) return;
    kv.clients.add(ctx);
    ctx.session.authenticated = startsAuthenticated(kv);
    ctx.session.lastActive = kv.clock;
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
    session.lastActive = kv.clock;
    // Redis's order: AUTH, then maxmemory, then the subscribed-mode rule. Each is one flag
    // test on the common path (no password, no maxmemory).
    if (
      !session.authenticated &&
      kv.config.requirepass !== '' &&
      !runsBeforeAuth(spec.name.split('|', 1)[0] as string)
    ) {
      rejectCommand(kv, ctx, spec, NOAUTH);
      return;
    }
    if (kv.config.maxmemory !== 0 && mayGrowMemory(session, spec)) {
      if (!kv.memory.admits(args, kv.config.maxmemory)) {
        rejectCommand(kv, ctx, spec, OOM);
        return;
      }
    }
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
    // Not writable means the queue is above the write high-water mark: time to apply the
    // client's output limit (whatever the command sent: one reply, or all of an EXEC's).
    if (!ctx.writable) kv.limits.enforceOutput(ctx);
  }

  /**
   * A malformed request closes the connection, as in Redis; like Redis, say why first, in
   * Redis's words (`-ERR Protocol error: invalid bulk length`) when the request decoder knows
   * them, else with mai's description of the bytes.
   */
  onError(ctx: KvContext, error: MaiError): void {
    if (error.code === ErrorCode.CorruptFrame || error.code === ErrorCode.FrameTooLong) {
      const text = redisProtocolError(error) ?? error.message;
      ctx.send(new RespError(`ERR Protocol error: ${text.replace(/[\r\n]/g, ' ')}`));
    }
  }

  onClosed(ctx: KvContext): void {
    this.#kv.clients.delete(ctx);
    this.#kv.pubsub.forget(ctx);
    forgetBlocked(this.#kv, ctx);
    this.#kv.limits.forget(ctx);
    this.#kv.watches.unwatchAll(ctx);
  }

  /** The 100 ms tick: expiry sweep, memory estimate, client limits. */
  onEngineTimeout(value: 'sweep'): void {
    if (value !== 'sweep') return;
    const kv = this.#kv;
    kv.clock = Date.now();
    if (kv.sweepIntervalMs > 0) kv.store.sweep();
    kv.memory.sample(kv.config.maxmemory);
    kv.limits.tick(kv.clock);
    kv.scheduleSweep();
  }
}
