import type { Socket } from 'node:net';
import type { ConnectionOptions, TlsOptions } from 'node:tls';
import type { Duplex } from 'node:stream';
import { BufferPool, type BufferPoolStats, markEngineMemory } from '../buffer/buffer-pool.js';
import { asMaiError, BroadcastError, ConnectionError, ErrorCode, MaiError } from '../errors.js';
import type { Address } from '../transport/address.js';
import { dial } from '../transport/dial.js';
import { bindListener, type Listener, type ServerListener } from '../transport/listener.js';
import { Connection, type ConnectionHost, type StreamTimeouts } from './connection.js';
import type { AnyProtocol, CloseInfo, Context, TimeoutHandle, Token } from './protocol.js';
import { type EngineOptions, resolveSettings, SERVER_TIMEOUTS, type Settings } from './settings.js';
import { TimerQueue } from './timers.js';

/** Bytes per socket read: large enough for a bulk stream, small enough to stay in cache. */
const READ_BUFFER_SIZE = 64 * 1024;

/** Options of `engine.listen`. */
export type ListenOptions<P extends AnyProtocol> = Address & {
  /** Creates the session of each accepted stream (overrides the engine's `session`). */
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
  readonly #streams = new Map<number, Connection<P>>();
  readonly #listeners = new Set<ServerListener>();
  readonly #host: ConnectionHost<P>;
  #nextToken = 1;
  #readBuffer: Buffer | null = null;
  #pendingConnects = 0;
  #shuttingDown = false;
  #waiters: (() => void)[] = [];
  #closeWatchers = new Map<number, (report: ShutdownStreamReport) => void>();
  #memoryPaused = new Set<Connection<P>>();
  /** Under memory pressure, the one stream allowed to read on (see `#shrank`). */
  #privileged: Connection<P> | null = null;

  constructor(options: EngineOptions<P>) {
    this.#settings = resolveSettings(options as EngineOptions<AnyProtocol>);
    this.#options = options;
    this.#pool = new BufferPool({
      bufferSize: this.#settings.initialBufferSize,
      initialPoolSize: this.#settings.initialBufferPoolSize,
      maxPoolSize: this.#settings.maxBufferPoolSize,
      debug: this.#settings.debugBuffers,
    });
    this.#host = {
      pool: this.#pool,
      settings: this.#settings,
      handler: options.handler,
      timers: this.#timers,
      forget: (connection, info) => this.#forget(connection, info),
      handlerThrew: (error) => this.#handlerThrew(error),
      idleTimeouts: options.idleTimeouts,
      budgeted: this.#settings.memoryBudget > 0,
      grew: () => this.#grew(),
      shrank: () => this.#shrank(),
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
      this.#timeoutsFor(false, {}),
    ).token;
  }

  /** The context of a stream, if it is still managed. */
  context(token: Token): Context<P> | undefined {
    return this.#streams.get(token);
  }

  /**
   * Sends a frame to one stream (the seed's `Send(token, frame)`). Returns false if the stream
   * is unknown or closed, or above its write high-water mark (see `Context.send`).
   */
  send(token: Token, frame: P['out']): boolean {
    const stream = this.#streams.get(token);
    return stream === undefined ? false : stream.send(frame);
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
    for (const stream of this.#streams.values()) {
      if (!stream.accepting || (filter !== undefined && !filter(stream))) continue;
      try {
        stream.send(frame);
        count++;
      } catch (error) {
        failures ??= [];
        failures.push({
          token: stream.token,
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
    const makeSession = options.session ?? this.#options.session;
    const path = 'path' in options ? options.path : undefined;
    const limits = this.#timeoutsFor(true, options);
    const listener = await bindListener(
      options,
      {
        backlog: options.backlog ?? 511,
        maxConnections: options.maxConnections,
        tls: options.tls,
        // Node's default is 120 s: a handshake is a first frame of sorts.
        handshakeTimeoutMs: limits.firstFrameMs > 0 ? limits.firstFrameMs : 120_000,
      },
      (socket: Socket) => {
        if (this.#shuttingDown) {
          socket.destroy();
          return;
        }
        const session = makeSession === undefined ? (undefined as P['session']) : makeSession();
        this.#adopt(
          socket,
          session,
          limits,
          path === undefined ? undefined : { local: path },
          true,
        );
      },
      (closed) => {
        this.#listeners.delete(closed);
        this.#checkIdle();
      },
    );
    if (this.#shuttingDown) {
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
    if (this.#shuttingDown) {
      socket.destroy();
      this.#checkIdle();
      throw new MaiError(ErrorCode.EngineClosed, 'the engine shut down while connect was pending');
    }
    const session = options.session === undefined ? this.#newSession() : options.session;
    const connection = this.#adopt(
      socket,
      session,
      this.#timeoutsFor(false, options),
      'path' in options ? { remote: options.path } : undefined,
      true,
    );
    // onReady runs on the tick after adoption; resolve after it.
    await new Promise<void>((resolve) => process.nextTick(resolve));
    return connection;
  }

  /** Calls `handler.onEngineTimeout(value)` after `ms`, unless cleared. */
  setTimeout(value: P['timeout'], ms: number): TimeoutHandle {
    const id = this.#timers.add(ms, () => {
      try {
        this.#options.handler.onEngineTimeout?.(value);
      } catch (error) {
        this.#handlerThrew(error);
      }
    });
    return id as TimeoutHandle;
  }

  clearTimeout(handle: TimeoutHandle): boolean {
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
   * gracefully (queued output flushed, then FIN), and force-closes what is left at the deadline
   * (default 30 s) with `MAI_SHUTDOWN_DEADLINE`. Resolves with what each stream left unsent.
   */
  async shutdown(options: { deadlineMs?: number } = {}): Promise<ShutdownReport> {
    const deadlineMs = options.deadlineMs ?? 30_000;
    this.#shuttingDown = true;
    await Promise.all([...this.#listeners].map((listener) => listener.close()));
    const streams = [...this.#streams.values()];
    const reports = streams.map(
      (stream) =>
        new Promise<ShutdownStreamReport>((resolve) =>
          this.#closeWatchers.set(stream.token, resolve),
        ),
    );
    const forcedTokens = new Set<number>();
    for (const stream of streams) stream.shutdown();
    const deadline = setTimeout(() => {
      for (const stream of this.#streams.values()) {
        forcedTokens.add(stream.token);
        stream.forceClose(
          new ConnectionError(
            ErrorCode.ShutdownDeadline,
            `shutdown deadline of ${deadlineMs} ms passed with the stream still open`,
          ),
        );
      }
    }, deadlineMs);
    const closed = await Promise.all(reports);
    clearTimeout(deadline);
    this.#timers.clear();
    const result = closed.map((report) => ({ ...report, forced: forcedTokens.has(report.token) }));
    await this.wait();
    return { streams: result, forced: forcedTokens.size };
  }

  /** Streams, listeners, timers and pool usage right now. */
  stats(): EngineStats {
    return {
      streams: this.#streams.size,
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
    limits: StreamTimeouts,
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
      limits,
      paths,
      ownSocket ? (this.#readBuffer as Buffer) : undefined,
    );
    this.#streams.set(token, connection);
    return connection;
  }

  #forget(connection: Connection<P>, info: CloseInfo): void {
    this.#streams.delete(connection.token);
    this.#memoryPaused.delete(connection);
    if (this.#privileged === connection) this.#privileged = null;
    if (this.#settings.memoryBudget > 0) this.#shrank();
    const watcher = this.#closeWatchers.get(connection.token);
    if (watcher !== undefined) {
      this.#closeWatchers.delete(connection.token);
      watcher({
        token: connection.token,
        forced: false,
        framesUnsent: info.framesUnsent,
        bytesUnsent: info.bytesUnsent,
        partialBytes: info.partialBytes,
      });
    }
    this.#checkIdle();
  }

  /**
   * The partial-frame and first-frame timeouts of a stream: the call's own values, else the
   * engine's, else the role's default (on for accepted streams, off for the rest).
   */
  #timeoutsFor(
    accepted: boolean,
    call: {
      partialFrameTimeoutMs?: number;
      firstFrameTimeoutMs?: number;
      pauseReadingWhenWriteBlocked?: boolean;
    },
  ): StreamTimeouts {
    const settings = this.#settings;
    return {
      partialFrameMs:
        call.partialFrameTimeoutMs ??
        settings.partialFrameTimeoutMs ??
        (accepted ? SERVER_TIMEOUTS.partialFrameTimeoutMs : 0),
      firstFrameMs:
        call.firstFrameTimeoutMs ??
        settings.firstFrameTimeoutMs ??
        (accepted ? SERVER_TIMEOUTS.firstFrameTimeoutMs : 0),
      pauseWhenWriteBlocked:
        call.pauseReadingWhenWriteBlocked ?? settings.pauseReadingWhenWriteBlocked ?? accepted,
    };
  }

  /**
   * Over the memory budget: pause reading on the streams holding the most pooled bytes, until
   * the paused ones hold at least the excess. Growth stops there; what they hold drains as their
   * output is written and their frames complete.
   */
  #grew(): void {
    const budget = this.#settings.memoryBudget;
    const used = this.#pool.leasedBytes;
    if (used <= budget) return;
    let excess = used - budget;
    const heaviest = [...this.#streams.values()]
      .filter((stream) => !this.#memoryPaused.has(stream) && stream !== this.#privileged)
      .sort((a, b) => b.heldBytes - a.heldBytes);
    for (const stream of heaviest) {
      if (excess <= 0) break;
      excess -= stream.heldBytes;
      this.#memoryPaused.add(stream);
      stream.pauseForMemory();
    }
    this.#shrank();
  }

  /**
   * Below 3/4 of the budget again: every paused stream reads again. Still above it, but every
   * stream that holds memory is paused: nobody can free anything, since a stream frees its read
   * buffer only by completing its frame. Then the heaviest paused stream (the one with most of
   * a frame) alone reads on, so at least one stream always progresses.
   */
  #shrank(): void {
    if (this.#memoryPaused.size === 0) return;
    if (this.#pool.leasedBytes <= (this.#settings.memoryBudget * 3) / 4) {
      const paused = [...this.#memoryPaused];
      this.#memoryPaused.clear();
      this.#privileged = null;
      for (const stream of paused) stream.resumeFromMemory();
      return;
    }
    let heaviest: Connection<P> | null = null;
    for (const stream of this.#streams.values()) {
      if (!this.#memoryPaused.has(stream)) {
        if (stream.heldBytes > 0) return; // someone can still free memory
      } else if (heaviest === null || stream.heldBytes > heaviest.heldBytes) {
        heaviest = stream;
      }
    }
    if (heaviest === null) return;
    this.#memoryPaused.delete(heaviest);
    this.#privileged = heaviest;
    heaviest.resumeFromMemory();
  }

  #newSession(): P['session'] {
    const make = this.#options.session;
    return make === undefined ? (undefined as P['session']) : make();
  }

  #refuseIfShuttingDown(): void {
    if (this.#shuttingDown) {
      throw new MaiError(ErrorCode.EngineClosed, 'the engine is shutting down');
    }
  }

  #idle(): boolean {
    return this.#streams.size === 0 && this.#listeners.size === 0 && this.#pendingConnects === 0;
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
