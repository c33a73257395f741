/**
 * Idle-connection cost (PERFORMANCE.md M1): what 10,000 idle connections cost mai above a bare
 * `net.Socket` server holding the same number, and how many pooled bytes they lease.
 *
 *   node build/bench/idle.js [--quick] [--runs N] [--conns N]
 *
 * Each run starts a fresh holder process of each kind (bench/servers/idle-server.ts, with
 * `--expose-gc`, pinned to CPU 0 where `taskset` works), in an order rotated from run to run. The
 * holder reports its JS heap and RSS after full garbage collections with no connection; the load
 * generator (`loadgen --idle`, another process, on CPU 1) then opens the connections and holds
 * them silent; once the holder counts them all it is measured twice (the lower heap is kept, so
 * that a collection artefact does not count). Per connection = (with − without) / connections;
 * mai's cost = its figure minus the bare server's, from the medians of the same invocation.
 *
 * Results: bench/results/idle.json and idle.md (idle-partial.* for --quick or another --conns).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FromHolder, HolderMeasure } from './servers/idle-server.js';
import {
  awaitMessage,
  buildNative,
  Core,
  forkModule,
  LOADGEN_BIN,
  onCore,
  type Placement,
  pinProcess,
  placement,
  RESULTS,
  ROOT,
} from './support/processes.js';
import { reportProgress, reportResult } from './support/progress.js';
import {
  type MachineInfo,
  machineInfo,
  markdownTable,
  type SourceState,
  type Summary,
  sourceLine,
  sourceState,
  summarize,
  summaryText,
} from './support/report.js';
import { boundText, meets, metText, targetFor } from './support/targets.js';

const HOLDER_ENTRY = fileURLToPath(new URL('./servers/idle-server.js', import.meta.url));
const SOURCE = sourceState(ROOT);
const DEFAULT_CONNS = 10_000;
/** Longest a holder or the idle load generator lives: a crashed benchmark leaves nothing. */
const HOLD_LIMIT_S = 120;

const MODES = ['bare', 'mai'] as const;
type Mode = (typeof MODES)[number];

const MODE_TITLES: Record<Mode, string> = {
  bare: 'bare net.Socket server (baseline)',
  mai: 'mai (protocolEngine + LengthPrefixedCodec)',
};

interface Options {
  readonly quick: boolean;
  readonly runs: number;
  readonly conns: number;
}

/** One run of one holder. */
interface IdleRun {
  readonly heapPerConn: number;
  readonly rssPerConn: number;
  readonly leasedBytes: number;
  /** Seconds the load generator took to open every connection. */
  readonly connectSeconds: number;
}

/** One holder's figures: each the median (min–max) over runs. */
export interface IdleSummary {
  readonly mode: Mode;
  readonly title: string;
  readonly heapPerConn: Summary;
  readonly rssPerConn: Summary;
  readonly leasedBytes: Summary;
  readonly connectSeconds: Summary;
  readonly failures: readonly string[];
}

/** The JSON idle.json holds (and bench/run.ts receives). */
export interface IdleResults {
  readonly benchmark: 'idle';
  readonly timestamp: string;
  readonly finished: string;
  readonly command: string;
  readonly machine: MachineInfo;
  readonly source: SourceState;
  readonly placement: Placement;
  readonly settings: { readonly runs: number; readonly conns: number; readonly quick: boolean };
  readonly holders: readonly IdleSummary[];
  /** mai minus bare, from medians (bytes per connection), and mai's leased bytes. */
  readonly ratios: Record<string, number>;
  readonly loadAverage: { readonly before: number; readonly after: number };
}

function parseOptions(argv: readonly string[]): Options {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i === -1 ? undefined : argv[i + 1];
  };
  const quick = argv.includes('--quick');
  const runs = Number(value('--runs') ?? (quick ? 1 : 3));
  const conns = Number(value('--conns') ?? DEFAULT_CONNS);
  if (!Number.isSafeInteger(runs) || runs < 1) throw new Error('--runs must be a whole number ≥ 1');
  if (!Number.isSafeInteger(conns) || conns < 1)
    throw new Error('--conns must be a whole number ≥ 1');
  return { quick, runs, conns };
}

/** The soft limit on open files of this process (children inherit it), from /proc. */
function openFileLimit(): number {
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(
    readFileSync('/proc/self/limits', 'latin1'),
  );
  return match?.[1] === undefined || match[1] === 'unlimited'
    ? Number.POSITIVE_INFINITY
    : Number(match[1]);
}

function measure(holder: ChildProcess): Promise<HolderMeasure> {
  const reply = awaitMessage(holder, 'measurement', 30_000, (m: FromHolder) =>
    m.type === 'measured' ? m.measure : undefined,
  );
  holder.send({ type: 'measure' });
  return reply;
}

/** Opens `conns` idle connections from the load generator; resolves once all are connected. */
function openIdle(
  port: number,
  conns: number,
  pinned: boolean,
): Promise<{ seconds: number; release: () => Promise<void> }> {
  const [command, argv] = onCore(pinned, Core.Load, LOADGEN_BIN, [
    '--idle',
    '--port',
    String(port),
    '--conns',
    String(conns),
    '--warmup',
    '0',
    '--duration',
    String(HOLD_LIMIT_S),
  ]);
  const started = performance.now();
  const child = spawn(command, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const release = async (): Promise<void> => {
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      if (!out.includes('\n')) return;
      resolve({ seconds: (performance.now() - started) / 1000, release });
    });
    void exited.then((code) =>
      reject(new Error(`loadgen --idle exited with ${code}: ${stderr.trim()}`)),
    );
  });
}

async function runOne(mode: Mode, options: Options, place: Placement): Promise<IdleRun> {
  const holder = forkModule(HOLDER_ENTRY, [mode, String(HOLD_LIMIT_S)], ['--expose-gc']);
  let load: { seconds: number; release: () => Promise<void> } | undefined;
  try {
    const port = await awaitMessage(holder, `${mode} holder listening`, 10_000, (m: FromHolder) =>
      m.type === 'listening' ? m.port : undefined,
    );
    if (place.pinned && holder.pid !== undefined) pinProcess(holder.pid, Core.Server);
    const empty = await measure(holder);
    load = await openIdle(port, options.conns, place.pinned);
    let full = await measure(holder);
    // The holder may not have accepted the last connections yet.
    for (let i = 0; i < 100 && full.open < options.conns; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      full = await measure(holder);
    }
    if (full.open !== options.conns) {
      throw new Error(`${mode} holder has ${full.open} of ${options.conns} connections open`);
    }
    const again = await measure(holder);
    return {
      heapPerConn: (Math.min(full.heapUsed, again.heapUsed) - empty.heapUsed) / options.conns,
      rssPerConn: (Math.min(full.rss, again.rss) - empty.rss) / options.conns,
      leasedBytes: Math.max(full.leasedBytes, again.leasedBytes),
      connectSeconds: load.seconds,
    };
  } finally {
    await load?.release();
    if (holder.exitCode === null && holder.signalCode === null) {
      const gone = new Promise((resolve) => holder.once('exit', resolve));
      if (holder.connected) holder.send({ type: 'stop' });
      const timer = setTimeout(() => holder.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    }
  }
}

const bytes = (v: number): string => `${Math.round(v).toLocaleString('en')} B`;

function markdown(results: IdleResults): string {
  const { machine, settings, placement: place } = results;
  const parts = [
    '# Idle connections (M1)',
    '',
    `- When: ${results.timestamp}`,
    `- Machine: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node} (V8 ${machine.v8}); 1-minute load average ${results.loadAverage.before.toFixed(2)} before, ${results.loadAverage.after.toFixed(2)} after (a shared machine)`,
    `- Placement: holder ${place.server}; load generator ${place.loadgen}; ${place.note}`,
    `- ${settings.conns.toLocaleString('en')} idle connections from \`loadgen --idle\` (another process); ${settings.runs} run(s) per holder, a fresh holder each; JS heap and RSS after 4 full GCs, (with − without connections) / connections; figure = median (min–max)`,
    sourceLine(results.source),
    '',
    markdownTable(
      [
        'holder',
        'JS heap per connection',
        'RSS per connection',
        'pooled bytes leased',
        'connect time (s)',
      ],
      results.holders.map((h) => [
        h.title,
        summaryText(h.heapPerConn, bytes),
        summaryText(h.rssPerConn, bytes),
        summaryText(h.leasedBytes, (v) => v.toFixed(0)),
        summaryText(h.connectSeconds, (v) => v.toFixed(2)),
      ]),
    ),
    '',
    markdownTable(
      ['figure (medians)', 'value', 'target', 'met'],
      Object.entries(results.ratios).map(([name, value]) => {
        const goal = targetFor('M1', name);
        return [name, value.toFixed(0), boundText(goal), metText(meets(goal, value))];
      }),
    ),
    '',
  ];
  const failures = results.holders.flatMap((h) => h.failures.map((f) => `${h.mode}: ${f}`));
  if (failures.length > 0) parts.push('Failed runs:', ...failures.map((f) => `- ${f}`), '');
  return parts.join('\n');
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const limit = openFileLimit();
  if (limit < options.conns + 256) {
    throw new Error(
      `the open-file limit is ${limit}: ${options.conns} connections need more (ulimit -n ${options.conns + 1024})`,
    );
  }
  buildNative();
  const machine = machineInfo();
  const place = placement();
  const steps = options.runs * MODES.length;
  setTimeout(
    () => {
      console.error('idle benchmark exceeded its budget; giving up');
      process.exit(2);
    },
    (steps * (HOLD_LIMIT_S + 30) + 60) * 1000,
  ).unref();
  const timestamp = new Date().toISOString();
  const loadBefore = loadavg()[0] ?? Number.NaN;
  const runs = new Map<Mode, IdleRun[]>(MODES.map((m) => [m, []]));
  const failures = new Map<Mode, string[]>(MODES.map((m) => [m, []]));
  let done = 0;
  for (let run = 0; run < options.runs; run++) {
    const order = MODES.map((_, i) => MODES[(i + run) % MODES.length] as Mode);
    for (const mode of order) {
      const label = `M1 run ${run + 1}/${options.runs} ${mode}`;
      reportProgress(done, steps, label);
      try {
        const result = await runOne(mode, options, place);
        runs.get(mode)?.push(result);
        console.log(
          `${label}: heap ${bytes(result.heapPerConn)}/conn, RSS ${bytes(result.rssPerConn)}/conn, leased ${result.leasedBytes} B, connected in ${result.connectSeconds.toFixed(2)} s`,
        );
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        failures.get(mode)?.push(message);
        console.log(`${label}: FAILED ${message}`);
      }
      done++;
    }
  }
  const holders = MODES.map((mode): IdleSummary => {
    const ok = runs.get(mode) ?? [];
    return {
      mode,
      title: MODE_TITLES[mode],
      heapPerConn: summarize(ok.map((r) => r.heapPerConn)),
      rssPerConn: summarize(ok.map((r) => r.rssPerConn)),
      leasedBytes: summarize(ok.map((r) => r.leasedBytes)),
      connectSeconds: summarize(ok.map((r) => r.connectSeconds)),
      failures: failures.get(mode) ?? [],
    };
  });
  const [bare, mai] = holders as [IdleSummary, IdleSummary];
  const results: IdleResults = {
    benchmark: 'idle',
    timestamp,
    finished: new Date().toISOString(),
    command:
      `node ${relative(ROOT, fileURLToPath(import.meta.url))} ${process.argv.slice(2).join(' ')}`.trim(),
    machine,
    source: SOURCE,
    placement: place,
    settings: { runs: options.runs, conns: options.conns, quick: options.quick },
    holders,
    ratios: {
      'heap above bare': mai.heapPerConn.median - bare.heapPerConn.median,
      'RSS above bare': mai.rssPerConn.median - bare.rssPerConn.median,
      'pooled bytes leased': mai.leasedBytes.max,
    },
    loadAverage: { before: loadBefore, after: loadavg()[0] ?? Number.NaN },
  };
  mkdirSync(RESULTS, { recursive: true });
  // A quick run, or one with another connection count, must not overwrite the full results.
  const base = options.quick || options.conns !== DEFAULT_CONNS ? 'idle-partial' : 'idle';
  writeFileSync(join(RESULTS, `${base}.json`), `${JSON.stringify(results, null, 2)}\n`);
  const md = markdown(results);
  writeFileSync(join(RESULTS, `${base}.md`), md);
  console.log(`\n${md}`);
  console.log(`written: bench/results/${base}.json, bench/results/${base}.md`);
  await reportResult(results);
}

await main();
