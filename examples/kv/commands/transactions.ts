import { RespError } from '../../../src/codec/resp-types.js';
import { command, type CommandSpec, keyed, type Reply } from '../command.js';
import { beginTransaction, discardTransaction, exec } from '../execute.js';
import type { KvState } from '../kv-state.js';
import type { KvContext } from '../session.js';
import { keyOf } from '../store.js';

const NESTED = new RespError('ERR MULTI calls can not be nested');
const DISCARD_WITHOUT_MULTI = new RespError('ERR DISCARD without MULTI');
const WATCH_INSIDE_MULTI = new RespError('ERR WATCH inside MULTI is not allowed');

/** An error from MULTI itself (nested, or WATCH inside) does not doom the transaction. */
function multi(_kv: KvState, ctx: KvContext): Reply {
  if (ctx.session.multi !== null) return NESTED;
  beginTransaction(ctx);
  return 'OK';
}

function discard(kv: KvState, ctx: KvContext): Reply {
  if (ctx.session.multi === null) return DISCARD_WITHOUT_MULTI;
  discardTransaction(kv, ctx);
  return 'OK';
}

function watch(kv: KvState, ctx: KvContext, args: Buffer[]): Reply {
  if (ctx.session.multi !== null) return WATCH_INSIDE_MULTI;
  for (let i = 1; i < args.length; i++) kv.watches.watch(ctx, keyOf(args[i] as Buffer));
  return 'OK';
}

/** UNWATCH is queued inside MULTI like any command; it runs (and answers OK) in EXEC. */
function unwatch(kv: KvState, ctx: KvContext): Reply {
  kv.watches.unwatchAll(ctx);
  return 'OK';
}

const flags = ['noscript', 'loading', 'stale', 'fast', 'allow_busy'];

/**
 * MULTI, EXEC, DISCARD, WATCH, UNWATCH.
 *
 * @example
 * ```ts
 * const table = new CommandTable(transactionCommands);
 * ```
 */
export const transactionCommands: readonly CommandSpec[] = [
  command({
    name: 'multi',
    arity: 1,
    group: 'transactions',
    flags,
    summary: 'Starts a transaction.',
    handler: multi,
  }),
  command({
    name: 'exec',
    arity: 1,
    group: 'transactions',
    flags: ['noscript', 'loading', 'stale', 'skip_slowlog'],
    summary: 'Executes all commands in a transaction.',
    handler: exec,
  }),
  command({
    name: 'discard',
    arity: 1,
    group: 'transactions',
    flags,
    summary: 'Discards a transaction.',
    handler: discard,
  }),
  keyed(
    {
      name: 'watch',
      arity: -2,
      group: 'transactions',
      flags,
      summary: 'Monitors changes to keys to determine the execution of a transaction.',
      handler: watch,
    },
    1,
    -1,
    1,
  ),
  command({
    name: 'unwatch',
    arity: 1,
    group: 'transactions',
    flags,
    summary: 'Forgets about watched keys of a transaction.',
    handler: unwatch,
  }),
];
