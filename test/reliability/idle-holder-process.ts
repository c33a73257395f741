/**
 * A3's server side: holds idle connections, as bare `net.Socket`s (the baseline) or as mai
 * streams, and reports its JS heap after a full GC (run with --expose-gc). Started with
 * `fork(file, [mode, addressJson])`; sends `{ address }`; answers `'measure'` with
 * `{ measure: { heapUsed, rss, open, leasedBytes } }` and `'shutdown'` with
 * `{ invariants }` before exiting.
 *
 * The bare baseline is what any server must keep per connection: the socket, reading, with
 * the listeners mai also adds ('data', 'end', 'error', 'close'). The difference per connection
 * is mai's own cost.
 */
import { createServer, type Socket } from 'node:net';
import {
  type Address,
  LengthPrefixedCodec,
  type Protocol,
  protocolEngine,
} from '../../src/index.js';
import { invariantViolations } from '../support/invariants.js';

type Bytes = Protocol<{ in: Buffer }>;

const mode = process.argv[2] === 'mai' ? 'mai' : 'bare';
const address = JSON.parse(process.argv[3] ?? '{}') as Address;
const gc = (globalThis as { gc?: () => void }).gc;

function fullGc(): void {
  // Several passes: weak callbacks and finalizers free more on the next one.
  for (let i = 0; i < 4; i++) gc?.();
}

let open = 0;
const bareSockets = new Set<Socket>();
const engine =
  mode === 'mai'
    ? protocolEngine<Bytes>({
        codec: () => new LengthPrefixedCodec(),
        handler: {
          onReady: () => void open++,
          onFrame: () => {},
          onClosed: () => void open--,
        },
      })
    : null;

let bound: Address;
let closeBare: (() => Promise<void>) | null = null;
if (engine !== null) {
  const listener = await engine.listen({ ...address, backlog: 4096 });
  bound = listener.address;
} else {
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    socket.setNoDelay(true);
    bareSockets.add(socket);
    open++;
    socket.on('data', () => {});
    socket.on('end', () => socket.end());
    socket.on('error', () => {});
    socket.on('close', () => {
      bareSockets.delete(socket);
      open--;
    });
  });
  await new Promise<void>((resolve) => server.listen({ ...address, backlog: 4096 }, resolve));
  const info = server.address();
  bound =
    info !== null && typeof info === 'object' ? { port: info.port, host: info.address } : address;
  closeBare = () => new Promise((resolve) => server.close(() => resolve()));
}
process.send?.({ address: bound });

process.on('message', async (message) => {
  if (message === 'measure') {
    fullGc();
    const memory = process.memoryUsage();
    process.send?.({
      measure: {
        heapUsed: memory.heapUsed,
        rss: memory.rss,
        open,
        leasedBytes: engine?.stats().pool.leasedBytes ?? 0,
      },
    });
  } else if (message === 'shutdown') {
    if (engine !== null) await engine.shutdown({ deadlineMs: 5000 });
    else {
      for (const socket of bareSockets) socket.destroy();
      await closeBare?.();
    }
    process.send?.({ invariants: engine === null ? [] : invariantViolations([engine], []) });
    process.disconnect();
  }
});
