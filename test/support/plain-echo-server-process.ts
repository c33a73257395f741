/**
 * The smallest mai echo server in a process of its own: U32 frames echoed as they come, no
 * sampling or bookkeeping beyond the lifecycle recorder, so it can run where almost nothing is
 * available (E3 runs it under `ulimit -n 256`, where even reading /proc for RSS would fail).
 * `fork`/`spawn` it with an IPC channel and the address as JSON in argv; it sends `{ address }`
 * once listening and, on `'shutdown'`, `{ violations, leased, streams }`.
 */
import { type Address, type Protocol, protocolEngine } from '../../src/index.js';
import { U32Codec } from './codecs.js';
import { Recorder } from './recorder.js';

type Bytes = Protocol<{ in: Buffer }>;

const address = JSON.parse(process.argv[2] ?? '{}') as Address;
const log = new Recorder<Bytes>(
  { onFrame: (ctx, frame) => void ctx.send(frame) },
  { keepFrames: false },
);
const engine = protocolEngine<Bytes>({ codec: () => new U32Codec(), handler: log.handler });
const listener = await engine.listen({ ...address, backlog: 1024 });
process.send?.({ address: listener.address });
process.on('message', async (message) => {
  if (message !== 'shutdown') return;
  await engine.shutdown({ deadlineMs: 2000 });
  const stats = engine.stats();
  process.send?.({ violations: log.violations, leased: stats.pool.leased, streams: log.logs.size });
  process.disconnect();
});
