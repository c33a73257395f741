import { RespError } from '../../src/codec/resp-types.js';
import type { CommandSpec } from './command.js';
import { ArrayHeader, type KvOutbound } from './kv-codec.js';
import type { KvState } from './kv-state.js';
import { NO_REPLY, NULL_ARRAY } from './replies.js';
import { type KvContext, ReplyMode } from './session.js';
import { Transaction } from './transaction.js';

/** Commands that run at once inside MULTI instead of being queued (as in redis-server 7.0). */
const NOT_QUEUED = new Set(['exec', 'discard', 'multi', 'watch', 'quit', 'reset']);

/**
 * Sends one reply unless CLIENT REPLY OFF or SKIP silences it. Every reply and push a client
 * gets goes through here, so the reply modes hold for all of them.
 *
 * @example
 * ```ts
 * deliver(ctx, 'OK');
 * ```
 */
export function deliver(ctx: KvContext, frame: KvOutbound): void {
  const mode = ctx.session.replies;
  if (mode === ReplyMode.On || mode === ReplyMode.SkipNext) ctx.send(frame);
}

/** After each command, SKIP moves on: the command after CLIENT REPLY SKIP is the one silenced. */
function commandDone(ctx: KvContext): void {
  const session = ctx.session;
  if (session.replies === ReplyMode.Skip) session.replies = ReplyMode.On;
  else if (session.replies === ReplyMode.SkipNext) session.replies = ReplyMode.Skip;
}

/**
 * Runs a command that passed every check, or queues it when the client is inside MULTI
 * (answering `+QUEUED`). The engine handler's last step.
 *
 * @example
 * ```ts
 * runCommand(kv, ctx, spec, args);
 * ```
 */
export function runCommand(kv: KvState, ctx: KvContext, spec: CommandSpec, args: Buffer[]): void {
  const session = ctx.session;
  const multi = session.multi;
  if (multi !== null && !NOT_QUEUED.has(spec.name)) {
    multi.commands.push({ spec, args });
    deliver(ctx, 'QUEUED');
  } else {
    session.lastCommand = spec.name;
    const reply = spec.handler(kv, ctx, args);
    if (reply !== NO_REPLY) deliver(ctx, reply);
  }
  commandDone(ctx);
}

/**
 * Answers a command refused before it ran (unknown, wrong arity, not allowed now). Inside MULTI
 * the refusal dooms the transaction; a refused EXEC discards it at once with the reason, as
 * redis-server's `rejectCommand` does.
 *
 * @example
 * ```ts
 * rejectCommand(kv, ctx, spec, arityError(spec.name));
 * ```
 */
export function rejectCommand(
  kv: KvState,
  ctx: KvContext,
  spec: CommandSpec | undefined,
  error: RespError,
): void {
  const session = ctx.session;
  if (spec?.name === 'exec') {
    discardTransaction(kv, ctx);
    const reason = error.message.startsWith('ERR ') ? error.message.slice(4) : error.message;
    deliver(ctx, new RespError(`EXECABORT Transaction discarded because of: ${reason}`));
  } else {
    if (session.multi !== null) session.multi.failed = true;
    deliver(ctx, error);
  }
  commandDone(ctx);
}

/**
 * Leaves MULTI and drops every WATCH (DISCARD, a failed EXEC, RESET).
 *
 * @example
 * ```ts
 * discardTransaction(kv, ctx);
 * ```
 */
export function discardTransaction(kv: KvState, ctx: KvContext): void {
  ctx.session.multi = null;
  kv.watches.unwatchAll(ctx);
}

/**
 * MULTI: starts queueing.
 *
 * @example
 * ```ts
 * beginTransaction(ctx);
 * ```
 */
export function beginTransaction(ctx: KvContext): void {
  ctx.session.multi = new Transaction();
}

const EXECABORT = new RespError('EXECABORT Transaction discarded because of previous errors.');
const EXEC_WITHOUT_MULTI = new RespError('ERR EXEC without MULTI');

/**
 * EXEC. Refuses a transaction with a rejected command, answers a null array when a WATCHed
 * key changed, else writes `*<count>` and then each queued command's reply as it runs. Writing
 * them one by one, not as one array, is what redis-server does and gives its bytes even when a
 * command answers more than once (SUBSCRIBE a b) or a message this client published reaches
 * it mid-transaction.
 *
 * @example
 * ```ts
 * exec(kv, ctx); // *2\r\n+OK\r\n:1\r\n
 * ```
 */
export function exec(kv: KvState, ctx: KvContext): typeof NO_REPLY | RespError {
  const session = ctx.session;
  const multi = session.multi;
  if (multi === null) return EXEC_WITHOUT_MULTI;
  if (multi.failed) {
    discardTransaction(kv, ctx);
    return EXECABORT;
  }
  kv.watches.check(ctx);
  if (session.dirty) {
    discardTransaction(kv, ctx);
    deliver(ctx, NULL_ARRAY);
    return NO_REPLY;
  }
  discardTransaction(kv, ctx);
  deliver(ctx, new ArrayHeader(multi.commands.length));
  session.inExec = true;
  try {
    for (const { spec, args } of multi.commands) {
      session.lastCommand = spec.name;
      const reply = spec.handler(kv, ctx, args);
      if (reply !== NO_REPLY) deliver(ctx, reply);
    }
  } finally {
    session.inExec = false;
  }
  session.lastCommand = 'exec';
  return NO_REPLY;
}
