/**
 * RELIABILITY.md rows D1, D3, E1 and E3 at their PR figures (D2 and E2, and smaller versions
 * of D1 and E1, are in test/engine/limits.test.ts). The misbehaving peers run in a process of
 * their own (test/support/misbehaving-peer-process.ts); servers run in this process, except for
 * E3, whose server needs its own file-descriptor limit.
 */
import assert from 'node:assert/strict';
import { fork, spawn } from 'node:child_process';
import { describe, type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  type Address,
  type Codec,
  type DecodeResult,
  type EncodeResult,
  IncompleteFrame,
  type Protocol,
} from '../../src/index.js';
import { U32Codec } from '../support/codecs.js';
import { serve } from '../support/engine-fixture.js';
import { rawConnect, readAll, u32Frame } from '../support/peers.js';
import { Recorder } from '../support/recorder.js';
import { assertEngineClean, listenAddress, until } from '../support/transports.js';

type Bytes = Protocol<{ in: Buffer }>;
const MiB = 1024 * 1024;
const peerScript = fileURLToPath(
  new URL('../support/misbehaving-peer-process.js', import.meta.url),
);
const serverScript = fileURLToPath(
  new URL('../support/plain-echo-server-process.js', import.meta.url),
);

function runPeer<T>(mode: string, address: Address, options: Record<string, number>): Promise<T> {
  const child = fork(peerScript, [mode, JSON.stringify(address), JSON.stringify(options)], {
    stdio: 'inherit',
  });
  return new Promise<T>((resolve, reject) => {
    child.once('message', (message) => resolve(message as T));
    child.once('exit', (code) =>
      reject(new Error(`${mode} peer exited with ${code} before reporting`)),
    );
  });
}

/** Samples this process's RSS every 10 ms; `stop()` returns the growth above the baseline. */
function rssMonitor(): { stop(): number } {
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage().rss) - baseline;
    },
  };
}

describe('D: slow readers and async handlers', () => {
  test('D1: a peer that never reads, a handler that respects back-pressure: queue ≤ high-water mark + one frame, RSS +≤ 16 MB', async (t) => {
    const hwm = 1 * MiB;
    const frame = Buffer.alloc(64 * 1024, 0x63);
    let peakQueued = 0;
    let waiting = false;
    const log = new Recorder<Bytes>({
      onReady: async (ctx) => {
        for (;;) {
          const below = ctx.send(frame);
          peakQueued = Math.max(peakQueued, ctx.queuedBytes);
          if (below) continue;
          waiting = true;
          if (!(await ctx.drain())) return;
        }
      },
    });
    const { server, listener } = await serve<Bytes>(t, 'tcp', {
      codec: () => new U32Codec(),
      handler: log.handler,
      writeHighWaterMark: hwm,
    });
    const rss = rssMonitor();
    const socket = await rawConnect(listener.address);
    socket.pause(); // never reads
    await until(() => waiting, 5000, 'the handler to wait for drain');
    await new Promise((resolve) => setTimeout(resolve, 1000)); // a second of nothing draining
    const growth = rss.stop();
    socket.destroy();
    await until(() => log.closedCount === 1, 5000, 'onClosed');
    await server.shutdown({ deadlineMs: 1000 });
    console.log(
      `D1: peak queued ${peakQueued} bytes (hwm ${hwm}), RSS growth ${(growth / MiB).toFixed(1)} MB`,
    );
    assert.ok(peakQueued <= hwm + frame.length + 4, `peak queued ${peakQueued} ≤ hwm + one frame`);
    assert.ok(growth <= 16 * MiB, `RSS growth ${growth} ≤ 16 MB`);
    assert.deepEqual(log.violations, []);
    assertEngineClean(server);
  });

  test('D3: async handler (10 ms a frame) under a peer blasting 1 GiB, frames summarised in decode: reading pauses at the in-flight limit, RSS growth ≤ 32 MB', async (t) => {
    const run = await blastSlowHandler<Summary>(t, () => new SummaryCodec());
    assert.ok(
      run.growth <= 32 * MiB,
      `RSS growth ${(run.growth / MiB).toFixed(1)} MB ≤ 32 MB (engine memory under a blast)`,
    );
  });

  test('D3 (frames copied out): the same blast with every 64 KiB payload copied into its frame: pooled bytes bounded, RSS growth reported', async (t) => {
    const run = await blastSlowHandler<Buffer>(t, () => new U32Codec());
    // Here each frame is a fresh 64 KiB Buffer (the codec contract: frames own their bytes), so
    // 1 GiB of frames is 1 GiB of external memory that V8 frees only at its next collection.
    // Measured 33–40 MB of growth here; a bare Node server doing the same work (copy each
    // frame, 64 handlers of 10 ms in flight, no mai) grows 43 MB (docs/reliability.md). The
    // bound guards against a regression to unbounded growth (1 GiB without back-pressure).
    assert.ok(run.growth <= 64 * MiB, `RSS growth ${run.growth} ≤ 64 MB (regression guard)`);
  });
});

/** What SummaryCodec makes of a frame: its length and a checksum of its payload. */
interface Summary {
  length: number;
  sum: number;
}

/**
 * U32 length-prefixed frames decoded to a summary of the payload rather than a copy of it, as
 * a protocol that digests large payloads in its decoder would: the frames own no payload bytes.
 */
class SummaryCodec implements Codec<Summary, never> {
  decode(bytes: Buffer, start: number, end: number): DecodeResult<Summary> {
    if (end - start < 4) return IncompleteFrame;
    const length = bytes.readUInt32BE(start);
    if (end - start < 4 + length) return IncompleteFrame;
    let sum = 0;
    // Every 64th byte: enough to see the payload, cheap enough to decode 1 GiB quickly.
    for (let i = start + 4; i < start + 4 + length; i += 64) sum += bytes[i] as number;
    return { frame: { length, sum }, bytesRead: 4 + length };
  }

  encode(): EncodeResult {
    throw new Error('SummaryCodec only decodes');
  }
}

/**
 * RELIABILITY D3: a peer (another process) blasts 1 GiB of 64 KiB frames at a server whose
 * onFrame takes 10 ms. Checks that every frame was handled, that exactly 64 handlers were in
 * flight at the peak, and that the pool stayed small; returns this process's RSS growth.
 */
async function blastSlowHandler<F>(
  t: TestContext,
  codec: () => Codec<F, never>,
): Promise<{ growth: number }> {
  let inFlight = 0;
  let peak = 0;
  let handled = 0;
  const log = new Recorder<Protocol<{ in: F; out: never }>>(
    {
      onFrame: async () => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 10));
        inFlight--;
        handled++;
      },
    },
    { keepFrames: false },
  );
  const { server, listener } = await serve<Protocol<{ in: F; out: never }>>(t, 'tcp', {
    codec,
    handler: log.handler,
  });
  const total = Number(process.env.MAI_D3_BYTES ?? 1024 * MiB);
  const frameSize = 64 * 1024;
  global.gc?.();
  const rss = rssMonitor();
  let peakLeased = 0;
  const sampler = setInterval(() => {
    peakLeased = Math.max(peakLeased, server.stats().pool.leasedBytes);
  }, 5);
  const report = await runPeer<{ written: number; frames: number; ms: number }>(
    'blast',
    listener.address,
    { frameSize, totalBytes: total },
  );
  await until(() => log.closedCount === 1, 30_000, 'onClosed');
  const growth = rss.stop();
  clearInterval(sampler);
  await server.shutdown({ deadlineMs: 1000 });
  console.log(
    `D3: peak pooled bytes ${peakLeased}, ${report.written} bytes in ${report.ms} ms, ${handled} frames handled, peak in flight ${peak}, RSS growth ${(growth / MiB).toFixed(1)} MB`,
  );
  assert.equal(handled, report.frames, 'every frame delivered');
  assert.equal(peak, 64, 'in flight reached the limit and never passed it');
  // What the engine holds stays small: the unfinished frame behind each read.
  assert.ok(peakLeased <= 1 * MiB, `peak pooled bytes ${peakLeased} ≤ 1 MiB`);
  assert.deepEqual(log.violations, []);
  assertEngineClean(server);
  return { growth };
}

describe('engine memory budget at scale', () => {
  test('500 peers each send 4 frames of 256 KiB at once under an 8 MiB budget: every frame delivered, pooled bytes held near the budget', async (t) => {
    const budget = 8 * MiB;
    const frameSize = 256 * 1024;
    const connections = Number(process.env.MAI_BUDGET_CONNS ?? 500);
    const frames = 4;
    let corrupt = 0;
    const log = new Recorder<Bytes>(
      {
        onFrame: (ctx, frame) => {
          // Every payload byte is the same: the frame equals itself shifted by one.
          const whole =
            frame.length === frameSize &&
            frame.subarray(1).equals(frame.subarray(0, frame.length - 1));
          if (!whole) corrupt++;
          ctx.send(Buffer.from([whole ? 1 : 0]));
        },
      },
      { keepFrames: false },
    );
    const { server, listener } = await serve<Bytes>(
      t,
      'tcp',
      {
        codec: () => new U32Codec(),
        handler: log.handler,
        memoryBudget: budget,
      },
      { backlog: 1024 },
    );
    let peakLeased = 0;
    const sampler = setInterval(() => {
      peakLeased = Math.max(peakLeased, server.stats().pool.leasedBytes);
    }, 2);
    const started = process.cpuUsage();
    const report = await runPeer<{ received: number[]; ms: number }>('bulk', listener.address, {
      connections,
      frames,
      frameSize,
    });
    const cpu = process.cpuUsage(started);
    clearInterval(sampler);
    await until(() => log.closedCount === connections, 10_000, 'onClosed');
    await server.shutdown({ deadlineMs: 1000 });
    console.log(
      `memory budget: ${connections} × ${frames} × ${frameSize / 1024} KiB in ${report.ms} ms, ` +
        `peak pooled ${(peakLeased / MiB).toFixed(2)} MiB (budget ${budget / MiB} MiB, ` +
        `${((connections * frameSize) / MiB).toFixed(0)} MiB if every stream held its frame), ` +
        `server CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms`,
    );
    assert.equal(corrupt, 0, 'every frame arrived whole');
    assert.deepEqual(
      report.received,
      Array(connections).fill(frames * 5),
      'every peer got one reply per frame',
    );
    // The budget is checked after each read, so it is passed by what reads add before the
    // check pauses their streams (a read can double a stream's buffer) and by the output
    // buffers of replies to frames already delivered: measured 9.2 MiB here. Without the budget,
    // 500 half-read frames would hold 125 MiB.
    assert.ok(peakLeased <= budget * 1.5, `peak pooled bytes ${peakLeased} ≤ 1.5 × budget`);
    assert.deepEqual(log.violations, []);
    assertEngineClean(server);
  });
});

describe('E: slowloris and file descriptors', () => {
  test('E1: 1,000 connections dripping 1 byte/s are each closed by the partial-frame timeout (±500 ms)', async (t) => {
    const timeoutMs = 2000;
    const log = new Recorder<Bytes>();
    const { server, listener } = await serve<Bytes>(
      t,
      'tcp',
      {
        codec: () => new U32Codec(),
        handler: log.handler,
        partialFrameTimeoutMs: timeoutMs,
        firstFrameTimeoutMs: 0,
      },
      { backlog: 1024 },
    );
    const { closedAfter } = await runPeer<{ closedAfter: number[] }>('drip', listener.address, {
      connections: 1000,
      intervalMs: 1000,
      boundMs: 20_000,
    });
    await until(() => log.closedCount === 1000, 10_000, '1,000 onClosed');
    await server.shutdown({ deadlineMs: 1000 });
    const sorted = [...closedAfter].sort((a, b) => a - b);
    console.log(
      `E1: close after first byte: min ${sorted[0]} ms, median ${sorted[500]} ms, max ${sorted[999]} ms (timeout ${timeoutMs} ms)`,
    );
    const outside = closedAfter.filter((ms) => Math.abs(ms - timeoutMs) > 500);
    assert.deepEqual(outside, [], 'every connection closed within ±500 ms of the timeout');
    for (const stream of log.logs.values()) {
      assert.equal(stream.errors[0]?.code, 'MAI_PARTIAL_FRAME_TIMEOUT');
      assert.ok((stream.closeInfo?.partialBytes ?? 0) > 0);
    }
    assert.deepEqual(log.violations, []);
    assertEngineClean(server);
  });

  test('E3: fd exhaustion (ulimit -n 256, 1,000 connects): no crash, accepting resumes within 1 s after fds free up', async (t) => {
    const address = listenAddress('tcp');
    const server = spawn(
      'bash',
      [
        '-c',
        `ulimit -n 256 && exec "${process.execPath}" "${serverScript}" "$0"`,
        JSON.stringify(address),
      ],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    t.after(() => server.kill('SIGKILL'));
    const bound = await new Promise<Address>((resolve) =>
      server.once('message', (m) => resolve((m as { address: Address }).address)),
    );
    // 1,000 connects against 256 descriptors: some are served, the rest wait in the backlog or
    // are dropped by the kernel; none of it may crash the server.
    const attempts = await Promise.allSettled(
      Array.from({ length: 1000 }, () =>
        Promise.race([
          rawConnect(bound),
          new Promise<never>((_, reject) =>
            setTimeout(() => reject(new Error('connect pending')), 3000),
          ),
        ]),
      ),
    );
    const connected = attempts.filter((a) => a.status === 'fulfilled').length;
    for (const attempt of attempts) if (attempt.status === 'fulfilled') attempt.value.destroy();
    const freedAt = Date.now();
    // Accepting must resume: a fresh connection gets its frame echoed within 1 s.
    let echoedAfter = -1;
    while (Date.now() - freedAt < 5000) {
      try {
        const socket = await rawConnect(bound);
        const reply = readAll(socket);
        socket.end(u32Frame(Buffer.from([0, 0, 0, 1, 0, 0, 0, 0, 9])));
        const bytes = await Promise.race([
          reply,
          new Promise<Buffer>((resolve) => setTimeout(() => resolve(Buffer.alloc(0)), 500)),
        ]);
        socket.destroy();
        if (bytes.length > 0) {
          echoedAfter = Date.now() - freedAt;
          break;
        }
      } catch {
        // refused or reset while the server sheds the backlog: try again
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(server.exitCode, null, 'the server process is still running');
    server.send('shutdown');
    const report = await new Promise<{ violations: string[]; leased: number }>((resolve) =>
      server.once('message', (m) => resolve(m as { violations: string[]; leased: number })),
    );
    console.log(
      `E3: ${connected} of 1000 connects completed under ulimit -n 256; echo resumed ${echoedAfter} ms after freeing`,
    );
    assert.ok(
      echoedAfter >= 0 && echoedAfter <= 1000,
      `accepting resumed within 1 s (${echoedAfter} ms)`,
    );
    assert.deepEqual(report.violations, []);
    assert.equal(report.leased, 0);
  });
});
