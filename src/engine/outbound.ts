import type { Duplex } from 'node:stream';
import { type BufferPool, isEngineMemory } from '../buffer/buffer-pool.js';
import { type Codec, type EncodeResult, InsufficientBuffer } from '../codec/codec.js';
import { asMaiError, CodecContractError, EncodeError, ErrorCode } from '../errors.js';
import { bytesInHandle } from '../transport/node-internals.js';
import type { AnyProtocol } from './protocol.js';

/** One write handed to the stream, or waiting to be: its bytes until the stream calls back. */
interface PendingWrite {
  buffer: Buffer;
  bytes: number;
  frames: number;
  /** A frame's body sent by reference (`sendByReferenceFrom`): the caller's, not the pool's. */
  byReference: boolean;
}

/** What the output side tells its stream's other machines. */
export interface OutboundEvents {
  /** Queued output reached the write high-water mark. */
  blocked(): void;
  /** Queued output fell below the high-water mark again (after a write completed). */
  unblocked(): void;
  /**
   * A batch was settled and the next one handed over; `sent`: it reached the kernel (the idle
   * and close clocks count that as activity).
   */
  written(sent: boolean): void;
  /** Whoever drives this side flushes after its turn: `send` then needs no tick of its own. */
  readonly inTurn: boolean;
  /** Our FIN was handed to the stream, after the last queued byte. */
  finSent(): void;
  /** Queued output passed the slow-consumer hard limit (checked after every queueing). */
  overHardLimit(): void;
  /** Queued output went above the slow-consumer soft limit (0 → above). */
  overSoftLimit(): void;
}

/** The settings of an output side. */
export interface OutboundSettings {
  readonly maxFrameLength: number;
  readonly writeHighWaterMark: number;
  readonly sendByReferenceFrom: number;
  readonly slowConsumerSoftLimit: number;
  readonly slowConsumerHardLimit: number;
}

/** What the output side shares with every stream of its engine. */
export interface OutboundHost {
  readonly pool: BufferPool;
  readonly settings: OutboundSettings;
  /** Called when a pooled buffer is given back (the engine's memory budget listens). */
  readonly shrank: (() => void) | null;
}

/**
 * The most bytes one batch takes when more are queued (see `#batchLength`): small enough that a
 * peer reading at ~100 KB/s acknowledges a batch every few seconds, large enough that a fast
 * peer's writes stay few (each is one writev and one callback).
 */
const MAX_BATCH_BYTES = 256 * 1024;

/** What `#encode` returns when it did the frame's accounting itself (a body by reference). */
const ACCOUNTED = -1;

/**
 * The output side of a stream: encodes sent frames into pooled buffers, hands them to the stream
 * in one batch at a time (one write, or one writev under cork), and accounts for every frame as
 * sent or unsent.
 *
 * Frames are encoded into `#out[0, #outEnd)`; full buffers wait in `#sealed`; the batch handed
 * to the stream waits in `#writing` until its callback. Keeping a single batch in flight, rather
 * than letting the stream buffer writes, is what lets the engine know which bytes reached the
 * kernel when the stream dies, and coalesces everything sent meanwhile into the next batch.
 *
 * | state    | `open` | `#finPending` | `send`       | after the last write       |
 * |----------|--------|---------------|--------------|----------------------------|
 * | open     | true   | false         | queues       | nothing                    |
 * | ending   | false  | true          | returns false| FIN (`stream.end()`)       |
 * | ended    | false  | false         | returns false| —                          |
 */
export class Outbound<P extends AnyProtocol> {
  readonly #stream: Duplex;
  readonly #codec: Codec<P['in'], P['out']>;
  readonly #host: OutboundHost;
  readonly #events: OutboundEvents;

  #out: Buffer | null = null;
  #outEnd = 0;
  /** Frames encoded into `#out`. */
  #outFrames = 0;
  // Made on first use, so an idle stream holds no lists (and swapped, never reallocated).
  #sealed: PendingWrite[] | null = null;
  #writing: PendingWrite[] | null = null;
  /** Bytes accepted by `send` not yet acknowledged by the stream. */
  queuedBytes = 0;
  /** A flush is due (on the next tick, or at the end of the current turn). */
  flushScheduled = false;
  /** Whether `send` still queues. */
  open = true;
  #finPending = false;
  framesSent = 0;
  framesUnsent = 0;
  bytesUnsent = 0;
  /** When queued output went above the slow-consumer soft limit (0: it is below). */
  softSince = 0;
  #drainWaiters: ((drained: boolean) => void)[] | null = null;

  constructor(
    stream: Duplex,
    codec: Codec<P['in'], P['out']>,
    host: OutboundHost,
    events: OutboundEvents,
  ) {
    this.#stream = stream;
    this.#codec = codec;
    this.#host = host;
    this.#events = events;
  }

  /** Whether a write is in flight or waiting: something is not in the kernel yet. */
  get pending(): boolean {
    return this.queuedBytes > 0 || this.#finPending;
  }

  /** Encodes and queues a frame (see `Context.send`). */
  send(frame: P['out']): boolean {
    if (!this.open) return false;
    const written = this.#encode(frame);
    // A frame that encodes to no bytes has nothing to wait for: it is sent as soon as queued.
    if (written === 0) this.framesSent++;
    else if (written !== ACCOUNTED) this.#outFrames++;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      if (!this.#events.inTurn) process.nextTick(flushOutbound, this);
    }
    return this.queuedBytes < this.#host.settings.writeHighWaterMark;
  }

  /** See `Context.drain`. */
  drain(): Promise<boolean> {
    if (!this.open) return Promise.resolve(false);
    if (this.queuedBytes < this.#host.settings.writeHighWaterMark) return Promise.resolve(true);
    return new Promise((resolve) => {
      this.#drainWaiters ??= [];
      this.#drainWaiters.push(resolve);
    });
  }

  /**
   * Hands what was queued since the last flush to the stream: one write, or one writev for
   * several buffers. If a batch is still in flight, the new frames wait and leave together when
   * it completes. Once nothing is left and the side is ending, the FIN follows.
   */
  flush(): void {
    this.flushScheduled = false;
    if (this.#out !== null && this.#outEnd > 0) this.#seal();
    if ((this.#writing !== null && this.#writing.length > 0) || this.#stream.destroyed) return;
    let batch = this.#sealed;
    if (batch !== null && batch.length > 0) {
      const count = this.#batchLength(batch);
      if (count < batch.length) {
        // The rest waits for this batch's callback: see #batchLength.
        batch = batch.splice(0, count);
      } else {
        // Swap the lists: the (empty) in-flight list collects the next batch.
        this.#sealed = this.#writing;
      }
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
      this.#events.finSent();
    }
  }

  /** The list of writes waiting for the next batch, made on first use. */
  #waiting(): PendingWrite[] {
    this.#sealed ??= [];
    return this.#sealed;
  }

  /**
   * How many of the waiting writes go in one batch: all of them, unless they add up to more than
   * `MAX_BATCH_BYTES` (or the write high-water mark, if lower). A batch is acknowledged only once all of it is in the kernel, so
   * bounding it keeps acknowledgements coming while a slow peer drains a long queue: that is
   * what the close clock counts as progress, and what a reset can account for exactly.
   */
  #batchLength(waiting: PendingWrite[]): number {
    const cap = Math.min(MAX_BATCH_BYTES, this.#host.settings.writeHighWaterMark);
    if (this.queuedBytes <= cap) return waiting.length;
    let bytes = 0;
    let count = 0;
    while (count < waiting.length && bytes < cap) bytes += (waiting[count++] as PendingWrite).bytes;
    return count;
  }

  /** Ends this side after everything queued: the FIN follows the last write. */
  end(): void {
    if (!this.open) return;
    this.open = false;
    this.#finPending = true;
    this.flush();
  }

  /** Stops queueing without a FIN (the stream is being destroyed, or has failed). */
  shut(): void {
    this.open = false;
  }

  /**
   * Encodes a frame after the bytes already queued, growing the buffer if asked. A body at
   * least `sendByReferenceFrom` long, from a codec that can say what its body is, is not
   * copied: see `#encodeByReference`.
   */
  #encode(frame: P['out']): number {
    const codec = this.#codec;
    const from = this.#host.settings.sendByReferenceFrom;
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
   * is: the body goes to the socket in the same write batch, by reference, so a large payload is
   * not copied. The frame counts as sent when its body's write does.
   */
  #encodeByReference(frame: P['out'], body: Uint8Array): number {
    const max = this.#host.settings.maxFrameLength;
    const header = this.#encodeInto(frame, true);
    if (header + body.length > max) {
      // Nothing of it may leave: take the header back out of the output buffer.
      this.#outEnd -= header;
      this.queuedBytes -= header;
      this.#releaseEmptyOut();
      throw new EncodeError(
        `encoded frame length ${header + body.length} exceeds maxFrameLength ${max}`,
      );
    }
    // The header closes the current output buffer (with the frames before it); the body follows.
    this.#seal();
    this.#waiting().push({
      buffer: body as Buffer,
      bytes: body.length,
      frames: 1,
      byReference: true,
    });
    this.queuedBytes += body.length;
    this.#afterQueued();
    return ACCOUNTED;
  }

  /** Encodes the frame (or, with `header`, only its header) into the output buffer. */
  #encodeInto(frame: P['out'], header: boolean): number {
    const codec = this.#codec;
    const max = this.#host.settings.maxFrameLength;
    let size = this.#host.pool.bufferSize;
    for (;;) {
      if (this.#out === null) {
        this.#out = this.#host.pool.lease(size);
        this.#outEnd = 0;
      }
      const out = this.#out;
      const start = this.#outEnd;
      let written: EncodeResult;
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
        if (written > max) {
          this.#releaseEmptyOut();
          throw new EncodeError(`encoded frame length ${written} exceeds maxFrameLength ${max}`);
        }
        this.#outEnd = start + written;
        this.queuedBytes += written;
        this.#afterQueued();
        return written;
      }
      if (start > 0) {
        // Not enough room behind the frames already queued: start a fresh buffer.
        this.#seal();
        continue;
      }
      if (out.length >= max) {
        this.#releaseEmptyOut();
        throw new EncodeError(`frame does not fit in maxFrameLength ${max} bytes when encoded`);
      }
      size = Math.min(out.length * 2, max);
      this.#host.pool.release(out);
      this.#out = null;
    }
  }

  /** Above the high-water mark: tell the stream (it may pause reading), check the limits. */
  #afterQueued(): void {
    const settings = this.#host.settings;
    if (this.queuedBytes < settings.writeHighWaterMark) return;
    this.#events.blocked();
    if (this.queuedBytes > settings.slowConsumerHardLimit) {
      this.#events.overHardLimit();
    } else if (this.queuedBytes > settings.slowConsumerSoftLimit && this.softSince === 0) {
      this.#events.overSoftLimit();
    }
  }

  #releaseEmptyOut(): void {
    if (this.#out !== null && this.#outEnd === 0) {
      this.#host.pool.release(this.#out);
      this.#out = null;
    }
  }

  /** Moves the current output buffer to the list waiting for the flush. */
  #seal(): void {
    const out = this.#out;
    if (out === null) return;
    this.#out = null;
    if (this.#outEnd === 0) {
      this.#host.pool.release(out);
      return;
    }
    this.#waiting().push({
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
    if (batch === null || batch.length === 0) return; // settled when the stream was destroyed
    // Node calls back with no error for a write cancelled by destroy(): only a callback on a
    // live stream proves the bytes reached the kernel.
    const sent = !error && !this.#stream.destroyed;
    for (const write of batch) this.#settle(write, sent ? write.bytes : 0);
    batch.length = 0;
    if (this.#stream.destroyed) return;
    if (this.queuedBytes < this.#host.settings.writeHighWaterMark) {
      this.#events.unblocked();
      this.#wakeDrainWaiters(true);
    }
    this.flush();
    this.#events.written(sent);
  };

  /** Accounts one write whose first `sentBytes` reached the kernel, and frees its buffer. */
  #settle(write: PendingWrite, sentBytes: number): void {
    this.queuedBytes -= write.bytes;
    if (this.softSince !== 0 && this.queuedBytes <= this.#host.settings.slowConsumerSoftLimit) {
      this.softSince = 0;
    }
    if (sentBytes === write.bytes) {
      this.framesSent += write.frames;
    } else {
      // A frame counts as sent only if its whole buffer reached the kernel.
      this.framesUnsent += write.frames;
      this.bytesUnsent += write.bytes - sentBytes;
    }
    if (!write.byReference) this.#host.pool.release(write.buffer);
    this.#host.shrank?.();
  }

  /**
   * Settles the batch in flight while the socket can still say how much of it its handle holds:
   * the rest reached the kernel. Runs just before the stream is destroyed (by anyone), before
   * the handle closes; after that, Node calls a cancelled write back with no error, and the
   * callback proves nothing. A stream that cannot tell counts the whole batch as unsent.
   */
  settleInFlight(): void {
    const batch = this.#writing;
    if (batch === null || batch.length === 0) return;
    let waiting = bytesInHandle(this.#stream);
    for (let i = batch.length - 1; i >= 0; i--) {
      const write = batch[i] as PendingWrite;
      const unsent = Math.min(waiting, write.bytes);
      waiting -= unsent;
      this.#settle(write, write.bytes - unsent);
    }
    batch.length = 0;
  }

  /** The stream is being destroyed (by anyone): settle the batch while its handle can tell. */
  beforeDestroy(): void {
    this.settleInFlight();
  }

  /** Counts everything never handed to the stream as unsent and gives the buffers back. */
  drop(): void {
    this.open = false;
    this.#finPending = false;
    if (this.#out !== null) this.#seal();
    for (const list of [this.#sealed, this.#writing]) {
      if (list === null) continue;
      for (const write of list) this.#settle(write, 0);
      list.length = 0;
    }
    this.framesUnsent += this.#outFrames;
    this.#outFrames = 0;
    this.#wakeDrainWaiters(false);
  }

  #wakeDrainWaiters(drained: boolean): void {
    const waiters = this.#drainWaiters;
    if (waiters === null) return;
    this.#drainWaiters = null;
    for (const resolve of waiters) resolve(drained);
  }
}

function flushOutbound(outbound: Outbound<AnyProtocol>): void {
  outbound.flush();
}
