import type { CodecFactory } from '../codec/codec.js';
import { InvalidOptionError } from '../errors.js';
import type { AnyProtocol, Handler } from './protocol.js';

/** Byte-size helpers, as the seed spelled them (`Kilobytes(32)`). */
export const kilobytes = (n: number): number => n * 1024;
export const megabytes = (n: number): number => n * 1024 * 1024;

/**
 * Everything a `ProtocolEngine` is built with. Only `codec` and `handler` are required; every
 * limit has the default given here and listed in docs/engine.md.
 */
export interface EngineOptions<P extends AnyProtocol> {
  /** Creates the codec of each stream (one instance per stream, so it may keep state). */
  codec: CodecFactory<P['in'], P['out']>;
  /** Reacts to every stream's events. */
  handler: Handler<P>;
  /** Creates the session of a stream when `manage`, `listen` or `connect` did not give one. */
  createSession?: () => P['session'];
  /** @deprecated The former name of `createSession` (it is a factory, not a session). */
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
  /**
   * Frames decoded from one read of a stream before the engine yields to other streams (the
   * rest of the read is decoded on the next turn of the event loop). Default 1,024.
   */
  maxFramesPerRead?: number;
  /** @deprecated The former name of `maxFramesPerRead` (it always counted per read). */
  maxFramesPerTick?: number;
  /**
   * Queued output above which the stream is closed with `MAI_SLOW_CONSUMER` if it stays there
   * for `slowConsumerSoftLimitMs`. Default 2 MiB.
   */
  slowConsumerSoftLimit?: number;
  /** How long queued output may stay above the soft limit. Default 10 s. */
  slowConsumerSoftLimitMs?: number;
  /** Queued output above which the stream is closed at once with `MAI_SLOW_CONSUMER`. Default 8 MiB. */
  slowConsumerHardLimit?: number;
  /**
   * An unfinished frame that makes no progress for this long closes the stream with
   * `MAI_PARTIAL_FRAME_TIMEOUT` (a slowloris defence). `0` turns it off. Default 30 s for
   * streams accepted by `listen`, off for `connect` and `manage` unless set here or per call.
   */
  partialFrameTimeoutMs?: number;
  /**
   * A stream that delivers no frame this long after it opened is closed with
   * `MAI_FIRST_FRAME_TIMEOUT`. `0` turns it off. Default 10 s for streams accepted by `listen`,
   * off for `connect` and `manage` unless set here or per call.
   */
  firstFrameTimeoutMs?: number;
  /**
   * Whether a stream stops reading while its queued output is above `writeHighWaterMark` (a
   * server's defence: a peer that does not read its replies sends no more requests). Default
   * true for streams accepted by `listen`, false for `connect` and `manage`: a client that
   * pipelines must keep reading replies, or a server doing the same would deadlock with it,
   * each waiting for the other to read.
   */
  pauseReadingWhenWriteBlocked?: boolean;
  /**
   * Frames whose body is at least this many bytes are sent by reference: the codec writes the
   * header, and the body (a payload `Buffer` given to `send`) goes to the socket as it is,
   * without a copy into the output buffer. The caller must then leave that buffer unchanged
   * until the stream has written it (as with Node's own `socket.write`). Only codecs with
   * `bodyOf`/`encodeHeader` (`LengthPrefixedCodec`) take part. `0` (the default) copies every
   * frame, so a buffer may be reused as soon as `send` returns.
   */
  sendByReferenceFrom?: number;
  /**
   * Idle timeouts, delivered to `onTimeout(ctx, value)` with the value given here (the stream
   * stays open; close it from `onTimeout` if that is the policy). `read`: no bytes read for
   * `ms`; `write`: no bytes written; `any`: neither. Each fires again after every further `ms`
   * of idleness.
   */
  idleTimeouts?: IdleTimeouts<P['timeout']>;
  /**
   * Keep our side open after the peer ends its side: the engine delivers everything, calls
   * `onEnd`, and leaves the end to the handler (`ctx.end()` / `ctx.close()`). Default false:
   * the engine ends our side once every reply is flushed.
   */
  allowHalfOpen?: boolean;
  /**
   * Bound on all pooled bytes (read buffers and queued output) of the engine. Above it, reading
   * pauses on the streams that hold the most until usage falls below 3/4 of it. Default none.
   */
  memoryBudget?: number;
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

/** One idle timeout: after `ms` without activity, `onTimeout(ctx, value)`. */
export interface IdleTimeout<T> {
  ms: number;
  value: T;
}

export interface IdleTimeouts<T> {
  read?: IdleTimeout<T>;
  write?: IdleTimeout<T>;
  any?: IdleTimeout<T>;
}

/** The resolved settings: every option with its value. */
export interface Settings {
  initialBufferSize: number;
  initialBufferPoolSize: number;
  maxBufferPoolSize: number;
  maxFrameLength: number;
  writeHighWaterMark: number;
  maxFramesInFlight: number;
  maxFramesPerRead: number;
  slowConsumerSoftLimit: number;
  slowConsumerSoftLimitMs: number;
  slowConsumerHardLimit: number;
  /** `undefined`: the role's default (on for accepted streams, off otherwise). */
  partialFrameTimeoutMs: number | undefined;
  firstFrameTimeoutMs: number | undefined;
  pauseReadingWhenWriteBlocked: boolean | undefined;
  sendByReferenceFrom: number;
  allowHalfOpen: boolean;
  memoryBudget: number;
  connectTimeoutMs: number;
  closeTimeoutMs: number;
  debugBuffers: boolean;
}

/** Defaults for streams accepted by `listen`, where an unset timeout is on (see `streamSettingsFor`). */
export const SERVER_DEFAULTS = Object.freeze({
  partialFrameTimeoutMs: 30_000,
  firstFrameTimeoutMs: 10_000,
});

export const DEFAULTS: Readonly<Settings> = Object.freeze({
  initialBufferSize: kilobytes(32),
  initialBufferPoolSize: 16,
  maxBufferPoolSize: 128,
  maxFrameLength: megabytes(16),
  writeHighWaterMark: megabytes(1),
  maxFramesInFlight: 64,
  maxFramesPerRead: 1024,
  slowConsumerSoftLimit: megabytes(2),
  slowConsumerSoftLimitMs: 10_000,
  slowConsumerHardLimit: megabytes(8),
  partialFrameTimeoutMs: undefined,
  firstFrameTimeoutMs: undefined,
  pauseReadingWhenWriteBlocked: undefined,
  sendByReferenceFrom: 0,
  allowHalfOpen: false,
  memoryBudget: 0,
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
    ['maxFramesPerRead', 1],
    ['slowConsumerSoftLimit', 1],
    ['slowConsumerSoftLimitMs', 0],
    ['slowConsumerHardLimit', 1],
    ['partialFrameTimeoutMs', 0],
    ['firstFrameTimeoutMs', 0],
    ['memoryBudget', 0],
    ['connectTimeoutMs', 1],
    ['closeTimeoutMs', 0],
    ['sendByReferenceFrom', 0],
  ] as const;
  if (options.maxFramesPerRead === undefined && options.maxFramesPerTick !== undefined) {
    options = { ...options, maxFramesPerRead: options.maxFramesPerTick };
  }
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
  if (options.allowHalfOpen !== undefined) settings.allowHalfOpen = options.allowHalfOpen;
  if (options.pauseReadingWhenWriteBlocked !== undefined) {
    settings.pauseReadingWhenWriteBlocked = options.pauseReadingWhenWriteBlocked;
  }
  if (settings.slowConsumerHardLimit < settings.slowConsumerSoftLimit) {
    throw new InvalidOptionError(
      `slowConsumerHardLimit (${settings.slowConsumerHardLimit}) must be >= slowConsumerSoftLimit (${settings.slowConsumerSoftLimit})`,
    );
  }
  for (const kind of ['read', 'write', 'any'] as const) {
    const idle = options.idleTimeouts?.[kind];
    if (idle !== undefined && (!Number.isSafeInteger(idle.ms) || idle.ms < 1)) {
      throw new InvalidOptionError(
        `idleTimeouts.${kind}.ms must be an integer >= 1, got ${String(idle.ms)}`,
      );
    }
  }
  return settings;
}
