import { RespError } from '../../src/codec/resp-types.js';
import { command, type CommandSpec, type Reply } from './command.js';
import type { KvState } from './kv-state.js';
import { Errors } from './replies.js';
import type { KvContext } from './session.js';

/**
 * `requirepass` and AUTH, as redis-server 7.0 has them with only its `default` user: with no
 * password every client is authenticated from the start (and `AUTH default <anything>`
 * succeeds, as for a `nopass` user); with one, a client must send `AUTH <password>` or
 * `AUTH default <password>` (or `HELLO … AUTH default <password>`) before any command but
 * AUTH, HELLO, QUIT and RESET. A client connected while there was no password stays
 * authenticated when one is set later, as in Redis.
 */

/** `-NOAUTH`, the answer to any other command before AUTH. */
export const NOAUTH = new RespError('NOAUTH Authentication required.');

const HELLO_NOAUTH = new RespError(
  'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time',
);
const NO_PASSWORD = new RespError(
  'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
);

/** Commands a client may run before it authenticates (Redis's `no-auth` flag, and QUIT). */
const NO_AUTH = new Set(['auth', 'hello', 'quit', 'reset']);

/**
 * Whether `name` (a top-level command name) may run before AUTH.
 *
 * @example
 * ```ts
 * runsBeforeAuth('hello'); // true
 * ```
 */
export function runsBeforeAuth(name: string): boolean {
  return NO_AUTH.has(name);
}

/**
 * What a new (or RESET) client's `authenticated` starts as: true when there is no password.
 *
 * @example
 * ```ts
 * ctx.session.authenticated = startsAuthenticated(kv);
 * ```
 */
export function startsAuthenticated(kv: KvState): boolean {
  return kv.config.requirepass === '';
}

const DEFAULT_USER = Buffer.from('default');

/**
 * The `default` user's check (user names are case-sensitive, as Redis's): any password while
 * there is none, else the password itself.
 */
function passwordMatches(kv: KvState, user: Buffer, password: Buffer): boolean {
  if (!user.equals(DEFAULT_USER)) return false;
  const required = kv.config.requirepass;
  return required === '' || password.equals(Buffer.from(required, 'latin1'));
}

function auth(kv: KvState, ctx: KvContext, args: Buffer[]): Reply {
  if (args.length > 3) return Errors.syntax;
  if (args.length === 2 && kv.config.requirepass === '') return NO_PASSWORD;
  const user = args.length === 3 ? (args[1] as Buffer) : DEFAULT_USER;
  if (!passwordMatches(kv, user, args[args.length - 1] as Buffer)) return Errors.wrongPass;
  ctx.session.authenticated = true;
  return 'OK';
}

/**
 * HELLO's part in authentication, after its options are parsed: checks `AUTH user password`
 * if given, then refuses an unauthenticated client. Returns the error to answer, or undefined.
 *
 * @example
 * ```ts
 * const denied = helloAuth(kv, ctx, credentials);
 * if (denied !== undefined) return denied;
 * ```
 */
export function helloAuth(
  kv: KvState,
  ctx: KvContext,
  credentials: readonly [Buffer, Buffer] | undefined,
): RespError | undefined {
  if (credentials !== undefined) {
    if (!passwordMatches(kv, credentials[0], credentials[1])) return Errors.wrongPass;
    ctx.session.authenticated = true;
  }
  if (!ctx.session.authenticated && kv.config.requirepass !== '') return HELLO_NOAUTH;
  return undefined;
}

/**
 * AUTH [username] password.
 *
 * @example
 * ```ts
 * const table = new CommandTable(authCommands);
 * ```
 */
export const authCommands: readonly CommandSpec[] = [
  command({
    name: 'auth',
    arity: -2,
    group: 'connection',
    flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'],
    summary: 'Authenticates the connection.',
    handler: auth,
  }),
];
