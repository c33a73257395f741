import { ConnectionError, ErrorCode, type MaiError } from '../errors.js';
import type { CloseInfo, Token } from './protocol.js';

/** What `shutdown` reports for a stream that was still open when it began. */
export interface ShutdownStreamReport {
  readonly token: Token;
  /** Closed by the deadline rather than on its own. */
  readonly forced: boolean;
  readonly framesUnsent: number;
  readonly bytesUnsent: number;
  readonly partialBytes: number;
}

export interface ShutdownReport {
  readonly streams: readonly ShutdownStreamReport[];
  /** How many streams the deadline closed. */
  readonly forced: number;
}

/** What the shutdown needs of a stream. */
export interface ClosingStream {
  readonly token: Token;
  shutdown(): void;
  forceClose(error: MaiError): void;
}

/** What the shutdown needs of its engine. */
export interface ShutdownHost<S extends ClosingStream> {
  closeListeners(): Promise<void>;
  /** The streams open right now. */
  streams(): Iterable<S>;
  /** Resolves when the engine has nothing left (no stream, listener or pending connect). */
  idle(): Promise<void>;
}

/**
 * One graceful shutdown of an engine: listeners stop, every stream gets `onShutdown` and a
 * graceful close, and at the deadline what is still open — flushing, or waiting for its
 * peer's FIN — is destroyed with `MAI_SHUTDOWN_DEADLINE` and reported `forced`. The engine runs
 * it once: a second `shutdown()` gets the same report.
 *
 * @example
 * ```ts
 * const shutdown = new Shutdown(host, 10_000);
 * const report = await shutdown.run();
 * ```
 */
export class Shutdown<S extends ClosingStream> {
  readonly #host: ShutdownHost<S>;
  readonly #deadlineMs: number;
  readonly #watchers = new Map<number, (report: ShutdownStreamReport) => void>();
  readonly #forced = new Set<number>();

  constructor(host: ShutdownHost<S>, deadlineMs: number) {
    this.#host = host;
    this.#deadlineMs = deadlineMs;
  }

  async run(): Promise<ShutdownReport> {
    const started = Date.now();
    await this.#host.closeListeners();
    const streams = [...this.#host.streams()];
    const reports = streams.map(
      (stream) =>
        new Promise<ShutdownStreamReport>((resolve) => this.#watchers.set(stream.token, resolve)),
    );
    for (const stream of streams) stream.shutdown();
    // The deadline counts from the call: closing the listeners took part of it.
    const left = Math.max(0, this.#deadlineMs - (Date.now() - started));
    const deadline = setTimeout(() => this.#force(), left);
    const closed = await Promise.all(reports);
    clearTimeout(deadline);
    await this.#host.idle();
    return { streams: closed, forced: this.#forced.size };
  }

  /** A stream closed: its report, if the shutdown waits for it. */
  closed(token: Token, info: CloseInfo): void {
    const watcher = this.#watchers.get(token);
    if (watcher === undefined) return;
    this.#watchers.delete(token);
    watcher({
      token,
      forced: this.#forced.has(token),
      framesUnsent: info.framesUnsent,
      bytesUnsent: info.bytesUnsent,
      partialBytes: info.partialBytes,
    });
  }

  #force(): void {
    // Also streams whose socket closed but whose handlers are still pending: the deadline ends
    // the wait for those too.
    for (const stream of this.#host.streams()) {
      this.#forced.add(stream.token);
      stream.forceClose(
        new ConnectionError(
          ErrorCode.ShutdownDeadline,
          `shutdown deadline of ${this.#deadlineMs} ms passed with the stream still open`,
        ),
      );
    }
  }
}
