import { type BufferPool, CANARY_BYTE } from '../buffer/buffer-pool.js';
import {
  type Codec,
  checkBytesRead,
  type DecodeResult,
  Discarded,
  IncompleteFrame,
} from '../codec/codec.js';
import {
  asMaiError,
  CodecContractError,
  ErrorCode,
  FrameTooLongError,
  type MaiError,
  TruncatedFrameError,
} from '../errors.js';
import type { AnyProtocol } from './protocol.js';

/** Why reading is paused: a bit each, reading resumes when none is left. */
export const Pause = {
  /** Queued output is above the write high-water mark: stop taking work until it drains. */
  WriteBlocked: 1,
  /** `maxFramesInFlight` onFrame Promises are pending. */
  InFlight: 2,
  /** `maxFramesPerRead` frames were decoded in this read: yield to other streams. */
  Budget: 4,
  /** The engine's memory budget is exceeded and this stream is among the heaviest. */
  Memory: 8,
} as const;

/**
 * How the input side ends. `null` while reading.
 *
 * | input end | set by                           | remaining complete frames | leftover bytes        |
 * |-----------|----------------------------------|---------------------------|-----------------------|
 * | eof       | peer FIN ('end')                 | delivered                 | decodeEof, else error |
 * | broken    | socket error or unexpected close | delivered                 | reported as partial   |
 * | stopped   | close(), abort(), an error       | discarded as partial      | reported as partial   |
 */
export type InputEnd = 'eof' | 'broken' | 'stopped' | null;

/**
 * Where decoded frames go, what the decode loop reports, and how it holds its bytes back: the
 * stream's connection in the engine.
 */
export interface FrameSink<In> {
  /** A frame was decoded. Returns a Promise while a handler works on it asynchronously. */
  deliver(frame: In): void | Promise<void>;
  /** The bytes are not a stream of frames, or the codec broke its contract: input stops. */
  fail(error: MaiError): void;
  /** A pause ended from outside a read (a handler settled, the budget's yield): carry on. */
  resumed(): void;
  /** Stop the byte source (reading is paused) / start it again. */
  pauseInput(): void;
  resumeInput(): void;
}

/** The settings of an input side. */
export interface InboundSettings {
  readonly maxFrameLength: number;
  readonly maxFramesPerRead: number;
  readonly maxFramesInFlight: number;
  readonly debugBuffers: boolean;
}

/** What the input side shares with every stream of its engine. */
export interface InboundHost {
  readonly pool: BufferPool;
  readonly settings: InboundSettings;
  /** Called when the kept buffer is given back (the engine's memory budget listens). */
  readonly shrank: (() => void) | null;
}

/**
 * The input side of a stream: the bytes kept between reads, the decode loop and its delivery,
 * the reasons reading is paused, and the end of input.
 *
 * Bytes are decoded straight from each read; only an unfinished frame's bytes are kept, in a
 * pooled buffer (`#kept[#keptStart, #keptEnd)`), so an idle stream holds nothing. A read that
 * completes a kept frame whose size the codec can tell (`wireLength`) copies only the rest of
 * that frame and decodes what follows straight from the read.
 *
 * | state      | `end`   | `finished` | what happens to a read                                   |
 * |------------|---------|------------|----------------------------------------------------------|
 * | reading    | null    | false      | decoded now (paused: kept, and the source is paused)     |
 * | ending     | set     | false      | ignored; kept frames delivered once no pause is left     |
 * | finished   | set     | true       | ignored; leftover counted in `partialBytes`               |
 */
export class Inbound<P extends AnyProtocol> {
  readonly #codec: Codec<P['in'], P['out']>;
  readonly #host: InboundHost;
  readonly #sink: FrameSink<P['in']>;
  /** The codec's frames are views of the input, valid until delivery returns (borrowsInput). */
  readonly #borrowing: boolean;

  #kept: Buffer | null = null;
  #keptStart = 0;
  #keptEnd = 0;
  /** How the input ends (null: still reading). */
  end: InputEnd = null;
  /** The end was dealt with: every complete frame delivered, leftover decoded or counted. */
  finished = false;
  /** Bits of `Pause`: reading resumes when none is left. */
  pause = 0;
  /** Frames decoded since the current read began (bounded by `maxFramesPerRead`). */
  #framesThisRead = 0;
  /** onFrame Promises still pending. */
  inFlight = 0;
  #resumeScheduled = false;
  /** A decode loop is running: a resume from inside a handler must not start a second one. */
  #decoding = false;
  /** A borrowed frame of the kept buffer is being delivered: its release waits until it returns. */
  #lending = false;
  #lentBuffer: Buffer | null = null;
  /** Frames handed to the sink. */
  framesReceived = 0;
  /** Bytes read that never became a delivered frame (an unfinished frame, input stopped). */
  partialBytes = 0;
  // Made on first use: most streams never have a Promise-returning handler.
  #onSettled: (() => void) | null = null;
  #onRejected: ((error: unknown) => void) | null = null;

  constructor(codec: Codec<P['in'], P['out']>, host: InboundHost, sink: FrameSink<P['in']>) {
    this.#codec = codec;
    this.#host = host;
    this.#sink = sink;
    this.#borrowing = codec.borrowsInput === true;
  }

  /** Pooled bytes held for an unfinished frame. */
  get heldBytes(): number {
    return this.#kept === null ? 0 : this.#kept.length;
  }

  /** Bytes of the unfinished frame read so far (0: none). */
  get unfinishedBytes(): number {
    return this.#keptEnd - this.#keptStart;
  }

  /** Whether this read delivered a frame (the partial-frame clock's notion of progress). */
  get deliveredThisRead(): boolean {
    return this.#framesThisRead > 0;
  }

  /**
   * Input arrived in `bytes[0, end)`. The bytes may be the engine's shared read buffer, which the
   * next read overwrites: whatever is not decoded now is copied out before returning.
   */
  read(bytes: Buffer, end: number): void {
    this.#framesThisRead = 0;
    const from = this.#kept !== null && this.pause === 0 ? this.#completeKept(bytes, end) : 0;
    if (this.#kept === null && this.pause === 0) {
      // Fast path: decode straight from the read; copy only an unfinished tail.
      const stop = this.#decodeLoop(bytes, from, end);
      if (stop < end) {
        if (this.end === null) this.#keep(bytes, stop, end);
        else this.partialBytes += end - stop;
      }
    } else if (this.end === null) {
      this.#append(bytes, from, end);
      this.decodeKept();
      // Input while reading is held (a stream that started paused): keep it, read no more.
      if (this.pause !== 0) this.#sink.pauseInput();
    } else {
      this.partialBytes += end - from; // the input stopped from the completed frame's handler
    }
  }

  #decodeLoop(bytes: Buffer, start: number, end: number): number {
    this.#decoding = true;
    const stop = this.#decodeFrames(bytes, start, end);
    this.#decoding = false;
    return stop;
  }

  /**
   * Decodes frames from `bytes[start, end)` until the codec needs more bytes, reading is paused,
   * or the input stops. Returns where it stopped.
   */
  #decodeFrames(bytes: Buffer, start: number, end: number): number {
    const codec = this.#codec;
    const settings = this.#host.settings;
    const maxFrameLength = settings.maxFrameLength;
    while (start < end && this.pause === 0 && this.end !== 'stopped') {
      if (this.#framesThisRead >= settings.maxFramesPerRead) {
        this.pauseFor(Pause.Budget);
        this.#scheduleResume();
        break;
      }
      let result: DecodeResult<P['in']>;
      try {
        result = codec.decode(bytes, start, end);
      } catch (error) {
        this.#sink.fail(asMaiError(error, ErrorCode.CodecThrew, 'codec.decode threw'));
        return start;
      }
      if (result === IncompleteFrame) {
        if (end - start > maxFrameLength) {
          this.#sink.fail(new FrameTooLongError(end - start, maxFrameLength, 'incomplete frame'));
        }
        return start;
      }
      const bytesRead = result.bytesRead;
      const invalid = checkBytesRead(bytesRead, end - start, 'decode');
      if (invalid !== undefined) {
        this.#sink.fail(invalid);
        return start;
      }
      if (bytesRead > maxFrameLength) {
        this.#sink.fail(new FrameTooLongError(bytesRead, maxFrameLength));
        return start;
      }
      const frame = result.frame;
      start += bytesRead;
      if ((frame as unknown) === Discarded) continue;
      if (this.#borrowing) {
        this.#lend(frame, bytes, start - bytesRead, start);
        continue;
      }
      if (settings.debugBuffers && !this.#checkCopied(frame, bytes, start - bytesRead, start)) {
        return start - bytesRead;
      }
      this.#deliver(frame);
    }
    return start;
  }

  /**
   * Debug mode: a frame that keeps a view of the read buffer breaks the contract (it would see
   * the next read's bytes); once checked, the frame's bytes are overwritten with the canary, so
   * whatever the frame still shares with them shows it.
   */
  #checkCopied(frame: P['in'], bytes: Buffer, from: number, to: number): boolean {
    if (keepsView(frame, bytes.buffer, 3)) {
      this.#sink.fail(
        new CodecContractError(
          'codec.decode returned a frame that keeps a view of the read buffer (debugBuffers); copy the bytes',
        ),
      );
      return false;
    }
    bytes.fill(CANARY_BYTE, from, to);
    return true;
  }

  /**
   * Delivers a frame that views `bytes[from, to)` (a borrowing codec): the bytes stay untouched
   * until delivery returns, even if the stream closes meanwhile; in debug mode they are then
   * overwritten with the canary, so a frame kept past onFrame shows it.
   */
  #lend(frame: P['in'], bytes: Buffer, from: number, to: number): void {
    this.#lending = true;
    this.#deliver(frame);
    this.#lending = false;
    const lent = this.#lentBuffer;
    if (lent !== null) {
      this.#lentBuffer = null;
      this.#host.pool.release(lent);
      this.#host.shrank?.();
    } else if (this.#host.settings.debugBuffers) {
      bytes.fill(CANARY_BYTE, from, to);
    }
  }

  #deliver(frame: P['in']): void {
    this.framesReceived++;
    this.#framesThisRead++;
    const result = this.#sink.deliver(frame);
    if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
      this.inFlight++;
      this.#onSettled ??= () => this.#handlerSettled();
      this.#onRejected ??= (error: unknown) => {
        this.#sink.fail(asMaiError(error, ErrorCode.HandlerFailed, 'onFrame rejected'));
        this.#handlerSettled();
      };
      result.then(this.#onSettled, this.#onRejected);
      if (this.inFlight >= this.#host.settings.maxFramesInFlight) this.pauseFor(Pause.InFlight);
    }
  }

  #handlerSettled(): void {
    if (this.inFlight === 0) return; // a forced close already gave up on it
    this.inFlight--;
    if (this.pause & Pause.InFlight && this.inFlight < this.#host.settings.maxFramesInFlight) {
      this.resumeFor(Pause.InFlight);
    }
    this.#sink.resumed();
  }

  /** Stops waiting for pending handlers (a forced close): a late settle is then ignored. */
  abandonInFlight(): void {
    this.inFlight = 0;
  }

  /**
   * A frame begun in an earlier read and finished by this one: when the codec can tell its wire
   * size (`wireLength`), copies only the rest of it next to the kept bytes and decodes it.
   * Returns how many bytes of `bytes` that took; 0 when the codec cannot tell, this read does
   * not finish the frame, or the frame is larger than a pooled buffer (the whole read is then
   * appended).
   */
  #completeKept(bytes: Buffer, end: number): number {
    const codec = this.#codec;
    if (codec.wireLength === undefined) return 0;
    const kept = this.#kept as Buffer;
    let total: number;
    try {
      total = codec.wireLength(kept, this.#keptStart, this.#keptEnd);
    } catch {
      return 0; // decode will say what is wrong with the header
    }
    const held = this.#keptEnd - this.#keptStart;
    const rest = total - held;
    // Only for frames that fit a standard pooled buffer. Larger ones are copied whole anyway,
    // and appending the whole read keeps their one grown buffer for the next frame, where
    // draining it here would make every frame lease (allocate) a buffer of its own.
    const size = kept.length;
    if (!(rest > 0 && rest <= end && held + rest <= size && size <= this.#host.pool.bufferSize)) {
      return 0;
    }
    this.#append(bytes, 0, rest);
    this.decodeKept();
    return rest;
  }

  /** Copies an unfinished tail out of a buffer we do not own into a leased one. */
  #keep(bytes: Buffer, from: number, to: number): void {
    const length = to - from;
    const buffer = this.#host.pool.lease(length);
    bytes.copy(buffer, 0, from, to);
    this.#kept = buffer;
    this.#keptStart = 0;
    this.#keptEnd = length;
  }

  /** Appends `bytes[from, to)` after the kept bytes, compacting or growing the buffer. */
  #append(bytes: Buffer, from: number, to: number): void {
    const kept = this.#kept;
    if (kept === null) {
      this.#keep(bytes, from, to);
      return;
    }
    const length = to - from;
    const held = this.#keptEnd - this.#keptStart;
    if (this.#keptEnd + length > kept.length) {
      if (held + length <= kept.length) {
        kept.copyWithin(0, this.#keptStart, this.#keptEnd);
      } else {
        // Grow geometrically, but never far past what a frame of maxFrameLength can need.
        const size = Math.max(
          held + length,
          Math.min(kept.length * 2, this.#host.settings.maxFrameLength + length),
        );
        const grown = this.#host.pool.lease(size);
        kept.copy(grown, 0, this.#keptStart, this.#keptEnd);
        this.#host.pool.release(kept);
        this.#kept = grown;
      }
      this.#keptStart = 0;
      this.#keptEnd = held;
    }
    bytes.copy(this.#kept as Buffer, this.#keptEnd, from, to);
    this.#keptEnd += length;
  }

  /** Decodes what is kept, unless paused, stopped, or a loop is already running. */
  decodeKept(): void {
    const kept = this.#kept;
    if (kept === null || this.pause !== 0 || this.end === 'stopped') return;
    // A handler that paused and resumed this stream from onFrame: the running loop goes on.
    if (this.#decoding) return;
    const stop = this.#decodeLoop(kept, this.#keptStart, this.#keptEnd);
    if (this.#kept !== kept) return; // the input stopped during the loop and released it
    this.#keptStart = stop;
    if (stop === this.#keptEnd) this.#releaseKept();
  }

  #releaseKept(): void {
    const kept = this.#kept;
    if (kept === null) return;
    this.#kept = null;
    this.#keptStart = 0;
    this.#keptEnd = 0;
    // Lent to onFrame: #lend gives it back (and tells the budget) once onFrame returns.
    if (this.#lending) {
      this.#lentBuffer = kept;
      return;
    }
    this.#host.pool.release(kept);
    this.#host.shrank?.();
  }

  /**
   * The input has ended and no pause is left: delivers the complete frames still kept, hands
   * the leftover to `decodeEof` after a FIN, and counts what remains as partial. Returns
   * whether the input is now finished.
   */
  finish(): boolean {
    if (this.finished) return true;
    // A socket that broke while reading was paused may still hold complete frames.
    if (this.end !== 'stopped') this.decodeKept();
    if (this.pause !== 0) return false;
    this.finished = true;
    if (this.end === 'eof' && this.#kept !== null) this.#decodeEof();
    if (this.#kept !== null) {
      this.partialBytes += this.#keptEnd - this.#keptStart;
      this.#releaseKept();
    }
    return true;
  }

  /**
   * After a FIN, while kept bytes remain: `decodeEof` in a loop, each call consuming at least
   * one byte, until it returns IncompleteFrame; bytes left then (or any bytes, for a codec
   * without `decodeEof`) are a truncated frame.
   */
  #decodeEof(): void {
    const codec = this.#codec;
    const decodeEof = codec.decodeEof;
    const bytes = this.#kept as Buffer;
    const end = this.#keptEnd;
    let start = this.#keptStart;
    if (decodeEof !== undefined) {
      while (start < end && this.end === 'eof') {
        let result: DecodeResult<P['in']>;
        try {
          result = decodeEof.call(codec, bytes, start, end);
        } catch (error) {
          this.#sink.fail(asMaiError(error, ErrorCode.CodecThrew, 'codec.decodeEof threw'));
          break;
        }
        if (result === IncompleteFrame) break;
        const bytesRead = result.bytesRead;
        const invalid = checkBytesRead(bytesRead, end - start, 'decodeEof');
        if (invalid !== undefined) {
          this.#sink.fail(invalid);
          break;
        }
        start += bytesRead;
        const frame = result.frame;
        if ((frame as unknown) === Discarded) continue;
        if (this.#borrowing) this.#lend(frame, bytes, start - bytesRead, start);
        else this.#deliver(frame);
      }
    }
    if (this.#kept !== bytes) return; // the input stopped from a handler and released it
    this.#keptStart = start;
    if (start === end) this.#releaseKept();
    else if (this.end === 'eof') this.#sink.fail(new TruncatedFrameError(end - start));
  }

  /**
   * Stops delivering frames; bytes not yet delivered count as partial. The source keeps flowing
   * so the peer's FIN (and anything before it) is read and dropped rather than left in the
   * kernel, where it would turn our close into a reset.
   */
  stop(): void {
    if (this.end === 'stopped') return;
    this.end = 'stopped';
    if (this.#kept !== null) {
      this.partialBytes += this.#keptEnd - this.#keptStart;
      this.#releaseKept();
    }
    this.pause = 0;
    this.#sink.resumeInput();
  }

  /** The byte source ended (`eof`) or broke (`broken`); a stop already set wins. */
  ended(how: 'eof' | 'broken'): void {
    if (this.end === null) this.end = how;
  }

  pauseFor(reason: number): void {
    if (this.pause === 0) this.#sink.pauseInput();
    this.pause |= reason;
  }

  /**
   * Clears one reason to pause. Once none is left, decodes what was kept meanwhile and resumes
   * the source; returns true then (the partial-frame clock restarts when reading does).
   */
  resumeFor(reason: number): boolean {
    if ((this.pause & reason) === 0) return false;
    this.pause &= ~reason;
    if (this.pause !== 0) return false;
    this.#framesThisRead = 0;
    this.decodeKept();
    if (this.pause === 0 && this.end === null) this.#sink.resumeInput();
    return true;
  }

  #scheduleResume(): void {
    if (this.#resumeScheduled) return;
    this.#resumeScheduled = true;
    setImmediate(resumeAfterBudget, this);
  }

  /** Continues decoding after yielding to other streams (the per-read frame budget). */
  resumeAfterBudget(): void {
    this.#resumeScheduled = false;
    this.resumeFor(Pause.Budget);
    this.#sink.resumed();
  }
}

function resumeAfterBudget(inbound: Inbound<AnyProtocol>): void {
  inbound.resumeAfterBudget();
}

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
