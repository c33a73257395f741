/**
 * A fault-injecting TCP / Unix socket proxy for reliability tests (toxiproxy is not packaged
 * here, so the repo carries its own). It sits on loopback between a client and a mai server and,
 * per accepted connection, applies a plan drawn from a seeded generator:
 *
 * ```text
 *   client ──▶ [listen] ── toServer faults ──▶ target (mai server)
 *   client ◀── [listen] ◀── toClient faults ── target
 *
 *   faults of one direction, applied to the bytes in order:
 *     split     every chunk cut into pieces of pieceMin..pieceMax bytes, one write each
 *     latency   each piece leaves latencyMs (+ 0..jitterMs) after it arrived, order kept
 *     bandwidth at most bytesPerSecond (0: unlimited)
 *     stall     after stallAtByte bytes, nothing leaves for stallMs
 *     cut       after cutAtByte bytes: FIN to the receiver, the rest of this direction dropped
 *     reset     after resetAtByte bytes: RST to both ends (resetAndDestroy; plain destroy on
 *               Unix sockets, which have no RST)
 * ```
 *
 * Session k (the k-th connection accepted) gets `planFor(random)` with a generator seeded from
 * `(seed, k)`, so a failing session is reproduced from the seed and its index. What the kernel
 * does with timing (how writes coalesce into reads) is not deterministic; the plan is.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Address } from '../../src/index.js';

/** A deterministic generator of floats in [0, 1) (mulberry32: small, fast, good enough). */
export type Random = () => number;

/**
 * Seeded random numbers: the same seed gives the same sequence.
 *
 * @example
 * ```ts
 * const random = seededRandom(42);
 * const size = 1 + Math.floor(random() * 64);
 * ```
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * An integer in [min, max] from a generator.
 *
 * @example
 * ```ts
 * const pieces = randomInt(seededRandom(1), 1, 64);
 * ```
 */
export function randomInt(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** The seed of session `index` of a proxy seeded with `seed`. */
export function sessionSeed(seed: number, index: number): number {
  return (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
}

/** The faults of one direction. Byte positions count bytes of this direction. */
export interface DirectionFaults {
  /** Pieces of pieceMin..pieceMax bytes; 0 for both leaves chunks whole. */
  pieceMin: number;
  pieceMax: number;
  latencyMs: number;
  jitterMs: number;
  /** 0: unlimited. */
  bytesPerSecond: number;
  /** -1: no stall. */
  stallAtByte: number;
  stallMs: number;
  /** -1: no cut. After this many bytes: FIN, then the rest of the direction is dropped. */
  cutAtByte: number;
  /** -1: no reset. After this many bytes: both ends reset. */
  resetAtByte: number;
}

/** What one session does in each direction. */
export interface FaultPlan {
  toServer: DirectionFaults;
  toClient: DirectionFaults;
}

/** No fault at all: a plain pipe. */
export const NO_FAULTS: Readonly<DirectionFaults> = Object.freeze({
  pieceMin: 0,
  pieceMax: 0,
  latencyMs: 0,
  jitterMs: 0,
  bytesPerSecond: 0,
  stallAtByte: -1,
  stallMs: 0,
  cutAtByte: -1,
  resetAtByte: -1,
});

/** Bounds of `randomPlan`: how many bytes a direction carries at most, and how slow it may get. */
export interface RandomPlanBounds {
  /** Cut and reset positions are drawn in [0, bytes]. */
  bytesToServer: number;
  bytesToClient: number;
  /** Largest latency, jitter and stall in ms. Default 20, 10, 100. */
  maxLatencyMs?: number;
  maxJitterMs?: number;
  maxStallMs?: number;
  /** Probability that a session gets a cut or a reset somewhere. Default 0.5. */
  breakProbability?: number;
}

/**
 * A plan mixing every fault at random: split into 1–64 byte pieces, latency and jitter,
 * bandwidth cap, stall, and (with `breakProbability`) a FIN cut or a reset in one direction.
 *
 * @example
 * ```ts
 * const proxy = await FaultProxy.start({ target, seed, planFor: (r) => randomPlan(r, { bytesToServer: 4000, bytesToClient: 4000 }) });
 * ```
 */
export function randomPlan(random: Random, bounds: RandomPlanBounds): FaultPlan {
  const breaking = random() < (bounds.breakProbability ?? 0.5);
  const breakDirection = random() < 0.5 ? 'toServer' : 'toClient';
  const breakKind = random() < 0.5 ? 'cut' : 'reset';
  const direction = (name: 'toServer' | 'toClient', bytes: number): DirectionFaults => {
    const split = random() < 0.7;
    const pieceMax = split ? randomInt(random, 1, 64) : 0;
    const faults: DirectionFaults = {
      pieceMin: split ? randomInt(random, 1, pieceMax) : 0,
      pieceMax,
      latencyMs: random() < 0.3 ? randomInt(random, 0, bounds.maxLatencyMs ?? 20) : 0,
      jitterMs: random() < 0.3 ? randomInt(random, 0, bounds.maxJitterMs ?? 10) : 0,
      bytesPerSecond: random() < 0.2 ? randomInt(random, 64 * 1024, 4 * 1024 * 1024) : 0,
      stallAtByte: random() < 0.2 ? randomInt(random, 0, bytes) : -1,
      stallMs: randomInt(random, 1, bounds.maxStallMs ?? 100),
      cutAtByte: -1,
      resetAtByte: -1,
    };
    if (breaking && breakDirection === name) {
      if (breakKind === 'cut') faults.cutAtByte = randomInt(random, 0, bytes);
      else faults.resetAtByte = randomInt(random, 0, bytes);
    }
    return faults;
  };
  return {
    toServer: direction('toServer', bounds.bytesToServer),
    toClient: direction('toClient', bounds.bytesToClient),
  };
}

/** What happened to one session, for the test to explain every missing frame. */
export interface SessionRecord {
  readonly index: number;
  readonly seed: number;
  readonly plan: FaultPlan;
  /** Ports of the two sockets (TCP), to match the session with the client's and server's streams. */
  clientPort: number | undefined;
  upstreamPort: number | undefined;
  /** Bytes handed to the receiving socket, per direction. */
  forwardedToServer: number;
  forwardedToClient: number;
  /** How the session ended. A cut or reset records the direction that did it. */
  outcome: 'open' | 'closed' | 'cut' | 'reset' | 'error';
  brokenDirection: 'toServer' | 'toClient' | null;
  /** Runs of `canaryByte` at least `canaryRun` long seen in forwarded bytes (if scanning). */
  canaryHits: number;
}

export interface FaultProxyOptions {
  /** Where the real server listens. */
  target: Address;
  /** Where the proxy listens. Default: an ephemeral loopback TCP port. */
  listen?: Address;
  seed: number;
  /** The plan of each session. Default: `NO_FAULTS` both ways. */
  planFor?: (random: Random, index: number) => FaultPlan;
  /** Scan forwarded bytes for runs of this byte (the pool's canary 0xdd, say). */
  canaryByte?: number;
  /** Length of a run that counts as a hit. Default 8. */
  canaryRun?: number;
}

/** Buffered bytes per direction above which the proxy stops reading the sender. */
const PAUSE_ABOVE = 256 * 1024;

/**
 * The proxy. `start` binds it; `close` stops accepting and destroys every session.
 *
 * @example
 * ```ts
 * const proxy = await FaultProxy.start({ target: listener.address, seed: 7, planFor: (r) => randomPlan(r, bounds) });
 * const ctx = await client.connect(proxy.address);
 * // ... later
 * await proxy.close();
 * console.log(proxy.sessions[0]?.outcome);
 * ```
 */
export class FaultProxy {
  readonly seed: number;
  readonly sessions: SessionRecord[] = [];
  readonly #server: Server;
  readonly #options: FaultProxyOptions;
  readonly #live = new Set<ProxySession>();
  #address: Address;

  private constructor(server: Server, options: FaultProxyOptions, address: Address) {
    this.#server = server;
    this.#options = options;
    this.seed = options.seed;
    this.#address = address;
  }

  static start(options: FaultProxyOptions): Promise<FaultProxy> {
    const server = createServer({ allowHalfOpen: true });
    const listen = options.listen ?? { port: 0, host: '127.0.0.1' };
    const proxy = new FaultProxy(server, options, listen);
    server.on('connection', (socket) => proxy.#accept(socket));
    server.on('error', () => {});
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      const ready = (): void => {
        server.off('error', reject);
        const bound = server.address();
        if (bound !== null && typeof bound === 'object') {
          proxy.#address = { port: bound.port, host: bound.address };
        }
        resolve(proxy);
      };
      if ('path' in listen) server.listen({ path: listen.path, backlog: 4096 }, ready);
      else
        server.listen(
          { port: listen.port, host: listen.host ?? '127.0.0.1', backlog: 4096 },
          ready,
        );
    });
  }

  /** Where clients connect. */
  get address(): Address {
    return this.#address;
  }

  /** Sessions still open. */
  get liveSessions(): number {
    return this.#live.size;
  }

  /** A line to print when a test fails: how to reproduce. */
  describe(index?: number): string {
    if (index === undefined) return `fault proxy seed ${this.seed}`;
    const record = this.sessions[index];
    return `fault proxy seed ${this.seed}, session ${index}: ${JSON.stringify(record)}`;
  }

  /** Stops accepting and destroys every open session. */
  close(): Promise<void> {
    for (const session of this.#live) session.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    const index = this.sessions.length;
    const seed = sessionSeed(this.seed, index);
    const random = seededRandom(seed);
    const plan = this.#options.planFor?.(random, index) ?? {
      toServer: { ...NO_FAULTS },
      toClient: { ...NO_FAULTS },
    };
    const record: SessionRecord = {
      index,
      seed,
      plan,
      clientPort: client.remotePort,
      upstreamPort: undefined,
      forwardedToServer: 0,
      forwardedToClient: 0,
      outcome: 'open',
      brokenDirection: null,
      canaryHits: 0,
    };
    this.sessions.push(record);
    const target = this.#options.target;
    const upstream =
      'path' in target
        ? connect({ path: target.path, allowHalfOpen: true })
        : connect({ port: target.port, host: target.host ?? '127.0.0.1', allowHalfOpen: true });
    const session = new ProxySession(client, upstream, record, random, this.#options, () =>
      this.#live.delete(session),
    );
    this.#live.add(session);
  }
}

/** One accepted connection and its upstream, with a pump per direction. */
class ProxySession {
  readonly #client: Socket;
  readonly #upstream: Socket;
  readonly #record: SessionRecord;
  readonly #onGone: () => void;
  readonly #pumps: Pump[];
  #closedSockets = 0;
  #done = false;

  constructor(
    client: Socket,
    upstream: Socket,
    record: SessionRecord,
    random: Random,
    options: FaultProxyOptions,
    onGone: () => void,
  ) {
    this.#client = client;
    this.#upstream = upstream;
    this.#record = record;
    this.#onGone = onGone;
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const canary =
      options.canaryByte === undefined
        ? null
        : { byte: options.canaryByte, run: options.canaryRun ?? 8 };
    this.#pumps = [
      new Pump(client, upstream, record.plan.toServer, random, canary, this, 'toServer'),
      new Pump(upstream, client, record.plan.toClient, random, canary, this, 'toClient'),
    ];
    // Client bytes wait (paused) until the upstream connects.
    client.pause();
    upstream.once('connect', () => {
      record.upstreamPort = upstream.localPort;
      client.resume();
    });
    for (const socket of [client, upstream]) {
      socket.on('error', () => this.#onError());
      socket.on('close', () => this.#onClose());
    }
  }

  forwarded(direction: 'toServer' | 'toClient', bytes: number): void {
    if (direction === 'toServer') this.#record.forwardedToServer += bytes;
    else this.#record.forwardedToClient += bytes;
  }

  canaryHit(): void {
    this.#record.canaryHits++;
  }

  broke(direction: 'toServer' | 'toClient', how: 'cut' | 'reset'): void {
    if (this.#record.outcome === 'open') {
      this.#record.outcome = how;
      this.#record.brokenDirection = direction;
    }
    if (how === 'reset') this.reset();
  }

  /** RST to both ends. */
  reset(): void {
    for (const socket of [this.#client, this.#upstream]) resetSocket(socket);
    this.#finish();
  }

  destroy(): void {
    this.#client.destroy();
    this.#upstream.destroy();
    this.#finish();
  }

  #onError(): void {
    // An error on one end (a reset by the peer, say) is passed on as a reset to the other,
    // as a proxy that loses one side cannot pretend the stream ended cleanly.
    if (this.#record.outcome === 'open') this.#record.outcome = 'error';
    this.reset();
  }

  #onClose(): void {
    this.#closedSockets++;
    if (this.#closedSockets === 2) {
      if (this.#record.outcome === 'open') this.#record.outcome = 'closed';
      this.#finish();
    } else {
      // One end closed completely: once both directions have drained, close the other.
      for (const pump of this.#pumps) pump.sourceGone();
    }
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    for (const pump of this.#pumps) pump.stop();
    this.#onGone();
  }
}

/** Moves bytes of one direction through its faults. */
class Pump {
  readonly #from: Socket;
  readonly #to: Socket;
  readonly #faults: DirectionFaults;
  readonly #random: Random;
  readonly #canary: { byte: number; run: number } | null;
  readonly #session: ProxySession;
  readonly #direction: 'toServer' | 'toClient';
  /** Pieces waiting, with the time each may leave. */
  readonly #queue: { bytes: Buffer; at: number }[] = [];
  #queuedBytes = 0;
  #forwarded = 0;
  /** Earliest time the next piece may leave (order, bandwidth and stalls push it later). */
  #nextAt = 0;
  #timer: NodeJS.Timeout | null = null;
  #immediate: NodeJS.Immediate | null = null;
  #ended = false;
  #broken = false;
  #stopped = false;
  #stalled = false;
  #canaryRun = 0;

  constructor(
    from: Socket,
    to: Socket,
    faults: DirectionFaults,
    random: Random,
    canary: { byte: number; run: number } | null,
    session: ProxySession,
    direction: 'toServer' | 'toClient',
  ) {
    this.#from = from;
    this.#to = to;
    this.#faults = faults;
    this.#random = random;
    this.#canary = canary;
    this.#session = session;
    this.#direction = direction;
    from.on('data', (chunk: Buffer) => this.#onData(chunk));
    from.on('end', () => {
      this.#ended = true;
      this.#pump();
    });
    to.on('drain', () => this.#pump());
    // A cut or reset at byte 0 happens before anything flows.
    if (faults.cutAtByte === 0 || faults.resetAtByte === 0) setImmediate(() => this.#pump());
  }

  /** The sending socket closed: whatever is queued still goes, then the FIN. */
  sourceGone(): void {
    this.#ended = true;
    this.#pump();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    if (this.#immediate !== null) clearImmediate(this.#immediate);
    this.#timer = null;
    this.#immediate = null;
    this.#queue.length = 0;
  }

  #onData(chunk: Buffer): void {
    if (this.#broken || this.#stopped) return; // dropped: the direction was cut
    const now = Date.now();
    const { pieceMin, pieceMax, latencyMs, jitterMs } = this.#faults;
    let offset = 0;
    while (offset < chunk.length) {
      // A bandwidth cap needs pieces to space out: unsplit chunks go in 10 ms worth of bytes.
      const size =
        pieceMax > 0
          ? randomInt(this.#random, pieceMin, pieceMax)
          : this.#faults.bytesPerSecond > 0
            ? Math.max(1, Math.floor(this.#faults.bytesPerSecond / 100))
            : chunk.length - offset;
      const bytes = chunk.subarray(offset, Math.min(chunk.length, offset + size));
      offset += bytes.length;
      const delay = latencyMs + (jitterMs > 0 ? this.#random() * jitterMs : 0);
      // Jitter never reorders: a piece leaves no earlier than the one before it.
      const at = Math.max(now + delay, this.#queue.at(-1)?.at ?? 0);
      this.#queue.push({ bytes, at });
    }
    this.#queuedBytes += chunk.length;
    if (this.#queuedBytes > PAUSE_ABOVE) this.#from.pause();
    this.#pump();
  }

  /** Sends every piece that is due, then schedules itself for the next one. */
  #pump(): void {
    if (this.#stopped || this.#broken || this.#immediate !== null) return;
    const faults = this.#faults;
    const splitting = faults.pieceMax > 0;
    for (;;) {
      if (faults.cutAtByte === this.#forwarded) {
        this.#broken = true;
        this.#to.end();
        this.#from.resume(); // keep reading and dropping, as a cut link would
        this.#session.broke(this.#direction, 'cut');
        return;
      }
      if (faults.resetAtByte === this.#forwarded) {
        this.#broken = true;
        this.#session.broke(this.#direction, 'reset');
        return;
      }
      const head = this.#queue[0];
      if (head === undefined) {
        if (this.#ended) {
          this.#broken = true;
          this.#to.end();
        }
        return;
      }
      if (this.#to.writableNeedDrain || this.#to.destroyed) return;
      if (!this.#stalled && faults.stallAtByte >= 0 && this.#forwarded >= faults.stallAtByte) {
        this.#stalled = true;
        this.#nextAt = Math.max(this.#nextAt, Date.now() + faults.stallMs);
      }
      const now = Date.now();
      const due = Math.max(head.at, this.#nextAt);
      if (due > now) {
        this.#schedule(due - now);
        return;
      }
      // Never cross a cut, reset or stall position inside one piece.
      let bytes = head.bytes;
      const limit = this.#nextBoundary();
      if (limit !== -1 && this.#forwarded + bytes.length > limit) {
        const take = limit - this.#forwarded;
        head.bytes = bytes.subarray(take);
        bytes = bytes.subarray(0, take);
      } else {
        this.#queue.shift();
      }
      this.#queuedBytes -= bytes.length;
      this.#forwarded += bytes.length;
      this.#session.forwarded(this.#direction, bytes.length);
      if (this.#canary !== null) this.#scan(bytes);
      this.#to.write(bytes);
      if (faults.bytesPerSecond > 0) {
        this.#nextAt = Math.max(now, this.#nextAt) + (bytes.length * 1000) / faults.bytesPerSecond;
      }
      if (this.#queuedBytes <= PAUSE_ABOVE / 2 && !this.#ended) this.#from.resume();
      if (splitting) {
        // One piece per turn of the event loop, so the receiver reads pieces, not a coalesced run.
        this.#immediate ??= setImmediate(() => {
          this.#immediate = null;
          this.#pump();
        });
        return;
      }
    }
  }

  #nextBoundary(): number {
    let limit = -1;
    for (const at of [this.#faults.cutAtByte, this.#faults.resetAtByte, this.#faults.stallAtByte]) {
      if (at > this.#forwarded && (limit === -1 || at < limit)) limit = at;
    }
    return limit;
  }

  #schedule(ms: number): void {
    if (this.#timer !== null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#pump();
    }, ms);
  }

  #scan(bytes: Buffer): void {
    const canary = this.#canary as { byte: number; run: number };
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] === canary.byte) {
        this.#canaryRun++;
        if (this.#canaryRun === canary.run) this.#session.canaryHit();
      } else {
        this.#canaryRun = 0;
      }
    }
  }
}

/** RST where the transport has one (TCP); a plain destroy otherwise (Unix sockets). */
function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}
