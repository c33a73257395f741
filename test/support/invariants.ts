/**
 * The invariant block every reliability test ends with (RELIABILITY.md):
 *
 * - pool leases outstanding = 0 (in debug mode, the lease sites of any leak are printed: I3);
 * - no socket, server or timer of ours left (`process.getActiveResourcesInfo()`, compared with
 *   what was active when the test began);
 * - no uncaught exception or unhandled rejection during the test;
 * - every connection got exactly one `onClosed`, after `onReady`, and no handler call after it.
 *
 * `invariantViolations` is the synchronous core, usable in a child process that reports back;
 * `Invariants.install(t)` adds the process-wide parts for a test in this process.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { AnyProtocol, ProtocolEngine } from '../../src/index.js';
import type { Recorder } from './recorder.js';

/** Resource kinds that mean "a socket, server or timer is still open". */
const TRACKED = new Set([
  'TCPSocketWrap',
  'TCPServerWrap',
  'PipeWrap',
  'PipeServerWrap',
  'Timeout',
  'Immediate',
]);

/** Counts of the tracked resource kinds active right now. */
export function activeResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) {
    if (TRACKED.has(kind)) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return counts;
}

/** Kinds with more active resources now than in `baseline`. */
export function resourcesAbove(baseline: Map<string, number>): string[] {
  const leaks: string[] = [];
  for (const [kind, count] of activeResources()) {
    const before = baseline.get(kind) ?? 0;
    if (count > before) leaks.push(`${count - before} ${kind} left (had ${before} before)`);
  }
  return leaks;
}

type AnyEngine = ProtocolEngine<AnyProtocol> | ProtocolEngine<never>;
// biome-ignore lint/suspicious/noExplicitAny: recorders of any protocol are checked the same way
type AnyRecorder = Recorder<any>;

/**
 * Engine and lifecycle checks, without the process-wide ones. Returns what is wrong (empty when
 * all holds). `expectedStreams`, when given, is how many streams each recorder must have seen.
 *
 * @example
 * ```ts
 * assert.deepEqual(invariantViolations([engine], [recorder]), []);
 * ```
 */
export function invariantViolations(
  engines: readonly AnyEngine[],
  recorders: readonly AnyRecorder[],
  expectedStreams?: readonly number[],
): string[] {
  const problems: string[] = [];
  engines.forEach((engine, i) => {
    const stats = (engine as ProtocolEngine<AnyProtocol>).stats();
    if (stats.pool.leased !== 0 || stats.pool.leasedBytes !== 0) {
      const sites = (engine as ProtocolEngine<AnyProtocol>).outstandingLeases().slice(0, 3);
      problems.push(
        `engine ${i}: ${stats.pool.leased} buffers (${stats.pool.leasedBytes} bytes) still leased${
          sites.length > 0 ? `; leased at:\n${sites.join('\n---\n')}` : ''
        }`,
      );
    }
    if (stats.streams !== 0) problems.push(`engine ${i}: ${stats.streams} streams still managed`);
    if (stats.listeners !== 0) problems.push(`engine ${i}: ${stats.listeners} listeners open`);
    if (stats.pendingConnects !== 0) {
      problems.push(`engine ${i}: ${stats.pendingConnects} connects pending`);
    }
    if (stats.timers !== 0) problems.push(`engine ${i}: ${stats.timers} timers pending`);
  });
  recorders.forEach((recorder, i) => {
    problems.push(...recorder.violations.slice(0, 10).map((v: string) => `recorder ${i}: ${v}`));
    let bad = 0;
    for (const [token, log] of recorder.logs) {
      const closes = log.events.filter((event: string) => event === 'closed').length;
      const last = log.events.at(-1);
      if (log.events[0] !== 'ready' || closes !== 1 || last !== 'closed') {
        if (bad++ < 10) {
          problems.push(
            `recorder ${i}, stream ${token}: events ${log.events.slice(0, 5).join(',')}…${last} (${closes} onClosed)`,
          );
        }
      }
    }
    const expected = expectedStreams?.[i];
    if (expected !== undefined && recorder.logs.size !== expected) {
      problems.push(`recorder ${i}: saw ${recorder.logs.size} streams, expected ${expected}`);
    }
  });
  return problems;
}

/**
 * The invariant block of one test in this process: install at the start, `check` at the end.
 *
 * @example
 * ```ts
 * test('F2', async (t) => {
 *   const invariants = Invariants.install(t);
 *   // ... the test ...
 *   await invariants.check([server, client], [serverLog, clientLog]);
 * });
 * ```
 */
export class Invariants {
  readonly uncaught: unknown[] = [];
  readonly #baseline: Map<string, number>;

  private constructor() {
    this.#baseline = activeResources();
  }

  /** Records the resources active now and listens for uncaught errors until the test ends. */
  static install(t: TestContext): Invariants {
    const invariants = new Invariants();
    const onUncaught = (error: unknown): void => {
      invariants.uncaught.push(error);
    };
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUncaught);
    t.after(() => {
      process.off('uncaughtException', onUncaught);
      process.off('unhandledRejection', onUncaught);
    });
    return invariants;
  }

  /**
   * Asserts the whole block. Sockets take a turn or two of the event loop to be released after
   * their close, so resources are polled for up to `settleMs` before they count as leaked.
   */
  async check(
    engines: readonly AnyEngine[],
    recorders: readonly AnyRecorder[],
    options: { expectedStreams?: readonly number[]; settleMs?: number; context?: string } = {},
  ): Promise<void> {
    const context = options.context === undefined ? '' : ` (${options.context})`;
    assert.deepEqual(
      invariantViolations(engines, recorders, options.expectedStreams),
      [],
      `engine/lifecycle invariants${context}`,
    );
    const deadline = Date.now() + (options.settleMs ?? 2000);
    let leaks = resourcesAbove(this.#baseline);
    for (let i = 0; i < 1000 && leaks.length > 0 && Date.now() < deadline; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      leaks = resourcesAbove(this.#baseline);
    }
    assert.deepEqual(leaks, [], `sockets or timers left${context}`);
    assert.deepEqual(
      this.uncaught.map((error) => String((error as Error)?.stack ?? error)),
      [],
      `uncaught exceptions or unhandled rejections${context}`,
    );
  }
}
