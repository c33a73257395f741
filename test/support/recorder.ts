import type { AnyProtocol, CloseInfo, Context, Handler, MaiError } from '../../src/index.js';

/** One stream's handler calls, in order. */
export interface StreamLog<P extends AnyProtocol> {
  events: string[];
  frames: P['in'][];
  /** Frames delivered (also when `keepFrames` is false). */
  frameCount: number;
  errors: MaiError[];
  closeInfo: CloseInfo | undefined;
}

/**
 * Wraps a handler and checks the lifecycle contract on every call (like undici's wrapper that
 * asserts callback order): onReady once and first, onError at most once, onClosed exactly once,
 * and nothing after onClosed. Breaches go to `violations`, which tests assert is empty.
 */
export class Recorder<P extends AnyProtocol> {
  readonly logs = new Map<number, StreamLog<P>>();
  readonly violations: string[] = [];
  readonly handler: Handler<P>;

  /**
   * `keepFrames: false` counts frames without keeping them (for tests that move gigabytes, where
   * keeping every frame would be the test's own memory leak).
   */
  constructor(inner: Partial<Handler<P>> = {}, options: { keepFrames?: boolean } = {}) {
    const self = this;
    const keepFrames = options.keepFrames ?? true;
    this.handler = {
      onReady(ctx) {
        const log = self.#log(ctx);
        if (log.events.length > 0) self.#violate(ctx, `onReady after ${log.events.join(',')}`);
        log.events.push('ready');
        inner.onReady?.(ctx);
      },
      onFrame(ctx, frame) {
        const log = self.#check(ctx, 'frame');
        log.frameCount++;
        if (keepFrames) log.frames.push(frame);
        return inner.onFrame?.(ctx, frame);
      },
      onTimeout(ctx, value) {
        self.#check(ctx, 'timeout');
        inner.onTimeout?.(ctx, value);
      },
      onError(ctx, error) {
        const log = self.#check(ctx, 'error');
        if (log.errors.length > 0) self.#violate(ctx, 'onError twice');
        log.errors.push(error);
        inner.onError?.(ctx, error);
      },
      onClosed(ctx, info) {
        const log = self.#check(ctx, 'closed');
        log.closeInfo = info;
        inner.onClosed?.(ctx, info);
      },
      onEnd(ctx) {
        self.#check(ctx, 'end');
        inner.onEnd?.(ctx);
      },
      onShutdown(ctx) {
        self.#check(ctx, 'shutdown');
        inner.onShutdown?.(ctx);
      },
    };
  }

  /** Streams that got onClosed. */
  get closedCount(): number {
    let count = 0;
    for (const log of this.logs.values()) if (log.closeInfo !== undefined) count++;
    return count;
  }

  #log(ctx: Context<P>): StreamLog<P> {
    let log = this.logs.get(ctx.token);
    if (log === undefined) {
      log = { events: [], frames: [], frameCount: 0, errors: [], closeInfo: undefined };
      this.logs.set(ctx.token, log);
    }
    return log;
  }

  #check(ctx: Context<P>, event: string): StreamLog<P> {
    const log = this.#log(ctx);
    if (log.events[0] !== 'ready') this.#violate(ctx, `${event} before onReady`);
    if (log.events.includes('closed')) this.#violate(ctx, `${event} after onClosed`);
    log.events.push(event);
    return log;
  }

  #violate(ctx: Context<P>, what: string): void {
    this.violations.push(`stream ${ctx.token}: ${what}`);
  }
}
