import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type BufferPool, CANARY_BYTE, isEngineMemory } from '../buffer/buffer-pool.js';
import {
  type Codec,
  checkBytesRead,
  Discarded,
  IncompleteFrame,
  InsufficientBuffer,
} from '../codec/codec.js';
import {
  asMaiError,
  CodecContractError,
  ConnectionError,
  EncodeError,
  ErrorCode,
  FrameTooLongError,
  type MaiError,
  TruncatedFrameError,
} from '../errors.js';
import type {
  AnyProtocol,
  CloseInfo,
  CloseReason,
  Context,
  Handler,
  TimeoutHandle,
  Token,
} from './protocol.js';
import { readInto } from '../transport/read-into.js';
import type { IdleTimeouts, Settings } from './settings.js';
import type { TimerQueue } from './timers.js';

/** What a connection needs from its engine. */
export interface ConnectionHost<P extends AnyProtocol> {
  readonly pool: BufferPool;
  readonly settings: Settings;
  readonly handler: Handler<P>;
  readonly timers: TimerQueue;
  /** The connection is done; called just before `onClosed`. */
  forget(connection: Connection<P>, info: CloseInfo): void;
  /** `onError` or `onClosed` threw: nobody else to tell. */
  handlerThrew(error: unknown): void;
  readonly idleTimeouts: IdleTimeouts<P['timeout']> | undefined;
  /** With a memory budget: called after a read grew the pool, and after buffers were released. */
  readonly budgeted: boolean;
  grew(): void;
  shrank(): void;
}

/** Per-stream settings resolved for the stream's role (timeouts: 0 = off). */
export interface StreamTimeouts {
  partialFrameMs: number;
  firstFrameMs: number;
  pauseWhenWriteBlocked: boolean;
}

/** Why reading is paused: a bit each, reading resumes when none is left. */
const Pause = {
  /** Queued output is above the write high-water mark: stop taking work until it drains. */
  WriteBlocked: 1,
  /** `maxFramesInFlight` onFrame Promises are pending. */
  InFlight: 2,
  /** `maxFramesPerTick` frames were decoded in this read: yield to other streams. */
  Budget: 4,
  /** The engine's memory budget is exceeded and this stream is among the heaviest. */
  Memory: 8,
} as const;

/**
 * How the input side ends. `null` while reading.
 *
 * | input end | set by                          | remaining complete frames | leftover bytes          |
 * |-----------|---------------------------------|---------------------------|-------------------------|
 * | eof       | peer FIN ('end')                | delivered                 | decodeEof, else error   |
 * | broken    | socket error or unexpected close| delivered                 | reported as partial     |
 * | stopped   | close(), abort(), an error      | discarded as partial      | reported as partial     |
 */
type InputEnd = 'eof' | 'broken' | 'stopped' | null;

/** One in-flight write: what the socket holds until its callback. */
interface PendingWrite {
  buffer: Buffer;
  bytes: number;
  frames: number;
  /** A frame's body sent by reference (`sendByReferenceFrom`): the caller's, not the pool's. */
  byReference: boolean;
}

/** What `#encode` returns when it did the frame's accounting itself (a body by reference). */
const ACCOUNTED = -1;

/**
 * The per-stream state machine: reads bytes into pooled buffers, runs the codec's decode loop,
 * delivers frames, encodes sends into pooled write buffers, flushes them once per tick, and
 * sequences the close so that `onClosed` comes exactly once, last.
 *
 * A Connection is the `Context` handlers receive.
 */
export class Connection<P extends AnyProtocol> implements Context<P> {
  readonly token: Token;
  readonly remoteAddress: string | undefined;
  readonly localAddress: string | undefined;
  session: P['session'];

  readonly #host: ConnectionHost<P>;
  readonly #stream: Duplex;
  readonly #codec: Codec<P['in'], P['out']>;
  readonly #handler: Handler<P>;
  readonly #pool: BufferPool;
  readonly #maxFrameLength: number;
  readonly #maxFramesPerTick: number;
  readonly #debug: boolean;
  /** `sendByReferenceFrom` (0: every frame is copied). */
  readonly #byReferenceFrom: number;
  /** The codec's frames are views of the input, valid until onFrame returns (borrowsInput). */
  readonly #borrowing: boolean;

  // Input: unconsumed bytes live in #in[#inStart, #inEnd) only while there are any.
  #in: Buffer | null = null;
  #inStart = 0;
  #inEnd = 0;
  #inputEnd: InputEnd = null;
  #inputFinished = false;
  #pause = 0;
  #framesThisRead = 0;
  #inFlight = 0;
  #resumeScheduled = false;
  /** The `'data'` listener, for streams that do not read into the engine's buffer. */
  #onData: ((chunk: Buffer) => void) | null = null;
  #readsInto = false;
  /** A decode loop is running: a resume inside a handler must not start a second one. */
  #decoding = false;
  /** A borrowed frame of #in is with onFrame: releasing #in waits until it returns. */
  #lending = false;
  /** The input buffer released while lent, given back to the pool when onFrame returns. */
  #lentInput: Buffer | null = null;

  // Output: frames are encoded into #out[0, #outEnd); full buffers wait in #sealed; one batch at
  // a time is handed to the stream (#writing) until its callback. Keeping a single batch in
  // flight, rather than letting the stream buffer writes, is what lets the engine know which
  // bytes reached the kernel when the stream dies, and coalesces everything sent meanwhile
  // into the next batch.
  #out: Buffer | null = null;
  #outEnd = 0;
  #outFrames = 0;
  #sealed: PendingWrite[] = [];
  #writing: PendingWrite[] = [];
  #queuedBytes = 0;
  #flushScheduled = false;
  #outputOpen = true;
  #finPending = false;

  // Lifecycle.
  #ready = false;
  #socketClosed = false;
  #closedCalled = false;
  #errorReported = false;
  #error: MaiError | undefined = undefined;
  #reason: CloseReason | null = null;
  /** The handler's pending timeouts (made on first use, like the fields below). */
  #timeouts: Set<number> | null = null;
  #lingerTimer: number | null = null;

  // Watchdog: one timer-queue entry per stream, armed for the earliest of the deadlines below
  // and re-armed when it fires, so activity only updates timestamps (no timer work per read).
  readonly #limits: StreamTimeouts;
  #watchdog = 0;
  #watchdogAt = Number.POSITIVE_INFINITY;
  #openedAt = 0;
  #lastReadAt = 0;
  #lastWriteAt = 0;
  // Idle connections are the common case (RELIABILITY A3 bounds their cost): what only some
  // streams need is made on first use.
  #idleFired: { read: number; write: number; any: number } | null = null;
  /** When the current unfinished frame last made progress (0: no unfinished frame). */
  #partialSince = 0;
  /** When queued output went above the slow-consumer soft limit (0: it is below). */
  #softSince = 0;
  #slowConsumer = false;
  #drainWaiters: ((drained: boolean) => void)[] | null = null;
  #endReported = false;
  // Callbacks made on first use (see #idleFired).
  #onSettled: (() => void) | null = null;
  #onRejected: ((error: unknown) => void) | null = null;
  #onWatchdog: (() => void) | null = null;

  // Accounting for onClosed.
  #framesReceived = 0;
  #framesSent = 0;
  #framesUnsent = 0;
  #bytesUnsent = 0;
  #partialBytes = 0;

  constructor(
    host: ConnectionHost<P>,
    stream: Duplex,
    token: Token,
    codec: Codec<P['in'], P['out']>,
    session: P['session'],
    limits: StreamTimeouts,
    paths?: { local?: string; remote?: string },
    readBuffer?: Buffer,
  ) {
    this.#limits = limits;
    this.#host = host;
    this.#stream = stream;
    this.token = token;
    this.#codec = codec;
    this.#handler = host.handler;
    this.#pool = host.pool;
    this.#maxFrameLength = host.settings.maxFrameLength;
    this.#maxFramesPerTick = host.settings.maxFramesPerTick;
    this.#debug = host.settings.debugBuffers;
    this.#byReferenceFrom = host.settings.sendByReferenceFrom;
    this.#borrowing = codec.borrowsInput === true;
    this.session = session;
    const socket = stream as Partial<Socket>;
    // Unix sockets have no address of their own in Node: the engine knows the path.
    this.remoteAddress = paths?.remote ?? describeAddress(socket.remoteAddress, socket.remotePort);
    this.localAddress = paths?.local ?? describeAddress(socket.localAddress, socket.localPort);
    stream.on('error', this.#onStreamError);
    stream.on('end', this.#onStreamEnd);
    stream.on('close', this.#onStreamClose);
    // See #settleInFlight: the one moment a destroyed socket can still say what it wrote.
    const destroyStream = stream._destroy;
    stream._destroy = (error, callback) => {
      this.#settleInFlight();
      destroyStream.call(stream, error, callback);
    };
    // Sockets the engine made read into its one shared buffer; other streams emit 'data'.
    if (readBuffer !== undefined && stream instanceof Socket) {
      this.#readsInto = readInto(stream, readBuffer, (length: number, buffer: Buffer): void =>
        this.#onInput(buffer, length),
      );
    }
    if (!this.#readsInto)
      this.#onData = (chunk: Buffer): void => this.#onInput(chunk, chunk.length);
    process.nextTick(startConnection, this);
  }

  // ---- Context -------------------------------------------------------------------------------

  get writable(): boolean {
    return this.#outputOpen && this.#queuedBytes < this.#host.settings.writeHighWaterMark;
  }

  get closed(): boolean {
    return this.#socketClosed || this.#closedCalled;
  }

  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  send(frame: P['out']): boolean {
    if (!this.#outputOpen) return false;
    const written = this.#encode(frame);
    // A frame that encodes to no bytes has nothing to wait for: it is sent as soon as queued.
    if (written === 0) this.#framesSent++;
    else if (written !== ACCOUNTED) this.#outFrames++;
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      process.nextTick(flushConnection, this);
    }
    return this.#queuedBytes < this.#host.settings.writeHighWaterMark;
  }

  drain(): Promise<boolean> {
    if (this.closed || !this.#outputOpen) return Promise.resolve(false);
    if (this.#queuedBytes < this.#host.settings.writeHighWaterMark) return Promise.resolve(true);
    return new Promise((resolve) => {
      this.#drainWaiters ??= [];
      this.#drainWaiters.push(resolve);
    });
  }

  close(): void {
    this.#setReason('local');
    this.#stopInput();
    this.#endOutput();
    this.#armLinger();
  }

  end(): void {
    this.#setReason('local');
    this.#endOutput();
  }

  abort(): void {
    this.#setReason('aborted');
    this.#stopInput();
    this.#destroy();
  }

  setTimeout(value: P['timeout'], ms: number): TimeoutHandle {
    if (this.closed) return 0 as TimeoutHandle;
    const id = this.#host.timers.add(ms, () => this.#fireTimeout(id, value));
    this.#timeouts ??= new Set();
    this.#timeouts.add(id);
    return id as TimeoutHandle;
  }

  clearTimeout(handle: TimeoutHandle): boolean {
    if (this.#timeouts === null || !this.#timeouts.delete(handle)) return false;
    return this.#host.timers.cancel(handle);
  }

  // ---- Engine-facing -------------------------------------------------------------------------

  /** Called once, on the tick after the connection was created. */
  start(): void {
    if (this.#ready) return;
    this.#ready = true;
    const now = Date.now();
    this.#openedAt = now;
    this.#lastReadAt = now;
    this.#lastWriteAt = now;
    // onReady comes first even for a stream that died before its first tick.
    if (!this.#call('onReady')) return;
    if (this.#inputEnd === null && !this.#socketClosed) {
      // Reading starts even if onReady already queued past the high-water mark: input that
      // arrives meanwhile pauses the socket (#onInput), and until then a peer's reset is seen
      // by the read, which lets the engine count exactly what reached the kernel.
      if (this.#readsInto) this.#stream.resume();
      else this.#stream.on('data', this.#onData as (chunk: Buffer) => void);
      this.#watch();
    }
  }

  /**
   * Hands what the handler queued since the last flush to the stream: one write, or one writev
   * for several buffers. If a batch is still in flight, the new frames wait and leave together
   * when it completes.
   */
  flush(): void {
    this.#flushScheduled = false;
    if (this.#out !== null && this.#outEnd > 0) this.#seal();
    if (this.#writing.length > 0 || this.#socketClosed) return;
    const batch = this.#sealed;
    if (batch.length > 0) {
      // Swap the lists: the (empty) in-flight list collects the next batch.
      this.#sealed = this.#writing;
      this.#writing = batch;
      const stream = this.#stream;
      const last = batch.length - 1;
      if (last > 0) stream.cork();
      for (let i = 0; i <= last; i++) {
        const write = batch[i] as PendingWrite;
        const view =
          write.bytes === write.buffer.length
            ? write.buffer
            : write.buffer.subarray(0, write.bytes);
        // One callback for the batch: the stream completes writes in order.
        if (i === last) stream.write(view, this.#onWritten);
        else stream.write(view);
      }
      if (last > 0) stream.uncork();
    } else if (this.#finPending) {
      this.#finPending = false;
      this.#stream.end();
    }
  }

  /** Starts the graceful close of `engine.shutdown()`: a goodbye hook, then `close()`. */
  shutdown(): void {
    if (this.closed) return;
    this.#setReason('shutdown');
    if (this.#ready && this.#inputEnd === null) this.#call('onShutdown');
    this.close();
  }

  /** Closes now because the shutdown deadline passed. */
  forceClose(error: MaiError): void {
    // Stop waiting for pending handlers: a late settle finds inFlight at 0 and is ignored.
    this.#inFlight = 0;
    if (!this.#socketClosed) this.#reportError(error);
    this.#stopInput();
    if (this.#socketClosed) this.#maybeFinish();
    else this.#destroy();
  }

  /** Whether `send` would queue a frame (the output side is still open). */
  get accepting(): boolean {
    return this.#outputOpen;
  }

  // ---- Input ---------------------------------------------------------------------------------

  /**
   * Input arrived in `bytes[0, end)`. The bytes may be the engine's shared read buffer, which
   * the next read overwrites: whatever is not decoded now is copied out before returning.
   */
  #onInput(bytes: Buffer, end: number): void {
    if (this.#inputEnd !== null) return;
    this.#framesThisRead = 0;
    const now = Date.now();
    this.#lastReadAt = now;
    const from = this.#in !== null && this.#pause === 0 ? this.#completeKept(bytes, end) : 0;
    if (this.#in === null && this.#pause === 0) {
      // Fast path: decode straight from the socket's chunk; copy only an unfinished tail.
      const stop = this.#decodeLoop(bytes, from, end);
      if (stop < end) {
        if (this.#inputEnd === null) this.#keep(bytes, stop, end);
        else this.#partialBytes += end - stop;
      }
    } else if (this.#inputEnd === null) {
      this.#append(bytes, from, end);
      this.#decodeKept();
      // Input while reading is held (a stream that started paused): keep it, read no more.
      if (this.#pause !== 0) this.#stream.pause();
    } else {
      this.#partialBytes += end - from; // the stream stopped from the completed frame's handler
    }
    // Slowloris defence: an unfinished frame must make progress (a frame completed, or a new
    // unfinished one started) within partialFrameTimeoutMs.
    if (this.#in === null) {
      this.#partialSince = 0;
    } else if (this.#framesThisRead > 0 || this.#partialSince === 0) {
      this.#partialSince = now;
      if (this.#limits.partialFrameMs > 0) this.#armWatchdog(now + this.#limits.partialFrameMs);
    }
    this.#afterInput();
    if (this.#host.budgeted) this.#host.grew();
  }

  /**
   * Decodes frames from `bytes[start, end)` until the codec needs more bytes, reading is paused,
   * or the input stops. Returns where it stopped.
   */
  #decodeLoop(bytes: Buffer, start: number, end: number): number {
    this.#decoding = true;
    const stop = this.#decodeFrames(bytes, start, end);
    this.#decoding = false;
    return stop;
  }

  #decodeFrames(bytes: Buffer, start: number, end: number): number {
    const codec = this.#codec;
    while (start < end && this.#pause === 0 && this.#inputEnd !== 'stopped') {
      if (this.#framesThisRead >= this.#maxFramesPerTick) {
        this.#pauseFor(Pause.Budget);
        this.#scheduleResume();
        break;
      }
      let result: ReturnType<typeof codec.decode>;
      try {
        result = codec.decode(bytes, start, end);
      } catch (error) {
        this.#fail(asMaiError(error, ErrorCode.CodecThrew, 'codec.decode threw'));
        return start;
      }
      if (result === IncompleteFrame) {
        if (end - start > this.#maxFrameLength) {
          this.#fail(new FrameTooLongError(end - start, this.#maxFrameLength, 'incomplete frame'));
        }
        return start;
      }
      const bytesRead = result.bytesRead;
      const invalid = checkBytesRead(bytesRead, end - start, 'decode');
      if (invalid !== undefined) {
        this.#fail(invalid);
        return start;
      }
      if (bytesRead > this.#maxFrameLength) {
        this.#fail(new FrameTooLongError(bytesRead, this.#maxFrameLength));
        return start;
      }
      if (this.#borrowing) {
        const frame = result.frame;
        start += bytesRead;
        if ((frame as unknown) !== Discarded) this.#lend(frame, bytes, start - bytesRead, start);
        continue;
      }
      if (this.#debug) {
        if (keepsView(result.frame, bytes.buffer, 3)) {
          this.#fail(
            new CodecContractError(
              'codec.decode returned a frame that keeps a view of the read buffer (debugBuffers); copy the bytes',
            ),
          );
          return start;
        }
        // Whatever the frame shares with the read buffer now shows the canary.
        bytes.fill(CANARY_BYTE, start, start + bytesRead);
      }
      start += bytesRead;
      const frame = result.frame;
      if ((frame as unknown) !== Discarded) this.#deliver(frame);
    }
    return start;
  }

  /**
   * Delivers a frame that views `bytes[from, to)` (a borrowing codec): the bytes stay untouched
   * until onFrame returns, even if the stream closes meanwhile; in debug mode they are then
   * overwritten with the canary, so a frame kept past onFrame shows it.
   */
  #lend(frame: P['in'], bytes: Buffer, from: number, to: number): void {
    this.#lending = true;
    this.#deliver(frame);
    this.#lending = false;
    const lent = this.#lentInput;
    if (lent !== null) {
      this.#lentInput = null;
      this.#pool.release(lent);
      if (this.#host.budgeted) this.#host.shrank();
    } else if (this.#debug) {
      bytes.fill(CANARY_BYTE, from, to);
    }
  }

  #deliver(frame: P['in']): void {
    this.#framesReceived++;
    this.#framesThisRead++;
    let result: void | Promise<void>;
    try {
      result = this.#handler.onFrame(this, frame);
    } catch (error) {
      this.#fail(asMaiError(error, ErrorCode.HandlerFailed, 'onFrame threw'));
      return;
    }
    if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
      this.#inFlight++;
      this.#onSettled ??= () => this.#handlerSettled();
      this.#onRejected ??= (error: unknown) => this.#handlerRejected(error);
      result.then(this.#onSettled, this.#onRejected);
      if (this.#inFlight >= this.#host.settings.maxFramesInFlight) this.#pauseFor(Pause.InFlight);
    }
  }

  #handlerSettled(): void {
    if (this.#inFlight === 0) return; // forced close already gave up on it
    this.#inFlight--;
    if (this.#pause & Pause.InFlight && this.#inFlight < this.#host.settings.maxFramesInFlight) {
      this.#resumeFor(Pause.InFlight);
    }
    this.#afterInput();
  }

  #handlerRejected(error: unknown): void {
    this.#fail(asMaiError(error, ErrorCode.HandlerFailed, 'onFrame rejected'));
    this.#handlerSettled();
  }

  /**
   * A frame begun in an earlier read (kept in #in) and finished by this one: when the codec can
   * tell its wire size (`wireLength`), copies only the rest of it next to the kept bytes and
   * decodes it. Returns how many bytes of `bytes` that took, so that what follows is decoded
   * straight from `bytes`; 0 when the codec cannot tell, this read does not finish the frame, or
   * the frame is larger than a pooled buffer (the whole read is then appended, as before).
   */
  #completeKept(bytes: Buffer, end: number): number {
    const codec = this.#codec;
    if (codec.wireLength === undefined) return 0;
    let total: number;
    try {
      total = codec.wireLength(this.#in as Buffer, this.#inStart, this.#inEnd);
    } catch {
      return 0; // decode will say what is wrong with the header
    }
    const held = this.#inEnd - this.#inStart;
    const rest = total - held;
    // Only for frames that fit a standard pooled buffer. Larger ones are copied whole anyway,
    // and appending the whole read keeps their one grown buffer for the next frame, where
    // draining it here would make every frame lease (allocate) a buffer of its own.
    const size = (this.#in as Buffer).length;
    if (!(rest > 0 && rest <= end && held + rest <= size && size <= this.#pool.bufferSize)) {
      return 0;
    }
    this.#append(bytes, 0, rest);
    this.#decodeKept();
    return rest;
  }

  /** Copies an unfinished tail out of a buffer we do not own into a leased one. */
  #keep(chunk: Buffer, from: number, to: number): void {
    const length = to - from;
    const buffer = this.#pool.lease(length);
    chunk.copy(buffer, 0, from, to);
    this.#in = buffer;
    this.#inStart = 0;
    this.#inEnd = length;
  }

  /**
   * Appends `bytes[from, to)` after the kept bytes, compacting or growing the leased buffer as
   * needed.
   */
  #append(bytes: Buffer, from: number, to: number): void {
    const kept = this.#in;
    if (kept === null) {
      this.#keep(bytes, from, to);
      return;
    }
    const length = to - from;
    const held = this.#inEnd - this.#inStart;
    if (this.#inEnd + length > kept.length) {
      if (held + length <= kept.length) {
        kept.copyWithin(0, this.#inStart, this.#inEnd);
      } else {
        // Grow geometrically, but never far past what a frame of maxFrameLength can need.
        const size = Math.max(
          held + length,
          Math.min(kept.length * 2, this.#maxFrameLength + length),
        );
        const grown = this.#pool.lease(size);
        kept.copy(grown, 0, this.#inStart, this.#inEnd);
        this.#pool.release(kept);
        this.#in = grown;
      }
      this.#inStart = 0;
      this.#inEnd = held;
    }
    bytes.copy(this.#in as Buffer, this.#inEnd, from, to);
    this.#inEnd += length;
  }

  #decodeKept(): void {
    const kept = this.#in;
    if (kept === null || this.#pause !== 0 || this.#inputEnd === 'stopped') return;
    // A handler that paused and resumed this stream from onFrame: the running loop goes on.
    if (this.#decoding) return;
    const stop = this.#decodeLoop(kept, this.#inStart, this.#inEnd);
    if (this.#in !== kept) return; // the input stopped during the loop and released it
    this.#inStart = stop;
    if (stop === this.#inEnd) this.#releaseInput();
  }

  #releaseInput(): void {
    const input = this.#in;
    if (input === null) return;
    this.#in = null;
    this.#inStart = 0;
    this.#inEnd = 0;
    // Lent to onFrame: #lend gives it back (and tells the budget) once onFrame returns.
    if (this.#lending) {
      this.#lentInput = input;
      return;
    }
    this.#pool.release(input);
    if (this.#host.budgeted) this.#host.shrank();
  }

  /** After frames were delivered: flush the replies, and see whether the input has ended. */
  #afterInput(): void {
    if (this.#flushScheduled) this.flush();
    if (this.#inputEnd !== null && !this.#inputFinished && this.#pause === 0) this.#finishInput();
    if (this.#inputFinished) this.#afterInputFinished();
  }

  /** The input ended and every complete frame is delivered: deal with what is left. */
  #finishInput(): void {
    // A socket that broke while reading was paused may still hold complete frames.
    if (this.#inputEnd !== 'stopped') this.#decodeKept();
    if (this.#pause !== 0) return;
    this.#inputFinished = true;
    if (this.#inputEnd === 'eof' && this.#in !== null) this.#decodeEof();
    if (this.#in !== null) {
      this.#partialBytes += this.#inEnd - this.#inStart;
      this.#releaseInput();
    }
  }

  #decodeEof(): void {
    const decodeEof = this.#codec.decodeEof;
    let start = this.#inStart;
    const end = this.#inEnd;
    const bytes = this.#in as Buffer;
    if (decodeEof !== undefined) {
      while (start < end && this.#inputEnd === 'eof') {
        let result: ReturnType<typeof decodeEof>;
        try {
          result = decodeEof.call(this.#codec, bytes, start, end);
        } catch (error) {
          this.#fail(asMaiError(error, ErrorCode.CodecThrew, 'codec.decodeEof threw'));
          break;
        }
        if (result === IncompleteFrame) break;
        const bytesRead = result.bytesRead;
        const invalid = checkBytesRead(bytesRead, end - start, 'decodeEof');
        if (invalid !== undefined) {
          this.#fail(invalid);
          break;
        }
        start += bytesRead;
        const frame = result.frame;
        if ((frame as unknown) === Discarded) continue;
        if (this.#borrowing) this.#lend(frame, bytes, start - bytesRead, start);
        else this.#deliver(frame);
      }
    }
    if (this.#in !== bytes) return; // the stream stopped from a handler and released the input
    this.#inStart = start;
    if (start === end) {
      this.#releaseInput();
    } else if (this.#inputEnd === 'eof') {
      this.#fail(new TruncatedFrameError(end - start));
    }
  }

  /** Input is over. Once handlers have settled, end our side (if nobody did) and finish. */
  #afterInputFinished(): void {
    if (this.#inFlight > 0) return;
    if (this.#error !== undefined) this.#reportError(this.#error);
    if (this.#inputEnd === 'eof' && this.#error === undefined && !this.#endReported) {
      this.#endReported = true;
      this.#call('onEnd');
    }
    if (this.#inputEnd === 'eof' && this.#outputOpen && !this.#host.settings.allowHalfOpen) {
      this.#setReason('remote');
      this.#endOutput();
    }
    this.#maybeFinish();
  }

  /** Stops delivering frames; bytes not yet delivered count as partial. */
  #stopInput(): void {
    if (this.#inputEnd === 'stopped') return;
    this.#inputEnd = 'stopped';
    if (this.#in !== null) {
      this.#partialBytes += this.#inEnd - this.#inStart;
      this.#releaseInput();
    }
    // Keep the socket flowing so the peer's FIN (and anything before it) is read and dropped
    // rather than left in the kernel, where it would turn our close into a reset.
    this.#pause = 0;
    this.#stream.resume();
    this.#afterInput();
  }

  #pauseFor(reason: number): void {
    if (this.#pause === 0) this.#stream.pause();
    this.#pause |= reason;
  }

  #resumeFor(reason: number): void {
    if ((this.#pause & reason) === 0) return;
    this.#pause &= ~reason;
    if (this.#pause !== 0) return;
    this.#framesThisRead = 0;
    if (this.#partialSince !== 0) {
      // The partial-frame clock restarts when reading does.
      this.#partialSince = Date.now();
      if (this.#limits.partialFrameMs > 0) {
        this.#armWatchdog(this.#partialSince + this.#limits.partialFrameMs);
      }
    }
    this.#decodeKept();
    if (this.#pause === 0 && this.#inputEnd === null) this.#stream.resume();
  }

  #scheduleResume(): void {
    if (this.#resumeScheduled) return;
    this.#resumeScheduled = true;
    setImmediate(resumeConnection, this);
  }

  /** Continues decoding after yielding to other streams (the per-read frame budget). */
  resumeAfterBudget(): void {
    this.#resumeScheduled = false;
    this.#resumeFor(Pause.Budget);
    this.#afterInput();
  }

  #onStreamEnd = (): void => {
    if (this.#inputEnd === null) this.#inputEnd = 'eof';
    this.#afterInput();
  };

  #onStreamError = (error: Error): void => {
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
    if (this.#inputEnd === null) this.#inputEnd = 'broken';
    this.#outputOpen = false;
  };

  #onStreamClose = (): void => {
    this.#socketClosed = true;
    this.#outputOpen = false;
    this.#pause &= ~Pause.WriteBlocked; // nothing will drain any more
    if (this.#inputEnd === null) this.#inputEnd = 'broken';
    this.#disarmLinger();
    // Write callbacks of a destroyed socket run before 'close'; whatever is still listed was
    // never acknowledged, and the socket holds no reference to it any more.
    this.#dropOutput();
    if (!this.#ready) {
      this.start();
    }
    this.#afterInput();
  };

  // ---- Output --------------------------------------------------------------------------------

  /**
   * Encodes a frame after the bytes already queued in this tick, growing the buffer if asked.
   * A body at least `sendByReferenceFrom` long, from a codec that can say what its body is,
   * is not copied: see `#encodeByReference`.
   */
  #encode(frame: P['out']): number {
    const codec = this.#codec;
    const from = this.#byReferenceFrom;
    if (from > 0 && codec.bodyOf !== undefined && codec.encodeHeader !== undefined) {
      const body = codec.bodyOf(frame);
      // A borrowed frame's bytes are the engine's own, about to be reused: those are copied.
      if (body !== undefined && body.length >= from && !isEngineMemory(body.buffer)) {
        return this.#encodeByReference(frame, body);
      }
    }
    return this.#encodeInto(frame, false);
  }

  /**
   * Queues a frame as its header (encoded into the output buffer) followed by its body as it
   * is: the body goes to the socket in the same write batch, by reference, so a large payload
   * is not copied into the output buffer. The frame counts as sent when its body's write does.
   */
  #encodeByReference(frame: P['out'], body: Uint8Array): number {
    const header = this.#encodeInto(frame, true);
    if (header + body.length > this.#maxFrameLength) {
      // Nothing of it may leave: take the header back out of the output buffer.
      this.#outEnd -= header;
      this.#queuedBytes -= header;
      this.#releaseEmptyOut();
      throw new EncodeError(
        `encoded frame length ${header + body.length} exceeds maxFrameLength ${this.#maxFrameLength}`,
      );
    }
    // The header closes the current output buffer (with the frames before it); the body follows.
    this.#seal();
    this.#sealed.push({
      buffer: body as Buffer,
      bytes: body.length,
      frames: 1,
      byReference: true,
    });
    this.#queuedBytes += body.length;
    this.#afterQueued();
    return ACCOUNTED;
  }

  /** Encodes the frame (or, with `header`, only its header) into the output buffer. */
  #encodeInto(frame: P['out'], header: boolean): number {
    const codec = this.#codec;
    let size = this.#pool.bufferSize;
    for (;;) {
      if (this.#out === null) {
        this.#out = this.#pool.lease(size);
        this.#outEnd = 0;
      }
      const out = this.#out;
      const start = this.#outEnd;
      let written: ReturnType<typeof codec.encode>;
      try {
        written = header
          ? (codec.encodeHeader as NonNullable<typeof codec.encodeHeader>)(frame, out, start)
          : codec.encode(frame, out, start);
      } catch (error) {
        this.#releaseEmptyOut();
        if (error instanceof EncodeError) throw error;
        throw asMaiError(error, ErrorCode.EncodeFailed, 'codec.encode threw');
      }
      if (written !== InsufficientBuffer) {
        if (!(written >= 0 && written <= out.length - start && Math.floor(written) === written)) {
          this.#releaseEmptyOut();
          throw new CodecContractError(
            `codec.encode returned ${String(written)}, but had ${out.length - start} bytes of room`,
          );
        }
        if (written > this.#maxFrameLength) {
          this.#releaseEmptyOut();
          throw new EncodeError(
            `encoded frame length ${written} exceeds maxFrameLength ${this.#maxFrameLength}`,
          );
        }
        this.#outEnd = start + written;
        this.#queuedBytes += written;
        this.#afterQueued();
        return written;
      }
      if (start > 0) {
        // Not enough room behind the frames already queued: start a fresh buffer.
        this.#seal();
        continue;
      }
      if (out.length >= this.#maxFrameLength) {
        this.#releaseEmptyOut();
        throw new EncodeError(
          `frame does not fit in maxFrameLength ${this.#maxFrameLength} bytes when encoded`,
        );
      }
      size = Math.min(out.length * 2, this.#maxFrameLength);
      this.#pool.release(out);
      this.#out = null;
    }
  }

  /** Above the high-water mark: pause reading (if this stream's role says so), check limits. */
  #afterQueued(): void {
    if (this.#queuedBytes >= this.#host.settings.writeHighWaterMark) {
      if (this.#limits.pauseWhenWriteBlocked) this.#pauseFor(Pause.WriteBlocked);
      this.#checkSlowConsumer();
    }
  }

  #releaseEmptyOut(): void {
    if (this.#out !== null && this.#outEnd === 0) {
      this.#pool.release(this.#out);
      this.#out = null;
    }
  }

  /** Moves the current output buffer to the list waiting for the flush. */
  #seal(): void {
    const out = this.#out;
    if (out === null) return;
    this.#out = null;
    if (this.#outEnd === 0) {
      this.#pool.release(out);
      return;
    }
    this.#sealed.push({
      buffer: out,
      bytes: this.#outEnd,
      frames: this.#outFrames,
      byReference: false,
    });
    this.#outEnd = 0;
    this.#outFrames = 0;
  }

  #onWritten = (error?: Error | null): void => {
    const batch = this.#writing;
    if (batch.length === 0) return; // settled when the stream was destroyed
    // Node calls back with no error for a write cancelled by destroy(): only a callback on a
    // live stream proves the bytes reached the kernel.
    const sent = !error && !this.#stream.destroyed;
    if (sent) this.#lastWriteAt = Date.now();
    for (const write of batch) this.#settle(write, sent ? write.bytes : 0);
    batch.length = 0;
    if (this.#socketClosed || this.#stream.destroyed) return;
    if (this.#queuedBytes < this.#host.settings.writeHighWaterMark) {
      this.#resumeFor(Pause.WriteBlocked);
      this.#wakeDrainWaiters(true);
    }
    this.flush();
    if (this.#pause === 0) this.#afterInput();
  };

  /** Accounts one write whose first `sentBytes` reached the kernel, and frees its buffer. */
  #settle(write: PendingWrite, sentBytes: number): void {
    this.#queuedBytes -= write.bytes;
    if (this.#softSince !== 0 && this.#queuedBytes <= this.#host.settings.slowConsumerSoftLimit) {
      this.#softSince = 0;
    }
    if (sentBytes === write.bytes) {
      this.#framesSent += write.frames;
    } else {
      // A frame counts as sent only if its whole buffer reached the kernel.
      this.#framesUnsent += write.frames;
      this.#bytesUnsent += write.bytes - sentBytes;
    }
    if (!write.byReference) this.#pool.release(write.buffer);
    if (this.#host.budgeted) this.#host.shrank();
  }

  /** Ends our side after everything queued: the FIN follows the last write. */
  #endOutput(): void {
    if (!this.#outputOpen) return;
    this.#outputOpen = false;
    this.#finPending = true;
    if (!this.#socketClosed) this.flush();
  }

  /** Destroys the stream now; everything not handed to the kernel is reported unsent. */
  #destroy(): void {
    this.#outputOpen = false;
    this.#settleInFlight();
    this.#dropOutput();
    this.#stream.destroy();
  }

  /**
   * Settles the batch in flight while the socket can still say how much of it libuv holds
   * (`writeQueueSize`): the rest reached the kernel. Runs from the stream's `_destroy`, so it
   * also sees destroys Node does itself (a peer reset), before the handle closes; after that,
   * Node calls a cancelled write back with no error, and the callback proves nothing. A stream
   * that cannot tell (no libuv handle) counts the whole batch as unsent.
   */
  #settleInFlight(): void {
    const batch = this.#writing;
    if (batch.length === 0) return;
    const stream = this.#stream as {
      _handle?: { writeQueueSize?: unknown } | null;
      encrypted?: boolean;
    };
    const handle = stream._handle;
    // A TLS socket queues ciphertext, which says nothing about how many frames' bytes left.
    let waiting =
      typeof handle?.writeQueueSize === 'number' && stream.encrypted !== true
        ? handle.writeQueueSize
        : Number.POSITIVE_INFINITY;
    for (let i = batch.length - 1; i >= 0; i--) {
      const write = batch[i] as PendingWrite;
      const unsent = Math.min(waiting, write.bytes);
      waiting -= unsent;
      this.#settle(write, write.bytes - unsent);
    }
    batch.length = 0;
  }

  /** Counts everything never handed to the stream as unsent and gives the buffers back. */
  #dropOutput(): void {
    if (this.#out !== null) this.#seal();
    for (const list of [this.#sealed, this.#writing]) {
      for (const write of list) this.#settle(write, 0);
      list.length = 0;
    }
    this.#framesUnsent += this.#outFrames;
    this.#outFrames = 0;
  }

  // ---- Lifecycle -----------------------------------------------------------------------------

  #setReason(reason: CloseReason): void {
    if (this.#reason === null) this.#reason = reason;
  }

  /** An error that ends the stream: reported once, input stopped, output flushed then closed. */
  #fail(error: MaiError): void {
    if (this.#error === undefined) this.#error = error;
    this.#setReason('error');
    this.#reportError(error);
    if (this.#inputEnd !== 'stopped') {
      this.#stopInput();
      this.#endOutput();
      this.#armLinger();
    }
  }

  #reportError(error: MaiError): void {
    if (this.#errorReported || this.#closedCalled) return;
    this.#errorReported = true;
    if (this.#error === undefined) this.#error = error;
    const onError = this.#handler.onError;
    if (onError === undefined) return;
    try {
      onError.call(this.#handler, this, error);
    } catch (thrown) {
      this.#host.handlerThrew(thrown);
    }
    if (this.#flushScheduled) this.flush();
  }

  /** Calls a handler callback that may fail the stream. Returns false if it threw. */
  #call(name: 'onReady' | 'onShutdown' | 'onEnd'): boolean {
    const callback = this.#handler[name];
    if (callback === undefined) return true;
    try {
      callback.call(this.#handler, this);
      return true;
    } catch (error) {
      this.#fail(asMaiError(error, ErrorCode.HandlerFailed, `${name} threw`));
      return false;
    }
  }

  #fireTimeout(id: number, value: P['timeout']): void {
    if (this.#timeouts === null || !this.#timeouts.delete(id)) return;
    this.#deliverTimeout(value);
  }

  #deliverTimeout(value: P['timeout']): void {
    if (this.closed) return;
    const onTimeout = this.#handler.onTimeout;
    if (onTimeout === undefined) return;
    try {
      onTimeout.call(this.#handler, this, value);
    } catch (error) {
      this.#fail(asMaiError(error, ErrorCode.HandlerFailed, 'onTimeout threw'));
    }
  }

  /**
   * Output above the slow-consumer limits: past the hard limit the stream fails at once (on the
   * next tick, not inside the caller's `send`); past the soft limit the watchdog gives it
   * `slowConsumerSoftLimitMs` to drain.
   */
  #checkSlowConsumer(): void {
    const settings = this.#host.settings;
    if (this.#slowConsumer) return;
    if (this.#queuedBytes > settings.slowConsumerHardLimit) {
      this.#slowConsumer = true;
      this.#outputOpen = false;
      process.nextTick(failSlowConsumer, this);
    } else if (this.#queuedBytes > settings.slowConsumerSoftLimit && this.#softSince === 0) {
      this.#softSince = Date.now();
      this.#armWatchdog(this.#softSince + settings.slowConsumerSoftLimitMs);
    }
  }

  /** Closes a stream whose peer does not read: no flush (it would not drain), unsent reported. */
  failSlowConsumer(): void {
    if (this.#socketClosed) return;
    const settings = this.#host.settings;
    const hard = this.#queuedBytes > settings.slowConsumerHardLimit;
    const error = new ConnectionError(
      ErrorCode.SlowConsumer,
      hard
        ? `peer is not reading: ${this.#queuedBytes} bytes queued exceeds slowConsumerHardLimit ${settings.slowConsumerHardLimit}`
        : `peer is not reading: queued output above slowConsumerSoftLimit ${settings.slowConsumerSoftLimit} for ${settings.slowConsumerSoftLimitMs} ms`,
    );
    if (this.#error === undefined) this.#error = error;
    this.#setReason('error');
    this.#stopInput();
    this.#destroy();
  }

  #wakeDrainWaiters(drained: boolean): void {
    const waiters = this.#drainWaiters;
    if (waiters === null) return;
    this.#drainWaiters = null;
    for (const resolve of waiters) resolve(drained);
  }

  #armWatchdog(at: number): void {
    if (at >= this.#watchdogAt || this.#closedCalled) return;
    if (this.#watchdog !== 0) this.#host.timers.cancel(this.#watchdog);
    this.#watchdogAt = at;
    this.#onWatchdog ??= () => {
      this.#watchdog = 0;
      this.#watchdogAt = Number.POSITIVE_INFINITY;
      this.#watch();
    };
    this.#watchdog = this.#host.timers.add(at - Date.now(), this.#onWatchdog);
  }

  #disarmWatchdog(): void {
    if (this.#watchdog !== 0) this.#host.timers.cancel(this.#watchdog);
    this.#watchdog = 0;
    this.#watchdogAt = Number.POSITIVE_INFINITY;
  }

  /** Checks every deadline of the stream, acts on those passed, and re-arms for the next. */
  #watch(): void {
    if (this.closed || this.#inputEnd === 'stopped') return;
    const now = Date.now();
    const settings = this.#host.settings;
    const limits = this.#limits;
    let next = Number.POSITIVE_INFINITY;
    if (limits.firstFrameMs > 0 && this.#framesReceived === 0 && this.#inputEnd === null) {
      const deadline = this.#openedAt + limits.firstFrameMs;
      if (deadline <= now) {
        this.#fail(
          new ConnectionError(
            ErrorCode.FirstFrameTimeout,
            `no frame within firstFrameTimeoutMs ${limits.firstFrameMs}`,
          ),
        );
        return;
      }
      next = Math.min(next, deadline);
    }
    // While the engine holds reading (output back-pressure, handlers in flight, the budget per
    // read, the memory budget), a frame cannot progress: not the peer's fault, and the clock
    // waits. A frame too large for the memory budget cannot hold it forever for that: when no
    // stream that holds memory may read, the heaviest reads on (with its clock running).
    if (
      limits.partialFrameMs > 0 &&
      this.#partialSince !== 0 &&
      this.#inputEnd === null &&
      this.#pause === 0
    ) {
      const deadline = this.#partialSince + limits.partialFrameMs;
      if (deadline <= now) {
        const held = this.#inEnd - this.#inStart;
        this.#fail(
          new ConnectionError(
            ErrorCode.PartialFrameTimeout,
            `an unfinished frame (${held} bytes so far) made no progress for partialFrameTimeoutMs ${limits.partialFrameMs}`,
          ),
        );
        return;
      }
      next = Math.min(next, deadline);
    }
    if (this.#softSince !== 0) {
      const deadline = this.#softSince + settings.slowConsumerSoftLimitMs;
      if (deadline <= now) {
        this.failSlowConsumer();
        return;
      }
      next = Math.min(next, deadline);
    }
    const idle = this.#host.idleTimeouts;
    if (idle !== undefined) {
      this.#idleFired ??= { read: 0, write: 0, any: 0 };
      const fired = this.#idleFired;
      for (const kind of IDLE_KINDS) {
        const timeout = idle[kind];
        if (timeout === undefined) continue;
        const active =
          kind === 'read'
            ? this.#lastReadAt
            : kind === 'write'
              ? this.#lastWriteAt
              : Math.max(this.#lastReadAt, this.#lastWriteAt);
        let deadline = Math.max(active, fired[kind]) + timeout.ms;
        if (deadline <= now) {
          fired[kind] = now;
          this.#deliverTimeout(timeout.value);
          if (this.closed) return;
          deadline = now + timeout.ms;
        }
        next = Math.min(next, deadline);
      }
    }
    if (next !== Number.POSITIVE_INFINITY) this.#armWatchdog(next);
  }

  /** Pauses reading to relieve the engine's memory budget (the heaviest streams first). */
  pauseForMemory(): void {
    if (this.#inputEnd === null) this.#pauseFor(Pause.Memory);
  }

  resumeFromMemory(): void {
    this.#resumeFor(Pause.Memory);
    this.#afterInput();
  }

  /** Pooled bytes this stream holds: its read buffer and its queued output. */
  get heldBytes(): number {
    return this.#queuedBytes + (this.#in === null ? 0 : this.#in.length);
  }

  #armLinger(): void {
    if (this.#lingerTimer !== null || this.#socketClosed) return;
    this.#lingerTimer = this.#host.timers.add(this.#host.settings.closeTimeoutMs, () => {
      this.#lingerTimer = null;
      this.#destroy();
    });
  }

  #disarmLinger(): void {
    if (this.#lingerTimer === null) return;
    this.#host.timers.cancel(this.#lingerTimer);
    this.#lingerTimer = null;
  }

  /** onClosed, once the socket is closed, the input is over and no handler is pending. */
  #maybeFinish(): void {
    if (this.#closedCalled || !this.#socketClosed || !this.#inputFinished || this.#inFlight > 0) {
      return;
    }
    if (this.#error !== undefined) this.#reportError(this.#error);
    this.#closedCalled = true;
    if (this.#timeouts !== null) {
      for (const id of this.#timeouts) this.#host.timers.cancel(id);
      this.#timeouts = null;
    }
    this.#disarmWatchdog();
    this.#wakeDrainWaiters(false);
    if (this.#onData !== null) this.#stream.off('data', this.#onData);
    const info: CloseInfo = {
      reason: this.#reason ?? 'remote',
      error: this.#error,
      framesReceived: this.#framesReceived,
      framesSent: this.#framesSent,
      framesUnsent: this.#framesUnsent,
      bytesUnsent: this.#bytesUnsent,
      partialBytes: this.#partialBytes,
    };
    this.#host.forget(this, info);
    const onClosed = this.#handler.onClosed;
    if (onClosed === undefined) return;
    try {
      onClosed.call(this.#handler, this, info);
    } catch (error) {
      this.#host.handlerThrew(error);
    }
  }
}

const IDLE_KINDS = ['read', 'write', 'any'] as const;

/**
 * Whether `value` (a frame) is, or holds within `depth` levels, a view of `memory`: the debug
 * check that a codec copied what it kept.
 */
function keepsView(value: unknown, memory: ArrayBufferLike, depth: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (ArrayBuffer.isView(value)) return value.buffer === memory;
  if (depth === 0) return false;
  for (const item of Array.isArray(value) ? value : Object.values(value)) {
    if (keepsView(item, memory, depth - 1)) return true;
  }
  return false;
}

function failSlowConsumer(connection: Connection<AnyProtocol>): void {
  connection.failSlowConsumer();
}

function startConnection(connection: Connection<AnyProtocol>): void {
  connection.start();
}

function flushConnection(connection: Connection<AnyProtocol>): void {
  connection.flush();
}

function resumeConnection(connection: Connection<AnyProtocol>): void {
  connection.resumeAfterBudget();
}

function describeAddress(
  address: string | undefined,
  port: number | undefined,
): string | undefined {
  if (address === undefined || address === '') return undefined;
  if (port === undefined) return address;
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
