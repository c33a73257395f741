import { RespError, RespNullArray } from '../../src/codec/resp-types.js';

/**
 * Replies and error texts, worded exactly as redis-server 7 words them: client libraries match
 * on these prefixes and texts (ioredis and node-redis turn `-WRONGTYPE …` into typed errors, and
 * applications match on the message).
 */

/**
 * What a command handler returns when it has sent its replies itself (SUBSCRIBE sends one per
 * channel) or must send none.
 *
 * @example
 * ```ts
 * for (const channel of channels) ctx.send(subscribed(channel));
 * return NO_REPLY;
 * ```
 */
export const NO_REPLY: unique symbol = Symbol('kv.noReply');
/**
 * The type of `NO_REPLY`.
 *
 * @example
 * ```ts
 * const reply: RespValue | NoReply = NO_REPLY;
 * ```
 */
export type NoReply = typeof NO_REPLY;

/**
 * Shared error replies. A `RespError` is immutable, so one instance serves every client.
 *
 * @example
 * ```ts
 * if (!Buffer.isBuffer(entry.value)) return Errors.wrongType;
 * ```
 */
export const Errors = {
  wrongType: new RespError('WRONGTYPE Operation against a key holding the wrong kind of value'),
  notInteger: new RespError('ERR value is not an integer or out of range'),
  syntax: new RespError('ERR syntax error'),
  overflow: new RespError('ERR increment or decrement would overflow'),
  invalidCursor: new RespError('ERR invalid cursor'),
  dbIndex: new RespError('ERR DB index is out of range'),
  notPositive: new RespError('ERR value is out of range, must be positive'),
  noProto: new RespError('NOPROTO unsupported protocol version'),
  protoNotInteger: new RespError('ERR Protocol version is not an integer or out of range'),
  wrongPass: new RespError('WRONGPASS invalid username-password pair or user is disabled.'),
  badClientName: new RespError(
    'ERR Client names cannot contain spaces, newlines or special characters.',
  ),
  expireOptions: new RespError(
    'ERR NX and XX, GT or LT options at the same time are not compatible',
  ),
  notFloat: new RespError('ERR value is not a valid float'),
  nanOrInfinity: new RespError('ERR increment would produce NaN or Infinity'),
  offsetRange: new RespError('ERR offset is out of range'),
  stringTooLong: new RespError('ERR string exceeds maximum allowed size (proto-max-bulk-len)'),
  noSuchKey: new RespError('ERR no such key'),
  indexRange: new RespError('ERR index out of range'),
  timeoutNotFloat: new RespError('ERR timeout is not a float or out of range'),
  timeoutNegative: new RespError('ERR timeout is negative'),
} as const;

/**
 * `ERR wrong number of arguments for 'get' command` (`name` is the lower-case full name,
 * `client|setname` for a subcommand, as Redis 7 prints it).
 *
 * @example
 * ```ts
 * arityError('get');
 * ```
 */
export function arityError(name: string): RespError {
  return new RespError(`ERR wrong number of arguments for '${name}' command`);
}

/**
 * `ERR invalid expire time in 'set' command`.
 *
 * @example
 * ```ts
 * invalidExpire('expire');
 * ```
 */
export function invalidExpire(name: string): RespError {
  return new RespError(`ERR invalid expire time in '${name}' command`);
}

/**
 * `ERR unknown subcommand 'foo'. Try CLIENT HELP.`
 *
 * @example
 * ```ts
 * unknownSubcommand(Buffer.from('foo'), 'CLIENT');
 * ```
 */
export function unknownSubcommand(sub: Buffer, container: string): RespError {
  return new RespError(
    sanitize(`ERR unknown subcommand '${cString(sub, 128)}'. Try ${container} HELP.`),
  );
}

/**
 * Redis 7's unknown-command error: the name and the first arguments, quoted, up to about 128
 * bytes of arguments; each printed as C prints a string (it stops at a NUL byte), and CR/LF
 * replaced by spaces so the error stays on one line.
 *
 * @example
 * ```ts
 * unknownCommand([Buffer.from('foo'), Buffer.from('a')]);
 * // ERR unknown command 'foo', with args beginning with: 'a'
 * ```
 */
export function unknownCommand(args: readonly Buffer[]): RespError {
  let rest = '';
  for (let i = 1; i < args.length && rest.length < 128; i++) {
    rest += `'${cString(args[i] as Buffer, 128 - rest.length)}' `;
  }
  const name = cString(args[0] as Buffer, 128);
  return new RespError(
    sanitize(`ERR unknown command '${name}', with args beginning with: ${rest}`),
  );
}

/**
 * `ERR Unsupported option foo` (EXPIRE and friends).
 *
 * @example
 * ```ts
 * unsupportedOption(Buffer.from('foo'));
 * ```
 */
export function unsupportedOption(option: Buffer): RespError {
  return new RespError(sanitize(`ERR Unsupported option ${cString(option, 1 << 20)}`));
}

/** Up to `max` bytes of `bytes` as latin1, cut at the first NUL as C's `%.*s` does. */
function cString(bytes: Buffer, max: number): string {
  const nul = bytes.indexOf(0);
  const end = Math.min(nul < 0 ? bytes.length : nul, max);
  return bytes.toString('latin1', 0, end);
}

function sanitize(message: string): string {
  return message.replace(/[\r\n]/g, ' ');
}

/**
 * The null array (`*-1` in RESP2, `_` in RESP3) Redis answers where a list of elements is
 * absent: LPOP with a count on a missing key, LMPOP finding nothing, a blocking pop timing out.
 *
 * @example
 * ```ts
 * if (list === undefined) return NULL_ARRAY;
 * ```
 */
export const NULL_ARRAY: RespNullArray = RespNullArray.instance;
