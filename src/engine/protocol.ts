import type { MaiError } from '../errors.js';

/**
 * The family of types one protocol uses, the seed's `Protocol` trait as a type-level bundle:
 * inbound frames (`in`), outbound frames (`out`, defaults to `in`), the value a timeout carries
 * back to the handler (`timeout`, defaults to `string`), and the per-stream session
 * (`session`, defaults to `undefined`).
 *
 * @example
 * ```ts
 * type EchoClient = Protocol<{ in: string; timeout: number }>;
 * const engine = protocolEngine<EchoClient>({ codec: () => new LineCodec(), handler });
 * ```
 */
export type Protocol<
  T extends { in: unknown; out?: unknown; timeout?: unknown; session?: unknown },
> = {
  in: T['in'];
  out: T extends { out: infer O } ? O : T['in'];
  timeout: T extends { timeout: infer V } ? V : string;
  session: T extends { session: infer S } ? S : undefined;
};

/** Any protocol bundle. */
export type AnyProtocol = { in: unknown; out: unknown; timeout: unknown; session: unknown };

/** Identifies one stream of an engine (the seed's `Token`). Never reused within an engine. */
export type Token = number & { readonly __maiToken: unique symbol };

/** A handle returned by `setTimeout`, for `clearTimeout`. */
export type TimeoutHandle = number & { readonly __maiTimeout: unique symbol };

/** Why a stream closed, as `onClosed` reports it. */
export const CloseReason = {
  /** The peer ended its side and everything was delivered and flushed. */
  Remote: 'remote',
  /** `close()` or `end()` was called on this side. */
  Local: 'local',
  /** An error closed the stream; `CloseInfo.error` says which. */
  Error: 'error',
  /** `abort()` was called: no flush, queued output reported as unsent. */
  Aborted: 'aborted',
  /** `engine.shutdown()` closed the stream. */
  Shutdown: 'shutdown',
} as const;
export type CloseReason = (typeof CloseReason)[keyof typeof CloseReason];

/**
 * What `onClosed` is told: nothing lost silently. Frames and bytes "unsent" were accepted by
 * `send` but never handed to the kernel; `partialBytes` are bytes of an unfinished inbound frame
 * that were read but could not be delivered.
 */
export interface CloseInfo {
  readonly reason: CloseReason;
  readonly error: MaiError | undefined;
  readonly framesReceived: number;
  readonly framesSent: number;
  readonly framesUnsent: number;
  readonly bytesUnsent: number;
  readonly partialBytes: number;
}

/**
 * One stream as the handler sees it (the seed's `Context`). Given as the first argument of every
 * handler callback, and valid until `onClosed` returns; methods called after the stream closed
 * do nothing and say so in their return value.
 */
export interface Context<P extends AnyProtocol = AnyProtocol> {
  readonly token: Token;
  /** The peer's address: `host:port` for TCP, the path for Unix sockets, undefined otherwise. */
  readonly remoteAddress: string | undefined;
  /** This side's address, in the same form. */
  readonly localAddress: string | undefined;
  /** Per-stream state, yours to read and replace. */
  session: P['session'];
  /**
   * False once the outbound queue is above the write high-water mark, or the stream can no
   * longer send. Respecting it is how a handler applies back-pressure.
   */
  readonly writable: boolean;
  /** Bytes accepted by `send` that have not reached the kernel yet (what `writable` compares). */
  readonly queuedBytes: number;
  /** True once the stream has closed (after which `send` returns false and does nothing). */
  readonly closed: boolean;
  /**
   * Encodes `frame` and queues it; frames sent in one tick leave in one write. Returns true if
   * the frame was queued and the queue is below the high-water mark, false if it was queued but
   * the queue is above it, or if the stream is closed (then nothing is queued). Throws an
   * `EncodeError` if the codec cannot encode the frame; nothing is queued then.
   */
  send(frame: P['out']): boolean;
  /**
   * Resolves true once queued output is below the write high-water mark (at once if it already
   * is), or false if the stream closes first: how an async handler waits out back-pressure.
   *
   * @example
   * ```ts
   * for (const row of rows) if (!ctx.send(row) && !(await ctx.drain())) return;
   * ```
   */
  drain(): Promise<boolean>;
  /** Stops reading, flushes what is queued, then closes. */
  close(): void;
  /** Flushes what is queued and ends this side (FIN); frames from the peer still arrive. */
  end(): void;
  /** Closes now: queued output is dropped and reported as unsent in `onClosed`. */
  abort(): void;
  /** Calls `onTimeout(ctx, value)` after `ms` unless cleared first or the stream closes. */
  setTimeout(value: P['timeout'], ms: number): TimeoutHandle;
  /** Cancels a timeout set on this stream. Returns whether it was still pending. */
  clearTimeout(handle: TimeoutHandle): boolean;
}

/**
 * Reacts to the events of every stream of an engine (the seed's `Handler`). One handler serves
 * all streams; keep per-stream state in `ctx.session`. Every callback but `onFrame` is optional.
 *
 * Order, guaranteed: `onReady` once → `onFrame`/`onTimeout` any number of times → `onError` at
 * most once → `onClosed` exactly once, and nothing after `onClosed`.
 */
export interface Handler<P extends AnyProtocol = AnyProtocol> {
  onReady?(ctx: Context<P>): void;
  /**
   * A frame arrived. Frames are delivered in the order they were read. If this returns a
   * Promise, the next frames are still delivered in order while it is pending, but the engine
   * stops reading the stream while `maxFramesInFlight` of them are pending. A throw or a
   * rejection is reported to `onError` as `MAI_HANDLER_FAILED` and closes the stream.
   */
  onFrame(ctx: Context<P>, frame: P['in']): void | Promise<void>;
  onTimeout?(ctx: Context<P>, value: P['timeout']): void;
  /**
   * The peer ended its side (FIN) and every frame before it was delivered. Unless the engine
   * has `allowHalfOpen`, the engine then ends this side too, after the replies are flushed.
   */
  onEnd?(ctx: Context<P>): void;
  /** Called at most once, before `onClosed`, while `ctx.send` still works for a goodbye frame. */
  onError?(ctx: Context<P>, error: MaiError): void;
  onClosed?(ctx: Context<P>, info: CloseInfo): void;
  /** A timeout set with `engine.setTimeout` (not tied to a stream) fired. */
  onEngineTimeout?(value: P['timeout']): void;
  /** `engine.shutdown()` started: a last chance to send a goodbye frame. */
  onShutdown?(ctx: Context<P>): void;
}
