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
  type Codec,
  type CodecFactory,
  type Decoded,
  type DecodeResult,
  decoded,
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
  kilobytes,
  megabytes,
  type Settings,
} from './engine/settings.js';
export {
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
