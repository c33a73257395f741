/**
 * The values of RESP (the REdis Serialization Protocol), versions 2 and 3.
 *
 * The representation is chosen for the path a Redis-like server runs most: a command is an array
 * of bulk strings, so a bulk string is a plain `Buffer` and an array is a plain JS array. Decoding
 * `*3 $3 SET $1 k $1 v` allocates the array and one Buffer per element, nothing else. The other
 * scalars are JS primitives where one fits unambiguously, and small classes where two RESP types
 * would otherwise share a JS type (a double and an integer are both `number`).
 *
 * | RESP type        | wire                   | value                                          |
 * |------------------|------------------------|------------------------------------------------|
 * | bulk string      | `$3\r\nfoo\r\n`        | `Buffer` (binary-safe, a copy)                 |
 * | simple string    | `+OK\r\n`              | `string`                                       |
 * | integer          | `:42\r\n`              | `number` (safe integer) or `bigint` (beyond ±2^53, within int64) |
 * | null             | `$-1` `*-1` `_`        | `null`                                         |
 * | array            | `*2\r\n…`              | `RespValue[]`                                  |
 * | simple error     | `-ERR x\r\n`           | `RespError` with `bulk: false`                 |
 * | bulk error       | `!5\r\nERR x\r\n`      | `RespError` with `bulk: true`                  |
 * | boolean          | `#t\r\n`               | `boolean`                                      |
 * | double           | `,1.5\r\n` `,inf\r\n`  | `RespDouble`                                   |
 * | big number       | `(12345…\r\n`          | `RespBigNumber`                                |
 * | verbatim string  | `=8\r\ntxt:abcd\r\n`   | `RespVerbatim`                                 |
 * | map              | `%1\r\n…`              | `RespMap` (entries in wire order)              |
 * | set              | `~2\r\n…`              | `RespSet` (items in wire order)                |
 * | push             | `>2\r\n…`              | `RespPush`                                     |
 * | attribute        | `\|1\r\n… <value>`     | `RespAttributed` (the attributes and the value they annotate) |
 */

/**
 * Any RESP2 or RESP3 value. See the table at the top of this file.
 *
 * @example
 * ```ts
 * const reply: RespValue = [Buffer.from('value'), 42, null, new RespDouble(0.5)];
 * ```
 */
export type RespValue =
  | Buffer
  | string
  | number
  | bigint
  | boolean
  | null
  | RespValue[]
  | RespError
  | RespDouble
  | RespBigNumber
  | RespVerbatim
  | RespMap
  | RespSet
  | RespPush
  | RespAttributed
  | RespNullArray;

/**
 * A key/value pair of a `RespMap` or of the attributes of a `RespAttributed`.
 *
 * @example
 * ```ts
 * const pair: RespPair = [Buffer.from('field'), Buffer.from('value')];
 * ```
 */
export type RespPair = [key: RespValue, value: RespValue];

/**
 * The first byte of each RESP type on the wire.
 *
 * @example
 * ```ts
 * const isCommand = bytes[start] === RespType.Array;
 * ```
 */
export const RespType = {
  SimpleString: 0x2b, // +
  SimpleError: 0x2d, // -
  Integer: 0x3a, // :
  BulkString: 0x24, // $
  Array: 0x2a, // *
  Null: 0x5f, // _
  Boolean: 0x23, // #
  Double: 0x2c, // ,
  BigNumber: 0x28, // (
  BulkError: 0x21, // !
  VerbatimString: 0x3d, // =
  Map: 0x25, // %
  Set: 0x7e, // ~
  Attribute: 0x7c, // |
  Push: 0x3e, // >
} as const;

export type RespType = (typeof RespType)[keyof typeof RespType];

/**
 * An error reply: `-ERR message\r\n` (simple) or `!7\r\nmessage\r\n` (bulk, RESP3). The message
 * is decoded as UTF-8. A simple error cannot contain CR or LF; a bulk error can.
 *
 * @example
 * ```ts
 * codec.encode(new RespError('ERR unknown command'), buffer, 0); // -ERR unknown command\r\n
 * ```
 */
export class RespError {
  readonly message: string;
  /** `true` for a RESP3 bulk error (`!`), `false` for a simple error (`-`). */
  readonly bulk: boolean;

  constructor(message: string, bulk = false) {
    this.message = message;
    this.bulk = bulk;
  }
}

/**
 * A RESP3 double: `,3.14\r\n`, `,inf\r\n`, `,-inf\r\n`, `,nan\r\n`. Kept apart from integers,
 * which are plain numbers, so that `1` and `1.0` stay different RESP types. Encoded with the
 * shortest text that reads back to the same number; for RESP2 clients it becomes a bulk string
 * of that text, as Redis does.
 *
 * @example
 * ```ts
 * codec.encode(new RespDouble(Number.POSITIVE_INFINITY), buffer, 0); // ,inf\r\n
 * ```
 */
export class RespDouble {
  readonly value: number;
  /**
   * The text to write instead of the shortest form, for a server that must print doubles as
   * another does (redis-server 7.0 prints `%.17g`). It must read back as a RESP3 double.
   */
  readonly text: string | undefined;

  constructor(value: number, text?: string) {
    this.value = value;
    this.text = text;
  }
}

/**
 * A RESP3 big number: `(3492890328409238509324850943850943825024385\r\n`.
 *
 * @example
 * ```ts
 * codec.encode(new RespBigNumber(2n ** 100n), buffer, 0);
 * ```
 */
export class RespBigNumber {
  readonly value: bigint;

  constructor(value: bigint) {
    this.value = value;
  }
}

/**
 * A RESP3 verbatim string: `=15\r\ntxt:Some string\r\n`. `format` is exactly three bytes
 * (`txt`, `mkd`), read as latin1; `text` is the bytes after the colon.
 *
 * @example
 * ```ts
 * codec.encode(new RespVerbatim('txt', Buffer.from('hello')), buffer, 0); // =9\r\ntxt:hello\r\n
 * ```
 */
export class RespVerbatim {
  readonly format: string;
  readonly text: Buffer;

  constructor(format: string, text: Buffer) {
    this.format = format;
    this.text = text;
  }
}

/**
 * A RESP3 map: `%2\r\n<key><value><key><value>`. Entries keep wire order; keys are RESP values
 * (usually bulk strings, whose identity a JS `Map` would not match on), so they are pairs.
 * For RESP2 clients a map becomes a flat array of 2n elements, as Redis does.
 *
 * @example
 * ```ts
 * new RespMap([[Buffer.from('server'), Buffer.from('mai')], [Buffer.from('proto'), 3]]);
 * ```
 */
export class RespMap {
  readonly entries: RespPair[];

  constructor(entries: RespPair[]) {
    this.entries = entries;
  }
}

/**
 * A RESP3 set: `~2\r\n<item><item>`. Items keep wire order; duplicates are not removed (a codec
 * does not judge equality of RESP values). For RESP2 clients a set becomes an array.
 *
 * @example
 * ```ts
 * new RespSet([Buffer.from('a'), Buffer.from('b')]);
 * ```
 */
export class RespSet {
  readonly items: RespValue[];

  constructor(items: RespValue[]) {
    this.items = items;
  }
}

/**
 * A RESP3 push (out-of-band data such as pub/sub messages): `>3\r\n…`. For RESP2 clients a push
 * becomes an array, which is how Redis sends pub/sub messages to them.
 *
 * @example
 * ```ts
 * new RespPush([Buffer.from('message'), Buffer.from('news'), Buffer.from('hello')]);
 * ```
 */
export class RespPush {
  readonly items: RespValue[];

  constructor(items: RespValue[]) {
    this.items = items;
  }
}

/**
 * A value with RESP3 attributes: `|1\r\n<key><value>` followed by the value they annotate. On the
 * wire the attribute is a prefix of the value, so both travel as one frame. For RESP2 clients
 * the attributes are dropped and only `value` is sent (Redis never sends attributes to them).
 *
 * @example
 * ```ts
 * new RespAttributed([[Buffer.from('ttl'), 3600]], Buffer.from('cached value'));
 * ```
 */
export class RespAttributed {
  readonly attributes: RespPair[];
  readonly value: RespValue;

  constructor(attributes: RespPair[], value: RespValue) {
    this.attributes = attributes;
    this.value = value;
  }
}

/**
 * Not a RESP value: an outbound frame that switches the protocol this stream's encoder writes,
 * then writes `reply` with the new one. It is how a handler answers `HELLO 3` (redis-server
 * switches first, so the HELLO reply itself is RESP3) without holding the codec instance: send
 * it with `ctx.send`, and frames sent after it are encoded for the new protocol. If `reply`
 * cannot be written (an `EncodeError`, or a buffer the engine cannot grow), the protocol is left
 * as it was.
 *
 * @example
 * ```ts
 * onFrame(ctx, command) {
 *   if (isHello3(command)) ctx.send(new RespSwitchProtocol(3, new RespMap([['proto', 3]])));
 * }
 * ```
 */
export class RespSwitchProtocol {
  readonly protocol: 2 | 3;
  readonly reply: RespValue;

  constructor(protocol: 2 | 3, reply: RespValue) {
    this.protocol = protocol;
    this.reply = reply;
  }
}

/**
 * What `RespCodec` encodes: a RESP value, or a protocol switch carrying one.
 *
 * @example
 * ```ts
 * type Redis = Protocol<{ in: RespValue; out: RespOutbound }>;
 * ```
 */
export type RespOutbound = RespValue | RespSwitchProtocol;

/**
 * A null array: `*-1` to a RESP2 peer, `_` (null) to a RESP3 one. Redis sends it where a
 * multi-element reply is absent (LPOP with a count on a missing key, a BLPOP that timed out,
 * an aborted EXEC); a plain `null` would be `$-1` to RESP2 peers. The decoder reads `*-1` as
 * `null`.
 *
 * @example
 * ```ts
 * ctx.send(RespNullArray.instance); // *-1\r\n to a RESP2 client
 * ```
 */
export class RespNullArray {
  /** Tells the type apart from an empty object (TypeScript types are structural). */
  readonly nullArray = true;
  static readonly instance = new RespNullArray();
}
