/**
 * Forks the processes of the load rows: the echo server (test/support/echo-server-process.ts)
 * and the load clients (test/support/load-client-process.ts), with typed messages.
 */
import { type ChildProcess, fork } from 'node:child_process';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Address } from '../../src/index.js';
import type { LoadJob } from '../support/load-client-process.js';
import type { CodecKind } from './codec-kinds.js';

const serverScript = fileURLToPath(new URL('../support/echo-server-process.js', import.meta.url));
const clientScript = fileURLToPath(new URL('../support/load-client-process.js', import.meta.url));

/** The shutdown report of the echo server process. */
export interface ServerReport {
  streams: number;
  closed: number;
  frames: number;
  forced: number;
  violations: string[];
  invariants: string[];
  rssPeak: number;
}

export interface Measure {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  streams: number;
  leased: number;
  eventLoopP99Ms: number;
}

/** Waits for the first message of `child` that `pick` accepts, or its exit. */
function nextMessage<T>(
  child: ChildProcess,
  pick: (message: unknown) => T | undefined,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown): void => {
      const value = pick(message);
      if (value === undefined) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(value);
    };
    const onExit = (code: number | null): void => {
      child.off('message', onMessage);
      reject(new Error(`child process exited (code ${code}) before answering`));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** An echo server process. */
export class ServerProcess {
  readonly child: ChildProcess;
  readonly address: Address;

  private constructor(child: ChildProcess, address: Address) {
    this.child = child;
    this.address = address;
  }

  static async start(
    t: TestContext,
    address: Address,
    options: {
      codec?: CodecKind;
      debugBuffers?: boolean;
      forgetClosed?: boolean;
      unchecked?: boolean;
      memoryBudget?: number;
      firstFrameTimeoutMs?: number;
    } = {},
  ): Promise<ServerProcess> {
    const child = fork(serverScript, [JSON.stringify(address), JSON.stringify(options)], {
      stdio: 'inherit',
      execArgv: ['--expose-gc'],
    });
    t.after(() => {
      if (child.exitCode === null) child.kill();
    });
    const bound = await nextMessage(child, (m) => (m as { address?: Address }).address);
    return new ServerProcess(child, bound);
  }

  measure(): Promise<Measure> {
    const answer = nextMessage(this.child, (m) => (m as { measure?: Measure }).measure);
    this.child.send('measure');
    return answer;
  }

  async shutdown(): Promise<ServerReport> {
    const answer = nextMessage(this.child, (m) =>
      'streams' in (m as object) ? (m as ServerReport) : undefined,
    );
    this.child.send('shutdown');
    const report = await answer;
    await exited(this.child);
    return report;
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** A load client process running one job. */
export class ClientProcess<R> {
  readonly child: ChildProcess;
  readonly connected: Promise<number>;
  readonly report: Promise<R>;

  private constructor(child: ChildProcess) {
    this.child = child;
    this.connected = nextMessage(child, (m) => (m as { connected?: number }).connected);
    this.report = nextMessage(child, (m) => (m as { report?: R }).report).then(async (report) => {
      await exited(child);
      return report;
    });
    // Either may never be awaited when a test fails early.
    this.connected.catch(() => {});
    this.report.catch(() => {});
  }

  static start<R>(t: TestContext, job: LoadJob): ClientProcess<R> {
    const child = fork(clientScript, [JSON.stringify(job)], { stdio: 'inherit' });
    t.after(() => {
      if (child.exitCode === null) child.kill();
    });
    return new ClientProcess<R>(child);
  }

  send(message: string): void {
    // The child may finish and disconnect between the check and the write: with a callback a
    // failed send (EPIPE) is ours to ignore instead of an 'error' event nobody handles.
    if (this.child.connected) this.child.send(message, () => {});
  }
}

/** Formats bytes as MiB with one decimal. */
export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
