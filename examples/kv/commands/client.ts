import { RespError } from '../../../src/codec/resp-types.js';
import { command, type CommandSpec, type Reply } from '../command.js';
import { parseInteger } from '../integers.js';
import type { KvState } from '../kv-state.js';
import { Errors, NO_REPLY, unknownSubcommand } from '../replies.js';
import { type KvContext, ReplyMode } from '../session.js';
import { isWord } from '../words.js';

/**
 * Redis allows client names of printable ASCII without spaces ('!' to '~').
 *
 * @example
 * ```ts
 * validName(Buffer.from('a b')); // false
 * ```
 */
export function validName(name: Buffer): boolean {
  for (const byte of name) if (byte < 0x21 || byte > 0x7e) return false;
  return true;
}

/** CLIENT LIST's `flags`, in redis-server's order: P pubsub, x MULTI, d dirty CAS, e no-evict. */
function flagsOf(ctx: KvContext): string {
  const s = ctx.session;
  let flags = '';
  if (s.subscriptions > 0) flags += 'P';
  if (s.multi !== null) flags += 'x';
  if (s.dirty) flags += 'd';
  if (s.noEvict) flags += 'e';
  return flags === '' ? 'N' : flags;
}

/**
 * One CLIENT LIST / CLIENT INFO line, with redis-server 7.0's fields in its order. What the
 * engine does not know is reported as Redis reports an idle client: `fd=-1`, buffer sizes 0
 * (`omem` is the bytes queued for the client), `idle=0` (not tracked: a clock read per command
 * would cost the GET/SET path).
 */
function clientLine(ctx: KvContext): string {
  const s = ctx.session;
  const age = Math.floor((Date.now() - s.connectedAt) / 1000);
  const multi = s.multi === null ? -1 : s.multi.commands.length;
  return (
    `id=${s.id} addr=${ctx.remoteAddress ?? ''} laddr=${ctx.localAddress ?? ''} fd=-1 ` +
    `name=${s.name?.toString('latin1') ?? ''} age=${age} idle=0 flags=${flagsOf(ctx)} db=0 ` +
    `sub=${s.channels?.size ?? 0} psub=${s.patterns?.size ?? 0} ssub=0 multi=${multi} ` +
    'qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 ' +
    `omem=${ctx.queuedBytes} tot-mem=0 events=r cmd=${s.lastCommand} user=default redir=-1 ` +
    `resp=${s.protocol}\n`
  );
}

const NO_SUCH_CLIENT = new RespError('ERR No such client');
const BAD_ID = new RespError('ERR client-id should be greater than 0');
const INVALID_ID = new RespError('ERR Invalid client ID');
const CLIENT_TYPES = ['normal', 'master', 'replica', 'slave', 'pubsub'];

/** Whether `ctx` is of CLIENT KILL / LIST's `TYPE` (this server has no replicas or masters). */
function hasType(ctx: KvContext, type: string): boolean {
  const pubsub = ctx.session.subscriptions > 0;
  return type === 'pubsub' ? pubsub : type === 'normal' ? !pubsub : false;
}

function typeArg(arg: Buffer): string | RespError {
  const type = arg.toString('latin1').toLowerCase();
  if (!CLIENT_TYPES.includes(type))
    return new RespError(`ERR Unknown client type '${arg.toString('latin1')}'`);
  return type;
}

/** CLIENT LIST [TYPE type | ID id …]. */
function list(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  let keep: (ctx: KvContext) => boolean = () => true;
  if (args.length === 4 && isWord(args[2] as Buffer, 'TYPE')) {
    const type = typeArg(args[3] as Buffer);
    if (type instanceof RespError) return type;
    keep = (ctx) => hasType(ctx, type);
  } else if (args.length >= 4 && isWord(args[2] as Buffer, 'ID')) {
    const ids = new Set<number>();
    for (let i = 3; i < args.length; i++) {
      const id = parseInteger(args[i] as Buffer);
      if (id === undefined || id <= 0) return INVALID_ID;
      ids.add(Number(id));
    }
    keep = (ctx) => ids.has(ctx.session.id);
  } else if (args.length !== 2) {
    return Errors.syntax;
  }
  let lines = '';
  for (const ctx of kv.clients) if (keep(ctx)) lines += clientLine(ctx);
  return Buffer.from(lines, 'latin1');
}

/**
 * CLIENT KILL addr:port (the old form: OK or an error), or CLIENT KILL with filters ID, TYPE,
 * USER, ADDR, LADDR, SKIPME (the count killed). A client killing itself gets its reply first.
 */
function kill(kv: KvState, ctx: KvContext, args: Buffer[]): Reply {
  const self = ctx;
  if (args.length === 3) {
    const addr = (args[2] as Buffer).toString('latin1');
    for (const other of kv.clients) {
      if (other.remoteAddress !== addr) continue;
      end(other, self);
      return 'OK';
    }
    return NO_SUCH_CLIENT;
  }
  const tests: ((other: KvContext) => boolean)[] = [];
  let skipMe = true;
  for (let i = 2; i < args.length; i += 2) {
    const option = args[i] as Buffer;
    const value = args[i + 1];
    if (value === undefined) return Errors.syntax;
    const text = value.toString('latin1');
    if (isWord(option, 'ID')) {
      const id = parseInteger(value);
      if (id === undefined || id <= 0) return BAD_ID;
      tests.push((other) => other.session.id === Number(id));
    } else if (isWord(option, 'TYPE')) {
      const type = typeArg(value);
      if (type instanceof RespError) return type;
      tests.push((other) => hasType(other, type));
    } else if (isWord(option, 'USER')) {
      // One user exists, `default`, and every client is it.
      if (text !== 'default') return new RespError(`ERR No such user '${text}'`);
    } else if (isWord(option, 'ADDR')) {
      tests.push((other) => other.remoteAddress === text);
    } else if (isWord(option, 'LADDR')) {
      tests.push((other) => other.localAddress === text);
    } else if (isWord(option, 'SKIPME')) {
      if (isWord(value, 'YES')) skipMe = true;
      else if (isWord(value, 'NO')) skipMe = false;
      else return Errors.syntax;
    } else {
      return Errors.syntax;
    }
  }
  let killed = 0;
  for (const other of [...kv.clients]) {
    if (other === self && skipMe) continue;
    if (!tests.every((test) => test(other))) continue;
    end(other, self);
    killed++;
  }
  return killed;
}

/** Another client is cut off now (its queued output dropped); this one after its reply. */
function end(target: KvContext, self: KvContext): void {
  if (target === self) queueMicrotask(() => self.close());
  else target.abort();
}

function reply(_kv: KvState, ctx: KvContext, args: Buffer[]): Reply {
  const mode = args[2] as Buffer;
  const session = ctx.session;
  if (isWord(mode, 'ON')) {
    session.replies = ReplyMode.On;
    return 'OK';
  }
  if (isWord(mode, 'OFF')) {
    session.replies = ReplyMode.Off;
    return NO_REPLY;
  }
  if (isWord(mode, 'SKIP')) {
    // SKIP under OFF changes nothing: everything is silenced already.
    if (session.replies !== ReplyMode.Off) session.replies = ReplyMode.SkipNext;
    return NO_REPLY;
  }
  return Errors.syntax;
}

function noEvict(_kv: KvState, ctx: KvContext, args: Buffer[]): Reply {
  const mode = args[2] as Buffer;
  if (isWord(mode, 'ON')) ctx.session.noEvict = true;
  else if (isWord(mode, 'OFF')) ctx.session.noEvict = false;
  else return Errors.syntax;
  return 'OK';
}

const sub = (name: string, arity: number, summary: string, handler: CommandSpec['handler']) =>
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
    sub('id', 2, 'Returns the unique client ID of the connection.', (_kv, ctx) => ctx.session.id),
  ],
  [
    'getname',
    sub('getname', 2, 'Returns the name of the connection.', (_kv, ctx) => ctx.session.name),
  ],
  [
    'setname',
    sub('setname', 3, 'Sets the connection name.', (_kv, ctx, args) => {
      const name = args[2] as Buffer;
      if (!validName(name)) return Errors.badClientName;
      ctx.session.name = name.length === 0 ? null : name;
      return 'OK';
    }),
  ],
  // node-redis sends CLIENT SETINFO LIB-NAME/LIB-VER on connect (Redis 7.2); accepted and ignored.
  [
    'setinfo',
    sub('setinfo', 4, 'Sets information specific to the client or connection.', () => 'OK'),
  ],
  [
    'info',
    sub('info', 2, 'Returns information about the connection.', (_kv, ctx) =>
      Buffer.from(clientLine(ctx), 'latin1'),
    ),
  ],
  ['list', sub('list', -2, 'Lists open connections.', list)],
  ['kill', sub('kill', -3, 'Terminates open connections.', kill)],
  ['reply', sub('reply', 3, 'Instructs the server whether to reply to commands.', reply)],
  ['no-evict', sub('no-evict', 3, 'Sets the client eviction mode of the connection.', noEvict)],
]);

/**
 * CLIENT and its subcommands: ID, GETNAME, SETNAME, SETINFO, INFO, LIST, KILL, REPLY, NO-EVICT.
 *
 * @example
 * ```ts
 * const table = new CommandTable([clientCommand]);
 * ```
 */
export const clientCommand: CommandSpec = command({
  name: 'client',
  arity: -2,
  group: 'connection',
  flags: [],
  summary: 'A container for client connection commands.',
  handler: (_kv, _ctx, args) => unknownSubcommand(args[1] as Buffer, 'CLIENT'),
  subcommands: clientSubcommands,
});
