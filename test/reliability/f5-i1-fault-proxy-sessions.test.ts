/**
 * F5: sessions through the fault proxy (pieces of 1–64 bytes, latency, jitter, bandwidth caps,
 * stalls, a FIN cut or a reset at a random byte in either direction, drawn per session from a
 * logged seed). Each session: a mai client sends K tagged frames to a mai echo server and
 * checks the echoes. Integrity, on both sides: the frames received are a prefix, in order and
 * uncorrupted, of those sent; and every frame not delivered is explained by the session's
 * fault:
 *
 * | fault in the plan       | server must deliver                          | client must get          |
 * |-------------------------|----------------------------------------------|--------------------------|
 * | none                    | all K                                        | all K echoes             |
 * | cut toward the server   | exactly the frames complete in the bytes cut | exactly the server's     |
 * | cut toward the client   | all K                                        | exactly the echoes complete in the bytes cut |
 * | reset (either way)      | a prefix of the frames complete in the bytes forwarded | a prefix        |
 *
 * I1: the server and client run with `debugBuffers`; the proxy scans every forwarded byte for
 * runs of the canary 0xdd (payloads never hold 0xdd).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type CloseInfo,
  LengthPrefixedCodec,
  type Protocol,
  protocolEngine,
} from '../../src/index.js';
import { serve } from '../support/engine-fixture.js';
import { FaultProxy, randomInt, randomPlan, seededRandom } from '../support/fault-proxy.js';
import { Invariants } from '../support/invariants.js';
import { Recorder } from '../support/recorder.js';
import { until } from '../support/transports.js';
import { figure, testSeed } from './profile.js';
import { checkTaggedFrame, longestRun, taggedFrame } from './tagged-frame.js';

/**
 * What one side saw of a stream: frames delivered and the close. Kept small, and without the
 * CloseInfo and its error (whose stack is held): every session's stays in memory until the
 * end, a million of them in the long run.
 */
interface Seen {
  conn: number;
  frames: number;
  reason?: string;
  /** The close error as `code: message`. */
  error?: string;
}

/** Notes in `seen` how its stream closed. */
function noteClose(seen: Seen, info: CloseInfo): void {
  seen.frames = info.framesReceived;
  seen.reason = info.reason;
  if (info.error !== undefined) seen.error = `${info.error.code}: ${info.error.message}`;
}

type Tagged = Protocol<{ in: Buffer; session: { conn: number; next: number; seen: Seen } }>;

/**
 * Streams by port, in the order they became ready. Ephemeral ports are reused over thousands
 * of sessions, but never while in use: the k-th stream on a port is the proxy's k-th session
 * on it.
 */
class ByPort {
  readonly #lists = new Map<number, Seen[]>();
  readonly #taken = new Map<number, number>();
  add(port: number, seen: Seen): void {
    const list = this.#lists.get(port);
    if (list === undefined) this.#lists.set(port, [seen]);
    else list.push(seen);
  }
  /** The next stream on `port`, for proxy sessions taken in index order. */
  take(port: number | undefined): Seen | undefined {
    if (port === undefined) return undefined;
    const index = this.#taken.get(port) ?? 0;
    this.#taken.set(port, index + 1);
    return this.#lists.get(port)?.[index];
  }
}

const SESSIONS = figure('F5_SESSIONS', 10_000, 1_000_000);
const CONCURRENCY = figure('F5_CONCURRENCY', 500, 1000);
/** Every loop is bounded in time too: generous for the PR figure, scaled for the long one. */
const TIME_BOUND_MS = Math.max(400_000, SESSIONS * 20);
const K = 10;
const MAX_PAYLOAD = 100;

/** Payload sizes of session `conn`'s frames (the same on both sides). */
function sizes(seed: number, conn: number): number[] {
  const random = seededRandom((seed ^ Math.imul(conn + 1, 0x2c1b3c6d)) >>> 0);
  return Array.from({ length: K }, () => randomInt(random, 0, MAX_PAYLOAD));
}

/** How many whole frames (4-byte length + tagged frame) fit in the first `bytes` bytes. */
function completeWithin(frameSizes: number[], bytes: number): number {
  let used = 0;
  let count = 0;
  for (const size of frameSizes) {
    used += 4 + 12 + size;
    if (used > bytes) break;
    count++;
  }
  return count;
}

const portOf = (address: string | undefined): number => Number(address?.split(':').at(-1));

describe('F5/I1: sessions through the fault proxy', () => {
  test(`${SESSIONS} sessions, ${CONCURRENCY} at a time: 0 integrity violations`, async (t) => {
    const invariants = Invariants.install(t);
    const seed = testSeed();
    t.diagnostic(`seed ${seed} (replay with MAI_SEED=${seed})`);
    const problems: string[] = [];
    const note = (problem: string): void => {
      if (problems.length < 20) problems.push(problem);
    };
    const serverSide = new ByPort();
    const clientSide = new ByPort();
    let canaryInFrames = 0;

    const serverLog = new Recorder<Tagged>({
      onReady(ctx) {
        serverSide.add(portOf(ctx.remoteAddress), ctx.session.seen);
      },
      onFrame(ctx, frame) {
        const entry = serverLog.logs.get(ctx.token);
        if (entry !== undefined) {
          entry.frames.length = 0;
          entry.events.length = 1;
        }
        if (ctx.session.next === 0) ctx.session.conn = frame.readUInt32BE(0);
        const problem = checkTaggedFrame(frame, ctx.session.conn, ctx.session.next);
        if (problem !== null) note(`server: ${problem}`);
        if (longestRun(frame, 0xdd) >= 8) canaryInFrames++;
        ctx.session.next++;
        ctx.send(frame);
      },
      onClosed(ctx, info) {
        ctx.session.seen.conn = ctx.session.next === 0 ? -1 : ctx.session.conn;
        noteClose(ctx.session.seen, info);
        serverLog.logs.delete(ctx.token);
      },
    });
    const { server, listener } = await serve<Tagged>(t, 'tcp', {
      codec: () => new LengthPrefixedCodec(),
      handler: serverLog.handler,
      session: () => ({ conn: -1, next: 0, seen: { conn: -1, frames: 0 } }),
      debugBuffers: true,
      closeTimeoutMs: 500,
    });
    const proxy = await FaultProxy.start({
      target: listener.address,
      seed,
      canaryByte: 0xdd,
      planFor: (random) =>
        randomPlan(random, {
          bytesToServer: K * (16 + MAX_PAYLOAD),
          bytesToClient: K * (16 + MAX_PAYLOAD),
        }),
    });

    let finished = 0;
    const closedWaiters = new Map<number, () => void>();
    const clientLog = new Recorder<Tagged>({
      onReady(ctx) {
        clientSide.add(portOf(ctx.localAddress), ctx.session.seen);
        sizes(seed, ctx.session.conn).forEach((size, seq) => {
          ctx.send(taggedFrame(ctx.session.conn, seq, size));
        });
      },
      onFrame(ctx, frame) {
        const entry = clientLog.logs.get(ctx.token);
        if (entry !== undefined) {
          entry.frames.length = 0;
          entry.events.length = 1;
        }
        const problem = checkTaggedFrame(frame, ctx.session.conn, ctx.session.next);
        if (problem !== null) note(`client: ${problem}`);
        if (longestRun(frame, 0xdd) >= 8) canaryInFrames++;
        ctx.session.next++;
        if (ctx.session.next === K) ctx.close();
      },
      onClosed(ctx, info) {
        noteClose(ctx.session.seen, info);
        clientLog.logs.delete(ctx.token);
        finished++;
        closedWaiters.get(ctx.session.conn)?.();
        closedWaiters.delete(ctx.session.conn);
      },
    });
    const client = protocolEngine<Tagged>({
      codec: () => new LengthPrefixedCodec(),
      handler: clientLog.handler,
      debugBuffers: true,
      closeTimeoutMs: 500,
    });

    const started = Date.now();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < SESSIONS && Date.now() - started < TIME_BOUND_MS) {
        const conn = next++;
        const closed = new Promise<void>((resolve) => closedWaiters.set(conn, resolve));
        try {
          await client.connect({
            ...proxy.address,
            session: { conn, next: 0, seen: { conn, frames: 0 } },
          });
        } catch (error) {
          note(`session ${conn}: connect failed: ${String(error)}`);
          closedWaiters.delete(conn);
          finished++;
          continue;
        }
        // One session per worker at a time, bounded: a session that never closes is reported.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          closed,
          new Promise<void>((resolve) => {
            timer = setTimeout(() => {
              note(`session ${conn}: not closed after 30 s (seed ${seed})`);
              resolve();
            }, 30_000);
          }),
        ]);
        clearTimeout(timer);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await until(() => finished === SESSIONS, 30_000, `all sessions closed (seed ${seed})`);
    await until(() => proxy.liveSessions === 0, 10_000, 'the proxy to drain');
    await server.shutdown({ deadlineMs: 2000 });
    await proxy.close();
    t.diagnostic(`F5: ${SESSIONS} sessions in ${Date.now() - started} ms`);

    // Explain every missing frame by the session's fault.
    const outcomes = { none: 0, cutToServer: 0, cutToClient: 0, reset: 0 };
    for (const record of proxy.sessions) {
      const clientEntry = clientSide.take(record.clientPort);
      const serverEntry = serverSide.take(record.upstreamPort);
      if (clientEntry === undefined) {
        note(`${proxy.describe(record.index)}: no client stream`);
        continue;
      }
      const frameSizes = sizes(seed, clientEntry.conn);
      const serverFrames = serverEntry?.frames ?? 0;
      const plan = record.plan;
      const where = `${proxy.describe(record.index)} client ${JSON.stringify(clientEntry)} server ${JSON.stringify(serverEntry)}`;
      const reset = plan.toServer.resetAtByte >= 0 || plan.toClient.resetAtByte >= 0;
      if (reset) {
        outcomes.reset++;
        if (serverFrames > completeWithin(frameSizes, record.forwardedToServer)) {
          note(`server delivered more than was forwarded: ${where}`);
        }
        if (clientEntry.frames > serverFrames) note(`client got echoes never sent: ${where}`);
      } else if (plan.toServer.cutAtByte >= 0) {
        outcomes.cutToServer++;
        const expected = completeWithin(frameSizes, plan.toServer.cutAtByte);
        if (serverFrames !== expected)
          note(`server: ${serverFrames} ≠ ${expected} frames: ${where}`);
        if (clientEntry.frames !== serverFrames) note(`client: echoes ≠ server frames: ${where}`);
      } else if (plan.toClient.cutAtByte >= 0) {
        outcomes.cutToClient++;
        if (serverFrames !== K) note(`server: ${serverFrames} ≠ ${K} frames: ${where}`);
        const expected = Math.min(K, completeWithin(frameSizes, plan.toClient.cutAtByte));
        if (clientEntry.frames !== expected)
          note(`client: ${clientEntry.frames} ≠ ${expected}: ${where}`);
      } else {
        outcomes.none++;
        if (serverFrames !== K || clientEntry.frames !== K)
          note(`lost frames without a fault: ${where}`);
        if (clientEntry.error !== undefined || serverEntry?.error !== undefined) {
          note(`error without a fault: ${where}`);
        }
      }
      if (record.canaryHits > 0) note(`I1: canary on the wire: ${where}`);
    }
    t.diagnostic(`F5 outcomes: ${JSON.stringify(outcomes)}`);
    assert.equal(proxy.sessions.length, SESSIONS);
    assert.equal(canaryInFrames, 0, 'I1: no canary run in a delivered frame');
    assert.deepEqual(
      problems,
      [],
      `integrity violations (seed ${seed}, replay with MAI_SEED=${seed})`,
    );
    await client.wait();
    await invariants.check([server, client], [serverLog, clientLog]);
  });
});
