/**
 * A mai echo server in a process of its own, for load tests (client and server on separate
 * processes, as on a real machine). Started with `fork(file, [addressJson, optionsJson?])`;
 * sends `{ address }` once listening. Messages it answers:
 *
 * - `'measure'` → `{ measure: { rss, heapUsed, streams, leased } }` (after a GC when the process
 *   runs with --expose-gc);
 * - `'shutdown'` → shuts down and sends its report (streams, frames, order violations, the
 *   invariant block of this process, peak RSS), then disconnects.
 *
 * Without options every frame is a U32Codec frame starting with (connection id u32, sequence
 * u32). With `{ codec: kind }` (see test/reliability/codec-kinds.ts) frames are tagged frames
 * carried by that built-in codec, and their CRC is checked too. The server checks that each
 * stream's sequence numbers arrive as 0, 1, 2, ... and echoes every frame.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type Address, type Protocol, protocolEngine } from '../../src/index.js';
import { type CodecKind, codecAdapter } from '../reliability/codec-kinds.js';
import { checkTaggedFrame } from '../reliability/tagged-frame.js';
import { U32Codec } from './codecs.js';
import { invariantViolations } from './invariants.js';
import { Recorder } from './recorder.js';

type Frames = Protocol<{ in: unknown; out: unknown; session: { next: number; conn: number } }>;

interface ServerOptions {
  codec?: CodecKind;
  debugBuffers?: boolean;
  backlog?: number;
  /**
   * Check each stream's lifecycle at its onClosed and forget its log, so a churn of 50,000
   * streams does not grow this process by 50,000 logs (RSS drift is measured here).
   */
  forgetClosed?: boolean;
  /** Echo without checking frames (the fairness row floods empty frames). */
  unchecked?: boolean;
  /** The engine's `memoryBudget` (bytes; unset: none). */
  memoryBudget?: number;
  /** The listener's first-frame timeout (unset: the engine's default, 10 s). */
  firstFrameTimeoutMs?: number;
}

const address = JSON.parse(process.argv[2] ?? '{}') as Address;
const options = JSON.parse(process.argv[3] ?? '{}') as ServerOptions;
const adapter = options.codec === undefined ? null : codecAdapter(options.codec);
const orderViolations: string[] = [];
let rssPeak = process.memoryUsage().rss;
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
let forgotten = 0;
const sampler = setInterval(() => {
  rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
}, 50);

let framesSeen = 0;
const log = new Recorder<Frames>({
  onFrame(ctx, frame) {
    framesSeen++;
    // Keep the recorder's per-stream log short: a million frames kept would be the test's
    // memory, not the engine's (RSS is measured here).
    const entry = log.logs.get(ctx.token);
    if (entry !== undefined) {
      entry.frames.length = 0;
      entry.events.length = 1;
    }
    if (options.unchecked === true) {
      // Nothing to check: echo as is.
    } else if (adapter === null) {
      const bytes = frame as Buffer;
      const seq = bytes.readUInt32BE(4);
      if (seq !== ctx.session.next && orderViolations.length < 10) {
        orderViolations.push(`stream ${ctx.token}: expected seq ${ctx.session.next}, got ${seq}`);
      }
      ctx.session.next = seq + 1;
    } else {
      const bytes = adapter.fromFrame(frame);
      if (bytes === null) {
        if (orderViolations.length < 10)
          orderViolations.push(`stream ${ctx.token}: not a tagged frame`);
      } else {
        if (ctx.session.next === 0) ctx.session.conn = bytes.readUInt32BE(0);
        const problem = checkTaggedFrame(bytes, ctx.session.conn, ctx.session.next);
        if (problem !== null && orderViolations.length < 10) orderViolations.push(problem);
        ctx.session.next++;
      }
    }
    ctx.send(frame);
  },
  onClosed(ctx) {
    if (options.forgetClosed !== true) return;
    const entry = log.logs.get(ctx.token);
    // The recorder pushes 'closed' before calling this.
    if (entry?.events[0] !== 'ready' || entry.events.filter((e) => e === 'closed').length !== 1) {
      if (orderViolations.length < 10) {
        orderViolations.push(`stream ${ctx.token}: events ${entry?.events.join(',')}`);
      }
    }
    log.logs.delete(ctx.token);
    forgotten++;
  },
});
const engine = protocolEngine<Frames>({
  codec: adapter === null ? () => new U32Codec() : adapter.codec,
  handler: log.handler,
  session: () => ({ next: 0, conn: 0 }),
  debugBuffers: options.debugBuffers ?? false,
  ...(options.memoryBudget === undefined ? {} : { memoryBudget: options.memoryBudget }),
});
const listener = await engine.listen({
  ...address,
  backlog: options.backlog ?? 4096,
  ...(options.firstFrameTimeoutMs === undefined
    ? {}
    : { firstFrameTimeoutMs: options.firstFrameTimeoutMs }),
});
process.send?.({ address: listener.address });
process.on('message', async (message) => {
  if (message === 'reset-loop-delay') {
    loopDelay.reset();
    return;
  }
  if (message === 'measure') {
    (globalThis as { gc?: () => void }).gc?.();
    const memory = process.memoryUsage();
    process.send?.({
      measure: {
        rss: memory.rss,
        heapUsed: memory.heapUsed,
        external: memory.external,
        arrayBuffers: memory.arrayBuffers,
        streams: engine.stats().streams,
        leased: engine.stats().pool.leased,
        eventLoopP99Ms: loopDelay.percentile(99) / 1e6,
      },
    });
    return;
  }
  if (message !== 'shutdown') return;
  const report = await engine.shutdown({ deadlineMs: 5000 });
  clearInterval(sampler);
  loopDelay.disable();
  rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  const frames = framesSeen;
  process.send?.({
    streams: log.logs.size + forgotten,
    closed: log.closedCount + forgotten,
    frames,
    forced: report.forced,
    violations: [...log.violations, ...orderViolations.slice(0, 10)],
    invariants: invariantViolations([engine], [log]),
    rssPeak,
    stats: engine.stats(),
  });
  process.disconnect();
});
