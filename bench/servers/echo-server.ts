/**
 * The echo servers of bench/echo.ts, one per child process:
 *
 *   node build/bench/servers/echo-server.js <mai|mai-borrow|hand|naive|raw|split2> <maxSeconds>
 *                                           <length-prefixed|lines> [gc]
 *
 * Each listens on 127.0.0.1 (port chosen by the system), tells its parent the port over the IPC
 * channel, and on `{ type: 'stop' }` replies with the CPU it used since `{ type: 'mark' }` and
 * exits (a clean exit, so that `--cpu-prof` writes its profile). It also exits by itself when the
 * parent goes away or after `maxSeconds`, so a crashed benchmark leaves nothing running. With
 * `gc` it also records every garbage collection between `mark` and `stop` (M2, see `GcFigures`).
 *
 * Wire formats (`raw` echoes bytes without looking at them, so it serves both):
 *
 *   length-prefixed (mai, mai-borrow, hand, naive)   lines (mai, mai-borrow, split2)
 *   +----------------+--------------------+      +----------------------+----+
 *   | length: u32 BE | payload (length B) |      | line (UTF-8, no LF)  | \n |
 *   +----------------+--------------------+      +----------------------+----+
 */
import { createServer, type Socket } from 'node:net';
import v8 from 'node:v8';
import split2 from 'split2';
import {
  type CodecFactory,
  LengthPrefixedCodec,
  LinesCodec,
  type Protocol,
  protocolEngine,
} from '../../src/index.js';
import { lengthPrefixedCodec } from '../support/mai-codecs.js';

const ServerKind = {
  Mai: 'mai',
  /** mai with borrowed frames (`borrow: true`; Buffer lines for E5): frames view the input. */
  MaiBorrow: 'mai-borrow',
  Hand: 'hand',
  Naive: 'naive',
  Raw: 'raw',
  Split2: 'split2',
} as const;
type ServerKind = (typeof ServerKind)[keyof typeof ServerKind];

/** The framing on the wire: what the load generator sends and checks. */
export const Wire = {
  LengthPrefixed: 'length-prefixed',
  Lines: 'lines',
} as const;
export type Wire = (typeof Wire)[keyof typeof Wire];

/**
 * What bench/echo.ts sends this process: `mark` starts the measured window, `stop` ends it.
 *
 * @example
 * ```ts
 * child.send({ type: 'mark' } satisfies ToServer);
 * ```
 */
export type ToServer = { type: 'mark' } | { type: 'stop' };

/**
 * Garbage collection between `mark` and `stop`, from `v8.GCProfiler` (heap statistics before and
 * after each collection). Bytes allocated on the V8 heap are the growth of the used heap between
 * collections: Σ (used before GC i − used after GC i−1), from the used size at `mark` to the one
 * at `stop`. ArrayBuffer backing stores (Buffer contents) live outside that heap and are not
 * counted; their JS objects (`Buffer`/`Uint8Array` headers) are.
 */
export interface GcFigures {
  readonly allocatedBytes: number;
  /** Used heap after `stop` minus at `mark` (each after a full GC): what the window left alive. */
  readonly heapGrowthBytes: number;
  readonly scavenges: number;
  readonly markCompacts: number;
  /** Other collection events (incremental marking steps, weak callbacks). */
  readonly otherGcs: number;
  /** Time spent in collections, as V8 reports it (µs). */
  readonly gcMicros: number;
}

/**
 * What this process sends bench/echo.ts: its port once listening, its CPU use on `stop`.
 *
 * @example
 * ```ts
 * child.on('message', (m: FromServer) => { if (m.type === 'listening') connect(m.port); });
 * ```
 */
export type FromServer =
  | { type: 'listening'; port: number; codec: string }
  | {
      type: 'stats';
      cpuUserUs: number;
      cpuSystemUs: number;
      wallMs: number;
      rssBytes: number;
      /** Frames echoed between `mark` and `stop`; null for `raw`. */
      frames: number | null;
      gc: GcFigures | undefined;
    };

const OUT_SIZE = 64 * 1024;

/** Frames echoed by this process (every server but `raw`, which does not see frames). */
let framesEchoed = 0;

/**
 * The best plain-Node length-prefixed echo we know how to write without mai: frames are cut on
 * offsets across chunk boundaries (one contiguous pending buffer, never `Buffer.concat` per
 * chunk), each frame is handed to a per-frame handler as a view of the chunk (Node's `'data'`
 * chunks are never reused, so a view is safe), and replies are encoded into a recycled 64 KiB
 * output buffer and written once per chunk; reading pauses while `write()` says the socket is
 * full.
 */
function handWritten(socket: Socket): void {
  const freeOut: Buffer[] = [];
  const writing: Buffer[] = [];
  let out: Buffer = Buffer.allocUnsafeSlow(OUT_SIZE);
  let outEnd = 0;
  let pending: Buffer | null = null;
  let pendingStart = 0;
  let pendingEnd = 0;
  let spare: Buffer | null = null;

  const onWritten = (): void => {
    const done = writing.shift();
    if (done !== undefined && done.length === OUT_SIZE && freeOut.length < 4) freeOut.push(done);
  };
  const flush = (): boolean => {
    if (outEnd === 0) return true;
    const full = out;
    writing.push(full);
    const ok = socket.write(outEnd === full.length ? full : full.subarray(0, outEnd), onWritten);
    out = freeOut.pop() ?? Buffer.allocUnsafeSlow(OUT_SIZE);
    outEnd = 0;
    return ok;
  };
  let blocked = false;
  const send = (payload: Buffer): void => {
    const length = payload.length;
    if (outEnd + 4 + length > out.length) {
      if (!flush()) blocked = true;
      if (4 + length > out.length) out = Buffer.allocUnsafeSlow(4 + length);
    }
    out[outEnd] = length >>> 24;
    out[outEnd + 1] = (length >>> 16) & 0xff;
    out[outEnd + 2] = (length >>> 8) & 0xff;
    out[outEnd + 3] = length & 0xff;
    payload.copy(out, outEnd + 4);
    outEnd += 4 + length;
  };
  // The application's handler: echo.
  const onMessage = (payload: Buffer): void => {
    framesEchoed++;
    send(payload);
  };

  /** Cuts frames from bytes[start, end); returns where the unfinished tail starts. */
  const cut = (bytes: Buffer, start: number, end: number): number => {
    while (end - start >= 4) {
      const length =
        ((bytes[start] as number) * 0x1000000 +
          (((bytes[start + 1] as number) << 16) |
            ((bytes[start + 2] as number) << 8) |
            (bytes[start + 3] as number))) >>>
        0;
      if (end - start - 4 < length) break;
      onMessage(bytes.subarray(start + 4, start + 4 + length));
      start += 4 + length;
    }
    return start;
  };

  socket.on('data', (chunk: Buffer) => {
    if (pending === null) {
      const stop = cut(chunk, 0, chunk.length);
      if (stop < chunk.length) {
        const tail = chunk.length - stop;
        pending =
          tail <= OUT_SIZE && spare !== null
            ? spare
            : Buffer.allocUnsafeSlow(Math.max(OUT_SIZE, tail));
        spare = null;
        chunk.copy(pending, 0, stop);
        pendingStart = 0;
        pendingEnd = tail;
      }
    } else {
      const held = pendingEnd - pendingStart;
      if (pendingEnd + chunk.length > pending.length) {
        if (held + chunk.length <= pending.length) {
          pending.copyWithin(0, pendingStart, pendingEnd);
        } else {
          const grown = Buffer.allocUnsafeSlow(Math.max(pending.length * 2, held + chunk.length));
          pending.copy(grown, 0, pendingStart, pendingEnd);
          pending = grown;
        }
        pendingStart = 0;
        pendingEnd = held;
      }
      chunk.copy(pending, pendingEnd);
      pendingEnd += chunk.length;
      pendingStart = cut(pending, pendingStart, pendingEnd);
      if (pendingStart === pendingEnd) {
        // Back to the fast path; keep a standard-size buffer for the next tail.
        if (pending.length === OUT_SIZE) spare = pending;
        pending = null;
      }
    }
    if (!flush()) blocked = true;
    if (blocked) {
      blocked = false;
      socket.pause();
      socket.once('drain', () => socket.resume());
    }
  });
}

/**
 * What most hand-rolled servers look like: `Buffer.concat` on every `'data'`, `readUInt32BE`,
 * and one `write()` per reply frame.
 */
function naive(socket: Socket): void {
  let buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    while (buffer.length >= 4) {
      const length = buffer.readUInt32BE(0);
      if (buffer.length < 4 + length) break;
      const payload = buffer.subarray(4, 4 + length);
      buffer = buffer.subarray(4 + length);
      const header = Buffer.alloc(4);
      header.writeUInt32BE(length, 0);
      framesEchoed++;
      socket.write(Buffer.concat([header, payload]));
    }
  });
}

/**
 * The ecosystem's line server, as well as we know how to write it: `split2` cuts the lines (its
 * Transform stream, piped from the socket, so its buffer back-pressures reading), each reply is
 * one `write()`, and the socket is corked for the rest of the tick so the replies of one read go
 * out in one system call (the idiom of the Node docs for `cork`); while `write()` says the socket
 * is full, the line stream is paused.
 */
function split2Lines(socket: Socket): void {
  const lines = socket.pipe(split2());
  let corked = false;
  const uncork = (): void => {
    corked = false;
    socket.uncork();
  };
  lines.on('data', (line: string) => {
    framesEchoed++;
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    if (!socket.write(`${line}\n`)) {
      lines.pause();
      socket.once('drain', () => lines.resume());
    }
  });
}

/** Bytes back as they came, no framing: the ceiling for Node code on this machine. */
function raw(socket: Socket): void {
  socket.on('data', (chunk: Buffer) => {
    if (!socket.write(chunk)) {
      socket.pause();
      socket.once('drain', () => socket.resume());
    }
  });
}

/** A mai echo server of frames of type `F`: `onFrame(ctx, frame) { ctx.send(frame) }`. */
async function listenEcho<F>(codec: CodecFactory<F, F>): Promise<number> {
  const listener = await protocolEngine<Protocol<{ in: F }>>({
    codec,
    handler: {
      onFrame(ctx, frame) {
        framesEchoed++;
        ctx.send(frame);
      },
    },
    onHandlerError: () => {},
  }).listen({ port: 0, host: '127.0.0.1' });
  const address = listener.address;
  if (!('port' in address)) throw new Error('expected a TCP address');
  return address.port;
}

async function startMai(wire: Wire, borrow: boolean): Promise<{ port: number; codec: string }> {
  if (wire === Wire.Lines && borrow) {
    return {
      port: await listenEcho(() => new LinesCodec({ frames: 'buffer', borrow: true })),
      codec: "src/codec/lines.ts LinesCodec({ frames: 'buffer', borrow: true })",
    };
  }
  if (wire === Wire.Lines) {
    return {
      port: await listenEcho<string>(() => new LinesCodec()),
      codec: 'src/codec/lines.ts LinesCodec (defaults: lenient line ends, UTF-8 strings)',
    };
  }
  if (borrow) {
    return {
      port: await listenEcho(() => new LengthPrefixedCodec({ borrow: true })),
      codec: 'src/codec/length-prefixed.ts LengthPrefixedCodec({ borrow: true })',
    };
  }
  const codec = await lengthPrefixedCodec();
  return { port: await listenEcho(codec.create), codec: codec.source };
}

/** The wire formats each server speaks. */
const SPEAKS: Record<ServerKind, readonly Wire[]> = {
  mai: [Wire.LengthPrefixed, Wire.Lines],
  'mai-borrow': [Wire.LengthPrefixed, Wire.Lines],
  hand: [Wire.LengthPrefixed],
  naive: [Wire.LengthPrefixed],
  raw: [Wire.LengthPrefixed, Wire.Lines],
  split2: [Wire.Lines],
};

const PLAIN_SERVERS: Record<Exclude<ServerKind, 'mai' | 'mai-borrow'>, (socket: Socket) => void> = {
  hand: handWritten,
  naive,
  raw,
  split2: split2Lines,
};

function startPlain(
  kind: Exclude<ServerKind, 'mai' | 'mai-borrow'>,
): Promise<{ port: number; codec: string }> {
  const serve = PLAIN_SERVERS[kind];
  const server = createServer({ noDelay: true }, (socket) => {
    socket.on('error', () => socket.destroy());
    serve(socket);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error('expected a TCP address'));
        return;
      }
      resolve({ port: address.port, codec: kind === ServerKind.Raw ? 'none' : `plain ${kind}` });
    });
  });
}

/** `global.gc` when the server runs with `--expose-gc` (bench/echo.ts passes it for M2). */
const fullGc = (globalThis as { gc?: () => void }).gc;

/**
 * Records collections from `mark` to `stop` (see `GcFigures`). With `--expose-gc`, a full
 * collection before the window and one after it make `heapGrowthBytes` what the window left
 * alive, not garbage that happened not to be collected yet.
 */
class GcRecorder {
  readonly #profiler = new v8.GCProfiler();
  readonly #usedAtStart: number;

  constructor() {
    fullGc?.();
    this.#usedAtStart = v8.getHeapStatistics().used_heap_size;
    this.#profiler.start();
  }

  stop(): GcFigures {
    const { statistics } = this.#profiler.stop();
    const usedAtStop = v8.getHeapStatistics().used_heap_size;
    fullGc?.();
    const retainedAtStop = v8.getHeapStatistics().used_heap_size;
    let allocatedBytes = 0;
    let usedAfterLast = this.#usedAtStart;
    let scavenges = 0;
    let markCompacts = 0;
    let gcMicros = 0;
    for (const gc of statistics) {
      allocatedBytes += gc.beforeGC.heapStatistics.usedHeapSize - usedAfterLast;
      usedAfterLast = gc.afterGC.heapStatistics.usedHeapSize;
      gcMicros += gc.cost;
      if (gc.gcType === 'Scavenge') scavenges++;
      else if (gc.gcType === 'MarkSweepCompact') markCompacts++;
    }
    allocatedBytes += usedAtStop - usedAfterLast;
    return {
      allocatedBytes,
      heapGrowthBytes: retainedAtStop - this.#usedAtStart,
      scavenges,
      markCompacts,
      otherGcs: statistics.length - scavenges - markCompacts,
      gcMicros,
    };
  }
}

function isKind(value: string | undefined): value is ServerKind {
  return Object.values(ServerKind).includes(value as ServerKind);
}

function isWire(value: string | undefined): value is Wire {
  return Object.values(Wire).includes(value as Wire);
}

async function main(): Promise<void> {
  const [kind, maxSecondsArg, wire, gcArg] = process.argv.slice(2);
  const maxSeconds = Number(maxSecondsArg ?? '300');
  if (
    !isKind(kind) ||
    !isWire(wire) ||
    !SPEAKS[kind].includes(wire) ||
    typeof process.send !== 'function'
  ) {
    console.error(
      'usage: fork echo-server.js <mai|mai-borrow|hand|naive|raw|split2> <maxSeconds> <length-prefixed|lines> [gc]',
    );
    process.exit(1);
  }
  const send = (message: FromServer): void => {
    process.send?.(message);
  };
  setTimeout(() => process.exit(3), maxSeconds * 1000).unref();
  process.on('disconnect', () => process.exit(0));
  let markCpu = process.cpuUsage();
  let markWall = performance.now();
  let markFrames = 0;
  let gc: GcRecorder | undefined;
  process.on('message', (message: ToServer) => {
    if (message.type === 'mark') {
      markCpu = process.cpuUsage();
      markWall = performance.now();
      markFrames = framesEchoed;
      if (gcArg === 'gc') gc = new GcRecorder();
    } else if (message.type === 'stop') {
      const cpu = process.cpuUsage(markCpu);
      send({
        type: 'stats',
        cpuUserUs: cpu.user,
        cpuSystemUs: cpu.system,
        wallMs: performance.now() - markWall,
        rssBytes: process.memoryUsage.rss(),
        frames: kind === ServerKind.Raw ? null : framesEchoed - markFrames,
        gc: gc?.stop(),
      });
      // Exit once the message is out; process.exit writes the --cpu-prof profile.
      setImmediate(() => process.exit(0));
    }
  });
  const { port, codec } =
    kind === ServerKind.Mai || kind === ServerKind.MaiBorrow
      ? await startMai(wire, kind === ServerKind.MaiBorrow)
      : await startPlain(kind);
  send({ type: 'listening', port, codec });
}

await main();
