import type { Socket } from 'node:net';
import type { ConnectionOptions, TlsOptions } from 'node:tls';
import type { Duplex } from 'node:stream';
import { BufferPool, type BufferPoolStats, markEngineMemory } from '../buffer/buffer-pool.js';
import { asMaiError, BroadcastError, ErrorCode, MaiError } from '../errors.js';
import type { Address } from '../transport/address.js';
import { dial } from '../transport/dial.js';
import { bindListener, type Listener, type ServerListener } from '../transport/listener.js';
import { Connection, type ConnectionHost } from './connection.js';
import { MemoryBudget } from './memory-budget.js';
import type { AnyProtocol, CloseInfo, Context, TimeoutHandle, Token } from './protocol.js';
import { type EngineOptions, resolveSettings, type Settings } from './settings.js';
import { Shutdown, type ShutdownReport } from './shutdown.js';
import { type StreamSettings, streamSettingsFor } from './stream-settings.js';
import { TimerQueue } from './timers.js';

export type { ShutdownReport, ShutdownStreamReport } from './shutdown.js';

/** Bytes per socket read: large enough for a bulk stream, small enough to stay in cache. */
const READ_BUFFER_SIZE = 64 * 1024;

/** Options of `engine.listen`. */
export type ListenOptions<P extends AnyProtocol> = Address & {
  /** Creates the session of each accepted stream (overrides the engine's `createSession`). */
  createSession?: () => P['session'];
  /** @deprecated The former name of `createSession` (it is a factory, not a session). */
  session?: () => P['session'];
  /** Length of the kernel's accept queue. Default 511 (Node's; capped by net.core.somaxconn). */
  backlog?: number;
  /**
   * Streams this listener holds at most; connections beyond are accepted and closed at once,
   * and counted in `listener.refused`. Default unlimited.
   */
  maxConnections?: number;
  /** Overrides the engine's `partialFrameTimeoutMs` for accepted streams (default 30 s). */
  partialFrameTimeoutMs?: number;
  /** Overrides the engine's `firstFrameTimeoutMs` for accepted streams (default 10 s). */
  firstFrameTimeoutMs?: number;
  /** Overrides the engine's `pauseReadingWhenWriteBlocked` for accepted streams (default true). */
  pauseReadingWhenWriteBlocked?: boolean;
  /**
   * Speak TLS: Node's TLS server options (`key`, `cert`, `ca`, `requestCert`, `ALPNProtocols`,
   * …). A stream is created once its handshake is done; failed handshakes are counted in
   * `listener.handshakeFailures`. `handshakeTimeout` defaults to the first-frame timeout.
   */
  tls?: TlsOptions;
};

/** Options of `engine.connect`. */
export type ConnectOptions<P extends AnyProtocol> = Address & {
  /** The session of the new stream (overrides the engine's `session`). */
  session?: P['session'];
  /** Overrides the engine's `connectTimeoutMs`. */
  timeoutMs?: number;
  /** Overrides the engine's `partialFrameTimeoutMs` for this stream (default off). */
  partialFrameTimeoutMs?: number;
  /** Overrides the engine's `firstFrameTimeoutMs` for this stream (default off). */
  firstFrameTimeoutMs?: number;
  /** Overrides the engine's `pauseReadingWhenWriteBlocked` for this stream (default false). */
  pauseReadingWhenWriteBlocked?: boolean;
  /**
   * Speak TLS: Node's TLS connect options (`ca`, `servername`, `checkServerIdentity`, client
   * `key`/`cert`, …). `connect` resolves once the handshake is done and the certificate
   * checked; the server name defaults to `host` when it is a name.
   */
  tls?: ConnectionOptions;
};

/** A snapshot of the engine, for metrics and for tests that assert nothing leaked. */
export interface EngineStats {
  readonly streams: number;
  readonly listeners: number;
  readonly pendingConnects: number;
  readonly timers: number;
  readonly pool: BufferPoolStats;
}

/**
 * Owns byte streams and runs a protocol over them: the seed's `ProtocolEngine`, with the server
 * and client the seed never shipped.
 *
 * @example
 * ```ts
 * const engine = protocolEngine<Echo>({ codec: () => new LineCodec(), handler: {
 *   onFrame(ctx, line) { ctx.send(line); },
 * }});
 * const listener = await engine.listen({ port: 9999 });
 * await engine.wait(); // until shutdown
 * ```
 */
export class ProtocolEngine<P extends AnyProtocol> {
  readonly #options: EngineOptions<P>;
  readonly #settings: Settings;
  readonly #pool: BufferPool;
  readonly #timers = new TimerQueue();
  /** The user's `engine.setTimeout` handles: their own id space within the timer queue. */
  readonly #engineTimeouts = new Set<number>();
  readonly #connections = new Map<number, Connection<P>>();
  readonly #listeners = new Set<ServerListener>();
  readonly #host: ConnectionHost<P>;
  readonly #budget: MemoryBudget<Connection<P>> | null;
  readonly #createSession: (() => P['session']) | undefined;
  #nextToken = 1;
  #readBuffer: Buffer | null = null;
  #pendingConnects = 0;
  #shutdown: Shutdown<Connection<P>> | null = null;
  #shutdownReport: Promise<ShutdownReport> | null = null;
  #waiters: (() => void)[] = [];

  constructor(options: EngineOptions<P>) {
    this.#settings = resolveSettings(options as EngineOptions<AnyProtocol>);
    this.#options = options;
    this.#createSession = options.createSession ?? options.session;
    this.#pool = new BufferPool({
      bufferSize: this.#settings.initialBufferSize,
      initialPoolSize: this.#settings.initialBufferPoolSize,
      maxPoolSize: this.#settings.maxBufferPoolSize,
      debug: this.#settings.debugBuffers,
    });
    const budget =
      this.#settings.memoryBudget > 0
        ? new MemoryBudget(this.#pool, this.#settings.memoryBudget, () =>
            this.#connections.values(),
          )
        : null;
    this.#budget = budget;
    this.#host = {
      pool: this.#pool,
      settings: this.#settings,
      handler: options.handler,
      timers: this.#timers,
      idleTimeouts: options.idleTimeouts,
      forget: (connection, info) => this.#forget(connection, info),
      handlerThrew: (error) => this.#handlerThrew(error),
      grew: budget === null ? null : () => budget.grew(),
      shrank: budget === null ? null : () => budget.shrank(),
    };
  }

  /** The resolved settings (every option with its value). */
  get settings(): Readonly<Settings> {
    return this.#settings;
  }

  /**
   * Takes ownership of a connected byte stream (a `net.Socket`, a TLS socket, any `Duplex`) and
   * returns its token. `onReady` follows on the next tick (for a socket still connecting, once
   * it connects). Throws `MAI_ENGINE_CLOSED` during shutdown.
   */
  manage(stream: Duplex, session?: P['session']): Token {
    this.#refuseIfShuttingDown();
    return this.#adopt(
      stream,
      session === undefined ? this.#newSession() : session,
      streamSettingsFor(this.#settings, false, {}),
    ).token;
  }

  /** The context of a stream, if it is still managed. */
  context(token: Token): Context<P> | undefined {
    return this.#connections.get(token)?.context;
  }

  /**
   * Sends a frame to one stream (the seed's `Send(token, frame)`). Returns false if the stream
   * is unknown or closed, or above its write high-water mark (see `Context.send`).
   */
  send(token: Token, frame: P['out']): boolean {
    const connection = this.#connections.get(token);
    return connection === undefined ? false : connection.send(frame);
  }

  /**
   * Sends a frame to every open stream, or to those `filter` accepts. Each stream encodes it
   * with its own codec (codecs may differ per stream, RESP2 vs RESP3 say) and applies its own
   * back-pressure and slow-consumer policy. Returns how many streams queued it.
   *
   * A stream whose `send` throws (its codec cannot encode the frame) does not stop the others:
   * every target is tried, then a `BroadcastError` (`MAI_BROADCAST_FAILED`) says how many
   * queued it and which did not, and why.
   */
  broadcast(frame: P['out'], filter?: (ctx: Context<P>) => boolean): number {
    let count = 0;
    let failures: { token: number; error: MaiError }[] | null = null;
    for (const connection of this.#connections.values()) {
      if (!connection.accepting || (filter !== undefined && !filter(connection.context))) continue;
      try {
        connection.send(frame);
        count++;
      } catch (error) {
        failures ??= [];
        failures.push({
          token: connection.token,
          error: asMaiError(error, ErrorCode.EncodeFailed, 'send threw'),
        });
      }
    }
    if (failures !== null) throw new BroadcastError(count, failures);
    return count;
  }

  /** Listens on a TCP port or a Unix socket path; every accepted stream is managed. */
  async listen(options: ListenOptions<P>): Promise<Listener> {
    this.#refuseIfShuttingDown();
    const createSession = options.createSession ?? options.session ?? this.#createSession;
    const path = 'path' in options ? options.path : undefined;
    const streamSettings = streamSettingsFor(this.#settings, true, options);
    const listener = await bindListener(
      options,
      {
        backlog: options.backlog ?? 511,
        maxConnections: options.maxConnections,
        tls: options.tls,
        // Node's default is 120 s: a handshake is a first frame of sorts.
        handshakeTimeoutMs: streamSettings.firstFrameMs > 0 ? streamSettings.firstFrameMs : 120_000,
      },
      (socket: Socket) => {
        if (this.#shutdown !== null) {
          socket.destroy();
          return;
        }
        const session = createSession === undefined ? (undefined as P['session']) : createSession();
        this.#adopt(
          socket,
          session,
          streamSettings,
          path === undefined ? undefined : { local: path },
          true,
        );
      },
      (closed) => {
        this.#listeners.delete(closed);
        this.#checkIdle();
      },
    );
    if (this.#shutdown !== null) {
      await listener.close();
      throw new MaiError(ErrorCode.EngineClosed, 'the engine shut down while listen was binding');
    }
    this.#listeners.add(listener);
    return listener;
  }

  /**
   * Connects to a TCP or Unix socket server and manages the stream. Resolves once connected,
   * after `onReady`, with the stream's context. Rejects with `MAI_CONNECT_REFUSED`,
   * `MAI_CONNECT_TIMEOUT` or `MAI_CONNECT_FAILED`; no handler callback runs for a stream that
   * never connected.
   */
  async connect(options: ConnectOptions<P>): Promise<Context<P>> {
    this.#refuseIfShuttingDown();
    this.#pendingConnects++;
    let socket: Socket;
    try {
      socket = await dial(
        options,
        options.timeoutMs ?? this.#settings.connectTimeoutMs,
        options.tls,
      );
    } finally {
      this.#pendingConnects--;
    }
    if (this.#shutdown !== null) {
      socket.destroy();
      this.#checkIdle();
      throw new MaiError(ErrorCode.EngineClosed, 'the engine shut down while connect was pending');
    }
    const session = options.session === undefined ? this.#newSession() : options.session;
    const connection = this.#adopt(
      socket,
      session,
      streamSettingsFor(this.#settings, false, options),
      'path' in options ? { remote: options.path } : undefined,
      true,
    );
    // onReady runs on the tick after adoption; resolve after it.
    await new Promise<void>((resolve) => process.nextTick(resolve));
    return connection.context;
  }

  /** Calls `handler.onEngineTimeout(value)` after `ms`, unless cleared. */
  setTimeout(value: P['timeout'], ms: number): TimeoutHandle {
    const id = this.#timers.add(ms, () => {
      this.#engineTimeouts.delete(id);
      try {
        this.#options.handler.onEngineTimeout?.(value);
      } catch (error) {
        this.#handlerThrew(error);
      }
    });
    this.#engineTimeouts.add(id);
    return id as TimeoutHandle;
  }

  /** Cancels a timeout set with `engine.setTimeout`; any other handle is left alone. */
  clearTimeout(handle: TimeoutHandle): boolean {
    if (!this.#engineTimeouts.delete(handle)) return false;
    return this.#timers.cancel(handle);
  }

  /**
   * Resolves when the engine has nothing left to do: no stream, no listener, no pending
   * connect. A client that manages one stream waits for it to close; a server waits for
   * `shutdown()`.
   */
  wait(): Promise<void> {
    if (this.#idle()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /**
   * Stops accepting, gives each stream `onShutdown` for a goodbye frame, closes every stream
   * gracefully (queued output flushed, then FIN, then the peer's close awaited), and at the
   * deadline (default 30 s) destroys what is left with `MAI_SHUTDOWN_DEADLINE`, reported
   * `forced`. The deadline bounds the flush: `closeTimeoutMs` does not cut it short. Resolves
   * with what each stream left unsent. Called again, it returns the same report (the first
   * call's deadline holds). Timeouts set with `engine.setTimeout` are left as they are.
   */
  shutdown(options: { deadlineMs?: number } = {}): Promise<ShutdownReport> {
    if (this.#shutdownReport !== null) return this.#shutdownReport;
    const shutdown = new Shutdown<Connection<P>>(
      {
        closeListeners: async () => {
          await Promise.all([...this.#listeners].map((listener) => listener.close()));
        },
        streams: () => this.#connections.values(),
        idle: () => this.wait(),
      },
      options.deadlineMs ?? 30_000,
    );
    this.#shutdown = shutdown;
    this.#shutdownReport = shutdown.run();
    return this.#shutdownReport;
  }

  /** Streams, listeners, timers and pool usage right now. */
  stats(): EngineStats {
    return {
      streams: this.#connections.size,
      listeners: this.#listeners.size,
      pendingConnects: this.#pendingConnects,
      timers: this.#timers.size,
      pool: this.#pool.stats(),
    };
  }

  /** In debug mode, where each buffer still leased was leased (for leak reports). */
  outstandingLeases(): string[] {
    return this.#pool.outstanding();
  }

  #adopt(
    stream: Duplex,
    session: P['session'],
    streamSettings: StreamSettings,
    paths?: { local?: string; remote?: string },
    ownSocket = false,
  ): Connection<P> {
    const token = this.#nextToken++ as Token;
    // One read buffer serves every socket the engine made: reads run one at a time, and each
    // connection copies out what it keeps before its read callback returns.
    if (ownSocket && this.#readBuffer === null) {
      this.#readBuffer = Buffer.allocUnsafeSlow(READ_BUFFER_SIZE);
      markEngineMemory(this.#readBuffer);
    }
    const connection = new Connection(
      this.#host,
      stream,
      token,
      this.#options.codec(),
      session,
      streamSettings,
      paths,
      ownSocket ? (this.#readBuffer as Buffer) : undefined,
    );
    this.#connections.set(token, connection);
    return connection;
  }

  #forget(connection: Connection<P>, info: CloseInfo): void {
    this.#connections.delete(connection.token);
    this.#budget?.forget(connection);
    this.#shutdown?.closed(connection.token, info);
    this.#checkIdle();
  }

  #newSession(): P['session'] {
    const create = this.#createSession;
    return create === undefined ? (undefined as P['session']) : create();
  }

  #refuseIfShuttingDown(): void {
    if (this.#shutdown !== null) {
      throw new MaiError(ErrorCode.EngineClosed, 'the engine is shutting down');
    }
  }

  #idle(): boolean {
    return (
      this.#connections.size === 0 && this.#listeners.size === 0 && this.#pendingConnects === 0
    );
  }

  #checkIdle(): void {
    if (!this.#idle() || this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }

  #handlerThrew(error: unknown): void {
    const report = this.#options.onHandlerError;
    if (report !== undefined) {
      report(error);
      return;
    }
    queueMicrotask(() => {
      throw error;
    });
  }
}

/**
 * Builds an engine (the seed's `mai::protocol_engine(handler).with(...).build()`).
 *
 * @example
 * ```ts
 * const engine = protocolEngine<EchoClient>({
 *   codec: () => new EchoCodec(),
 *   handler: new EchoClientHandler(),
 *   initialBufferSize: kilobytes(32),
 *   initialBufferPoolSize: 16,
 *   maxBufferPoolSize: 128,
 * });
 * ```
 */
export function protocolEngine<P extends AnyProtocol>(
  options: EngineOptions<P>,
): ProtocolEngine<P> {
  return new ProtocolEngine(options);
}
