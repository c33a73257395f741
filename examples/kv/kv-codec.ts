import { type EncodeResult, InsufficientBuffer } from '../../src/codec/codec.js';
import { RespCodec } from '../../src/codec/resp.js';
import type { RespOutbound } from '../../src/codec/resp-types.js';

/**
 * A bare array header, `*n\r\n`, with its elements sent as frames of their own after it.
 *
 * EXEC needs it: redis-server writes `*<queued count>` and then whatever each queued command
 * writes, which is not always one value (SUBSCRIBE of two channels writes two, and a message
 * this client publishes to itself lands between them). Sending the header first and each
 * reply as it is made gives the same bytes in every such case. `count` -1 writes `*-1\r\n`.
 *
 * @example
 * ```ts
 * ctx.send(new ArrayHeader(2));
 * ctx.send('OK');
 * ctx.send(42); // *2\r\n+OK\r\n:42\r\n
 * ```
 */
export class ArrayHeader {
  readonly count: number;

  constructor(count: number) {
    this.count = count;
  }
}

/**
 * A null array: `*-1\r\n` to a RESP2 client, `_\r\n` to a RESP3 one, as redis-server answers an
 * EXEC whose WATCHed keys changed, or a blocking pop that timed out. RESP values have one
 * `null`, which `RespCodec` writes as the null bulk string `$-1`; this is the other one.
 * It must be sent as a frame of its own (not inside an array).
 *
 * @example
 * ```ts
 * if (session.dirty) return NULL_ARRAY;
 * ```
 */
export const NULL_ARRAY: unique symbol = Symbol('kv.nullArray');

/**
 * What the server sends: RESP values, protocol switches, and the two frames above.
 *
 * @example
 * ```ts
 * const reply: KvOutbound = NULL_ARRAY;
 * ```
 */
export type KvOutbound = RespOutbound | ArrayHeader | typeof NULL_ARRAY;

const NULL_ARRAY_2 = Buffer.from('*-1\r\n', 'latin1');
const NULL_ARRAY_3 = Buffer.from('_\r\n', 'latin1');

/**
 * `RespCodec` plus `ArrayHeader` and `NULL_ARRAY`, for the server's own use. Every other frame
 * goes to `RespCodec` unchanged; the two extra checks are identity and `instanceof` tests on
 * objects, so the GET/SET path pays a few nanoseconds at most.
 *
 * @example
 * ```ts
 * protocolEngine<KvProtocol>({ codec: () => new KvCodec({ inlineCommands: true }), handler });
 * ```
 */
export class KvCodec extends RespCodec {
  override encode(frame: KvOutbound, buffer: Buffer, start: number): EncodeResult {
    if (frame === NULL_ARRAY)
      return copy(this.protocol === 3 ? NULL_ARRAY_3 : NULL_ARRAY_2, buffer, start);
    if (frame instanceof ArrayHeader)
      return copy(Buffer.from(`*${frame.count}\r\n`, 'latin1'), buffer, start);
    return super.encode(frame, buffer, start);
  }
}

function copy(bytes: Buffer, buffer: Buffer, start: number): EncodeResult {
  if (buffer.length - start < bytes.length) return InsufficientBuffer;
  return bytes.copy(buffer, start);
}
