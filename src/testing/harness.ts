import { AssertionError } from 'node:assert';
import type { Codec, CodecFactory } from '../codec/codec.js';
import type {
  AnyProtocol,
  CloseInfo,
  CloseReason,
  Context,
  Handler,
  TimeoutHandle,
  Token,
} from '../engine/protocol.js';
import { asMaiError, ErrorCode, type MaiError } from '../errors.js';
import { FrameEncoder } from './frame-encoder.js';
import { StreamDecoder } from './stream-decoder.js';

/** Options of a `CodecHarness`. */
export interface CodecHarnessOptions<P extends AnyProtocol> {
  /** The codec of the stream, or a factory called once. */
  codec: Codec<P['in'], P['out']> | CodecFactory<P['in'], P['out']>;
  handler: Handler<P>;
  /** The initial `ctx.session`. */
  session?: P['session'];
  /** The engine's `maxFrameLength` to emulate. Default 16 MiB. */
  maxFrameLength?: number;
}

/** One handler callback the harness made, in order. */
export type HarnessCall<P extends AnyProtocol> =
  | { name: 'onReady' }
  | { name: 'onFrame'; frame: P['in'] }
  | { name: 'onTimeout'; value: P['timeout'] }
  | { name: 'onError'; error: MaiError }
  | { name: 'onClosed'; info: CloseInfo };

/** Stops `advance` from spinning when a handler keeps re-arming zero-length timeouts. */
const MAX_TIMEOUTS_PER_ADVANCE = 100_000;

/**
 * Drives a Codec and a Handler in memory, without sockets or real time, like Netty's
 * `EmbeddedChannel`: bytes go in with `writeInbound`, frames reach the handler through the
 * codec exactly as the engine would deliver them, and what the handler sends comes out of
 * `readOutbound` as bytes. The harness is the handler's `Context`.
 *
 * What it keeps of the engine: the decode loop and its errors (see `StreamDecoder`), the encode
 * path and its errors (`FrameEncoder`), the callback order (`onReady` → `onFrame`/`onTimeout` →
 * `onError` at most once → `onClosed` exactly once), and the close rules below. What it leaves
 * out: back-pressure (`writable` is true while the output is open), the per-tick frame budget,
 * `maxFramesInFlight`, and the linger after `close()` (the stream closes at once).
 *
 * | event                      | input            | output            | closes when            |
 * |----------------------------|------------------|-------------------|------------------------|
 * | `endInbound()` (peer FIN)  | decodeEof, ends  | ended (`remote`)  | now                    |
 * | `end()`                    | still open       | ended (`local`)   | after `endInbound()`   |
 * | `close()`                  | stopped          | ended (`local`)   | now                    |
 * | `abort()`                  | stopped          | dropped           | now (`aborted`)        |
 * | decode or handler error    | stopped          | ended (`error`)   | now, after `onError`   |
 *
 * `onClosed` waits for pending `onFrame` Promises; `await harness.settle()` lets them finish.
 * Timeouts run on a fake clock moved by `advance(ms)`.
 *
 * @example
 * ```ts
 * const harness = new CodecHarness<Protocol<{ in: string }>>({
 *   codec: () => new LinesCodec(),
 *   handler: { onFrame: (ctx, line) => void ctx.send(line.toUpperCase()) },
 * });
 * harness.writeInbound(Buffer.from('hi\nthere\n'));
 * harness.readOutbound().toString(); // 'HI\nTHERE\n'
 * harness.endInbound();
 * harness.calls.at(-1); // { name: 'onClosed', info: { reason: 'remote', ... } }
 * ```
 */
export class CodecHarness<P extends AnyProtocol> implements Context<P> {
  readonly token = 1 as Token;
  readonly remoteAddress: string | undefined = undefined;
  readonly localAddress: string | undefined = undefined;
  session: P['session'];
  /** Every handler callback made, in order. */
  readonly calls: Array<HarnessCall<P>> = [];

  readonly #handler: Handler<P>;
  readonly #decoder: StreamDecoder<P['in']>;
  readonly #encoder: FrameEncoder<P['out']>;
  #inputDone = false;
  #outputOpen = true;
  #closedCalled = false;
  #errorReported = false;
  #error: MaiError | undefined = undefined;
  #reason: CloseReason | null = null;
  #inFlight = new Set<Promise<void>>();
  #framesReceived = 0;
  #framesSent = 0;
  #partialBytes = 0;
  #now = 0;
  #nextTimeout = 1;
  #timeouts = new Map<number, { due: number; value: P['timeout'] }>();

  constructor(options: CodecHarnessOptions<P>) {
    const codec = typeof options.codec === 'function' ? options.codec() : options.codec;
    const limits =
      options.maxFrameLength === undefined ? {} : { maxFrameLength: options.maxFrameLength };
    this.#handler = options.handler;
    this.#decoder = new StreamDecoder(codec, limits);
    this.#encoder = new FrameEncoder(codec, limits);
    this.session = options.session as P['session'];
    this.calls.push({ name: 'onReady' });
    const onReady = this.#handler.onReady;
    if (onReady !== undefined) {
      try {
        onReady.call(this.#handler, this);
      } catch (error) {
        this.#fail(asMaiError(error, ErrorCode.HandlerFailed, 'onReady threw'));
      }
    }
  }

  // ---- Driving the stream ----------------------------------------------------------------------

  /** Bytes from the peer. Returns false (and drops them) once the input is over. */
  writeInbound(bytes: Uint8Array): boolean {
    if (this.#inputDone) return false;
    const error = this.#decoder.push(bytes, this.#deliver);
    if (error !== undefined) this.#fail(error);
    return true;
  }

  /** The peer ended its side (FIN): the leftover goes to `decodeEof`, then the stream closes. */
  endInbound(): void {
    if (this.#inputDone) return;
    const error = this.#decoder.end(this.#deliver);
    if (error !== undefined) {
      this.#fail(error);
      return;
    }
    this.#inputDone = true;
    if (this.#outputOpen) {
      this.#setReason('remote');
      this.#outputOpen = false;
    }
    this.#maybeFinish();
  }

  /** Everything the handler sent since the last call, as bytes on the wire. */
  readOutbound(): Buffer {
    return this.#encoder.take();
  }

  /** Moves the fake clock forward, firing due timeouts in order. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (let fired = 0; ; fired++) {
      if (fired >= MAX_TIMEOUTS_PER_ADVANCE) {
        throw new AssertionError({ message: `advance(${ms}) fired more than ${fired} timeouts` });
      }
      let nextId = -1;
      let nextDue = Number.POSITIVE_INFINITY;
      for (const [id, timeout] of this.#timeouts) {
        if (timeout.due < nextDue) {
          nextId = id;
          nextDue = timeout.due;
        }
      }
      if (nextId === -1 || nextDue > target) break;
      const timeout = this.#timeouts.get(nextId) as { due: number; value: P['timeout'] };
      this.#timeouts.delete(nextId);
      this.#now = nextDue;
      this.#fireTimeout(timeout.value);
    }
    this.#now = target;
  }

  /** Waits until no `onFrame` Promise is pending (and `onClosed` ran, if it was waiting). */
  async settle(): Promise<void> {
    // Each pass awaits the Promises pending now; handlers may start more while we wait.
    for (let pass = 0; this.#inFlight.size > 0; pass++) {
      if (pass >= 1_000) throw new AssertionError({ message: 'onFrame Promises keep coming' });
      await Promise.allSettled([...this.#inFlight]);
    }
  }

  /** The fake clock, in milliseconds since the harness was made. */
  get now(): number {
    return this.#now;
  }

  /** What `onClosed` received, once it ran. */
  get closeInfo(): CloseInfo | undefined {
    for (const call of this.calls) if (call.name === 'onClosed') return call.info;
    return undefined;
  }

  /** Frames the handler called back for, in order. */
  get frames(): Array<P['in']> {
    const frames: Array<P['in']> = [];
    for (const call of this.calls) if (call.name === 'onFrame') frames.push(call.frame);
    return frames;
  }

  // ---- Context -----------------------------------------------------------------------------------

  get writable(): boolean {
    return this.#outputOpen;
  }

  /** The harness hands output over at once: nothing is ever queued. */
  get queuedBytes(): number {
    return 0;
  }

  get closed(): boolean {
    return this.#closedCalled || (this.#inputDone && !this.#outputOpen);
  }

  send(frame: P['out']): boolean {
    if (!this.#outputOpen) return false;
    this.#encoder.encode(frame);
    this.#framesSent++;
    return true;
  }

  /** The harness has no socket to fill: output never waits, so this resolves at once. */
  drain(): Promise<boolean> {
    return Promise.resolve(!this.closed);
  }

  close(): void {
    this.#setReason('local');
    this.#stopInput();
    this.#outputOpen = false;
    this.#maybeFinish();
  }

  end(): void {
    this.#setReason('local');
    this.#outputOpen = false;
    this.#maybeFinish();
  }

  abort(): void {
    this.#setReason('aborted');
    this.#stopInput();
    this.#outputOpen = false;
    this.#maybeFinish();
  }

  setTimeout(value: P['timeout'], ms: number): TimeoutHandle {
    if (this.closed) return 0 as TimeoutHandle;
    const id = this.#nextTimeout++;
    this.#timeouts.set(id, { due: this.#now + ms, value });
    return id as TimeoutHandle;
  }

  clearTimeout(handle: TimeoutHandle): boolean {
    return this.#timeouts.delete(handle);
  }

  // ---- Internals -------------------------------------------------------------------------------

  #deliver = (frame: P['in']): void => {
    this.#framesReceived++;
    this.calls.push({ name: 'onFrame', frame });
    let result: void | Promise<void>;
    try {
      result = this.#handler.onFrame(this, frame);
    } catch (error) {
      this.#fail(asMaiError(error, ErrorCode.HandlerFailed, 'onFrame threw'));
      return;
    }
    if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
      const pending: Promise<void> = Promise.resolve(result).then(
        () => this.#settled(pending),
        (error: unknown) => {
          this.#fail(asMaiError(error, ErrorCode.HandlerFailed, 'onFrame rejected'));
          this.#settled(pending);
        },
      );
      this.#inFlight.add(pending);
    }
  };

  #settled(pending: Promise<void>): void {
    this.#inFlight.delete(pending);
    this.#maybeFinish();
  }

  #fireTimeout(value: P['timeout']): void {
    if (this.closed) return;
    this.calls.push({ name: 'onTimeout', value });
    const onTimeout = this.#handler.onTimeout;
    if (onTimeout === undefined) return;
    try {
      onTimeout.call(this.#handler, this, value);
    } catch (error) {
      this.#fail(asMaiError(error, ErrorCode.HandlerFailed, 'onTimeout threw'));
    }
  }

  #setReason(reason: CloseReason): void {
    if (this.#reason === null) this.#reason = reason;
  }

  #stopInput(): void {
    if (this.#inputDone) return;
    this.#inputDone = true;
    this.#partialBytes += this.#decoder.buffered;
    this.#decoder.stop();
  }

  /** An error ends the stream: reported once (send still works), input stopped, output ended. */
  #fail(error: MaiError): void {
    if (this.#error === undefined) this.#error = error;
    this.#setReason('error');
    if (!this.#errorReported && !this.#closedCalled) {
      this.#errorReported = true;
      this.calls.push({ name: 'onError', error });
      const onError = this.#handler.onError;
      if (onError !== undefined) {
        try {
          onError.call(this.#handler, this, error);
        } catch (thrown) {
          // The engine hands this to onHandlerError; a test wants to see it.
          throw new AssertionError({ message: `onError threw: ${String(thrown)}` });
        }
      }
    }
    this.#stopInput();
    this.#outputOpen = false;
    this.#maybeFinish();
  }

  #maybeFinish(): void {
    if (this.#closedCalled || !this.#inputDone || this.#outputOpen || this.#inFlight.size > 0) {
      return;
    }
    this.#closedCalled = true;
    this.#timeouts.clear();
    const info: CloseInfo = {
      reason: this.#reason ?? 'remote',
      error: this.#error,
      framesReceived: this.#framesReceived,
      framesSent: this.#framesSent,
      framesUnsent: 0,
      bytesUnsent: 0,
      partialBytes: this.#partialBytes,
    };
    this.calls.push({ name: 'onClosed', info });
    this.#handler.onClosed?.(this, info);
  }
}
