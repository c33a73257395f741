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
 * What the server sends: RESP values (the null array among them, `RespNullArray`), protocol
 * switches, and `ArrayHeader`.
 *
 * @example
 * ```ts
 * const reply: KvOutbound = new ArrayHeader(2);
 * ```
 */
export type KvOutbound = RespOutbound | ArrayHeader;

/**
 * `RespCodec` plus `ArrayHeader`, for the server's own use. Every other frame goes to
 * `RespCodec` unchanged; the extra check is one `instanceof` test, so the GET/SET path pays a
 * few nanoseconds at most.
 *
 * @example
 * ```ts
 * protocolEngine<KvProtocol>({ codec: () => new KvCodec({ inlineCommands: true }), handler });
 * ```
 */
export class KvCodec extends RespCodec {
  override encode(frame: KvOutbound, buffer: Buffer, start: number): EncodeResult {
    if (frame instanceof ArrayHeader)
      return copy(Buffer.from(`*${frame.count}\r\n`, 'latin1'), buffer, start);
    return super.encode(frame, buffer, start);
  }
}

function copy(bytes: Buffer, buffer: Buffer, start: number): EncodeResult {
  if (buffer.length - start < bytes.length) return InsufficientBuffer;
  return bytes.copy(buffer, start);
}
