/**
 * The process side of the end-to-end benchmarks (bench/echo.ts, bench/idle.ts): building the C
 * programs of bench/loadgen/, placing server and load on different cores, talking to child
 * processes, and reading CPU time from /proc.
 */
import { type ChildProcess, fork, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from build/bench/support/). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** Where every benchmark writes its results. */
export const RESULTS = join(ROOT, 'bench/results');

const NATIVE_BUILD = join(ROOT, 'bench/loadgen/build');
/** The C load generator (bench/loadgen/loadgen.c), once `buildNative` ran. */
export const LOADGEN_BIN = join(NATIVE_BUILD, 'loadgen');
/** The C byte echo server (bench/loadgen/c-echo.c), the load generator's own check. */
export const C_ECHO_BIN = join(NATIVE_BUILD, 'c-echo');

/** Builds one C program with `cc -O2` when it is missing or older than its source. */
function buildC(source: string, binary: string): void {
  const sourceTime = statSync(source).mtimeMs;
  let binTime = 0;
  try {
    binTime = statSync(binary).mtimeMs;
  } catch {
    // Not built yet.
  }
  if (binTime > sourceTime) return;
  mkdirSync(NATIVE_BUILD, { recursive: true });
  const cc = spawnSync('cc', ['-O2', '-Wall', '-o', binary, source], {
    stdio: 'inherit',
    timeout: 60_000,
  });
  if (cc.status !== 0) throw new Error(`cc -O2 ${relative(ROOT, source)} failed`);
}

/**
 * Builds the load generator and the C echo server into bench/loadgen/build/ (ignored by git).
 *
 * @example
 * ```ts
 * buildNative();
 * spawn(LOADGEN_BIN, ['--port', String(port)]);
 * ```
 */
export function buildNative(): void {
  buildC(join(ROOT, 'bench/loadgen/loadgen.c'), LOADGEN_BIN);
  buildC(join(ROOT, 'bench/loadgen/c-echo.c'), C_ECHO_BIN);
}

/** Where server and load run, as recorded beside the figures. */
export interface Placement {
  readonly pinned: boolean;
  readonly server: string;
  readonly loadgen: string;
  readonly note: string;
}

/** The core a process of the benchmark runs on when pinned. */
export const Core = {
  Server: 0,
  Load: 1,
} as const;
export type Core = (typeof Core)[keyof typeof Core];

/**
 * Server on CPU 0 and load on CPU 1 when `taskset` and two cores are there; this process (which
 * only waits for its children) moves to CPU 1 too.
 *
 * @example
 * ```ts
 * const place = placement();
 * if (place.pinned) pinProcess(child.pid, Core.Server);
 * ```
 */
export function placement(): Placement {
  const cores = availableParallelism();
  const taskset = spawnSync('taskset', ['-cp', String(process.pid)], { encoding: 'utf8' });
  if (cores < 2 || taskset.status !== 0) {
    return {
      pinned: false,
      server: 'any',
      loadgen: 'any',
      note:
        cores < 2
          ? `only ${cores} core: server and load share it`
          : 'taskset not available: unpinned',
    };
  }
  pinProcess(process.pid, Core.Load);
  return {
    pinned: true,
    server: 'CPU 0 (taskset -a -cp 0 <pid>, all threads)',
    loadgen: 'CPU 1 (taskset -c 1)',
    note: `${cores} cores; orchestrator also on CPU 1 (idle while measuring)`,
  };
}

/**
 * Moves every thread of a running process to one core (`taskset -a -cp`).
 *
 * @example
 * ```ts
 * pinProcess(server.pid, Core.Server);
 * ```
 */
export function pinProcess(pid: number, core: Core): void {
  spawnSync('taskset', ['-a', '-cp', String(core), String(pid)], { stdio: 'ignore' });
}

/**
 * The command and arguments that start `binary` on `core` (through `taskset -c`) when pinned.
 *
 * @example
 * ```ts
 * const [command, argv] = onCore(place.pinned, Core.Load, LOADGEN_BIN, ['--port', '1234']);
 * spawn(command, argv);
 * ```
 */
export function onCore(
  pinned: boolean,
  core: Core,
  binary: string,
  args: readonly string[],
): [string, string[]] {
  return pinned ? ['taskset', ['-c', String(core), binary, ...args]] : [binary, [...args]];
}

/**
 * Runs the load generator to the end and returns the JSON object it prints; it is killed past
 * `limitMs`.
 *
 * @example
 * ```ts
 * const out = await runLoadgen(['--port', '1234', '--conns', '50'], true, 20_000);
 * console.log(out.framesPerSec);
 * ```
 */
export function runLoadgen(
  args: readonly string[],
  pinned: boolean,
  limitMs: number,
): Promise<Record<string, number>> {
  const [command, argv] = onCore(pinned, Core.Load, LOADGEN_BIN, args);
  const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new Error(`loadgen exited with ${code ?? signal}: ${stderr.trim()}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout) as Record<string, number>);
      } catch {
        reject(new Error(`loadgen printed no JSON: ${stdout} ${stderr}`));
      }
    });
  });
}

/**
 * Waits for the first IPC message of `child` that `pick` accepts (returns non-undefined for);
 * rejects if the child exits first or `timeoutMs` passes (the child is then killed).
 *
 * @example
 * ```ts
 * const port = await awaitMessage(child, 'listening', 10_000, (m: FromServer) =>
 *   m.type === 'listening' ? m.port : undefined,
 * );
 * ```
 */
export function awaitMessage<M, T>(
  child: ChildProcess,
  what: string,
  timeoutMs: number,
  pick: (message: M) => T | undefined,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (message: M): void => {
      const value = pick(message);
      if (value === undefined) return;
      done();
      resolve(value);
    };
    const onExit = (code: number | null): void => {
      done();
      reject(new Error(`child exited with ${code} before ${what}`));
    };
    const timer = setTimeout(() => {
      done();
      child.kill('SIGKILL');
      reject(new Error(`no ${what} within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/**
 * Forks a compiled benchmark module with an IPC channel; its stdout and stderr go to this
 * process's.
 *
 * @example
 * ```ts
 * const child = forkModule(SERVER_ENTRY, ['mai', '60'], ['--expose-gc']);
 * ```
 */
export function forkModule(
  entry: string,
  args: readonly string[],
  execArgv: readonly string[] = [],
): ChildProcess {
  return fork(entry, [...args], {
    execArgv: [...execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

const CLOCK_TICKS_PER_SECOND = Number(
  spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim() || '100',
);

/**
 * utime + stime of a process in microseconds, from /proc/<pid>/stat.
 *
 * @example
 * ```ts
 * const before = procCpuUs(pid);
 * ```
 */
export function procCpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1e6) / CLOCK_TICKS_PER_SECOND;
}

/**
 * Resident set size of a process, from /proc/<pid>/status (NaN when it cannot be read).
 *
 * @example
 * ```ts
 * procRssBytes(child.pid);
 * ```
 */
export function procRssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  return match?.[1] === undefined ? Number.NaN : Number(match[1]) * 1024;
}

/** Jiffies of one CPU: busy (all but idle and iowait) and total. */
export interface CpuTimes {
  readonly busy: number;
  readonly total: number;
}

/**
 * Jiffies of one CPU from /proc/stat, or undefined off Linux.
 *
 * @example
 * ```ts
 * const a = cpuTimes(0);
 * // … later
 * const b = cpuTimes(0);
 * const busyShare = busyShareBetween(a, b);
 * ```
 */
export function cpuTimes(cpu: number): CpuTimes | undefined {
  try {
    const line = readFileSync('/proc/stat', 'latin1')
      .split('\n')
      .find((l) => l.startsWith(`cpu${cpu} `));
    if (line === undefined) return undefined;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/**
 * The busy share of a CPU between two readings (NaN when either is missing).
 *
 * @example
 * ```ts
 * busyShareBetween(cpuTimes(0), cpuTimes(0)); // NaN or a share in [0, 1]
 * ```
 */
export function busyShareBetween(
  before: CpuTimes | undefined,
  after: CpuTimes | undefined,
): number {
  if (before === undefined || after === undefined) return Number.NaN;
  return (after.busy - before.busy) / (after.total - before.total);
}
