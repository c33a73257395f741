import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { BufferPool } from '../buffer/buffer-pool.js';
import type { Codec } from '../codec/codec.js';
import { ConnectionError, ErrorCode, MaiError } from '../errors.js';
import { beforeDestroy, readInto } from '../transport/node-internals.js';
import { StreamContext } from './context.js';
import { Deadlines, type DeadlineSubject } from './deadlines.js';
import { Inbound, type FrameSink, Pause } from './inbound.js';
import { Outbound, type OutboundEvents } from './outbound.js';
import type {
  AnyProtocol,
  CloseInfo,
  CloseReason,
  Handler,
  TimeoutHandle,
  Token,
} from './protocol.js';
import type { IdleTimeouts, Settings } from './settings.js';
import type { StreamSettings } from './stream-settings.js';
import type { TimerQueue } from './timers.js';

/** What a connection needs from its engine. */
export interface ConnectionHost<P extends AnyProtocol> {
  readonly pool: BufferPool;
  readonly settings: Settings;
  readonly handler: Handler<P>;
  readonly timers: TimerQueue;
  readonly idleTimeouts: IdleTimeouts<P['timeout']> | undefined;
  /** The connection is done; called just before `onClosed`. */
  forget(connection: Connection<P>, info: CloseInfo): void;
  /** `onError` or `onClosed` threw: nobody else to tell. */
  handlerThrew(error: unknown): void;
  /** With a memory budget: called after a read grew the pool (null: no budget). */
  readonly grew: (() => void) | null;
  /** With a memory budget: called after buffers were released (null: no budget). */
  readonly shrank: (() => void) | null;
}

/**
 * One managed stream: wires its input side (`Inbound`), output side (`Outbound`) and clocks
 * (`Deadlines`) to the socket and to the handler, and sequences its end so that `onClosed` comes
 * exactly once, last. A frame's path: the socket's read → `#onInput` → `Inbound.read` (decode)
 * → `deliver` → `onFrame(ctx, frame)` → `ctx.send` → `Outbound.send` (encode) → `#afterTurn` →
 * `Outbound.flush` → the socket's write.
 *
 * | lifecycle | set by                             | then                                           |
 * |-----------|------------------------------------|------------------------------------------------|
 * | new       | construction                       | `start()` on the next tick: `onReady`, reading |
 * | open      | `start()`                          | frames in and out                              |
 * | closing   | close/end/error/peer FIN/shutdown  | input finishes, output flushes, then our FIN   |
 * | closed    | socket 'close' + input finished +  | `onError` (at most once) and `onClosed` (once) |
 * |           | no handler pending                 |                                                |
 */
export class Connection<P extends AnyProtocol>
  implements FrameSink<P['in']>, DeadlineSubject<P>, OutboundEvents
{
  /** What the handler sees: the documented members of `Context` only. */
  readonly context: StreamContext<P>;
  readonly #host: ConnectionHost<P>;
  readonly #stream: Duplex;
  readonly #handler: Handler<P>;
  readonly #streamSettings: StreamSettings;
  readonly #inbound: Inbound<P>;
  readonly #outbound: Outbound<P>;
  readonly #deadlines: Deadlines<P>;

  /** Input is being handled now: replies queued meanwhile are flushed at the end of the turn. */
  #inTurn = false;
  #ready = false;
  #socketClosed = false;
  #closedCalled = false;
  #errorReported = false;
  #error: MaiError | undefined = undefined;
  #reason: CloseReason | null = null;
  #shuttingDown = false;
  #endReported = false;
  #slowConsumer = false;
  /** Reads land in the engine's buffer (`readInto`) rather than in `'data'` events. */
  #readsInto = false;

  constructor(
    host: ConnectionHost<P>,
    stream: Duplex,
    token: Token,
    codec: Codec<P['in'], P['out']>,
    session: P['session'],
    streamSettings: StreamSettings,
    paths?: { local?: string; remote?: string },
    readBuffer?: Buffer,
  ) {
    this.#host = host;
    this.#stream = stream;
    this.#handler = host.handler;
    this.#streamSettings = streamSettings;
    const socket = stream as Partial<Socket>;
    // Unix sockets have no address of their own in Node: the engine knows the path.
    this.context = new StreamContext(
      this,
      token,
      session,
      paths?.remote ?? describeAddress(socket.remoteAddress, socket.remotePort),
      paths?.local ?? describeAddress(socket.localAddress, socket.localPort),
    );
    this.#inbound = new Inbound(codec, host, this);
    this.#outbound = new Outbound(stream, codec, host, this);
    this.#deadlines = new Deadlines(this, host, streamSettings);
    // The stream's listeners are shared by every stream (Node calls them with the stream as
    // `this`): an idle connection holds no closures of its own for them.
    (stream as StreamOfConnection)[kConnection] = this;
    stream.on('error', onStreamError);
    stream.on('end', onStreamEnd);
    stream.on('close', onStreamClose);
    beforeDestroy(stream, this.#outbound);
    // Sockets the engine made read into its one shared buffer; other streams emit 'data'.
    if (readBuffer !== undefined && stream instanceof Socket) {
      this.#readsInto = readInto(stream, readBuffer, onReadInto);
    }
    process.nextTick(startConnection, this);
  }

  get token(): Token {
    return this.context.token;
  }

  // ---- What the context passes on ------------------------------------------------------------

  get writable(): boolean {
    return (
      this.#outbound.open && this.#outbound.queuedBytes < this.#host.settings.writeHighWaterMark
    );
  }

  get closed(): boolean {
    return this.#socketClosed || this.#closedCalled;
  }

  get queuedBytes(): number {
    return this.#outbound.queuedBytes;
  }

  send(frame: P['out']): boolean {
    return this.#outbound.send(frame);
  }

  drain(): Promise<boolean> {
    return this.closed ? Promise.resolve(false) : this.#outbound.drain();
  }

  close(): void {
    this.#setReason('local');
    this.#closeGracefully();
  }

  end(): void {
    this.#setReason('local');
    this.#outbound.end();
  }

  abort(): void {
    this.#setReason('aborted');
    this.#inbound.stop();
    this.#destroy();
  }

  setTimeout(value: P['timeout'], ms: number): TimeoutHandle {
    return this.#deadlines.setTimeout(value, ms);
  }

  clearTimeout(handle: TimeoutHandle): boolean {
    return this.#deadlines.clearTimeout(handle);
  }

  // ---- Engine-facing -------------------------------------------------------------------------

  /** Whether `send` would queue a frame (the output side is still open). */
  get accepting(): boolean {
    return this.#outbound.open;
  }

  /** Pooled bytes this stream holds: its kept input and its queued output. */
  get heldBytes(): number {
    return this.#outbound.queuedBytes + this.#inbound.heldBytes;
  }

  /** Called once, on the tick after the connection was created. */
  start(): void {
    if (this.#ready) return;
    this.#ready = true;
    // onReady comes first even for a stream that died before its first tick.
    if (!this.#call('onReady')) return;
    if (this.#inbound.end === null && !this.#socketClosed) {
      // Reading starts even if onReady already queued past the high-water mark: input that
      // arrives meanwhile pauses the socket, and until then a peer's reset is seen by the read,
      // which lets the engine count exactly what reached the kernel.
      if (this.#readsInto) this.#stream.resume();
      else this.#stream.on('data', onData);
      this.#deadlines.start();
    }
  }

  /**
   * `engine.shutdown()`: a goodbye hook, then a graceful close whose flush is bounded by the
   * shutdown's deadline (`forceClose`), not by `closeTimeoutMs`.
   */
  shutdown(): void {
    if (this.closed) return;
    this.#shuttingDown = true;
    this.#setReason('shutdown');
    this.#deadlines.stopFlushClock();
    if (this.#ready && this.#inbound.end === null) this.#call('onShutdown');
    this.#closeGracefully();
  }

  /** Closes now because the shutdown deadline passed. */
  forceClose(error: MaiError): void {
    this.#inbound.abandonInFlight();
    if (!this.#socketClosed) this.#reportError(error);
    this.#inbound.stop();
    if (this.#socketClosed) this.#afterTurn();
    else this.#destroy();
  }

  /** Pauses reading to relieve the engine's memory budget. */
  pauseForMemory(): void {
    if (this.#inbound.end === null) this.#inbound.pauseFor(Pause.Memory);
  }

  resumeFromMemory(): void {
    this.#resumeFor(Pause.Memory);
    this.#afterTurn();
  }

  // ---- Input ---------------------------------------------------------------------------------

  /** Bytes arrived in `bytes[0, end)`: decode and deliver, then flush the replies at once. */
  input(bytes: Buffer, end: number): void {
    const inbound = this.#inbound;
    if (inbound.end !== null) return;
    this.#inTurn = true;
    inbound.read(bytes, end);
    // Slowloris defence: an unfinished frame must make progress (a frame completed, or a new
    // unfinished one started) within partialFrameTimeoutMs.
    const unfinished = inbound.unfinishedBytes > 0;
    this.#deadlines.read(unfinished, inbound.deliveredThisRead);
    this.#inTurn = false;
    this.#afterTurn();
    this.#host.grew?.();
  }

  /** A frame was decoded: the handler gets it. */
  deliver(frame: P['in']): void | Promise<void> {
    // Every path that delivers flushes when it is done: replies need no tick of their own.
    const outer = this.#inTurn;
    this.#inTurn = true;
    try {
      return this.#handler.onFrame(this.context, frame);
    } catch (error) {
      this.fail(handlerFailed(error, 'onFrame threw'));
      return undefined;
    } finally {
      this.#inTurn = outer;
    }
  }

  /** Starts a turn that calls the handler; `#leaveTurn` flushes what it queued. */
  #enterTurn(): boolean {
    const outer = this.#inTurn;
    this.#inTurn = true;
    return outer;
  }

  #leaveTurn(outer: boolean): void {
    this.#inTurn = outer;
    if (!outer && this.#outbound.flushScheduled) this.#outbound.flush();
  }

  resumed(): void {
    this.#afterTurn();
  }

  pauseInput(): void {
    this.#stream.pause();
  }

  resumeInput(): void {
    this.#stream.resume();
  }

  #resumeFor(reason: number): void {
    if (this.#inbound.resumeFor(reason)) this.#deadlines.readingResumed();
  }

  /**
   * The end of every turn of the engine's: flush the replies, finish the input if it ended,
   * and close once both sides are done.
   */
  #afterTurn(): void {
    const outbound = this.#outbound;
    if (outbound.flushScheduled) outbound.flush();
    const inbound = this.#inbound;
    if (inbound.end === null) return;
    if (!inbound.finished) {
      const finished = inbound.pause === 0 && inbound.finish();
      // decodeEof's frames may have been answered.
      if (outbound.flushScheduled) outbound.flush();
      if (!finished) return;
    }
    if (inbound.inFlight > 0) return;
    if (this.#error !== undefined) this.#reportError(this.#error);
    if (inbound.end === 'eof' && this.#error === undefined && !this.#endReported) {
      this.#endReported = true;
      this.#call('onEnd');
    }
    if (inbound.end === 'eof' && this.#outbound.open && !this.#host.settings.allowHalfOpen) {
      this.#setReason('remote');
      this.#outbound.end();
    }
    this.#maybeFinish();
  }

  /** The stream's 'end': the peer's FIN. */
  streamEnded(): void {
    this.#inbound.ended('eof');
    this.#afterTurn();
  }

  /** The stream's 'error'. */
  streamFailed(error: Error): void {
    if (this.#error === undefined) {
      this.#error = new ConnectionError(
        ErrorCode.ConnectionReset,
        `stream error: ${error.message}`,
        {
          cause: error,
        },
      );
    }
    this.#setReason('error');
    this.#inbound.ended('broken');
    this.#outbound.shut();
  }

  /** The stream's 'close'. */
  streamClosed(): void {
    this.#socketClosed = true;
    this.#inbound.ended('broken');
    this.#inbound.pause &= ~Pause.WriteBlocked; // nothing will drain any more
    // Write callbacks of a destroyed socket run before 'close'; whatever is still listed was
    // never acknowledged, and the socket holds no reference to it any more.
    this.#outbound.drop();
    if (!this.#ready) this.start();
    this.#afterTurn();
  }

  // ---- What the output side says --------------------------------------------------------------

  blocked(): void {
    if (this.#streamSettings.pauseWhenWriteBlocked) this.#inbound.pauseFor(Pause.WriteBlocked);
  }

  unblocked(): void {
    // The output side flushes right after this: frames delivered now need no tick of their own.
    const outer = this.#enterTurn();
    this.#resumeFor(Pause.WriteBlocked);
    this.#inTurn = outer;
  }

  written(sent: boolean): void {
    if (sent) this.#deadlines.wrote();
    if (this.#inbound.pause === 0) this.#afterTurn();
  }

  get inTurn(): boolean {
    return this.#inTurn;
  }

  finSent(): void {
    this.#deadlines.armLinger();
  }

  overHardLimit(): void {
    if (this.#slowConsumer) return;
    this.#slowConsumer = true;
    this.#outbound.shut();
    // On the next tick, not inside the caller's `send`.
    process.nextTick(failSlowConsumer, this);
  }

  overSoftLimit(): void {
    this.#outbound.softSince = this.#deadlines.overSoftLimit();
  }

  // ---- What the deadlines read and do ---------------------------------------------------------

  get reading(): boolean {
    return this.#inbound.end === null;
  }

  get inputStopped(): boolean {
    return this.#inbound.end === 'stopped';
  }

  get readingHeld(): boolean {
    return this.#inbound.pause !== 0;
  }

  get framesReceived(): number {
    return this.#inbound.framesReceived;
  }

  get unfinishedBytes(): number {
    return this.#inbound.unfinishedBytes;
  }

  get softSince(): number {
    return this.#outbound.softSince;
  }

  timeout(value: P['timeout']): void {
    const onTimeout = this.#handler.onTimeout;
    if (onTimeout === undefined || this.closed) return;
    const outer = this.#enterTurn();
    try {
      onTimeout.call(this.#handler, this.context, value);
    } catch (error) {
      this.fail(handlerFailed(error, 'onTimeout threw'));
    }
    this.#leaveTurn(outer);
  }

  /** Closes a stream whose peer does not read: no flush (it would not drain), unsent reported. */
  slowConsumer(): void {
    if (this.#socketClosed) return;
    const settings = this.#host.settings;
    const queued = this.#outbound.queuedBytes;
    this.#fatal(
      new ConnectionError(
        ErrorCode.SlowConsumer,
        queued > settings.slowConsumerHardLimit
          ? `peer is not reading: ${queued} bytes queued exceeds slowConsumerHardLimit ${settings.slowConsumerHardLimit}`
          : `peer is not reading: queued output above slowConsumerSoftLimit ${settings.slowConsumerSoftLimit} for ${settings.slowConsumerSoftLimitMs} ms`,
      ),
    );
  }

  lingerEnded(): void {
    this.#destroy();
  }

  flushStalled(): void {
    if (this.#socketClosed) return;
    this.#fatal(
      new ConnectionError(
        ErrorCode.CloseTimeout,
        `closing: no write completed for closeTimeoutMs ${this.#host.settings.closeTimeoutMs} with ${this.#outbound.queuedBytes} bytes still queued`,
      ),
    );
  }

  // ---- Lifecycle -----------------------------------------------------------------------------

  #setReason(reason: CloseReason): void {
    if (this.#reason === null) this.#reason = reason;
  }

  /** Stops reading, flushes what is queued, then our FIN; the close clocks watch the rest. */
  #closeGracefully(): void {
    this.#inbound.stop();
    this.#outbound.end();
    if (!this.#shuttingDown && this.#outbound.pending) this.#deadlines.flushing();
    this.#afterTurn();
  }

  /** An error that ends the stream: reported once, input stopped, output flushed then closed. */
  fail(error: MaiError): void {
    if (this.#error === undefined) this.#error = error;
    this.#setReason('error');
    this.#reportError(error);
    if (this.#inbound.end !== 'stopped') this.#closeGracefully();
  }

  /** An error after which nothing more can leave: destroy now, unsent reported. */
  #fatal(error: MaiError): void {
    if (this.#error === undefined) this.#error = error;
    this.#setReason('error');
    this.#inbound.stop();
    this.#destroy();
  }

  #reportError(error: MaiError): void {
    if (this.#errorReported || this.#closedCalled) return;
    this.#errorReported = true;
    if (this.#error === undefined) this.#error = error;
    const onError = this.#handler.onError;
    if (onError === undefined) return;
    const outer = this.#enterTurn();
    try {
      onError.call(this.#handler, this.context, error);
    } catch (thrown) {
      this.#host.handlerThrew(thrown);
    }
    this.#leaveTurn(outer);
  }

  /** Calls a handler callback that may fail the stream. Returns false if it threw. */
  #call(name: 'onReady' | 'onShutdown' | 'onEnd'): boolean {
    const callback = this.#handler[name];
    if (callback === undefined) return true;
    const outer = this.#enterTurn();
    try {
      callback.call(this.#handler, this.context);
      return true;
    } catch (error) {
      this.fail(handlerFailed(error, `${name} threw`));
      return false;
    } finally {
      this.#leaveTurn(outer);
    }
  }

  /** Destroys the stream now; everything not handed to the kernel is reported unsent. */
  #destroy(): void {
    this.#outbound.settleInFlight();
    this.#outbound.drop();
    this.#stream.destroy();
  }

  /** onClosed, once the socket is closed, the input is over and no handler is pending. */
  #maybeFinish(): void {
    const inbound = this.#inbound;
    if (this.#closedCalled || !this.#socketClosed || !inbound.finished || inbound.inFlight > 0) {
      return;
    }
    if (this.#error !== undefined) this.#reportError(this.#error);
    this.#closedCalled = true;
    this.#deadlines.stopAll();
    if (!this.#readsInto) this.#stream.off('data', onData);
    const outbound = this.#outbound;
    const info: CloseInfo = {
      reason: this.#reason ?? 'remote',
      error: this.#error,
      framesReceived: inbound.framesReceived,
      framesSent: outbound.framesSent,
      framesUnsent: outbound.framesUnsent,
      bytesUnsent: outbound.bytesUnsent,
      partialBytes: inbound.partialBytes,
    };
    this.#host.forget(this, info);
    const onClosed = this.#handler.onClosed;
    if (onClosed === undefined) return;
    try {
      onClosed.call(this.#handler, this.context, info);
    } catch (error) {
      this.#host.handlerThrew(error);
    }
  }
}

/**
 * A throw (or rejection) out of a handler callback: always `MAI_HANDLER_FAILED`, whatever was
 * thrown, with the thrown value as `cause` — also when it is a MaiError (an `EncodeError` from a
 * `ctx.send` the handler did not catch): the code says where the stream failed, the cause what.
 */
export function handlerFailed(error: unknown, context: string): MaiError {
  const detail = error instanceof Error ? error.message : String(error);
  return new MaiError(ErrorCode.HandlerFailed, `${context}: ${detail}`, { cause: error });
}

const kConnection = Symbol('mai.connection');

type StreamOfConnection = Duplex & { [kConnection]: Connection<AnyProtocol> };

function onReadInto(this: Socket, length: number, buffer: Buffer): void {
  (this as unknown as StreamOfConnection)[kConnection].input(buffer, length);
}

function onData(this: Duplex, chunk: Buffer): void {
  (this as StreamOfConnection)[kConnection].input(chunk, chunk.length);
}

function onStreamEnd(this: Duplex): void {
  (this as StreamOfConnection)[kConnection].streamEnded();
}

function onStreamError(this: Duplex, error: Error): void {
  (this as StreamOfConnection)[kConnection].streamFailed(error);
}

function onStreamClose(this: Duplex): void {
  (this as StreamOfConnection)[kConnection].streamClosed();
}

function failSlowConsumer(connection: Connection<AnyProtocol>): void {
  connection.slowConsumer();
}

function startConnection(connection: Connection<AnyProtocol>): void {
  connection.start();
}

function describeAddress(
  address: string | undefined,
  port: number | undefined,
): string | undefined {
  if (address === undefined || address === '') return undefined;
  if (port === undefined) return address;
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
