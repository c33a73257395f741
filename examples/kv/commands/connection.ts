import {
  RespError,
  RespMap,
  type RespPair,
  RespSwitchProtocol,
} from '../../../src/codec/resp-types.js';
import { helloAuth, startsAuthenticated } from '../auth.js';
import { command, type CommandSpec, type Reply } from '../command.js';
import { parseInteger } from '../integers.js';
import { deliver, discardTransaction } from '../execute.js';
import type { KvState } from '../kv-state.js';
import { arityError, Errors, NO_REPLY } from '../replies.js';
import { type KvContext, type KvSession, ReplyMode } from '../session.js';
import { clientCommand, validName } from './client.js';
import { isWord } from '../words.js';

/**
 * The version HELLO and INFO report. Client libraries read it to pick features; this server
 * answers like the Redis 7.0 line whose commands and error texts it follows.
 *
 * @example
 * ```ts
 * `redis_version:${REDIS_COMPAT_VERSION}`;
 * ```
 */
export const REDIS_COMPAT_VERSION = '7.0.0';

const PONG = Buffer.from('pong');
const EMPTY = Buffer.alloc(0);

function ping(_kv: KvState, ctx: KvContext, args: Buffer[]): Reply {
  if (args.length > 2) return arityError('ping');
  // A RESP2 client in subscribed mode gets ["pong", message]: its connection only reads pushes.
  if (ctx.session.protocol === 2 && ctx.session.subscriptions > 0) {
    return [PONG, args[1] ?? EMPTY];
  }
  return args.length === 2 ? (args[1] as Buffer) : 'PONG';
}

function quit(_kv: KvState, ctx: KvContext): Reply {
  deliver(ctx, 'OK');
  ctx.close();
  return NO_REPLY;
}

function select(_kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const index = parseInteger(args[1] as Buffer);
  if (index === undefined) return Errors.notInteger;
  // One database: SELECT 0 is the only one there is.
  return index === 0 ? 'OK' : Errors.dbIndex;
}

/** The map HELLO answers with (a flat array for RESP2, as Redis sends). */
function helloReply(session: KvSession): RespMap {
  const entries: RespPair[] = [
    [Buffer.from('server'), Buffer.from('redis')],
    [Buffer.from('version'), Buffer.from(REDIS_COMPAT_VERSION)],
    [Buffer.from('proto'), session.protocol],
    [Buffer.from('id'), session.id],
    [Buffer.from('mode'), Buffer.from('standalone')],
    [Buffer.from('role'), Buffer.from('master')],
    [Buffer.from('modules'), []],
  ];
  return new RespMap(entries);
}

/**
 * HELLO [protover [AUTH username password] [SETNAME clientname]]. AUTH is `auth.ts`'s: only
 * the `default` user, with `requirepass` (any password while there is none, as Redis's
 * `nopass`). The reply is written with the new protocol (`RespSwitchProtocol`).
 */
function hello(kv: KvState, ctx: KvContext, args: Buffer[]): Reply {
  const session = ctx.session;
  let protocol = session.protocol;
  if (args.length >= 2) {
    const version = parseInteger(args[1] as Buffer);
    if (version === undefined) return Errors.protoNotInteger;
    if (version !== 2 && version !== 3) return Errors.noProto;
    protocol = version;
  }
  let credentials: [Buffer, Buffer] | undefined;
  for (let i = 2; i < args.length; i++) {
    const option = args[i] as Buffer;
    const more = args.length - i - 1;
    if (isWord(option, 'AUTH') && more >= 2) {
      credentials = [args[i + 1] as Buffer, args[i + 2] as Buffer];
      i += 2;
    } else if (isWord(option, 'SETNAME') && more >= 1) {
      const name = args[i + 1] as Buffer;
      if (!validName(name)) return Errors.badClientName;
      // redis-server 7.0 names the client here, even if a later option is refused.
      session.name = name.length === 0 ? null : name;
      i += 1;
    } else {
      return new RespError(`ERR Syntax error in HELLO option '${option.toString('latin1')}'`);
    }
  }
  // AUTH (auth.ts): checked once every option parsed, as Redis does.
  const denied = helloAuth(kv, ctx, credentials);
  if (denied !== undefined) return denied;
  session.protocol = protocol;
  return new RespSwitchProtocol(protocol, helloReply(session));
}

/**
 * RESET: the connection as new, as redis-server 7.0 resets it: out of MULTI with nothing
 * watched, unsubscribed from everything, unnamed, replies on, authenticated only if no
 * password is required, back to RESP2 (the `+RESET` itself is written after the switch).
 */
function reset(kv: KvState, ctx: KvContext): Reply {
  const session = ctx.session;
  discardTransaction(kv, ctx);
  kv.pubsub.forget(ctx);
  session.name = null;
  session.replies = ReplyMode.On;
  session.noEvict = false;
  session.protocol = 2;
  // Redis's clearClientConnectionState: back to the default user, so with a password set the
  // client must AUTH again.
  session.authenticated = startsAuthenticated(kv);
  deliver(ctx, new RespSwitchProtocol(2, 'RESET'));
  return NO_REPLY;
}

/**
 * PING, ECHO, HELLO, QUIT, SELECT, RESET, and CLIENT (see `client.ts`).
 *
 * @example
 * ```ts
 * const table = new CommandTable(connectionCommands);
 * ```
 */
export const connectionCommands: readonly CommandSpec[] = [
  command({
    name: 'ping',
    arity: -1,
    group: 'connection',
    flags: ['fast'],
    summary: "Returns the server's liveliness response.",
    handler: ping,
  }),
  command({
    name: 'echo',
    arity: 2,
    group: 'connection',
    flags: ['fast'],
    summary: 'Returns the given string.',
    handler: (_kv, _ctx, args) => args[1] as Buffer,
  }),
  command({
    name: 'hello',
    arity: -1,
    group: 'connection',
    flags: ['noscript', 'loading', 'stale', 'fast'],
    summary: 'Handshakes with the Redis server.',
    handler: hello,
  }),
  command({
    name: 'quit',
    arity: -1,
    group: 'connection',
    flags: ['noscript', 'loading', 'stale', 'fast'],
    summary: 'Closes the connection.',
    handler: quit,
  }),
  command({
    name: 'select',
    arity: 2,
    group: 'connection',
    flags: ['loading', 'stale', 'fast'],
    summary: 'Changes the selected database.',
    handler: select,
  }),
  command({
    name: 'reset',
    arity: 1,
    group: 'connection',
    flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'],
    summary: 'Resets the connection.',
    handler: reset,
  }),
  clientCommand,
];
