/**
 * mai — a framing engine for Node.js. Pick a Frame type, write a Codec (bytes ↔ frames) and a
 * Handler (ready / frame / timeout / error / closed); the engine owns the sockets, the pooled
 * buffers, the tokens and the timeouts, and it listens and connects by itself.
 */

export {
  BufferPool,
  type BufferPoolOptions,
  type BufferPoolStats,
  CANARY_BYTE,
} from './buffer/buffer-pool.js';
export {
  type BorrowOption,
  type Codec,
  type CodecFactory,
  type Decoded,
  type DecodeResult,
  Discarded,
  decoded,
  discarded,
  type EncodeResult,
  IncompleteFrame,
  InsufficientBuffer,
} from './codec/codec.js';
export {
  type ConnectOptions,
  type EngineStats,
  type ListenOptions,
  ProtocolEngine,
  protocolEngine,
  type ShutdownReport,
  type ShutdownStreamReport,
} from './engine/engine.js';
export {
  type AnyProtocol,
  type CloseInfo,
  CloseReason,
  type Context,
  type Handler,
  type Protocol,
  type TimeoutHandle,
  type Token,
} from './engine/protocol.js';
export {
  DEFAULTS,
  type EngineOptions,
  type IdleTimeout,
  type IdleTimeouts,
  kilobytes,
  megabytes,
  type Settings,
} from './engine/settings.js';
export {
  BroadcastError,
  CodecContractError,
  ConnectionError,
  DecodeError,
  EncodeError,
  ErrorCode,
  FrameTooLongError,
  InvalidOptionError,
  MaiError,
  TruncatedFrameError,
} from './errors.js';
export type { Address } from './transport/address.js';
export type { Listener } from './transport/listener.js';
export {
  type ByteOrder,
  type LengthFieldLength,
  LengthPrefixedCodec,
  type LengthPrefixedOptions,
} from './codec/length-prefixed.js';
export {
  DEFAULT_MAX_DELIMITED_LENGTH,
  DelimiterCodec,
  type DelimiterCodecOptions,
} from './codec/delimiter.js';
export {
  FixedLengthCodec,
  type FixedLengthCodecOptions,
  MAX_FIXED_FRAME_LENGTH,
} from './codec/fixed-length.js';
export {
  DEFAULT_MAX_LINE_LENGTH,
  LineEnding,
  type LineFrame,
  type LineFrames,
  LinesCodec,
  type LinesCodecOptions,
  LineTooLong,
} from './codec/lines.js';
export { type CodecMapping, mapCodec } from './codec/map.js';
export { DEFAULT_MAX_CHUNK_LENGTH, RawCodec, type RawCodecOptions } from './codec/raw.js';
export { RESP_DEFAULTS, RespCodec, type RespCodecOptions } from './codec/resp.js';
export { RespDecoder, type RespDecoderOptions } from './codec/resp-decode.js';
export { RespRequestDecoder, type RespRequestDecoderOptions } from './codec/resp-request.js';
export { RespEncoder, type RespEncoderLimits, type RespProtocol } from './codec/resp-encode.js';
export { splitInlineArgs } from './codec/resp-inline.js';
export {
  RespAttributed,
  RespNullArray,
  RespBigNumber,
  RespDouble,
  RespError,
  RespMap,
  type RespOutbound,
  type RespPair,
  RespPush,
  RespSet,
  RespSwitchProtocol,
  RespType,
  type RespValue,
  RespVerbatim,
} from './codec/resp-types.js';
