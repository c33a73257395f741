import { type Codec, type DecodeResult, type EncodeResult, InsufficientBuffer } from './codec.js';
import { InvalidOptionError } from '../errors.js';
import { RespDecoder } from './resp-decode.js';
import { RespRequestDecoder } from './resp-request.js';
import { RespEncoder, type RespProtocol } from './resp-encode.js';
import { type RespOutbound, RespSwitchProtocol, type RespValue } from './resp-types.js';

/**
 * Options of `RespCodec`. Every limit is a defence against a peer that declares huge sizes; the
 * engine's `maxFrameLength` (16 MiB by default) bounds a whole frame as well.
 *
 * @example
 * ```ts
 * new RespCodec({ inlineCommands: true, maxBulkLength: 512 * 1024 * 1024 });
 * ```
 */
export interface RespCodecOptions {
  /**
   * Longest bulk string, bulk error or verbatim string, from its declared length; also the
   * longest line (simple string or error, double, big number), in bytes. Default 64 MiB. The
   * encoder refuses (`MAI_ENCODE_FAILED`) what the decoder would refuse, measured on the wire. Redis's own `proto-max-bulk-len` is 512 MiB.
   *
   * ```
   * $67108864\r\n<67108864 bytes>\r\n    accepted at the default
   * $67108865\r\n                        MAI_FRAME_TOO_LONG from the header alone
   * ```
   */
  maxBulkLength?: number;
  /**
   * Most elements of one array, set or push, and most entries of one map or attribute, from the
   * declared count (a map sent to a RESP2 peer is an array of 2 × entries, and counts as one). Default 1,048,576 (2^20), the limit Redis applied before 4.0; its current one
   * is 2^31 - 1. A declared count allocates nothing: elements are stored as they arrive.
   *
   * ```
   * *1048576\r\n…     accepted at the default (waits for its elements)
   * *1048577\r\n      MAI_FRAME_TOO_LONG from the header alone
   * ```
   */
  maxArrayLength?: number;
  /**
   * Deepest nesting of aggregates (array, map, set, push, attribute). Default 8. A top-level
   * array is depth 1; an attribute counts as one level for the value it annotates.
   *
   * ```
   * *1\r\n*1\r\n:1\r\n    depth 2
   * ```
   */
  maxDepth?: number;
  /**
   * Read client requests the way redis-server does (off by default). A request that starts
   * with `*` is a command: an array of bulk strings only (any other element is corrupt); any
   * other request is an inline command, a line split on whitespace with quotes, as typed in
   * telnet. Empty commands (`\r\n`, `*0\r\n`, `*-1\r\n`), which redis-server ignores, are
   * delivered as `[]`.
   *
   * ```
   * *2\r\n$3\r\nGET\r\n$1\r\nk\r\n   → [<GET>, <k>]
   * GET k\r\n                        → [<GET>, <k>]
   * SET k "a b"\n                    → [<SET>, <k>, <a b>]
   * ```
   */
  inlineCommands?: boolean;
  /** Longest inline command line, without its `\r\n`. Default 64 KiB, as redis-server. */
  maxInlineLength?: number;
  /** Protocol version the encoder starts with. Default 2, as redis-server for a new client. */
  protocol?: RespProtocol;
}

/**
 * The defaults of `RespCodecOptions`.
 *
 * @example
 * ```ts
 * new RespCodec({ maxDepth: RESP_DEFAULTS.maxDepth * 2 });
 * ```
 */
export const RESP_DEFAULTS = {
  maxBulkLength: 64 * 1024 * 1024,
  maxArrayLength: 1024 * 1024,
  maxDepth: 8,
  inlineCommands: false,
  maxInlineLength: 64 * 1024,
  protocol: 2,
} as const;

/**
 * RESP2 and RESP3, both ways: decodes any RESP value (or, with `inlineCommands`, client requests
 * exactly as redis-server reads them) and encodes any RESP value for a RESP2 or RESP3 peer.
 * Values are described in `resp-types.ts`; bulk strings are `Buffer` copies, arrays are arrays.
 *
 * ## Decoding
 *
 * `RespDecoder` (any value) and `RespRequestDecoder` (`inlineCommands`) are explicit,
 * resumable state machines (see their state tables): any nesting depth gives a typed error
 * instead of a stack overflow, and a frame delivered byte by byte costs O(n). Malformed bytes throw `MAI_CORRUPT_FRAME` quoting them;
 * sizes above a limit throw `MAI_FRAME_TOO_LONG` from the header alone, before any allocation.
 *
 * ## Encoding
 *
 * The encoder writes for the peer's protocol version, 2 (the default, as redis-server for a new
 * client) or 3. For protocol 2, RESP3-only values are mapped down as redis-server does (see
 * `RespEncoder`). A handler switches it with the frame it answers `HELLO` with: sending
 * `new RespSwitchProtocol(3, reply)` switches this stream's encoder and writes `reply` in RESP3,
 * as redis-server does. Code that holds the codec instance can set `protocol` directly.
 *
 * @example
 * ```ts
 * type Redis = Protocol<{ in: RespValue; out: RespOutbound }>;
 * const engine = protocolEngine<Redis>({
 *   codec: () => new RespCodec({ inlineCommands: true }),
 *   handler: {
 *     onFrame(ctx, command) {
 *       const name = Array.isArray(command) && Buffer.isBuffer(command[0]) ? command[0].toString().toUpperCase() : '';
 *       if (name === 'PING') ctx.send('PONG');
 *       else if (name === 'HELLO') ctx.send(new RespSwitchProtocol(3, new RespMap([['proto', 3]])));
 *       else ctx.send(new RespError(`ERR unknown command '${name}'`));
 *     },
 *   },
 * });
 * ```
 */
export class RespCodec implements Codec<RespValue, RespOutbound> {
  readonly #decoder: RespDecoder | RespRequestDecoder;
  readonly #encoder: RespEncoder;

  constructor(options: RespCodecOptions = {}) {
    const limits = {
      maxBulkLength: limit(options, 'maxBulkLength', RESP_DEFAULTS.maxBulkLength),
      maxArrayLength: limit(options, 'maxArrayLength', RESP_DEFAULTS.maxArrayLength),
      maxDepth: limit(options, 'maxDepth', RESP_DEFAULTS.maxDepth),
    };
    const protocol = options.protocol ?? RESP_DEFAULTS.protocol;
    checkProtocol(protocol);
    this.#decoder =
      (options.inlineCommands ?? RESP_DEFAULTS.inlineCommands)
        ? new RespRequestDecoder({
            maxBulkLength: limits.maxBulkLength,
            maxArrayLength: limits.maxArrayLength,
            maxInlineLength: limit(options, 'maxInlineLength', RESP_DEFAULTS.maxInlineLength),
          })
        : new RespDecoder(limits);
    this.#encoder = new RespEncoder(limits, protocol);
  }

  /** The protocol version the encoder writes for (see `RespSwitchProtocol` to switch from a handler). */
  get protocol(): RespProtocol {
    return this.#encoder.protocol;
  }

  set protocol(protocol: RespProtocol) {
    checkProtocol(protocol);
    this.#encoder.protocol = protocol;
  }

  decode(bytes: Buffer, start: number, end: number): DecodeResult<RespValue> {
    return this.#decoder.decode(bytes, start, end);
  }

  encode(frame: RespOutbound, buffer: Buffer, start: number): EncodeResult {
    if (!(frame instanceof RespSwitchProtocol)) return this.#encoder.encode(frame, buffer, start);
    checkProtocol(frame.protocol);
    const previous = this.#encoder.protocol;
    this.#encoder.protocol = frame.protocol;
    let written: EncodeResult = InsufficientBuffer;
    try {
      written = this.#encoder.encode(frame.reply, buffer, start);
    } finally {
      // Not written (yet): the switch happens with the reply, not before it.
      if (written === InsufficientBuffer) this.#encoder.protocol = previous;
    }
    return written;
  }
}

function checkProtocol(protocol: unknown): void {
  if (protocol !== 2 && protocol !== 3) {
    throw new InvalidOptionError(`protocol must be 2 or 3, got ${String(protocol)}`);
  }
}

function limit(options: RespCodecOptions, name: keyof RespCodecOptions, fallback: number): number {
  const value = options[name] ?? fallback;
  if (
    typeof value !== 'number' ||
    !(value >= 0) ||
    (!Number.isSafeInteger(value) && value !== Number.POSITIVE_INFINITY)
  ) {
    throw new InvalidOptionError(`${name} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}
