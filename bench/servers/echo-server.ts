/**
 * The echo servers of bench/echo.ts, one per child process:
 *
 *   node build/bench/servers/echo-server.js <mai|hand|naive|raw> [maxSeconds]
 *
 * Each listens on 127.0.0.1 (port chosen by the system), tells its parent the port over the IPC
 * channel, and on `{ type: 'stop' }` replies with the CPU it used since `{ type: 'mark' }` and
 * exits (a clean exit, so that `--cpu-prof` writes its profile). It also exits by itself when the
 * parent goes away or after `maxSeconds`, so a crashed benchmark leaves nothing running.
 *
 * Wire format of every server but `raw` (which echoes bytes without looking at them):
 *
 *   +----------------+--------------------+
 *   | length: u32 BE | payload (length B) |
 *   +----------------+--------------------+
 */
import { createServer, type Socket } from 'node:net';
import { type Protocol, protocolEngine } from '../../src/index.js';
import { lengthPrefixedCodec } from '../support/mai-codecs.js';

const ServerKind = {
  Mai: 'mai',
  Hand: 'hand',
  Naive: 'naive',
  Raw: 'raw',
} as const;
type ServerKind = (typeof ServerKind)[keyof typeof ServerKind];

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
 * What this process sends bench/echo.ts: its port once listening, its CPU use on `stop`.
 *
 * @example
 * ```ts
 * child.on('message', (m: FromServer) => { if (m.type === 'listening') connect(m.port); });
 * ```
 */
export type FromServer =
  | { type: 'listening'; port: number; codec: string }
  | { type: 'stats'; cpuUserUs: number; cpuSystemUs: number; wallMs: number; rssBytes: number };

const OUT_SIZE = 64 * 1024;

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
  const onMessage = (payload: Buffer): void => send(payload);

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
      socket.write(Buffer.concat([header, payload]));
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

type EchoProtocol = Protocol<{ in: Buffer }>;

async function startMai(): Promise<{ port: number; codec: string }> {
  const codec = await lengthPrefixedCodec();
  const engine = protocolEngine<EchoProtocol>({
    codec: codec.create,
    handler: {
      onFrame(ctx, frame) {
        ctx.send(frame);
      },
    },
    onHandlerError: () => {},
  });
  const listener = await engine.listen({ port: 0, host: '127.0.0.1' });
  const address = listener.address;
  if (!('port' in address)) throw new Error('expected a TCP address');
  return { port: address.port, codec: codec.source };
}

function startPlain(kind: ServerKind): Promise<{ port: number; codec: string }> {
  const serve = kind === ServerKind.Hand ? handWritten : kind === ServerKind.Naive ? naive : raw;
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

function isKind(value: string | undefined): value is ServerKind {
  return Object.values(ServerKind).includes(value as ServerKind);
}

async function main(): Promise<void> {
  const kind = process.argv[2];
  const maxSeconds = Number(process.argv[3] ?? '300');
  if (!isKind(kind) || typeof process.send !== 'function') {
    console.error('usage: fork echo-server.js <mai|hand|naive|raw> [maxSeconds]');
    process.exit(1);
  }
  const send = (message: FromServer): void => {
    process.send?.(message);
  };
  setTimeout(() => process.exit(3), maxSeconds * 1000).unref();
  process.on('disconnect', () => process.exit(0));
  let markCpu = process.cpuUsage();
  let markWall = performance.now();
  process.on('message', (message: ToServer) => {
    if (message.type === 'mark') {
      markCpu = process.cpuUsage();
      markWall = performance.now();
    } else if (message.type === 'stop') {
      const cpu = process.cpuUsage(markCpu);
      send({
        type: 'stats',
        cpuUserUs: cpu.user,
        cpuSystemUs: cpu.system,
        wallMs: performance.now() - markWall,
        rssBytes: process.memoryUsage.rss(),
      });
      // Exit once the message is out; process.exit writes the --cpu-prof profile.
      setImmediate(() => process.exit(0));
    }
  });
  const { port, codec } = kind === ServerKind.Mai ? await startMai() : await startPlain(kind);
  send({ type: 'listening', port, codec });
}

await main();
