/**
 * End-to-end echo benchmark (PERFORMANCE.md E1–E5 and M2): mai beside a hand-written, a naive, a
 * split2-based and a raw-bytes Node server, in one run, driven by the native load generator
 * bench/loadgen/loadgen.c.
 *
 *   node build/bench/echo.js [--quick] [--runs N] [--warmup S] [--duration S]
 *                            [--scenarios E1,E5,M2] [--servers mai,hand] [--profile]
 *                            [--max-other SHARE] [--max-repeats N]
 *
 * Each server runs in its own child process (bench/servers/echo-server.ts), pinned to CPU 0 with
 * `taskset` where there are two cores or more; the load generator runs pinned to CPU 1 (this
 * orchestrator too: it only waits). For every scenario, each run starts a fresh server of each
 * kind, in an order rotated from run to run so slow drift on a shared machine does not always
 * favour the same server. Every figure is the median of the runs with min–max beside it, and every
 * ratio is between medians of the same invocation.
 *
 * E1–E4 speak a 4-byte length prefix, E5 newline-terminated lines (the load generator's
 * `--lines`). M2 is E1's load again with mai and the hand-written server recording their garbage
 * collections (`v8.GCProfiler`, see `GcFigures` in the server): V8 heap bytes allocated per frame,
 * collections and GC time per million frames.
 *
 * `--profile` instead runs mai alone under E1 with `node --cpu-prof` and prints the top 10
 * functions by self time (also written to bench/results/echo-profile.md).
 *
 * Results: bench/results/echo.json and bench/results/echo.md (echo-partial.* for a --quick run
 * or a subset of scenarios or servers, so that those never overwrite the full results). When
 * bench/run.ts forks it, it also reports its progress and hands over the JSON.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FromServer, GcFigures } from './servers/echo-server.js';
import {
  awaitMessage,
  buildNative,
  busyShareBetween,
  C_ECHO_BIN,
  Core,
  type CpuTimes,
  cpuTimes,
  forkModule,
  onCore,
  type Placement,
  pinProcess,
  placement,
  procCpuUs,
  procRssBytes,
  RESULTS,
  ROOT,
  runLoadgen,
} from './support/processes.js';
import { reportProgress, reportResult } from './support/progress.js';
import {
  human,
  type MachineInfo,
  machineInfo,
  markdownTable,
  type Summary,
  sourceLine,
  sourceState,
  summarize,
  summaryText,
} from './support/report.js';
import { boundText, meets, metText, targetFor } from './support/targets.js';

const SERVER_ENTRY = fileURLToPath(new URL('./servers/echo-server.js', import.meta.url));
/** The code measured, as it was when the benchmark started (others edit the tree meanwhile). */
const SOURCE = sourceState(ROOT);

/** Pause before repeating a contended run: bursts of other work (a test suite) often pass. */
const RETRY_PAUSE_MS = 3000;

const SERVERS = [
  'mai',
  'mai-borrow',
  'mai-base',
  'hand',
  'naive',
  'split2',
  'raw',
  'c-echo',
] as const;
/**
 * Another build of mai to measure beside this one (`MAI_BASELINE=<checkout>`, a checkout with
 * `npm run build` done): its own echo server runs as `mai-base`, a baseline like the others, so
 * every report gives mai ÷ mai-base from the same run. How a redesign shows it costs nothing.
 */
const BASELINE_ROOT = process.env.MAI_BASELINE;
/** The servers that are mai: each is compared with every baseline. */
const MAI_SERVERS: readonly ServerName[] = ['mai', 'mai-borrow'];
type ServerName = (typeof SERVERS)[number];

/** The framing of a scenario (the servers' `Wire`). */
type Wire = 'length-prefixed' | 'lines';

function serverTitle(server: ServerName, wire: Wire): string {
  switch (server) {
    case 'mai':
      return wire === 'lines'
        ? 'mai (protocolEngine + LinesCodec)'
        : 'mai (protocolEngine + length-prefixed codec)';
    case 'mai-base':
      return `mai as built in ${BASELINE_ROOT ?? '(MAI_BASELINE unset)'}`;
    case 'mai-borrow':
      return wire === 'lines'
        ? "mai, borrowed frames (LinesCodec({ frames: 'buffer', borrow: true }))"
        : 'mai, borrowed frames (LengthPrefixedCodec({ borrow: true }))';
    case 'hand':
      return 'hand-written (offsets, batched writes)';
    case 'naive':
      return 'naive (Buffer.concat, write per frame)';
    case 'split2':
      return 'split2 (socket.pipe(split2()), corked replies)';
    case 'raw':
      return 'raw bytes (no framing)';
    case 'c-echo':
      return 'C epoll byte echo (load generator check)';
  }
}

const LENGTH_PREFIXED_LINEUP: readonly ServerName[] = [
  'mai',
  'mai-borrow',
  'mai-base',
  'hand',
  'naive',
  'raw',
  'c-echo',
];

interface Scenario {
  readonly id: string;
  readonly title: string;
  /** Payload bytes (length-prefixed) or line bytes without the newline (lines). */
  readonly size: number;
  readonly conns: number;
  readonly inflight: number;
  readonly latency: boolean;
  readonly wire: Wire;
  /** The servers this scenario runs, mai first. */
  readonly lineup: readonly ServerName[];
  /** M2: servers record their garbage collections over the measured window. */
  readonly gc: boolean;
}

const SCENARIOS: readonly Scenario[] = [
  {
    id: 'E1',
    title: '64 B, 50 conns, 128 in flight',
    size: 64,
    conns: 50,
    inflight: 128,
    latency: false,
    wire: 'length-prefixed',
    lineup: LENGTH_PREFIXED_LINEUP,
    gc: false,
  },
  {
    id: 'E2',
    title: '1 KiB, 50 conns, 32 in flight',
    size: 1024,
    conns: 50,
    inflight: 32,
    latency: false,
    wire: 'length-prefixed',
    lineup: LENGTH_PREFIXED_LINEUP,
    gc: false,
  },
  {
    id: 'E3',
    title: '16 KiB, 10 conns, 8 in flight',
    size: 16384,
    conns: 10,
    inflight: 8,
    latency: false,
    wire: 'length-prefixed',
    lineup: LENGTH_PREFIXED_LINEUP,
    gc: false,
  },
  {
    id: 'E4',
    title: '64 B, 1 conn, 1 in flight (round trip)',
    size: 64,
    conns: 1,
    inflight: 1,
    latency: true,
    wire: 'length-prefixed',
    lineup: LENGTH_PREFIXED_LINEUP,
    gc: false,
  },
  {
    id: 'E5',
    title: 'lines of 32 B + \\n, 50 conns, 128 in flight',
    size: 32,
    conns: 50,
    inflight: 128,
    latency: false,
    wire: 'lines',
    lineup: ['mai', 'mai-borrow', 'mai-base', 'split2', 'raw', 'c-echo'],
    gc: false,
  },
  {
    id: 'M2',
    title: 'allocation per frame under E1 load (64 B, 50 conns, 128 in flight)',
    size: 64,
    conns: 50,
    inflight: 128,
    latency: false,
    wire: 'length-prefixed',
    lineup: ['mai', 'mai-borrow', 'hand'],
    gc: true,
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
  /** Repeats of contended runs allowed in the whole invocation (bounds its duration). */
  readonly maxRepeats: number;
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
  /** M2: the server's garbage collection per frame it echoed in the measured window. */
  readonly gc?: GcPerFrame;
}

/** `GcFigures` divided by the frames the server echoed over the same window. */
interface GcPerFrame {
  readonly frames: number;
  readonly bytesPerFrame: number;
  readonly scavengesPerMillion: number;
  readonly markCompactsPerMillion: number;
  readonly gcMsPerMillion: number;
  readonly heapGrowthPerMillion: number;
}

function perFrame(gc: GcFigures, frames: number): GcPerFrame {
  const perMillion = (v: number): number => (v * 1e6) / frames;
  return {
    frames,
    bytesPerFrame: gc.allocatedBytes / frames,
    scavengesPerMillion: perMillion(gc.scavenges),
    markCompactsPerMillion: perMillion(gc.markCompacts),
    gcMsPerMillion: perMillion(gc.gcMicros / 1000),
    heapGrowthPerMillion: perMillion(gc.heapGrowthBytes),
  };
}

interface RunFailure {
  readonly ok: false;
  readonly error: string;
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
  const available = SERVERS.filter((s) => s !== 'mai-base' || BASELINE_ROOT !== undefined);
  const servers = names === undefined ? available : available.filter((s) => names.includes(s));
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
    maxRepeats: number('--max-repeats', Number.POSITIVE_INFINITY),
  };
}

/** Server CPU over the measured window, as the server (or /proc) reports it. */
interface ServerStats {
  readonly cpuUs: number;
  readonly wallMs: number;
  readonly rssBytes: number;
  readonly frames: number | null;
  readonly gc: GcFigures | undefined;
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
  scenario: Scenario,
  pin: boolean,
  execArgv: string[],
  maxSeconds: number,
): Promise<RunningServer> {
  return kind === 'c-echo'
    ? startCEcho(pin, maxSeconds)
    : startNodeServer(kind, scenario, pin, execArgv, maxSeconds);
}

async function startNodeServer(
  kind: Exclude<ServerName, 'c-echo'>,
  scenario: Scenario,
  pin: boolean,
  execArgv: string[],
  maxSeconds: number,
): Promise<RunningServer> {
  const baseline = kind === 'mai-base';
  const args = [
    baseline ? 'mai' : kind,
    String(maxSeconds),
    scenario.wire,
    ...(scenario.gc ? ['gc'] : []),
  ];
  const entry = baseline
    ? join(BASELINE_ROOT as string, 'build/bench/servers/echo-server.js')
    : SERVER_ENTRY;
  const child = forkModule(entry, args, scenario.gc ? [...execArgv, '--expose-gc'] : execArgv);
  const listening = await awaitMessage(
    child,
    `${kind} server listening`,
    10_000,
    (m: FromServer) => (m.type === 'listening' ? m : undefined),
  );
  if (pin && child.pid !== undefined) pinProcess(child.pid, Core.Server);
  const stop = async (): Promise<ServerStats> => {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const stats = awaitMessage(child, `${kind} server stats`, 10_000, (m: FromServer) =>
      m.type === 'stats' ? m : undefined,
    );
    child.send({ type: 'stop' });
    const { cpuUserUs, cpuSystemUs, wallMs, rssBytes, frames, gc } = await stats;
    await exited;
    return { cpuUs: cpuUserUs + cpuSystemUs, wallMs, rssBytes, frames, gc };
  };
  return {
    port: listening.port,
    codec: listening.codec,
    mark: () => child.send({ type: 'mark' }),
    stop,
    kill: () => child.kill('SIGKILL'),
  };
}

function startCEcho(pin: boolean, maxSeconds: number): Promise<RunningServer> {
  const [command, args] = onCore(pin, Core.Server, C_ECHO_BIN, [String(maxSeconds)]);
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
          const stats: ServerStats = {
            cpuUs: procCpuUs(pid) - cpu0,
            wallMs: performance.now() - wall0,
            rssBytes: procRssBytes(pid),
            frames: null,
            gc: undefined,
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
  if (scenario.wire === 'lines') args.push('--lines');
  return args;
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
    server = await startServer(
      kind,
      scenario,
      place.pinned,
      execArgv,
      Math.ceil(limitMs / 1000) + 20,
    );
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
    const cpu0Busy = busyShareBetween(cpu0Before, cpuTimes(0));
    const cpu1Busy = busyShareBetween(cpu1Before, cpuTimes(1));
    const stats = await server.stop();
    const serverCpu = stats.cpuUs / 1000 / stats.wallMs;
    const loadgenCpu = (out.loadgenCpuSeconds ?? Number.NaN) / (out.seconds ?? Number.NaN);
    if (scenario.gc && (stats.gc === undefined || !stats.frames)) {
      throw new Error(`${kind} reported no garbage collection figures or no frames`);
    }
    const result: RunResult = {
      ok: true,
      framesPerSec: out.framesPerSec ?? Number.NaN,
      mbPerSec: ((out.framesPerSec ?? Number.NaN) * scenario.size) / 1e6,
      serverCpu,
      framesPerCpuSecond: (out.framesPerSec ?? Number.NaN) / serverCpu,
      // How busy CPU 0 was with anything but the server: other work on a shared machine.
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
      ...(stats.gc !== undefined && stats.frames ? { gc: perFrame(stats.gc, stats.frames) } : {}),
    };
    return result;
  } catch (error) {
    server?.kill();
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

/** M2 figures of one server: each the median (min–max) over runs. */
export interface GcSummary {
  readonly bytesPerFrame: Summary;
  readonly scavengesPerMillion: Summary;
  readonly markCompactsPerMillion: Summary;
  readonly gcMsPerMillion: Summary;
  readonly heapGrowthPerMillion: Summary;
}

/** One server's figures in one scenario. */
export interface ServerSummary {
  readonly server: ServerName;
  readonly title: string;
  readonly framesPerSec: Summary;
  readonly mbPerSec: Summary;
  readonly p50us?: Summary;
  readonly p99us?: Summary;
  readonly gc?: GcSummary;
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

/** One scenario's results, as echo.json holds them. */
export interface ScenarioResult {
  readonly id: string;
  readonly title: string;
  readonly size: number;
  readonly conns: number;
  readonly inflight: number;
  readonly latency: boolean;
  readonly wire: Wire;
  readonly gc: boolean;
  readonly servers: ServerSummary[];
  /**
   * mai / baseline, from medians: frames/s (E1–E3, E5), p50 and p99 (E4), bytes allocated per
   * frame (M2).
   */
  readonly ratios: Record<string, number>;
  /** 1-minute load average before and after the scenario (2.0 on 2 cores = both busy). */
  readonly loadAverage: { readonly before: number; readonly after: number };
}

function summarizeServer(
  server: ServerName,
  scenario: Scenario,
  runs: readonly (RunResult | RunFailure)[],
): ServerSummary {
  const ok = runs.filter((r): r is RunResult => r.ok);
  const pick = (f: (r: RunResult) => number | undefined): Summary =>
    summarize(ok.map(f).filter((v): v is number => v !== undefined));
  const latency = ok.some((r) => r.p50us !== undefined);
  const gc = ok.some((r) => r.gc !== undefined);
  return {
    server,
    title: serverTitle(server, scenario.wire),
    framesPerSec: pick((r) => r.framesPerSec),
    mbPerSec: pick((r) => r.mbPerSec),
    ...(latency ? { p50us: pick((r) => r.p50us), p99us: pick((r) => r.p99us) } : {}),
    ...(gc
      ? {
          gc: {
            bytesPerFrame: pick((r) => r.gc?.bytesPerFrame),
            scavengesPerMillion: pick((r) => r.gc?.scavengesPerMillion),
            markCompactsPerMillion: pick((r) => r.gc?.markCompactsPerMillion),
            gcMsPerMillion: pick((r) => r.gc?.gcMsPerMillion),
            heapGrowthPerMillion: pick((r) => r.gc?.heapGrowthPerMillion),
          },
        }
      : {}),
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

/** Each mai server against every other server (the other mai one included), from medians. */
function ratiosOf(scenario: Scenario, servers: readonly ServerSummary[]): Record<string, number> {
  const ratios: Record<string, number> = {};
  for (const mai of servers) {
    if (!MAI_SERVERS.includes(mai.server)) continue;
    const name = mai.server;
    for (const other of servers) {
      if (other.server === name || other.server === 'c-echo') continue;
      if (name === 'mai' && other.server === 'mai-borrow') continue; // said once, the other way
      if (scenario.latency) {
        ratios[`p50 ${name}/${other.server}`] =
          (mai.p50us?.median ?? Number.NaN) / (other.p50us?.median ?? Number.NaN);
        ratios[`p99 ${name}/${other.server}`] =
          (mai.p99us?.median ?? Number.NaN) / (other.p99us?.median ?? Number.NaN);
      } else if (scenario.gc) {
        ratios[`bytes/frame ${name}/${other.server}`] =
          (mai.gc?.bytesPerFrame.median ?? Number.NaN) /
          (other.gc?.bytesPerFrame.median ?? Number.NaN);
      } else {
        ratios[`${name}/${other.server}`] = mai.framesPerSec.median / other.framesPerSec.median;
        ratios[`per CPU-s ${name}/${other.server}`] =
          mai.framesPerCpuSecond.median / other.framesPerCpuSecond.median;
      }
    }
  }
  return ratios;
}

const pct = (v: number): string => `${(v * 100).toFixed(0)}%`;
const us = (v: number): string => v.toFixed(1);
const none = summarize([]);

/** The table of one scenario: its columns depend on what the scenario measures. */
function scenarioTable(r: ScenarioResult): string {
  const contention = (s: ServerSummary): string[] => [
    summaryText(s.otherOnServerCpu, pct),
    summaryText(s.otherOnLoadgenCpu, pct),
  ];
  if (r.latency) {
    return markdownTable(
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
        s.title,
        summaryText(s.p50us ?? none, us),
        summaryText(s.p99us ?? none, us),
        summaryText(s.framesPerSec, human),
        summaryText(s.serverCpu, pct),
        ...contention(s),
      ]),
    );
  }
  if (r.gc) {
    return markdownTable(
      [
        'server',
        'frames/s (while recording)',
        'V8 heap bytes allocated per frame',
        'scavenges per M frames',
        'mark-compacts per M frames',
        'GC ms per M frames',
        'heap growth per M frames',
        'other work on CPU 0',
        'other work on CPU 1',
      ],
      r.servers.map((s) => [
        s.title,
        summaryText(s.framesPerSec, human),
        summaryText(s.gc?.bytesPerFrame ?? none, (v) => v.toFixed(1)),
        summaryText(s.gc?.scavengesPerMillion ?? none, (v) => v.toFixed(1)),
        summaryText(s.gc?.markCompactsPerMillion ?? none, (v) => v.toFixed(2)),
        summaryText(s.gc?.gcMsPerMillion ?? none, (v) => v.toFixed(1)),
        summaryText(s.gc?.heapGrowthPerMillion ?? none, (v) => `${human(v)} B`),
        ...contention(s),
      ]),
    );
  }
  return markdownTable(
    [
      'server',
      r.wire === 'lines' ? 'lines/s' : 'frames/s',
      'MB/s',
      'frames per server CPU-s',
      'server CPU',
      'loadgen CPU',
      'other work on CPU 0',
      'other work on CPU 1',
    ],
    r.servers.map((s) => [
      s.title,
      summaryText(s.framesPerSec, human),
      summaryText(s.mbPerSec, (v) => v.toFixed(0)),
      summaryText(s.framesPerCpuSecond, human),
      summaryText(s.serverCpu, pct),
      summaryText(s.loadgenCpu, pct),
      ...contention(s),
    ]),
  );
}

function markdown(
  results: readonly ScenarioResult[],
  machine: MachineInfo,
  place: Placement,
  options: Options,
  when: string,
): string {
  const codecs = [
    ...new Set(results.flatMap((r) => r.servers.filter((s) => MAI_SERVERS.includes(s.server)))),
  ].map((s) => s.codec);
  const parts: string[] = [
    '# Echo benchmark (E1–E5, M2)',
    '',
    `- When: ${when}`,
    `- Machine: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node} (V8 ${machine.v8}), Linux ${machine.kernel}; load average at start ${machine.loadAverage.join(' / ')} (a shared machine: other work competes)`,
    `- Placement: server ${place.server}; load generator ${place.loadgen}; ${place.note}`,
    `- Runs: ${options.runs} per server and scenario (fresh server each), ${options.warmup} s warm-up + ${options.duration} s measured; figure = median (min–max); a run during which other work took more than ${pct(options.maxOther)} of a pinned core is repeated (at most 3 attempts${Number.isFinite(options.maxRepeats) ? `, ${options.maxRepeats} repeats in all` : ''}), else kept and counted as contended`,
    `- mai codecs: ${[...new Set(codecs)].join('; ')}`,
    sourceLine(SOURCE),
    '- Load: bench/loadgen/loadgen.c (epoll, every echoed frame checked: length and payload bytes, or every byte of a line). MB/s = 10^6 payload bytes echoed per second (line bytes without the newline for E5).',
    '- CPU columns: CPU time / wall time over the measured window (100% = one core). "Other work on CPU 0" = busy share of the server\'s core not used by the server (other processes on this shared machine, interrupts): when it is high the server was starved and frames/s understates it (likewise "other work on CPU 1" for the load generator core); "frames per server CPU-s" = frames/s ÷ server CPU, steadier under such contention (ratios of both are given).',
    "- M2: each server records its garbage collections with `v8.GCProfiler` over the measured window; V8 heap bytes allocated = the used heap's growth between collections (Σ used before GC − used after the previous one), divided by the frames the server itself counted. Buffer contents (ArrayBuffer backing stores) are outside the V8 heap and not counted.",
    '',
  ];
  for (const r of results) {
    parts.push(
      `## ${r.id}: ${r.title}`,
      '',
      `1-minute load average ${r.loadAverage.before.toFixed(2)} before, ${r.loadAverage.after.toFixed(2)} after.`,
      '',
      scenarioTable(r),
      '',
    );
    const rows = Object.entries(r.ratios).map(([name, value]) => {
      const goal = targetFor(r.id, name);
      return [name, value.toFixed(2), boundText(goal), metText(meets(goal, value))];
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
 * Runs each Node server of `servers` alone under E1 (or the first of `--scenarios`) with
 * `node --cpu-prof` and ranks its
 * functions by self time. Default: mai only (`--servers mai,hand` compares the two).
 */
async function profileServers(
  servers: readonly ServerName[],
  options: Options,
  place: Placement,
): Promise<void> {
  // The first scenario asked for (E1 unless --scenarios says otherwise).
  const e1 = options.scenarios[0] ?? (SCENARIOS[0] as Scenario);
  const sections: string[] = [
    `# Echo servers under ${e1.id}, \`node --cpu-prof\`: top 10 self time`,
    '',
    `- When: ${new Date().toISOString()}; ${options.warmup} s warm-up + ${options.duration} s measured per server (a profile covers the whole server life); the profiler slows servers down`,
    sourceLine(SOURCE),
    '',
  ];
  for (const kind of servers) {
    if (kind === 'c-echo' || !e1.lineup.includes(kind)) continue;
    const dir = mkdtempSync(join(tmpdir(), `mai-echo-prof-${kind}-`));
    const result = await runOne(kind, e1, options, place, ['--cpu-prof', '--cpu-prof-dir', dir]);
    if (!result.ok) throw new Error(`profiled run of ${kind} failed: ${result.error}`);
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error(`no .cpuprofile written in ${dir}`);
    const { top, idlePercent } = topSelfTime(join(dir, file), 10);
    sections.push(
      `## ${serverTitle(kind, e1.wire)}`,
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

/** The JSON echo.json holds (and bench/run.ts receives). */
export interface EchoResults {
  readonly benchmark: 'echo';
  readonly timestamp: string;
  readonly finished: string;
  readonly command: string;
  readonly machine: MachineInfo;
  readonly source: ReturnType<typeof sourceState>;
  readonly placement: Placement;
  readonly settings: {
    readonly runs: number;
    readonly warmupSeconds: number;
    readonly durationSeconds: number;
    readonly quick: boolean;
  };
  readonly loadgen: string;
  readonly scenarios: readonly ScenarioResult[];
}

/** The servers of a scenario that this invocation runs. */
function lineupOf(scenario: Scenario, options: Options): readonly ServerName[] {
  return scenario.lineup.filter((s) => options.servers.includes(s));
}

/**
 * One run of one server, repeated (up to 3 attempts) while other work takes a pinned core; if
 * every attempt is contended, the least contended one is kept (and flagged).
 */
async function runUncontended(
  server: ServerName,
  scenario: Scenario,
  options: Options,
  place: Placement,
  label: string,
  budget: { repeatsLeft: number },
): Promise<RunResult | RunFailure> {
  let repeated = 0;
  let best: { result: RunResult; busy: number } | undefined;
  for (;;) {
    const result = await runOne(server, scenario, options, place);
    if (!result.ok) return result;
    const busy = Math.max(
      result.otherOnServerCpu,
      Number.isFinite(result.otherOnLoadgenCpu) ? result.otherOnLoadgenCpu : 0,
    );
    if (!(busy > options.maxOther)) return { ...result, repeated };
    if (best === undefined || busy < best.busy) best = { result, busy };
    if (repeated === 2 || budget.repeatsLeft <= 0) {
      return { ...best.result, contended: true, repeated };
    }
    repeated++;
    budget.repeatsLeft--;
    console.log(
      `${label} other work took ${pct(busy)} of a pinned core: repeating in ${RETRY_PAUSE_MS / 1000} s`,
    );
    await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
  }
}

function describeRun(scenario: Scenario, result: RunResult | RunFailure): string {
  if (!result.ok) return `FAILED ${result.error}`;
  const contention = `other on CPU 0 ${pct(result.otherOnServerCpu)}, on CPU 1 ${pct(result.otherOnLoadgenCpu)}`;
  if (scenario.latency) {
    return `p50 ${us(result.p50us ?? Number.NaN)} µs, p99 ${us(result.p99us ?? Number.NaN)} µs, server CPU ${pct(result.serverCpu)}, ${contention}`;
  }
  const gc =
    result.gc === undefined
      ? ''
      : `, ${result.gc.bytesPerFrame.toFixed(1)} heap B/frame, ${result.gc.scavengesPerMillion.toFixed(1)} scavenges/M frames`;
  return `${human(result.framesPerSec)} frames/s, ${result.mbPerSec.toFixed(0)} MB/s, ${human(result.framesPerCpuSecond)}/CPU-s, server CPU ${pct(result.serverCpu)}, loadgen CPU ${pct(result.loadgenCpu)}, ${contention}${gc}`;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  buildNative();
  const machine = machineInfo();
  const place = placement();
  const perRun = options.warmup + options.duration + 1;
  const steps = options.scenarios.reduce(
    (n, scenario) => n + lineupOf(scenario, options).length * options.runs,
    0,
  );
  const budgetS = options.profile
    ? perRun * 2 * options.servers.length + 60
    : steps * (perRun * 3 + 6) + 60;
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
  const budget = { repeatsLeft: options.maxRepeats };
  let done = 0;
  for (const scenario of options.scenarios) {
    const loadBefore = loadavg()[0] ?? Number.NaN;
    const lineup = lineupOf(scenario, options);
    const runs = new Map<ServerName, (RunResult | RunFailure)[]>(lineup.map((s) => [s, []]));
    for (let run = 0; run < options.runs; run++) {
      // Rotate the order so no server always runs first (or last) on a drifting machine.
      const order = lineup.map((_, i) => lineup[(i + run) % lineup.length] as ServerName);
      for (const server of order) {
        const label = `${scenario.id} run ${run + 1}/${options.runs} ${server.padEnd(6)}`;
        reportProgress(done, steps, label);
        const result = await runUncontended(server, scenario, options, place, label, budget);
        runs.get(server)?.push(result);
        done++;
        console.log(`${label} ${describeRun(scenario, result)}`);
      }
    }
    const servers = lineup.map((s) => summarizeServer(s, scenario, runs.get(s) ?? []));
    const ratios = ratiosOf(scenario, servers);
    results.push({
      id: scenario.id,
      title: scenario.title,
      size: scenario.size,
      conns: scenario.conns,
      inflight: scenario.inflight,
      latency: scenario.latency,
      wire: scenario.wire,
      gc: scenario.gc,
      servers,
      ratios,
      loadAverage: { before: loadBefore, after: loadavg()[0] ?? Number.NaN },
    });
    for (const [name, value] of Object.entries(ratios)) {
      console.log(`${scenario.id} ${name} = ${value.toFixed(2)}`);
    }
  }
  reportProgress(done, steps, 'writing results');
  mkdirSync(RESULTS, { recursive: true });
  const json: EchoResults = {
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
  const md = markdown(results, machine, place, options, when);
  writeFileSync(join(RESULTS, `${base}.md`), md);
  console.log(`\n${md}`);
  console.log(
    `written: ${relative(ROOT, join(RESULTS, `${base}.json`))}, ${relative(ROOT, join(RESULTS, `${base}.md`))}`,
  );
  await reportResult(json);
}

await main();
