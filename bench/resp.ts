/**
 * PERFORMANCE.md R1: the KV server (examples/kv) against a real redis-server, both driven by
 * redis-benchmark in the same run, pipelined (-P 16) and not (-P 1), 50 clients, for PING,
 * SET and GET.
 *
 *   node build/bench/resp.js [--runs 3] [--requests 200000] [--profile]
 *
 * Both servers are started once, on free ports, pinned to CPU 0 with `taskset` (when there are
 * two cores or more); redis-benchmark runs pinned to CPU 1, one test at a time, alternating
 * between the servers in an order rotated per run. Each figure is the median of the runs
 * (min–max beside it); each ratio is mai / redis-server between medians of this invocation.
 *
 * `--profile` also runs the KV server alone under `node --cpu-prof` with -P 16 and writes the
 * top functions by self time to bench/results/resp-profile.md.
 *
 * Results: bench/results/resp.json and bench/results/resp.md.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, redisServerArgs } from '../test/support/redis-server.js';
import {
  human,
  machineInfo,
  markdownTable,
  type Summary,
  sourceLine,
  sourceState,
  summarize,
} from './support/report.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KV_ENTRY = join(ROOT, 'build/examples/kv/server.js');
const RESULTS = join(ROOT, 'bench/results');
const TESTS = ['PING_INLINE', 'PING_MBULK', 'SET', 'GET'] as const;
const PIPELINES = [16, 1] as const;
const SERVERS = ['mai', 'redis'] as const;
type ServerName = (typeof SERVERS)[number];

const argv = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = argv.indexOf(name);
  return at >= 0 ? Number(argv[at + 1]) : fallback;
};
const RUNS = option('--runs', 3);
const REQUESTS = option('--requests', 200_000);
const PROFILE = argv.includes('--profile');
const PINNED = availableParallelism() >= 2 && spawnSync('taskset', ['-V']).status === 0;

function pinned(cpu: number, command: string, args: string[]): [string, string[]] {
  return PINNED ? ['taskset', ['-c', String(cpu), command, ...args]] : [command, args];
}

async function waitForPong(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (let i = 0; i < 1000 && Date.now() < deadline; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.setTimeout(500, () => {
        socket.destroy();
        resolve(false);
      });
      socket.on('error', () => resolve(false));
      socket.on('connect', () => socket.write('PING\r\n'));
      socket.on('data', (d) => {
        socket.destroy();
        resolve(d.toString('latin1').startsWith('+PONG'));
      });
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no PONG on port ${port}`);
}

interface Running {
  port: number;
  /** The server's process id (taskset execs the command, so it keeps the pid). */
  pid: number;
  stop(): Promise<void>;
}

async function startServer(name: ServerName, nodeFlags: string[] = []): Promise<Running> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `mai-resp-bench-${name}-`));
  const [command, args] =
    name === 'mai'
      ? pinned(0, process.execPath, [...nodeFlags, KV_ENTRY, '--port', String(port)])
      : pinned(0, 'redis-server', redisServerArgs(port, dir));
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'], cwd: dir });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      // SIGINT: the KV server shuts down gracefully (and writes its --cpu-prof profile).
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    if (nodeFlags.length === 0) rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPong(port, child);
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, pid: child.pid as number, stop };
}

const TICK_US =
  1e6 / Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

/**
 * CPU time (user + system, all threads) the process has used, in µs, from /proc/<pid>/stat.
 * Unlike requests/s it does not drop when another tenant takes the core, so "CPU per request"
 * is the steadier comparison on a shared machine.
 */
function cpuMicros(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_US;
  } catch {
    return Number.NaN;
  }
}

/** One redis-benchmark invocation; requests per second by test name. */
function benchmark(
  port: number,
  pipeline: number,
  requests: number,
  tests = 'ping,set,get',
): Map<string, number> {
  const [command, args] = pinned(1, 'redis-benchmark', [
    '-p',
    String(port),
    '-c',
    '50',
    '-n',
    String(requests),
    '-P',
    String(pipeline),
    '-t',
    tests,
    '--csv',
  ]);
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 300_000 });
  if (result.status !== 0) throw new Error(`redis-benchmark failed: ${result.stderr}`);
  const rates = new Map<string, number>();
  for (const line of result.stdout.split('\n')) {
    const match = /^"([A-Z_]+)","([\d.]+)"/.exec(line);
    if (match !== null) rates.set(match[1] as string, Number(match[2]));
  }
  return rates;
}

const key = (server: ServerName, pipeline: number, test: string) =>
  `${server}/P${pipeline}/${test}`;

/**
 * Both servers run for the whole measurement (each on CPU 0, only one under load at a time),
 * and every (pipeline, test) pair alternates between them, in an order rotated per run: on a
 * shared machine, slow drift in background load then hits both sides alike.
 */
async function measure(): Promise<Map<string, number[]>> {
  const samples = new Map<string, number[]>();
  const running = new Map<ServerName, Running>();
  try {
    for (const server of SERVERS) running.set(server, await startServer(server));
    // Warm-up, discarded: the KV server's JIT would otherwise be measured compiling.
    for (const server of SERVERS) {
      benchmark(
        (running.get(server) as Running).port,
        16,
        Math.max(20_000, REQUESTS >> 2),
        'ping,set,get',
      );
    }
    for (let run = 0; run < RUNS; run++) {
      for (const pipeline of PIPELINES) {
        // Unpipelined runs are ~10x slower per request: fewer requests keep the time sane.
        const requests = pipeline === 1 ? Math.max(10_000, REQUESTS >> 2) : REQUESTS;
        for (const test of ['ping', 'set', 'get']) {
          const order = (run + pipeline) % 2 === 0 ? SERVERS : [...SERVERS].reverse();
          for (const server of order) {
            const target = running.get(server) as Running;
            const before = cpuMicros(target.pid);
            const rates = benchmark(target.port, pipeline, requests, test);
            const cpuPerRequest = (cpuMicros(target.pid) - before) / (requests * rates.size);
            for (const [name, rate] of rates) {
              const k = key(server, pipeline, name);
              samples.set(k, [...(samples.get(k) ?? []), rate]);
            }
            // One CPU figure per redis-benchmark run: PING's two tests share it.
            const ck = key(server, pipeline, `cpu:${test}`);
            samples.set(ck, [...(samples.get(ck) ?? []), cpuPerRequest]);
            console.log(
              `run ${run + 1}/${RUNS} ${server} -P ${pipeline}: ${[...rates].map(([n, r]) => `${n} ${human(r)}/s`).join(', ')}`,
            );
          }
        }
      }
    }
  } finally {
    for (const server of running.values()) await server.stop();
  }
  return samples;
}

interface ProfileEntry {
  functionName: string;
  url: string;
  line: number;
  selfMs: number;
}

async function profile(): Promise<{
  entries: ProfileEntry[];
  totalMs: number;
  rates: Map<string, number>;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'mai-resp-prof-'));
  const running = await startServer('mai', ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
  let rates: Map<string, number>;
  try {
    benchmark(running.port, 16, Math.max(20_000, REQUESTS >> 2));
    rates = benchmark(running.port, 16, REQUESTS);
  } finally {
    await running.stop();
  }
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error('no .cpuprofile written');
  const prof = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
    nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
    samples: number[];
    timeDeltas: number[];
  };
  rmSync(dir, { recursive: true, force: true });
  const byId = new Map(prof.nodes.map((node) => [node.id, node]));
  const self = new Map<string, ProfileEntry>();
  let total = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const node = byId.get(prof.samples[i] as number);
    const ms = (prof.timeDeltas[i] ?? 0) / 1000;
    total += ms;
    if (node === undefined) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const k = `${functionName}|${url}|${lineNumber}`;
    const entry = self.get(k) ?? {
      functionName: functionName || '(anonymous)',
      url: url.replace(`file://${ROOT}`, ''),
      line: lineNumber + 1,
      selfMs: 0,
    };
    entry.selfMs += ms;
    self.set(k, entry);
  }
  const entries = [...self.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, 15);
  return { entries, totalMs: total, rates };
}

const range = (s: Summary) => `${human(s.median)} (${human(s.min)}–${human(s.max)})`;

async function main(): Promise<void> {
  const machine = machineInfo();
  const source = sourceState(ROOT);
  const version = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.trim();
  const samples = await measure();
  const rows: string[][] = [];
  const json: Record<string, unknown>[] = [];
  for (const pipeline of PIPELINES) {
    for (const test of TESTS) {
      const mai = summarize(samples.get(key('mai', pipeline, test)) ?? []);
      const redis = summarize(samples.get(key('redis', pipeline, test)) ?? []);
      const ratio = mai.median / redis.median;
      const group = test.startsWith('PING') ? 'ping' : test.toLowerCase();
      const maiCpu = summarize(samples.get(key('mai', pipeline, `cpu:${group}`)) ?? []);
      const redisCpu = summarize(samples.get(key('redis', pipeline, `cpu:${group}`)) ?? []);
      const cpuRatio = redisCpu.median / maiCpu.median;
      rows.push([
        `-P ${pipeline}`,
        test,
        range(mai),
        range(redis),
        ratio.toFixed(2),
        `${maiCpu.median.toFixed(2)} / ${redisCpu.median.toFixed(2)}`,
        cpuRatio.toFixed(2),
      ]);
      json.push({
        pipeline,
        test,
        mai,
        redis,
        ratio,
        cpuMicrosPerRequest: { mai: maiCpu, redis: redisCpu },
        cpuRatio,
      });
    }
  }
  const pipelinedRatios = json
    .filter((row) => row.pipeline === 16)
    .map((row) => row.ratio as number);
  const worst = Math.min(...pipelinedRatios);
  mkdirSync(RESULTS, { recursive: true });
  let profileSection = '';
  if (PROFILE) {
    const { entries, totalMs, rates } = await profile();
    const lines = [
      '# KV server CPU profile (node --cpu-prof), redis-benchmark -P 16 -c 50',
      '',
      `- ${new Date().toISOString()}; ${REQUESTS} requests per test; ${TESTS.map((t) => `${t} ${human(rates.get(t) ?? Number.NaN)}/s`).join(', ')} (profiling slows it)`,
      `- Sampled ${totalMs.toFixed(0)} ms of the server's process, top 15 by self time:`,
      '',
      markdownTable(
        ['self ms', '%', 'function', 'where'],
        entries.map((e) => [
          e.selfMs.toFixed(1),
          ((100 * e.selfMs) / totalMs).toFixed(1),
          `\`${e.functionName}\``,
          `${e.url}:${e.line}`,
        ]),
      ),
      '',
    ];
    writeFileSync(join(RESULTS, 'resp-profile.md'), lines.join('\n'));
    profileSection = '\nProfile: bench/results/resp-profile.md\n';
    console.log(lines.join('\n'));
  }
  const md = [
    '# R1: KV server (examples/kv) vs redis-server, redis-benchmark -c 50',
    '',
    `- ${new Date().toISOString()}; ${RUNS} runs after a discarded warm-up each, median (min–max) requests/s; ${REQUESTS} requests per test at -P 16, ${Math.max(10_000, REQUESTS >> 2)} at -P 1`,
    `- ${version}`,
    `- Machine: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, kernel ${machine.kernel}, load ${machine.loadAverage.join('/')}`,
    `- Servers pinned to CPU 0, redis-benchmark to CPU 1: ${PINNED ? 'yes' : 'no (one core or no taskset)'}`,
    sourceLine(source),
    '',
    markdownTable(
      [
        'pipeline',
        'test',
        'mai kv req/s',
        'redis-server req/s',
        'mai / redis',
        'CPU µs/req mai / redis',
        'redis CPU / mai CPU',
      ],
      rows,
    ),
    '',
    'req/s: median (min–max) of the runs. CPU µs/req: user + system time of the server process (all threads, /proc/<pid>/stat) per request, median of the runs (PING_INLINE and PING_MBULK share one figure); its ratio is the throughput ratio a CPU-bound server would reach, and it moves far less than req/s when other work shares the machine.',
    '',
    `Target R1 (PERFORMANCE.md): mai / redis-server pipelined ≥ 0.80. Lowest pipelined ratio this run: ${worst.toFixed(2)} → ${worst >= 0.8 ? 'met' : 'NOT met'}.`,
    profileSection,
  ].join('\n');
  writeFileSync(join(RESULTS, 'resp.md'), md);
  writeFileSync(
    join(RESULTS, 'resp.json'),
    `${JSON.stringify({ date: new Date().toISOString(), machine, source, redis: version, runs: RUNS, requests: REQUESTS, pinned: PINNED, results: json }, null, 2)}\n`,
  );
  console.log(md);
}

await main();
