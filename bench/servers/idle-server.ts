/**
 * The server side of bench/idle.ts (PERFORMANCE.md M1), one per child process, run with
 * `--expose-gc`:
 *
 *   node --expose-gc build/bench/servers/idle-server.js <bare|mai> <maxSeconds>
 *
 * It listens on 127.0.0.1 (port chosen by the system, backlog 4096), tells its parent the port,
 * and holds every connection it is given without sending anything. On `{ type: 'measure' }` it
 * runs full garbage collections and answers with its JS heap, RSS, open connections and (mai)
 * the pooled bytes leased. It exits on `{ type: 'stop' }`, when the parent goes away, or after
 * `maxSeconds`.
 *
 * `bare` is what any server keeps per connection: a `net.Socket`, reading, with the listeners
 * mai also adds ('data', 'end', 'error', 'close'). What `mai` holds above it is mai's own cost.
 */
import { createServer } from 'node:net';
import { LengthPrefixedCodec, type Protocol, protocolEngine } from '../../src/index.js';

const HolderMode = {
  Bare: 'bare',
  Mai: 'mai',
} as const;
type HolderMode = (typeof HolderMode)[keyof typeof HolderMode];

/**
 * What bench/idle.ts sends this process.
 *
 * @example
 * ```ts
 * child.send({ type: 'measure' } satisfies ToHolder);
 * ```
 */
export type ToHolder = { type: 'measure' } | { type: 'stop' };

/** One measurement, after full garbage collections. */
export interface HolderMeasure {
  readonly heapUsed: number;
  readonly rss: number;
  readonly open: number;
  /** mai's `engine.stats().pool.leasedBytes`; 0 for `bare`. */
  readonly leasedBytes: number;
}

/**
 * What this process sends bench/idle.ts.
 *
 * @example
 * ```ts
 * child.on('message', (m: FromHolder) => { if (m.type === 'measured') use(m.measure); });
 * ```
 */
export type FromHolder =
  | { type: 'listening'; port: number }
  | { type: 'measured'; measure: HolderMeasure };

type Bytes = Protocol<{ in: Buffer }>;

const BACKLOG = 4096;
let open = 0;

/** Starts the holder; returns its port and what it leases from a buffer pool. */
async function listen(mode: HolderMode): Promise<{ port: number; leased: () => number }> {
  if (mode === HolderMode.Mai) {
    const engine = protocolEngine<Bytes>({
      codec: () => new LengthPrefixedCodec(),
      handler: {
        onReady: () => void open++,
        onFrame: () => {},
        onClosed: () => void open--,
      },
    });
    const listener = await engine.listen({ port: 0, host: '127.0.0.1', backlog: BACKLOG });
    const address = listener.address;
    if (!('port' in address)) throw new Error('expected a TCP address');
    return { port: address.port, leased: () => engine.stats().pool.leasedBytes };
  }
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    socket.setNoDelay(true);
    open++;
    socket.on('data', () => {});
    socket.on('end', () => socket.end());
    socket.on('error', () => {});
    socket.on('close', () => void open--);
  });
  await new Promise<void>((resolve) =>
    server.listen({ port: 0, host: '127.0.0.1', backlog: BACKLOG }, resolve),
  );
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
  return { port: address.port, leased: () => 0 };
}

function isMode(value: string | undefined): value is HolderMode {
  return Object.values(HolderMode).includes(value as HolderMode);
}

async function main(): Promise<void> {
  const [mode, maxSecondsArg] = process.argv.slice(2);
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!isMode(mode) || gc === undefined || typeof process.send !== 'function') {
    console.error('usage: fork idle-server.js <bare|mai> <maxSeconds>, with --expose-gc');
    process.exit(1);
  }
  const send = (message: FromHolder): void => {
    process.send?.(message);
  };
  setTimeout(() => process.exit(3), Number(maxSecondsArg ?? '300') * 1000).unref();
  process.on('disconnect', () => process.exit(0));
  const { port, leased } = await listen(mode);
  process.on('message', (message: ToHolder) => {
    if (message.type === 'stop') process.exit(0);
    // Several passes: weak callbacks and finalizers free more on the next one.
    for (let i = 0; i < 4; i++) gc();
    const memory = process.memoryUsage();
    send({
      type: 'measured',
      measure: { heapUsed: memory.heapUsed, rss: memory.rss, open, leasedBytes: leased() },
    });
  });
  send({ type: 'listening', port });
}

await main();
