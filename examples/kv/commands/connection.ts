import {
  RespError,
  RespMap,
  type RespPair,
  RespSwitchProtocol,
} from '../../../src/codec/resp-types.js';
import { helloAuth } from '../auth.js';
import { command, type CommandSpec, type Reply } from '../command.js';
import { parseInteger } from '../integers.js';
import type { KvState } from '../kv-state.js';
import { arityError, Errors, NO_REPLY, unknownSubcommand } from '../replies.js';
import type { KvContext, KvSession } from '../session.js';
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
  ctx.send('OK');
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
  let name: Buffer | undefined;
  let credentials: [Buffer, Buffer] | undefined;
  for (let i = 2; i < args.length; i++) {
    const option = args[i] as Buffer;
    const more = args.length - i - 1;
    if (isWord(option, 'AUTH') && more >= 2) {
      credentials = [args[i + 1] as Buffer, args[i + 2] as Buffer];
      i += 2;
    } else if (isWord(option, 'SETNAME') && more >= 1) {
      name = args[i + 1] as Buffer;
      if (!validName(name)) return Errors.badClientName;
      i += 1;
    } else {
      return new RespError(`ERR Syntax error in HELLO option '${option.toString('latin1')}'`);
    }
  }
  // AUTH (auth.ts): checked once every option parsed, as Redis does.
  const denied = helloAuth(kv, ctx, credentials);
  if (denied !== undefined) return denied;
  if (name !== undefined) session.name = name.length === 0 ? null : name;
  session.protocol = protocol;
  return new RespSwitchProtocol(protocol, helloReply(session));
}

/** Redis allows client names of printable ASCII without spaces ('!' to '~'). */
function validName(name: Buffer): boolean {
  for (const byte of name) if (byte < 0x21 || byte > 0x7e) return false;
  return true;
}

function clientLine(ctx: KvContext): string {
  const s = ctx.session;
  const age = Math.floor((Date.now() - s.connectedAt) / 1000);
  return (
    `id=${s.id} addr=${ctx.remoteAddress ?? ''} laddr=${ctx.localAddress ?? ''} ` +
    `name=${s.name?.toString('latin1') ?? ''} age=${age} db=0 ` +
    `sub=${s.channels?.size ?? 0} psub=${s.patterns?.size ?? 0} resp=${s.protocol}\n`
  );
}

const client = (name: string, arity: number, summary: string, handler: CommandSpec['handler']) =>
  command({
    name: `client|${name}`,
    arity,
    group: 'connection',
    flags: ['noscript', 'loading', 'stale'],
    summary,
    handler,
  });

const clientSubcommands = new Map<string, CommandSpec>([
  [
    'id',
    client(
      'id',
      2,
      'Returns the unique client ID of the connection.',
      (_kv, ctx) => ctx.session.id,
    ),
  ],
  [
    'getname',
    client('getname', 2, 'Returns the name of the connection.', (_kv, ctx) => ctx.session.name),
  ],
  [
    'setname',
    client('setname', 3, 'Sets the connection name.', (_kv, ctx, args) => {
      const name = args[2] as Buffer;
      if (!validName(name)) return Errors.badClientName;
      ctx.session.name = name.length === 0 ? null : name;
      return 'OK';
    }),
  ],
  // node-redis sends CLIENT SETINFO LIB-NAME/LIB-VER on connect (Redis 7.2); accepted and ignored.
  [
    'setinfo',
    client('setinfo', 4, 'Sets information specific to the client or connection.', () => 'OK'),
  ],
  [
    'info',
    client('info', 2, 'Returns information about the connection.', (_kv, ctx) =>
      Buffer.from(clientLine(ctx)),
    ),
  ],
  [
    'list',
    client('list', -2, 'Lists open connections.', (kv) => {
      let lines = '';
      for (const ctx of kv.clients) lines += clientLine(ctx);
      return Buffer.from(lines, 'latin1');
    }),
  ],
]);

/**
 * PING, ECHO, HELLO, QUIT, SELECT, CLIENT (ID, GETNAME, SETNAME, SETINFO, INFO, LIST).
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
    name: 'client',
    arity: -2,
    group: 'connection',
    flags: [],
    summary: 'A container for client connection commands.',
    handler: (_kv, _ctx, args) => unknownSubcommand(args[1] as Buffer, 'CLIENT'),
    subcommands: clientSubcommands,
  }),
];
