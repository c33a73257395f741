import net from 'node:net';
import type { TestContext } from 'node:test';
import { IncompleteFrame } from '../../src/codec/codec.js';
import { RespDecoder } from '../../src/codec/resp-decode.js';
import { startKvServer } from '../../examples/kv/kv-server.js';
import { startRedisServer } from '../support/redis-server.js';
import { encodeRequest, type WireRequest } from './resp-wire.js';

/**
 * One step of a multi-client scenario: a request sent on connection `conn` (opened on first
 * use), or a pause (for TTLs to run out). `compare: false` leaves out what every connection
 * receives during the step (HELLO's reply names the server); `normalize` rewrites frames of
 * the step before they are compared (CLIENT LIST's ids and addresses).
 *
 * @example
 * ```ts
 * const steps: Step[] = [{ conn: 0, request: ['WATCH', 'k'] }, { conn: 1, request: ['SET', 'k', 'v'] }];
 * ```
 */
export type Step =
  | {
      conn: number;
      request: WireRequest;
      compare?: boolean;
      normalize?: (frame: string) => string;
    }
  | { sleepMs: number };

/**
 * What each connection received in each step: `frames[conn][step]` is the list of raw frames.
 *
 * @example
 * ```ts
 * const run: ScenarioRun = await runScenario(port, steps);
 * run.frames[0]?.[2]; // the frames connection 0 got while step 2 ran
 * ```
 */
export interface ScenarioRun {
  frames: Buffer[][][];
}

interface Peer {
  socket: net.Socket;
  frames: Buffer[];
  closed: boolean;
}

const QUIET_MS = 40;

function openPeer(port: number): Peer {
  const socket = net.connect(port, '127.0.0.1');
  const decoder = new RespDecoder({
    maxBulkLength: 1 << 30,
    maxArrayLength: 1 << 20,
    maxDepth: 16,
  });
  const peer: Peer = { socket, frames: [], closed: false };
  let buffered: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    // A bare `*N` header (EXEC) is not a frame by itself: split on decodable values only,
    // which a header followed by its elements is.
    for (let i = 0; i < 100_000; i++) {
      const result = decoder.decode(buffered, 0, buffered.length);
      if (result === IncompleteFrame) break;
      peer.frames.push(Buffer.from(buffered.subarray(0, result.bytesRead)));
      buffered = buffered.subarray(result.bytesRead);
    }
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    peer.closed = true;
  });
  return peer;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until no connection has received anything for `QUIET_MS` (at most `limitMs`). */
async function quiet(peers: Map<number, Peer>, limitMs = 3000): Promise<void> {
  const deadline = Date.now() + limitMs;
  let last = -1;
  for (let i = 0; i < 1000 && Date.now() < deadline; i++) {
    let total = 0;
    for (const peer of peers.values()) total += peer.frames.length;
    if (total === last) return;
    last = total;
    await sleep(QUIET_MS);
  }
}

/** Waits until every connection has at least the frames `counts` says (at most `limitMs`). */
async function reach(
  peers: Map<number, Peer>,
  counts: Map<number, number>,
  limitMs = 5000,
): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (let i = 0; i < 5000 && Date.now() < deadline; i++) {
    let done = true;
    for (const [conn, count] of counts) {
      const peer = peers.get(conn);
      if (peer !== undefined && peer.frames.length < count && !peer.closed) done = false;
    }
    if (done) return;
    await sleep(2);
  }
}

/**
 * Runs `steps` against the server on `port`. With `expected` (a run against redis-server) each
 * step waits until every connection has as many frames as redis-server's run had then; without
 * it, until the connections go quiet. Every wait is bounded.
 *
 * @example
 * ```ts
 * const redisRun = await runScenario(redis.port, steps);
 * const kvRun = await runScenario(kv.port, steps, redisRun);
 * ```
 */
export async function runScenario(
  port: number,
  steps: readonly Step[],
  expected?: ScenarioRun,
): Promise<ScenarioRun> {
  const peers = new Map<number, Peer>();
  const seen = new Map<number, number[]>();
  try {
    for (let s = 0; s < steps.length; s++) {
      const step = steps[s] as Step;
      if ('sleepMs' in step) {
        await sleep(step.sleepMs);
      } else {
        let peer = peers.get(step.conn);
        if (peer === undefined) {
          peer = openPeer(port);
          peers.set(step.conn, peer);
          await new Promise((resolve) => peer?.socket.once('connect', resolve));
        }
        peer.socket.write(encodeRequest(step.request));
      }
      if (expected === undefined) {
        await quiet(peers);
      } else {
        const counts = new Map<number, number>();
        expected.frames.forEach((byStep, conn) => {
          counts.set(
            conn,
            byStep.slice(0, s + 1).reduce((sum, frames) => sum + frames.length, 0),
          );
        });
        await reach(peers, counts);
        if (s === steps.length - 1) await quiet(peers);
      }
      for (const [conn, peer] of peers) {
        const marks = seen.get(conn) ?? [];
        marks[s] = peer.frames.length;
        seen.set(conn, marks);
      }
    }
  } finally {
    for (const peer of peers.values()) peer.socket.destroy();
  }
  const frames: Buffer[][][] = [];
  for (const [conn, peer] of peers) {
    const marks = seen.get(conn) ?? [];
    const byStep: Buffer[][] = [];
    let from = 0;
    for (let s = 0; s < steps.length; s++) {
      const to = marks[s] ?? from;
      byStep.push(peer.frames.slice(from, s === steps.length - 1 ? undefined : to));
      from = to;
    }
    frames[conn] = byStep;
  }
  return { frames };
}

/**
 * The differences between two runs, connection by connection and step by step, as text (empty
 * when every compared frame is the same bytes).
 *
 * @example
 * ```ts
 * assert.deepEqual(compareRuns(steps, redisRun, kvRun), []);
 * ```
 */
export function compareRuns(steps: readonly Step[], want: ScenarioRun, got: ScenarioRun): string[] {
  const problems: string[] = [];
  const conns = Math.max(want.frames.length, got.frames.length);
  for (let conn = 0; conn < conns; conn++) {
    for (let s = 0; s < steps.length; s++) {
      const step = steps[s] as Step;
      if ('conn' in step && step.compare === false) continue;
      const normalize =
        'conn' in step && step.normalize !== undefined ? step.normalize : (x: string) => x;
      const show = (frames: Buffer[] | undefined) =>
        JSON.stringify((frames ?? []).map((frame) => normalize(frame.toString('latin1'))).join(''));
      const a = show(want.frames[conn]?.[s]);
      const b = show(got.frames[conn]?.[s]);
      if (a !== b) {
        const what = 'conn' in step ? `${step.conn}: ${JSON.stringify(step.request)}` : 'sleep';
        problems.push(
          `conn ${conn}, step ${s} (${what})\n  redis-server: ${a}\n  mai kv:       ${b}`,
        );
      }
    }
  }
  return problems;
}

/**
 * Runs every scenario against a fresh redis-server and a fresh KV server (both stopped when
 * the test ends) and returns the differences, each prefixed by its scenario's name, with the
 * redis-server version for the failure message.
 *
 * @example
 * ```ts
 * const { version, problems } = await compareScenarios(t, SCENARIOS);
 * assert.equal(problems.length, 0, `${version}\n${problems.join('\n')}`);
 * ```
 */
export async function compareScenarios(
  t: TestContext,
  scenarios: Record<string, Step[]>,
): Promise<{ version: string; problems: string[] }> {
  const redis = await startRedisServer();
  t.after(() => redis.stop());
  const kv = await startKvServer({ port: 0 });
  t.after(() => kv.close(1000));
  const problems: string[] = [];
  for (const [name, steps] of Object.entries(scenarios)) {
    const want = await runScenario(redis.port, steps);
    const got = await runScenario(kv.port as number, steps, want);
    for (const problem of compareRuns(steps, want, got)) problems.push(`${name}: ${problem}`);
  }
  return { version: redis.version, problems };
}
