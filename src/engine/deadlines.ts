import { ConnectionError, ErrorCode, type MaiError } from '../errors.js';
import type { AnyProtocol, TimeoutHandle } from './protocol.js';
import type { IdleTimeouts } from './settings.js';
import type { StreamSettings } from './stream-settings.js';
import type { TimerQueue } from './timers.js';

/** What the deadlines read of the stream's other machines, and what they do when one passes. */
export interface DeadlineSubject<P extends AnyProtocol> {
  /** Still reading (the first-frame and partial-frame clocks run only then). */
  readonly reading: boolean;
  /** Input was stopped (`close()`, an error): the idle clocks stop too. */
  readonly inputStopped: boolean;
  /** Reading is held by the engine (back-pressure, handlers, budgets): the frame cannot progress. */
  readonly readingHeld: boolean;
  readonly framesReceived: number;
  /** Bytes of the unfinished inbound frame read so far. */
  readonly unfinishedBytes: number;
  /** When queued output went above the slow-consumer soft limit (0: below). */
  readonly softSince: number;
  /** The stream's handler is told (the user's own timeouts, the idle timeouts). */
  timeout(value: P['timeout']): void;
  /** A deadline of the engine's passed: the stream fails with `error` (as any error fails it). */
  fail(error: MaiError): void;
  /** Output above the soft limit for `slowConsumerSoftLimitMs`. */
  slowConsumer(): void;
  /** After our FIN, the peer did not close within `closeTimeoutMs`: close hard. */
  lingerEnded(): void;
  /** A local close's flush made no progress for `closeTimeoutMs`. */
  flushStalled(): void;
  readonly closed: boolean;
}

/** The engine-wide settings the deadlines use. */
export interface DeadlineSettings {
  readonly slowConsumerSoftLimitMs: number;
  readonly closeTimeoutMs: number;
}

/** What the deadlines share with every stream of their engine. */
export interface DeadlineHost<P extends AnyProtocol> {
  readonly timers: TimerQueue;
  readonly settings: DeadlineSettings;
  readonly idleTimeouts: IdleTimeouts<P['timeout']> | undefined;
}

/**
 * Every clock of one stream: the first-frame, partial-frame, slow-consumer and idle deadlines
 * (one timer-queue entry, the watchdog, armed for the earliest and re-armed when it fires, so
 * activity only updates timestamps), the handler's own timeouts, the flush after a local
 * `close()`, and the linger for the peer's FIN after ours.
 *
 * | clock          | runs while                               | when it passes                |
 * |----------------|------------------------------------------|-------------------------------|
 * | first frame    | reading, no frame yet                    | `MAI_FIRST_FRAME_TIMEOUT`     |
 * | partial frame  | reading, not held, a frame unfinished    | `MAI_PARTIAL_FRAME_TIMEOUT`   |
 * | slow consumer  | output above the soft limit              | `MAI_SLOW_CONSUMER`           |
 * | idle           | reading or writing                       | `onTimeout(ctx, value)`       |
 * | close flush    | after `close()`, no write completing     | `MAI_CLOSE_TIMEOUT`, destroy  |
 * | linger         | after our FIN, until the peer closes     | destroy (nothing was lost)    |
 *
 * Shutdown stops the close-flush clock: the shutdown deadline bounds the flush instead.
 */
export class Deadlines<P extends AnyProtocol> {
  readonly #subject: DeadlineSubject<P>;
  readonly #host: DeadlineHost<P>;
  readonly #stream: StreamSettings;

  #watchdog = 0;
  /** When the watchdog fires (0: not armed; a small integer, unlike Infinity, is stored inline). */
  #watchdogAt = 0;
  #onWatchdog: (() => void) | null = null;
  openedAt = 0;
  lastReadAt = 0;
  lastWriteAt = 0;
  /** When the current unfinished frame last made progress (0: no unfinished frame). */
  partialSince = 0;
  // Idle streams are the common case: what only some streams need is made on first use.
  #idleFired: { read: number; write: number; any: number } | null = null;
  /** The handler's pending timeouts. */
  #timeouts: Set<number> | null = null;
  #linger = 0;
  /** A local close is flushing: when a write last completed (0: not flushing a local close). */
  #flushProgressAt = 0;

  constructor(subject: DeadlineSubject<P>, host: DeadlineHost<P>, stream: StreamSettings) {
    this.#subject = subject;
    this.#host = host;
    this.#stream = stream;
  }

  /** The clock every deadline is measured on (the timer queue's). */
  now(): number {
    return this.#host.timers.now();
  }

  /** The stream is ready: its clocks start now. */
  start(): void {
    // Times are kept only where a clock reads them: a time is a boxed number (16 bytes) per
    // field, and idle streams are the common case.
    const now = this.now();
    if (this.#stream.firstFrameMs > 0) this.openedAt = now;
    if (this.#host.idleTimeouts !== undefined) {
      this.lastReadAt = now;
      this.lastWriteAt = now;
    }
    this.#watch();
  }

  /**
   * A read happened. `unfinished`: a frame is still waiting for bytes; `progressed`: this read
   * completed a frame (so the unfinished one is new). The partial-frame clock restarts on
   * progress.
   */
  read(unfinished: boolean, progressed: boolean): void {
    if (!unfinished) {
      if (this.#host.idleTimeouts !== undefined) this.lastReadAt = this.now();
      this.partialSince = 0;
      return;
    }
    const now = this.now();
    if (this.#host.idleTimeouts !== undefined) this.lastReadAt = now;
    if (progressed || this.partialSince === 0) {
      this.partialSince = now;
      if (this.#stream.partialFrameMs > 0) this.#armAt(now + this.#stream.partialFrameMs);
    }
  }

  /** Reading resumed after the engine held it: the partial-frame clock restarts. */
  readingResumed(): void {
    if (this.partialSince === 0) return;
    this.partialSince = this.now();
    if (this.#stream.partialFrameMs > 0) {
      this.#armAt(this.partialSince + this.#stream.partialFrameMs);
    }
  }

  /** A write reached the kernel: activity for the idle clocks, progress for the close clock. */
  wrote(): void {
    if (this.#host.idleTimeouts === undefined && this.#flushProgressAt === 0) return;
    const now = this.now();
    this.lastWriteAt = now;
    if (this.#flushProgressAt !== 0) this.#flushProgressAt = now;
  }

  /** Output went above the slow-consumer soft limit now: returns the time, arms the check. */
  overSoftLimit(): number {
    const now = this.now();
    this.#armAt(now + this.#host.settings.slowConsumerSoftLimitMs);
    return now;
  }

  /** A local `close()` began flushing: its progress is watched. */
  flushing(): void {
    if (this.#flushProgressAt !== 0 || this.#subject.closed) return;
    this.#flushProgressAt = this.now();
    this.#armAt(this.#flushProgressAt + this.#host.settings.closeTimeoutMs);
  }

  /** Shutdown took over the close: its deadline bounds the flush. */
  stopFlushClock(): void {
    this.#flushProgressAt = 0;
  }

  /** Our FIN left: wait for the peer's close at most `closeTimeoutMs`. */
  armLinger(): void {
    this.#flushProgressAt = 0;
    if (this.#linger !== 0 || this.#subject.closed) return;
    this.#linger = this.#host.timers.add(this.#host.settings.closeTimeoutMs, () => {
      this.#linger = 0;
      this.#subject.lingerEnded();
    });
  }

  /** The handler's `ctx.setTimeout`. */
  setTimeout(value: P['timeout'], ms: number): TimeoutHandle {
    if (this.#subject.closed) return 0 as TimeoutHandle;
    const id = this.#host.timers.add(ms, () => {
      if (this.#timeouts === null || !this.#timeouts.delete(id)) return;
      if (!this.#subject.closed) this.#subject.timeout(value);
    });
    this.#timeouts ??= new Set();
    this.#timeouts.add(id);
    return id as TimeoutHandle;
  }

  /** The handler's `ctx.clearTimeout`: only its own timeouts, never the engine's. */
  clearTimeout(handle: TimeoutHandle): boolean {
    if (this.#timeouts === null || !this.#timeouts.delete(handle)) return false;
    return this.#host.timers.cancel(handle);
  }

  /** The stream closed: every clock stops. */
  stopAll(): void {
    if (this.#timeouts !== null) {
      for (const id of this.#timeouts) this.#host.timers.cancel(id);
      this.#timeouts = null;
    }
    if (this.#watchdog !== 0) this.#host.timers.cancel(this.#watchdog);
    this.#watchdog = 0;
    this.#watchdogAt = 0;
    if (this.#linger !== 0) this.#host.timers.cancel(this.#linger);
    this.#linger = 0;
    this.#flushProgressAt = 0;
  }

  #armAt(at: number): void {
    if ((this.#watchdogAt !== 0 && at >= this.#watchdogAt) || this.#subject.closed) return;
    if (this.#watchdog !== 0) this.#host.timers.cancel(this.#watchdog);
    this.#watchdogAt = at;
    this.#onWatchdog ??= () => {
      this.#watchdog = 0;
      this.#watchdogAt = 0;
      this.#watch();
    };
    this.#watchdog = this.#host.timers.add(at - this.now(), this.#onWatchdog);
  }

  /** Checks every deadline, acts on those passed, and re-arms for the next. */
  #watch(): void {
    const subject = this.#subject;
    if (subject.closed) return;
    const now = this.now();
    const limits = this.#stream;
    let next = Number.POSITIVE_INFINITY;
    if (subject.reading) {
      if (limits.firstFrameMs > 0 && subject.framesReceived === 0) {
        const deadline = this.openedAt + limits.firstFrameMs;
        if (deadline <= now) {
          subject.fail(
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
      if (limits.partialFrameMs > 0 && this.partialSince !== 0 && !subject.readingHeld) {
        const deadline = this.partialSince + limits.partialFrameMs;
        if (deadline <= now) {
          subject.fail(
            new ConnectionError(
              ErrorCode.PartialFrameTimeout,
              `an unfinished frame (${subject.unfinishedBytes} bytes so far) made no progress for partialFrameTimeoutMs ${limits.partialFrameMs}`,
            ),
          );
          return;
        }
        next = Math.min(next, deadline);
      }
    }
    const softSince = subject.softSince;
    if (softSince !== 0) {
      const deadline = softSince + this.#host.settings.slowConsumerSoftLimitMs;
      if (deadline <= now) {
        subject.slowConsumer();
        return;
      }
      next = Math.min(next, deadline);
    }
    if (this.#flushProgressAt !== 0) {
      const deadline = this.#flushProgressAt + this.#host.settings.closeTimeoutMs;
      if (deadline <= now) {
        subject.flushStalled();
        return;
      }
      next = Math.min(next, deadline);
    }
    next = Math.min(next, this.#watchIdle(now));
    if (subject.closed) return;
    if (next !== Number.POSITIVE_INFINITY) this.#armAt(next);
  }

  /** Delivers the idle timeouts that passed; returns the next idle deadline. */
  #watchIdle(now: number): number {
    const idle = this.#host.idleTimeouts;
    if (idle === undefined || this.#subject.inputStopped) return Number.POSITIVE_INFINITY;
    this.#idleFired ??= { read: 0, write: 0, any: 0 };
    const fired = this.#idleFired;
    let next = Number.POSITIVE_INFINITY;
    for (const kind of IDLE_KINDS) {
      const timeout = idle[kind];
      if (timeout === undefined) continue;
      const active =
        kind === 'read'
          ? this.lastReadAt
          : kind === 'write'
            ? this.lastWriteAt
            : Math.max(this.lastReadAt, this.lastWriteAt);
      let deadline = Math.max(active, fired[kind]) + timeout.ms;
      if (deadline <= now) {
        fired[kind] = now;
        this.#subject.timeout(timeout.value);
        if (this.#subject.closed) return Number.POSITIVE_INFINITY;
        deadline = now + timeout.ms;
      }
      next = Math.min(next, deadline);
    }
    return next;
  }
}

const IDLE_KINDS = ['read', 'write', 'any'] as const;
