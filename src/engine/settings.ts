import type { CodecFactory } from '../codec/codec.js';
import { InvalidOptionError } from '../errors.js';
import type { AnyProtocol, Handler } from './protocol.js';

/** Byte-size helpers, as the seed spelled them (`Kilobytes(32)`). */
export const kilobytes = (n: number): number => n * 1024;
export const megabytes = (n: number): number => n * 1024 * 1024;

/**
 * Everything a `ProtocolEngine` is built with. Only `codec` and `handler` are required; every
 * limit has the default of `docs/limits.md` (ARCHITECTURE.md's table).
 */
export interface EngineOptions<P extends AnyProtocol> {
  /** Creates the codec of each stream (one instance per stream, so it may keep state). */
  codec: CodecFactory<P['in'], P['out']>;
  /** Reacts to every stream's events. */
  handler: Handler<P>;
  /** Creates the session of a stream when `manage`, `listen` or `connect` did not give one. */
  session?: () => P['session'];
  /** Size of each pooled buffer (the seed's `InitialBufferSize`). Default 32 KiB. */
  initialBufferSize?: number;
  /** Buffers allocated when the engine starts (the seed's `InitialBufferPoolSize`). Default 16. */
  initialBufferPoolSize?: number;
  /** Idle buffers the pool keeps at most (the seed's `MaxBufferPoolSize`). Default 128. */
  maxBufferPoolSize?: number;
  /**
   * Largest frame on the wire, in bytes, inbound and outbound (header and delimiter included).
   * A codec may set a lower limit of its own. Default 16 MiB.
   */
  maxFrameLength?: number;
  /** Queued outbound bytes above which `send` returns false and `writable` is false. Default 1 MiB. */
  writeHighWaterMark?: number;
  /** Pending `onFrame` Promises per stream beyond which reading pauses. Default 64. */
  maxFramesInFlight?: number;
  /** Frames decoded per stream per read before yielding to other streams. Default 1,024. */
  maxFramesPerTick?: number;
  /** `connect` gives up after this long with `MAI_CONNECT_TIMEOUT`. Default 10 s. */
  connectTimeoutMs?: number;
  /** After `close()`, how long to wait for the peer's FIN before closing hard. Default 5 s. */
  closeTimeoutMs?: number;
  /** Canary-filled released buffers and lease tracking (slower; for tests). Default false. */
  debugBuffers?: boolean;
  /**
   * Called with an error thrown by `onError` or `onClosed`, where there is no stream left to
   * report it to. Without it such an error is rethrown as an uncaught exception.
   */
  onHandlerError?: (error: unknown) => void;
}

/** The resolved settings: every option with its value. */
export interface Settings {
  initialBufferSize: number;
  initialBufferPoolSize: number;
  maxBufferPoolSize: number;
  maxFrameLength: number;
  writeHighWaterMark: number;
  maxFramesInFlight: number;
  maxFramesPerTick: number;
  connectTimeoutMs: number;
  closeTimeoutMs: number;
  debugBuffers: boolean;
}

export const DEFAULTS: Readonly<Settings> = Object.freeze({
  initialBufferSize: kilobytes(32),
  initialBufferPoolSize: 16,
  maxBufferPoolSize: 128,
  maxFrameLength: megabytes(16),
  writeHighWaterMark: megabytes(1),
  maxFramesInFlight: 64,
  maxFramesPerTick: 1024,
  connectTimeoutMs: 10_000,
  closeTimeoutMs: 5_000,
  debugBuffers: false,
});

/** Applies defaults and rejects values the engine cannot use, naming the option. */
export function resolveSettings(options: EngineOptions<AnyProtocol>): Settings {
  if (typeof options.codec !== 'function') {
    throw new InvalidOptionError('codec must be a function that creates a Codec for each stream');
  }
  if (options.handler === null || typeof options.handler !== 'object') {
    throw new InvalidOptionError('handler must be an object with at least onFrame');
  }
  if (typeof options.handler.onFrame !== 'function') {
    throw new InvalidOptionError('handler.onFrame must be a function');
  }
  const settings: Settings = { ...DEFAULTS };
  const integers = [
    ['initialBufferSize', 1],
    ['initialBufferPoolSize', 0],
    ['maxBufferPoolSize', 0],
    ['maxFrameLength', 1],
    ['writeHighWaterMark', 1],
    ['maxFramesInFlight', 1],
    ['maxFramesPerTick', 1],
    ['connectTimeoutMs', 1],
    ['closeTimeoutMs', 0],
  ] as const;
  for (const [name, min] of integers) {
    const value = options[name];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < min) {
      throw new InvalidOptionError(`${name} must be an integer >= ${min}, got ${String(value)}`);
    }
    settings[name] = value;
  }
  if (settings.maxFrameLength > 2 ** 31 - 1) {
    throw new InvalidOptionError(
      `maxFrameLength must be at most ${2 ** 31 - 1}, got ${settings.maxFrameLength}`,
    );
  }
  if (options.debugBuffers !== undefined) settings.debugBuffers = options.debugBuffers;
  return settings;
}
