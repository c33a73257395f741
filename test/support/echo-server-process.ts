/**
 * A mai echo server in a process of its own, for load tests (client and server on separate
 * processes, as on a real machine). Started with `fork(file, [addressJson])`; sends
 * `{ address }` once listening; on `'shutdown'` shuts down and sends its invariant report.
 * Every frame starts with (connection id u32, sequence u32); the server checks that each stream's
 * sequence numbers arrive as 0, 1, 2, ... and echoes the frame.
 */
import { type Address, type Protocol, protocolEngine } from '../../src/index.js';
import { U32Codec } from './codecs.js';
import { Recorder } from './recorder.js';

type Bytes = Protocol<{ in: Buffer; session: { next: number } }>;

const address = JSON.parse(process.argv[2] ?? '{}') as Address;
const orderViolations: string[] = [];
const log = new Recorder<Bytes>({
  onFrame(ctx, frame) {
    const seq = frame.readUInt32BE(4);
    if (seq !== ctx.session.next) {
      orderViolations.push(`stream ${ctx.token}: expected seq ${ctx.session.next}, got ${seq}`);
    }
    ctx.session.next = seq + 1;
    ctx.send(frame);
  },
});
const engine = protocolEngine<Bytes>({
  codec: () => new U32Codec(),
  handler: log.handler,
  session: () => ({ next: 0 }),
});
const listener = await engine.listen(address);
process.send?.({ address: listener.address });
process.on('message', async (message) => {
  if (message !== 'shutdown') return;
  const report = await engine.shutdown({ deadlineMs: 5000 });
  let frames = 0;
  for (const stream of log.logs.values()) frames += stream.frames.length;
  process.send?.({
    streams: log.logs.size,
    closed: log.closedCount,
    frames,
    forced: report.forced,
    violations: [...log.violations, ...orderViolations.slice(0, 10)],
    stats: engine.stats(),
  });
  process.disconnect();
});
