/**
 * End-to-end echo benchmark (PERFORMANCE.md E1–E4): mai beside a hand-written, a naive and a
 * raw-bytes Node server, in one run, driven by the native load generator bench/loadgen/loadgen.c.
 *
 *   node build/bench/echo.js [--quick] [--runs N] [--warmup S] [--duration S]
 *                            [--scenarios E1,E4] [--servers mai,hand] [--profile]
 *
 * Each server runs in its own child process (bench/servers/echo-server.ts), pinned to CPU 0 with
 * `taskset` where there are two cores or more; the load generator runs pinned to CPU 1 (this
 * orchestrator too: it only waits). For every scenario, each run starts a fresh server of each
 * kind, in an order rotated from run to run so slow drift on a shared machine does not always
 * favour the same server. Every figure is the median of the runs with min–max beside it, and every
 * ratio is between medians of the same invocation.
 *
 * `--profile` instead runs mai alone under E1 with `node --cpu-prof` and prints the top 10
 * functions by self time (also written to bench/results/echo-profile.md).
 *
 * Results: bench/results/echo.json and bench/results/echo.md (echo-partial.* for a --quick run
 * or a subset of scenarios or servers, so that those never overwrite the full results).
 */
import { fork, spawn, spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  human,
  type MachineInfo,
  machineInfo,
  markdownTable,
  type Summary,
  sourceLine,
  sourceState,
  summarize,
} from './support/report.js';
import type { FromServer } from './servers/echo-server.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LOADGEN_SOURCE = join(ROOT, 'bench/loadgen/loadgen.c');
const LOADGEN_BIN = join(ROOT, 'bench/loadgen/build/loadgen');
const C_ECHO_SOURCE = join(ROOT, 'bench/loadgen/c-echo.c');
const C_ECHO_BIN = join(ROOT, 'bench/loadgen/build/c-echo');
const SERVER_ENTRY = fileURLToPath(new URL('./servers/echo-server.js', import.meta.url));
const RESULTS = join(ROOT, 'bench/results');
/** The code measured, as it was when the benchmark started (others edit the tree meanwhile). */
const SOURCE = sourceState(ROOT);

/** Pause before repeating a contended run: bursts of other work (a test suite) often pass. */
const RETRY_PAUSE_MS = 3000;

const SERVERS = ['mai', 'hand', 'naive', 'raw', 'c-echo'] as const;
type ServerName = (typeof SERVERS)[number];

const SERVER_TITLES: Record<ServerName, string> = {
  mai: 'mai (protocolEngine + length-prefixed codec)',
  hand: 'hand-written (offsets, batched writes)',
  naive: 'naive (Buffer.concat, write per frame)',
  raw: 'raw bytes (no framing)',
  'c-echo': 'C epoll byte echo (load generator check)',
};

interface Scenario {
  readonly id: string;
  readonly title: string;
  readonly size: number;
  readonly conns: number;
  readonly inflight: number;
  readonly latency: boolean;
}

const SCENARIOS: readonly Scenario[] = [
  {
    id: 'E1',
    title: '64 B, 50 conns, 128 in flight',
    size: 64,
    conns: 50,
    inflight: 128,
    latency: false,
  },
  {
    id: 'E2',
    title: '1 KiB, 50 conns, 32 in flight',
    size: 1024,
    conns: 50,
    inflight: 32,
    latency: false,
  },
  {
    id: 'E3',
    title: '16 KiB, 10 conns, 8 in flight',
    size: 16384,
    conns: 10,
    inflight: 8,
    latency: false,
  },
  {
    id: 'E4',
    title: '64 B, 1 conn, 1 in flight (round trip)',
    size: 64,
    conns: 1,
    inflight: 1,
    latency: true,
  },
];

interface Options {
  readonly quick: boolean;
  readonly runs: number;
  readonly warmup: number;
  readonly duration: number;
  readonly scenarios: readonly Scenario[];
  readonly servers: readonly ServerName[];
  readonly profile: boolean;
  /** Share of a pinned core other work may take before a run is repeated (1 = never). */
  readonly maxOther: number;
  /** Whether `--servers` was given (`--profile` profiles only mai otherwise). */
  readonly serversGiven: boolean;
}

/** What the load generator prints (one JSON object), plus the server's CPU over the window. */
interface RunResult {
  readonly ok: true;
  readonly framesPerSec: number;
  readonly mbPerSec: number;
  readonly p50us?: number;
  readonly p99us?: number;
  readonly p999us?: number;
  /** Server CPU time / wall time over the measured window (1.0 = one core busy). */
  readonly serverCpu: number;
  /** Load generator CPU time / wall time over the measured window. */
  readonly loadgenCpu: number;
  /** Other work took more than `--max-other` of a pinned core, on every attempt of this run. */
  readonly contended: boolean;
  /**
   * Frames per second of server CPU time: what the server gets done per CPU-second it had.
   * Steadier than frames/s when other work takes the server's core away.
   */
  readonly framesPerCpuSecond: number;
  /** Attempts of this run thrown away as contended before this one. */
  readonly repeated: number;
  /** Busy share of CPU 0 not used by the server (other processes, interrupts); NaN unpinned. */
  readonly otherOnServerCpu: number;
  /** Busy share of CPU 1 not used by the load generator (this orchestrator, other processes). */
  readonly otherOnLoadgenCpu: number;
  readonly serverRssBytes: number;
  readonly codec: string;
}
interface RunFailure {
  readonly ok: false;
  readonly error: string;
}

interface Placement {
  readonly pinned: boolean;
  readonly server: string;
  readonly loadgen: string;
  readonly note: string;
}

function parseOptions(argv: readonly string[]): Options {
  const quick = argv.includes('--quick');
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i === -1 ? undefined : argv[i + 1];
  };
  const number = (name: string, fallback: number): number => {
    const raw = value(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0)
      throw new Error(`${name} must be a positive number, got ${raw}`);
    return n;
  };
  const ids = value('--scenarios')?.split(',');
  const scenarios = ids === undefined ? SCENARIOS : SCENARIOS.filter((s) => ids.includes(s.id));
  const names = value('--servers')?.split(',');
  const servers = names === undefined ? SERVERS : SERVERS.filter((s) => names.includes(s));
  if (scenarios.length === 0 || servers.length === 0)
    throw new Error('no scenario or server selected');
  return {
    quick,
    runs: Math.round(number('--runs', quick ? 1 : 3)),
    warmup: number('--warmup', quick ? 0.4 : 1),
    duration: number('--duration', quick ? 1.5 : 3),
    scenarios,
    servers,
    profile: argv.includes('--profile'),
    serversGiven: names !== undefined,
    // A quick run stays under a minute: it does not repeat contended runs unless asked to.
    maxOther: number('--max-other', quick ? 1 : 0.2),
  };
}

/** Builds a C program of bench/loadgen/ with `cc -O2` when missing or older than its source. */
function buildC(source: string, binary: string): void {
  const sourceTime = statSync(source).mtimeMs;
  let binTime = 0;
  try {
    binTime = statSync(binary).mtimeMs;
  } catch {
    // Not built yet.
  }
  if (binTime > sourceTime) return;
  mkdirSync(join(ROOT, 'bench/loadgen/build'), { recursive: true });
  const cc = spawnSync('cc', ['-O2', '-Wall', '-o', binary, source], {
    stdio: 'inherit',
    timeout: 60_000,
  });
  if (cc.status !== 0) throw new Error(`cc -O2 ${relative(ROOT, source)} failed`);
}

/** Server on CPU 0 and load on CPU 1 when taskset and two cores are there. */
function placement(): Placement {
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
  // This process only waits for children: keep it off the server's core.
  spawnSync('taskset', ['-a', '-cp', '1', String(process.pid)]);
  return {
    pinned: true,
    server: 'CPU 0 (taskset -a -cp 0 <pid>, all threads)',
    loadgen: 'CPU 1 (taskset -c 1)',
    note: `${cores} cores; orchestrator also on CPU 1 (idle while measuring)`,
  };
}

/** Server CPU over the measured window, as the server (or /proc) reports it. */
interface ServerStats {
  readonly cpuUs: number;
  readonly wallMs: number;
  readonly rssBytes: number;
}

interface RunningServer {
  readonly port: number;
  readonly codec: string;
  /** The measured window starts now. */
  mark(): void;
  /** Ends the server; resolves with its CPU use since `mark`. */
  stop(): Promise<ServerStats>;
  /** Ends it now, whatever state it is in. */
  kill(): void;
}

function startServer(
  kind: ServerName,
  pin: boolean,
  execArgv: string[],
  maxSeconds: number,
): Promise<RunningServer> {
  return kind === 'c-echo'
    ? startCEcho(pin, maxSeconds)
    : startNodeServer(kind, pin, execArgv, maxSeconds);
}

function startNodeServer(
  kind: Exclude<ServerName, 'c-echo'>,
  pin: boolean,
  execArgv: string[],
  maxSeconds: number,
): Promise<RunningServer> {
  const child = fork(SERVER_ENTRY, [kind, String(maxSeconds)], {
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const stop = (): Promise<ServerStats> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${kind} server did not stop within 10 s`));
      }, 10_000);
      child.on('message', (message: FromServer) => {
        if (message.type !== 'stats') return;
        child.once('exit', () => {
          clearTimeout(timer);
          resolve({
            cpuUs: message.cpuUserUs + message.cpuSystemUs,
            wallMs: message.wallMs,
            rssBytes: message.rssBytes,
          });
        });
      });
      child.send({ type: 'stop' });
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${kind} server did not start within 10 s`));
    }, 10_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${kind} server exited with ${code} before listening`));
    });
    child.on('message', (message: FromServer) => {
      if (message.type !== 'listening') return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      if (pin && child.pid !== undefined) {
        spawnSync('taskset', ['-a', '-cp', '0', String(child.pid)], { stdio: 'ignore' });
      }
      resolve({
        port: message.port,
        codec: message.codec,
        mark: () => child.send({ type: 'mark' }),
        stop,
        kill: () => child.kill('SIGKILL'),
      });
    });
  });
}

const CLOCK_TICKS_PER_SECOND = Number(
  spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim() || '100',
);

/** utime + stime of a process in microseconds, from /proc/<pid>/stat. */
function procCpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1e6) / CLOCK_TICKS_PER_SECOND;
}

function procRssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  return match?.[1] === undefined ? Number.NaN : Number(match[1]) * 1024;
}

function startCEcho(pin: boolean, maxSeconds: number): Promise<RunningServer> {
  const command = pin ? 'taskset' : C_ECHO_BIN;
  const args = pin ? ['-c', '0', C_ECHO_BIN, String(maxSeconds)] : [String(maxSeconds)];
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('c-echo did not start within 10 s'));
    }, 10_000);
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      out += text;
      if (!out.includes('\n')) return;
      clearTimeout(timer);
      const pid = child.pid as number;
      let cpu0 = procCpuUs(pid);
      let wall0 = performance.now();
      resolve({
        port: Number(out.trim()),
        codec: 'none',
        mark: () => {
          cpu0 = procCpuUs(pid);
          wall0 = performance.now();
        },
        stop: () => {
          const stats = {
            cpuUs: procCpuUs(pid) - cpu0,
            wallMs: performance.now() - wall0,
            rssBytes: procRssBytes(pid),
          };
          return new Promise((done) => {
            child.once('exit', () => done(stats));
            child.kill('SIGTERM');
          });
        },
        kill: () => child.kill('SIGKILL'),
      });
    });
  });
}

function runLoadgen(
  args: string[],
  pin: boolean,
  limitMs: number,
): Promise<Record<string, number>> {
  const command = pin ? 'taskset' : LOADGEN_BIN;
  const argv = pin ? ['-c', '1', LOADGEN_BIN, ...args] : args;
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

function loadgenArgs(scenario: Scenario, port: number, options: Options): string[] {
  const args = [
    '--port',
    String(port),
    '--size',
    String(scenario.size),
    '--warmup',
    String(options.warmup),
    '--duration',
    String(options.duration),
  ];
  if (scenario.latency) args.push('--latency');
  else args.push('--conns', String(scenario.conns), '--inflight', String(scenario.inflight));
  return args;
}

interface CpuTimes {
  readonly busy: number;
  readonly total: number;
}

/** Jiffies of one CPU from /proc/stat: busy (all but idle and iowait) and total. */
function cpuTimes(cpu: number): CpuTimes | undefined {
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

async function runOne(
  kind: ServerName,
  scenario: Scenario,
  options: Options,
  place: Placement,
  execArgv: string[] = [],
): Promise<RunResult | RunFailure> {
  const limitMs = (options.warmup + options.duration) * 1000 + 15_000;
  let server: RunningServer | undefined;
  try {
    server = await startServer(kind, place.pinned, execArgv, Math.ceil(limitMs / 1000) + 20);
    const running = server;
    let cpu0Before: CpuTimes | undefined;
    let cpu1Before: CpuTimes | undefined;
    const mark = setTimeout(() => {
      running.mark();
      cpu0Before = cpuTimes(0);
      cpu1Before = cpuTimes(1);
    }, options.warmup * 1000);
    let out: Record<string, number>;
    try {
      out = await runLoadgen(loadgenArgs(scenario, server.port, options), place.pinned, limitMs);
    } finally {
      clearTimeout(mark);
    }
    const cpu0After = cpuTimes(0);
    const cpu1After = cpuTimes(1);
    const stats = await server.stop();
    const serverCpu = stats.cpuUs / 1000 / stats.wallMs;
    // How busy CPU 0 was with anything but the server: other work on a shared machine.
    const cpu0Busy =
      cpu0Before === undefined || cpu0After === undefined
        ? Number.NaN
        : (cpu0After.busy - cpu0Before.busy) / (cpu0After.total - cpu0Before.total);
    const cpu1Busy =
      cpu1Before === undefined || cpu1After === undefined
        ? Number.NaN
        : (cpu1After.busy - cpu1Before.busy) / (cpu1After.total - cpu1Before.total);
    const loadgenCpu = (out.loadgenCpuSeconds ?? Number.NaN) / (out.seconds ?? Number.NaN);
    const result: RunResult = {
      ok: true,
      framesPerSec: out.framesPerSec ?? Number.NaN,
      mbPerSec: ((out.framesPerSec ?? Number.NaN) * scenario.size) / 1e6,
      serverCpu,
      framesPerCpuSecond: (out.framesPerSec ?? Number.NaN) / serverCpu,
      otherOnServerCpu: Math.max(0, cpu0Busy - serverCpu),
      // The latency mode reports no CPU of its own: count all of CPU 1 as "other" there.
      otherOnLoadgenCpu: Math.max(0, cpu1Busy - (Number.isFinite(loadgenCpu) ? loadgenCpu : 0)),
      serverRssBytes: stats.rssBytes,
      codec: server.codec,
      loadgenCpu,
      contended: false,
      repeated: 0,
      ...(scenario.latency
        ? {
            p50us: out.p50us ?? Number.NaN,
            p99us: out.p99us ?? Number.NaN,
            p999us: out.p999us ?? Number.NaN,
          }
        : {}),
    };
    return result;
  } catch (error) {
    server?.kill();
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

interface ServerSummary {
  readonly server: ServerName;
  readonly framesPerSec: Summary;
  readonly mbPerSec: Summary;
  readonly p50us?: Summary;
  readonly p99us?: Summary;
  readonly serverCpu: Summary;
  readonly framesPerCpuSecond: Summary;
  readonly otherOnServerCpu: Summary;
  readonly otherOnLoadgenCpu: Summary;
  readonly loadgenCpu: Summary;
  /** Attempts thrown away because other work took too much of a pinned core. */
  readonly repeated: number;
  /** Runs kept although contended (every attempt was). */
  readonly stillContended: number;
  readonly failures: readonly string[];
  readonly codec: string;
}

interface ScenarioResult {
  readonly id: string;
  readonly title: string;
  readonly size: number;
  readonly conns: number;
  readonly inflight: number;
  readonly latency: boolean;
  readonly servers: ServerSummary[];
  /** mai / baseline, from medians: frames/s for E1–E3, p50 and p99 for E4. */
  readonly ratios: Record<string, number>;
  /** 1-minute load average before and after the scenario (2.0 on 2 cores = both busy). */
  readonly loadAverage: { readonly before: number; readonly after: number };
}

function summarizeServer(
  server: ServerName,
  runs: readonly (RunResult | RunFailure)[],
): ServerSummary {
  const ok = runs.filter((r): r is RunResult => r.ok);
  const pick = (f: (r: RunResult) => number | undefined): Summary =>
    summarize(ok.map(f).filter((v): v is number => v !== undefined));
  const latency = ok.some((r) => r.p50us !== undefined);
  return {
    server,
    framesPerSec: pick((r) => r.framesPerSec),
    mbPerSec: pick((r) => r.mbPerSec),
    ...(latency ? { p50us: pick((r) => r.p50us), p99us: pick((r) => r.p99us) } : {}),
    loadgenCpu: pick((r) => r.loadgenCpu),
    repeated: runs.reduce((n, r) => n + (r.ok ? r.repeated : 0), 0),
    stillContended: ok.filter((r) => r.contended).length,
    serverCpu: pick((r) => r.serverCpu),
    framesPerCpuSecond: pick((r) => r.framesPerCpuSecond),
    otherOnServerCpu: pick((r) => r.otherOnServerCpu),
    otherOnLoadgenCpu: pick((r) => r.otherOnLoadgenCpu),
    failures: runs.filter((r): r is RunFailure => !r.ok).map((r) => r.error),
    codec: ok[0]?.codec ?? 'n/a',
  };
}

function ratiosOf(scenario: Scenario, servers: readonly ServerSummary[]): Record<string, number> {
  const mai = servers.find((s) => s.server === 'mai');
  const ratios: Record<string, number> = {};
  if (mai === undefined) return ratios;
  for (const other of servers) {
    if (other.server === 'mai' || other.server === 'c-echo') continue;
    if (scenario.latency) {
      ratios[`p50 mai/${other.server}`] =
        (mai.p50us?.median ?? Number.NaN) / (other.p50us?.median ?? Number.NaN);
      ratios[`p99 mai/${other.server}`] =
        (mai.p99us?.median ?? Number.NaN) / (other.p99us?.median ?? Number.NaN);
    } else {
      ratios[`mai/${other.server}`] = mai.framesPerSec.median / other.framesPerSec.median;
      ratios[`per CPU-s mai/${other.server}`] =
        mai.framesPerCpuSecond.median / other.framesPerCpuSecond.median;
    }
  }
  return ratios;
}

const range = (s: Summary, f: (v: number) => string): string =>
  s.runs.length === 0
    ? 'n/a'
    : s.runs.length === 1
      ? f(s.median)
      : `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
const pct = (v: number): string => `${(v * 100).toFixed(0)}%`;
const us = (v: number): string => v.toFixed(1);

/** The target each ratio is held to (PERFORMANCE.md), when there is one. */
function target(id: string, ratio: string): string {
  if (['E1', 'E2', 'E3'].includes(id) && ratio === 'mai/hand') return '≥ 1.0';
  if (id === 'E1' && ratio === 'mai/naive') return '≥ 10';
  if (id === 'E3' && ratio === 'mai/raw') return '≥ 0.85';
  if (id === 'E4' && ratio === 'p99 mai/hand') return '≤ 1.10';
  return '';
}

function meets(goal: string, value: number): string {
  if (goal === '' || !Number.isFinite(value)) return '';
  const limit = Number(goal.slice(2));
  return (goal.startsWith('≥') ? value >= limit : value <= limit) ? 'yes' : 'no';
}

function markdown(
  results: readonly ScenarioResult[],
  machine: MachineInfo,
  place: Placement,
  options: Options,
  when: string,
  codec: string,
): string {
  const parts: string[] = [
    '# Echo benchmark (E1–E4)',
    '',
    `- When: ${when}`,
    `- Machine: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node} (V8 ${machine.v8}), Linux ${machine.kernel}; load average at start ${machine.loadAverage.join(' / ')} (a shared machine: other work competes)`,
    `- Placement: server ${place.server}; load generator ${place.loadgen}; ${place.note}`,
    `- Runs: ${options.runs} per server and scenario (fresh server each), ${options.warmup} s warm-up + ${options.duration} s measured; figure = median (min–max); a run during which other work took more than ${pct(options.maxOther)} of a pinned core is repeated (at most 3 attempts)`,
    `- mai codec: ${codec}`,
    sourceLine(SOURCE),
    '- Load: bench/loadgen/loadgen.c (epoll, every echoed frame checked: length and payload bytes). MB/s = 10^6 payload bytes echoed per second.',
    '- CPU columns: CPU time / wall time over the measured window (100% = one core). "Other work on CPU 0" = busy share of the server\'s core not used by the server (other processes on this shared machine, interrupts): when it is high the server was starved and frames/s understates it (likewise "other work on CPU 1" for the load generator core); "frames per server CPU-s" = frames/s ÷ server CPU, steadier under such contention (ratios of both are given).',
    '',
  ];
  for (const r of results) {
    parts.push(
      `## ${r.id}: ${r.title}`,
      '',
      `1-minute load average ${r.loadAverage.before.toFixed(2)} before, ${r.loadAverage.after.toFixed(2)} after.`,
      '',
    );
    if (r.latency) {
      parts.push(
        markdownTable(
          [
            'server',
            'p50 µs',
            'p99 µs',
            'round trips/s',
            'server CPU',
            'other work on CPU 0',
            'other work on CPU 1',
          ],
          r.servers.map((s) => [
            SERVER_TITLES[s.server],
            range(s.p50us ?? summarize([]), us),
            range(s.p99us ?? summarize([]), us),
            range(s.framesPerSec, human),
            range(s.serverCpu, pct),
            range(s.otherOnServerCpu, pct),
            range(s.otherOnLoadgenCpu, pct),
          ]),
        ),
      );
    } else {
      parts.push(
        markdownTable(
          [
            'server',
            'frames/s',
            'MB/s',
            'frames per server CPU-s',
            'server CPU',
            'loadgen CPU',
            'other work on CPU 0',
            'other work on CPU 1',
          ],
          r.servers.map((s) => [
            SERVER_TITLES[s.server],
            range(s.framesPerSec, human),
            range(s.mbPerSec, (v) => v.toFixed(0)),
            range(s.framesPerCpuSecond, human),
            range(s.serverCpu, pct),
            range(s.loadgenCpu, pct),
            range(s.otherOnServerCpu, pct),
            range(s.otherOnLoadgenCpu, pct),
          ]),
        ),
      );
    }
    parts.push('');
    const rows = Object.entries(r.ratios).map(([name, value]) => {
      const goal = target(r.id, name);
      return [name, value.toFixed(2), goal, meets(goal, value)];
    });
    if (rows.length > 0)
      parts.push(markdownTable(['ratio (medians)', 'value', 'target', 'met'], rows), '');
    const failures = r.servers.flatMap((s) => s.failures.map((f) => `${s.server}: ${f}`));
    if (failures.length > 0) parts.push('Failed runs:', ...failures.map((f) => `- ${f}`), '');
    const repeats = r.servers
      .filter((s) => s.repeated > 0 || s.stillContended > 0)
      .map(
        (s) =>
          `${s.server} ${s.repeated} repeated${s.stillContended > 0 ? `, ${s.stillContended} kept although contended` : ''}`,
      );
    if (repeats.length > 0) {
      parts.push(
        `Runs repeated because other work took more than ${pct(options.maxOther)} of a pinned core (at most 3 attempts): ${repeats.join('; ')}.`,
        '',
      );
    }
  }
  return parts.join('\n');
}

/** Self time per function from a V8 .cpuprofile, by sample count. */
function topSelfTime(
  file: string,
  count: number,
): { top: { name: string; where: string; percent: number }[]; idlePercent: number } {
  interface ProfileNode {
    id: number;
    hitCount?: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[] };
  const totals = new Map<string, { name: string; where: string; hits: number }>();
  let all = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    all += hits;
    const { functionName, url, lineNumber } = node.callFrame;
    const path = url.startsWith('file://') ? relative(ROOT, fileURLToPath(url)) : url;
    const where = path === '' ? '' : `${path}:${lineNumber + 1}`;
    const name = functionName === '' ? '(anonymous)' : functionName;
    const key = `${name} ${where}`;
    const entry = totals.get(key) ?? { name, where, hits: 0 };
    entry.hits += hits;
    totals.set(key, entry);
  }
  // Idle samples are time the server waited (for the load, or for its core): rank busy time only.
  const idle = [...totals.values()].find((e) => e.name === '(idle)')?.hits ?? 0;
  const busy = all - idle;
  const top = [...totals.values()]
    .filter((e) => e.name !== '(idle)')
    .sort((a, b) => b.hits - a.hits)
    .slice(0, count)
    .map((e) => ({ name: e.name, where: e.where, percent: (100 * e.hits) / busy }));
  return { top, idlePercent: (100 * idle) / all };
}

/**
 * Runs each Node server of `servers` alone under E1 with `node --cpu-prof` and ranks its
 * functions by self time. Default: mai only (`--servers mai,hand` compares the two).
 */
async function profileServers(
  servers: readonly ServerName[],
  options: Options,
  place: Placement,
): Promise<void> {
  const e1 = SCENARIOS[0] as Scenario;
  const sections: string[] = [
    '# Echo servers under E1, `node --cpu-prof`: top 10 self time',
    '',
    `- When: ${new Date().toISOString()}; ${options.warmup} s warm-up + ${options.duration} s measured per server (a profile covers the whole server life); the profiler slows servers down`,
    sourceLine(SOURCE),
    '',
  ];
  for (const kind of servers) {
    if (kind === 'c-echo') continue;
    const dir = mkdtempSync(join(tmpdir(), `mai-echo-prof-${kind}-`));
    const result = await runOne(kind, e1, options, place, ['--cpu-prof', '--cpu-prof-dir', dir]);
    if (!result.ok) throw new Error(`profiled run of ${kind} failed: ${result.error}`);
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error(`no .cpuprofile written in ${dir}`);
    const { top, idlePercent } = topSelfTime(join(dir, file), 10);
    sections.push(
      `## ${SERVER_TITLES[kind]}`,
      '',
      `- ${human(result.framesPerSec)} frames/s under the profiler; codec: ${result.codec}`,
      `- Profile: ${join(dir, file)}; ${idlePercent.toFixed(1)} % of samples were (idle), left out of the ranking`,
      '',
      markdownTable(
        ['#', 'function', 'where', 'self % of busy samples'],
        top.map((t, i) => [String(i + 1), t.name, t.where, t.percent.toFixed(1)]),
      ),
      '',
    );
  }
  const text = sections.join('\n');
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'echo-profile.md'), text);
  console.log(text);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  buildC(LOADGEN_SOURCE, LOADGEN_BIN);
  buildC(C_ECHO_SOURCE, C_ECHO_BIN);
  const machine = machineInfo();
  const place = placement();
  const perRun = options.warmup + options.duration + 1;
  const budgetS = options.profile
    ? perRun * 2 * options.servers.length + 60
    : options.scenarios.length * options.servers.length * options.runs * (perRun * 3 + 6) + 60;
  // Whatever hangs, this process ends: children exit on their own when the IPC channel closes.
  setTimeout(() => {
    console.error(`echo benchmark exceeded its ${budgetS.toFixed(0)} s budget; giving up`);
    process.exit(2);
  }, budgetS * 1000).unref();

  console.log(`machine: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}`);
  console.log(`placement: server ${place.server}; loadgen ${place.loadgen}; ${place.note}`);
  if (options.profile) {
    await profileServers(options.serversGiven ? options.servers : ['mai'], options, place);
    return;
  }
  const when = new Date().toISOString();
  const results: ScenarioResult[] = [];
  let codec = 'n/a';
  for (const scenario of options.scenarios) {
    const loadBefore = loadavg()[0] ?? Number.NaN;
    const runs = new Map<ServerName, (RunResult | RunFailure)[]>(
      options.servers.map((s) => [s, []]),
    );
    for (let run = 0; run < options.runs; run++) {
      // Rotate the order so no server always runs first (or last) on a drifting machine.
      const order = options.servers.map(
        (_, i) => options.servers[(i + run) % options.servers.length] as ServerName,
      );
      for (const server of order) {
        // A run during which other work took a pinned core is repeated (up to 3 attempts).
        // If every attempt is contended, the least contended one is kept (and flagged).
        let result: RunResult | RunFailure;
        let repeated = 0;
        let best: { result: RunResult; busy: number } | undefined;
        for (;;) {
          result = await runOne(server, scenario, options, place);
          if (!result.ok) break;
          const busy = Math.max(
            result.otherOnServerCpu,
            Number.isFinite(result.otherOnLoadgenCpu) ? result.otherOnLoadgenCpu : 0,
          );
          if (!(busy > options.maxOther)) break;
          if (best === undefined || busy < best.busy) best = { result, busy };
          if (repeated === 2) {
            result = { ...best.result, contended: true };
            break;
          }
          repeated++;
          console.log(
            `${scenario.id} run ${run + 1}/${options.runs} ${server.padEnd(5)} other work took ${pct(busy)} of a pinned core: repeating in ${RETRY_PAUSE_MS / 1000} s`,
          );
          await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
        }
        if (result.ok) result = { ...result, repeated };
        runs.get(server)?.push(result);
        if (result.ok && server === 'mai') codec = result.codec;
        const shown = !result.ok
          ? `FAILED ${result.error}`
          : scenario.latency
            ? `p50 ${us(result.p50us ?? Number.NaN)} µs, p99 ${us(result.p99us ?? Number.NaN)} µs, server CPU ${pct(result.serverCpu)}, other on CPU 0 ${pct(result.otherOnServerCpu)}, on CPU 1 ${pct(result.otherOnLoadgenCpu)}`
            : `${human(result.framesPerSec)} frames/s, ${result.mbPerSec.toFixed(0)} MB/s, ${human(result.framesPerCpuSecond)}/CPU-s, server CPU ${pct(result.serverCpu)}, loadgen CPU ${pct(result.loadgenCpu)}, other on CPU 0 ${pct(result.otherOnServerCpu)}, on CPU 1 ${pct(result.otherOnLoadgenCpu)}`;
        console.log(`${scenario.id} run ${run + 1}/${options.runs} ${server.padEnd(5)} ${shown}`);
      }
    }
    const servers = options.servers.map((s) => summarizeServer(s, runs.get(s) ?? []));
    const ratios = ratiosOf(scenario, servers);
    results.push({
      ...scenario,
      servers,
      ratios,
      loadAverage: { before: loadBefore, after: loadavg()[0] ?? Number.NaN },
    });
    for (const [name, value] of Object.entries(ratios)) {
      console.log(`${scenario.id} ${name} = ${value.toFixed(2)}`);
    }
  }
  mkdirSync(RESULTS, { recursive: true });
  const json = {
    benchmark: 'echo',
    timestamp: when,
    finished: new Date().toISOString(),
    command:
      `node ${relative(ROOT, fileURLToPath(import.meta.url))} ${process.argv.slice(2).join(' ')}`.trim(),
    machine,
    source: SOURCE,
    placement: place,
    settings: {
      runs: options.runs,
      warmupSeconds: options.warmup,
      durationSeconds: options.duration,
      quick: options.quick,
    },
    maiCodec: codec,
    loadgen: 'bench/loadgen/loadgen.c (cc -O2)',
    scenarios: results,
  };
  // A quick or partial run must not overwrite the full results.
  const partial =
    options.quick ||
    options.scenarios.length < SCENARIOS.length ||
    options.servers.length < SERVERS.length;
  const base = partial ? 'echo-partial' : 'echo';
  writeFileSync(join(RESULTS, `${base}.json`), `${JSON.stringify(json, null, 2)}\n`);
  const md = markdown(results, machine, place, options, when, codec);
  writeFileSync(join(RESULTS, `${base}.md`), md);
  console.log(`\n${md}`);
  console.log(
    `written: ${relative(ROOT, join(RESULTS, `${base}.json`))}, ${relative(ROOT, join(RESULTS, `${base}.md`))}`,
  );
}

await main();
