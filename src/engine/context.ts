import type { AnyProtocol, Context, TimeoutHandle, Token } from './protocol.js';

/**
 * What a stream's context asks of the stream (the engine's connection implements it): every
 * member of `Context` but the stream's identity and session, which the context holds itself.
 * Kept apart so that a handler holds only the documented members and none of the engine's.
 */
export type ContextTarget<P extends AnyProtocol> = Omit<
  Context<P>,
  'token' | 'remoteAddress' | 'localAddress' | 'session'
>;

/**
 * The `Context` handed to handlers: the documented members and nothing else, each passed on to
 * the stream's connection.
 *
 * @example
 * ```ts
 * onFrame(ctx, frame) { ctx.send(frame); } // ctx is a StreamContext
 * ```
 */
export class StreamContext<P extends AnyProtocol> implements Context<P> {
  readonly token: Token;
  readonly remoteAddress: string | undefined;
  readonly localAddress: string | undefined;
  session: P['session'];
  readonly #target: ContextTarget<P>;

  constructor(
    target: ContextTarget<P>,
    token: Token,
    session: P['session'],
    remoteAddress: string | undefined,
    localAddress: string | undefined,
  ) {
    this.#target = target;
    this.token = token;
    this.session = session;
    this.remoteAddress = remoteAddress;
    this.localAddress = localAddress;
  }

  get writable(): boolean {
    return this.#target.writable;
  }

  get queuedBytes(): number {
    return this.#target.queuedBytes;
  }

  get closed(): boolean {
    return this.#target.closed;
  }

  send(frame: P['out']): boolean {
    return this.#target.send(frame);
  }

  drain(): Promise<boolean> {
    return this.#target.drain();
  }

  close(): void {
    this.#target.close();
  }

  end(): void {
    this.#target.end();
  }

  abort(): void {
    this.#target.abort();
  }

  setTimeout(value: P['timeout'], ms: number): TimeoutHandle {
    return this.#target.setTimeout(value, ms);
  }

  clearTimeout(handle: TimeoutHandle): boolean {
    return this.#target.clearTimeout(handle);
  }
}
