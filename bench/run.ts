/**
 * The benchmark suite: every scenario of PERFORMANCE.md but R1 (E1–E5, M1, M2, C1), every
 * baseline, in one run.
 *
 *   npm run bench                      # full: ≈ 10–15 min on 2 cores
 *   npm run bench -- --quick           # everyday: < 2 min
 *   npm run bench -- --only E1,E5,M1   # some scenarios (with or without --quick)
 *
 * It forks the benchmarks themselves, one after the other (bench/echo.ts for E1–E5 and M2,
 * bench/idle.ts for M1, bench/codecs.ts for C1), shows one progress line (which part, what runs
 * now, how far, elapsed), sends their own output to bench/results/latest.log, and collects their
 * JSON over the IPC channel. It then writes:
 *
 * - bench/results/latest.json — machine, Node, git commit and dirty flag, and per scenario every
 *   server's median / min / max / runs, the ratios, and each PERFORMANCE.md target met or missed;
 * - bench/results/latest.md — the same as tables;
 * - bench/results/latest.svg — a chart: per scenario, mai beside its baselines.
 *
 * A --quick or --only run writes latest-partial.* instead, so that it never overwrites the
 * results of a full run. Each benchmark also writes its own detailed results (echo.json …).
 * `--render bench/results/latest.json` draws the Markdown and the chart again from saved results.
 */
import { type ChildProcess, fork, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CodecResults } from './codecs.js';
import type { EchoResults, ScenarioResult, ServerSummary } from './echo.js';
import type { IdleResults } from './idle.js';
import { type Bar, barChart, type Group, type Panel, type Series } from './support/chart.js';
import { RESULTS, ROOT } from './support/processes.js';
import type { ToSuite } from './support/progress.js';
import {
  human,
  type MachineInfo,
  machineInfo,
  markdownTable,
  type SourceState,
  type Summary,
  sizeLabel,
  sourceState,
  summaryText,
} from './support/report.js';
import { boundText, meets, TARGETS, targetFor } from './support/targets.js';

const ALL_SCENARIOS = ['E1', 'E2', 'E3', 'E4', 'E5', 'M1', 'M2', 'C1'] as const;

/** One benchmark the suite forks, and the scenarios it measures. */
interface Part {
  readonly id: 'echo' | 'idle' | 'codecs';
  readonly entry: string;
  readonly scenarios: readonly string[];
  /** Its command-line arguments for the scenarios asked for. */
  readonly args: (quick: boolean, scenarios: readonly string[]) => string[];
}

const PARTS: readonly Part[] = [
  {
    id: 'echo',
    entry: 'echo.js',
    scenarios: ['E1', 'E2', 'E3', 'E4', 'E5', 'M2'],
    // Quick: one run each with a shorter window. Full: contended runs are repeated, but at most
    // 20 times in all (≈ 2.5 min at worst).
    args: (quick, scenarios) => [
      ...(quick ? ['--quick', '--warmup', '0.3', '--duration', '1'] : ['--max-repeats', '20']),
      '--scenarios',
      scenarios.join(','),
    ],
  },
  { id: 'idle', entry: 'idle.js', scenarios: ['M1'], args: (quick) => (quick ? ['--quick'] : []) },
  {
    id: 'codecs',
    entry: 'codecs.js',
    scenarios: ['C1'],
    // Quick: every case, but shorter streams and measured windows.
    args: (quick) => (quick ? ['--quick', '--seconds', '0.05', '--stream-mib', '1'] : []),
  },
];

interface Options {
  readonly quick: boolean;
  readonly scenarios: readonly string[];
  /** `--render FILE`: write the Markdown and the chart again from a saved latest*.json. */
  readonly render: string | undefined;
}

function parseOptions(argv: readonly string[]): Options {
  const render = argv.includes('--render') ? argv[argv.indexOf('--render') + 1] : undefined;
  const at = argv.indexOf('--only');
  const only = at === -1 ? undefined : argv[at + 1]?.split(',');
  const unknown = only?.filter((id) => !(ALL_SCENARIOS as readonly string[]).includes(id)) ?? [];
  if (unknown.length > 0 || (only !== undefined && only.length === 0)) {
    throw new Error(`--only takes scenario ids among ${ALL_SCENARIOS.join(',')}`);
  }
  return { quick: argv.includes('--quick'), scenarios: only ?? ALL_SCENARIOS, render };
}

// ---- Running the parts -------------------------------------------------------------------------

/** The one progress line: on a terminal it is rewritten in place, elsewhere printed per step. */
class ProgressLine {
  readonly #started = performance.now();
  readonly #tty = process.stderr.isTTY === true;
  #last = '';

  elapsed(): string {
    const s = Math.round((performance.now() - this.#started) / 1000);
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  }

  show(text: string): void {
    const line = `${text} · ${this.elapsed()} elapsed`;
    if (this.#tty) {
      process.stderr.write(`\r\x1b[2K${line.slice(0, (process.stderr.columns ?? 120) - 1)}`);
    } else if (text !== this.#last) {
      process.stderr.write(`${line}\n`);
    }
    this.#last = text;
  }

  /** Leaves the line as it is and moves below it. */
  done(text: string): void {
    this.show(text);
    if (this.#tty) process.stderr.write('\n');
  }
}

/** Forks one benchmark; resolves with the JSON it hands over. */
function runPart(
  part: Part,
  args: readonly string[],
  logFd: number,
  progress: ProgressLine,
  heading: string,
): Promise<unknown> {
  const entry = fileURLToPath(new URL(`./${part.entry}`, import.meta.url));
  const child: ChildProcess = fork(entry, [...args], { stdio: ['ignore', logFd, logFd, 'ipc'] });
  let result: unknown;
  child.on('message', (message: ToSuite) => {
    if (message.type === 'result') result = message.result;
    else progress.show(`${heading} ${message.label} (${message.done}/${message.total} done)`);
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code, signal) => {
      if (code === 0 && result !== undefined) resolve(result);
      else
        reject(
          new Error(
            `${part.id} ${code === 0 ? 'handed over no results' : `exited with ${code ?? signal}`}; its output is in bench/results/latest.log`,
          ),
        );
    });
  });
}

// ---- Suite results -----------------------------------------------------------------------------

/** One server's figure in a scenario. */
interface SuiteFigure {
  readonly server: string;
  readonly title: string;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: readonly number[];
}

/** A ratio of a scenario and the target it is held to. */
interface SuiteRatio {
  readonly name: string;
  readonly value: number;
  readonly target?: string;
  readonly met?: boolean;
}

/** One scenario (C1: one operation at one frame size) as latest.json holds it. */
interface SuiteScenario {
  readonly id: string;
  readonly title: string;
  /** The main figure, e.g. `frames/s`, and whether more is better. */
  readonly figure: string;
  readonly higherIsBetter: boolean;
  readonly servers: readonly SuiteFigure[];
  /** Further figures by name (e.g. `p50 µs`, `RSS per connection B`), per server. */
  readonly more: Readonly<Record<string, readonly SuiteFigure[]>>;
  readonly ratios: readonly SuiteRatio[];
  readonly loadAverage?: { readonly before: number; readonly after: number };
}

/** A PERFORMANCE.md target and what this run measured for it. */
interface TargetResult {
  readonly scenario: string;
  readonly figure: string;
  readonly ratio: string;
  readonly target: string;
  readonly measured: number | null;
  /** null: not measured in this run (or the run failed). */
  readonly met: boolean | null;
}

/** C echo ÷ fastest Node server below which the load side may be what limits a scenario. */
const HEADROOM = 1.5;

/** Per throughput scenario: is the load generator, not the server, the limit? */
interface LoadgenCheck {
  readonly scenario: string;
  /** Frames/s against the C echo server. */
  readonly cEcho: number;
  readonly fastestNode: { readonly server: string; readonly framesPerSec: number };
  /** C echo ÷ fastest Node server: how much more the load generator can drive. */
  readonly headroom: number;
  /** The raw-bytes Node server ÷ mai. */
  readonly rawOverMai: number;
  /** The load generator's CPU share (median) while it loaded mai. */
  readonly loadgenCpuWithMai: number;
}

interface SuiteResults {
  readonly suite: 'mai benchmarks (PERFORMANCE.md)';
  readonly timestamp: string;
  readonly finished: string;
  readonly durationSeconds: number;
  readonly command: string;
  readonly quick: boolean;
  readonly machine: MachineInfo;
  readonly loadAverage: { readonly start: readonly number[]; readonly end: readonly number[] };
  readonly git: {
    readonly commit: string;
    /** Tracked files changed outside bench/results when the run started. */
    readonly dirty: boolean;
    readonly changes: readonly string[];
    readonly srcChanges: SourceState['uncommitted'];
  };
  readonly placement: EchoResults['placement'] | null;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly scenarios: readonly SuiteScenario[];
  readonly targets: readonly TargetResult[];
  readonly loadgenCheck: readonly LoadgenCheck[];
  readonly failures: readonly string[];
  /** The benchmarks' own, more detailed results. */
  readonly details: readonly string[];
}

function figureOf(server: string, title: string, summary: Summary): SuiteFigure {
  return {
    server,
    title,
    median: summary.median,
    min: summary.min,
    max: summary.max,
    runs: summary.runs,
  };
}

function ratio(scenario: string, name: string, value: number): SuiteRatio {
  const target = targetFor(scenario, name);
  if (target === undefined) return { name, value };
  const met = meets(target, value);
  return { name, value, target: boundText(target), ...(met === undefined ? {} : { met }) };
}

function echoFigureOf(r: ScenarioResult): { name: string; pick: (s: ServerSummary) => Summary } {
  if (r.latency) return { name: 'p99 round trip µs', pick: (s) => s.p99us ?? s.framesPerSec };
  if (r.gc) {
    return { name: 'V8 heap bytes allocated per frame', pick: (s) => s.gc?.bytesPerFrame ?? none };
  }
  if (r.id === 'E3') return { name: 'MB/s', pick: (s) => s.mbPerSec };
  return { name: r.wire === 'lines' ? 'lines/s' : 'frames/s', pick: (s) => s.framesPerSec };
}

const none: Summary = { median: Number.NaN, min: Number.NaN, max: Number.NaN, runs: [] };

function echoScenarios(echo: EchoResults): SuiteScenario[] {
  return echo.scenarios.map((r) => {
    const main = echoFigureOf(r);
    const more: Record<string, SuiteFigure[]> = {};
    const add = (name: string, pick: (s: ServerSummary) => Summary | undefined): void => {
      more[name] = r.servers.map((s) => figureOf(s.server, s.title, pick(s) ?? none));
    };
    if (r.latency) {
      add('p50 round trip µs', (s) => s.p50us);
      add('round trips/s', (s) => s.framesPerSec);
    } else if (r.gc) {
      add('frames/s while recording', (s) => s.framesPerSec);
      add('scavenges per M frames', (s) => s.gc?.scavengesPerMillion);
      add('mark-compacts per M frames', (s) => s.gc?.markCompactsPerMillion);
      add('GC ms per M frames', (s) => s.gc?.gcMsPerMillion);
      add('heap growth B per M frames', (s) => s.gc?.heapGrowthPerMillion);
    } else {
      if (r.id === 'E3') add('frames/s', (s) => s.framesPerSec);
      else add('MB/s', (s) => s.mbPerSec);
      add('frames per server CPU-s', (s) => s.framesPerCpuSecond);
    }
    add('server CPU share', (s) => s.serverCpu);
    add('other work on CPU 0 share', (s) => s.otherOnServerCpu);
    return {
      id: r.id,
      title: r.title,
      figure: main.name,
      higherIsBetter: !r.latency && !r.gc,
      servers: r.servers.map((s) => figureOf(s.server, s.title, main.pick(s))),
      more,
      ratios: Object.entries(r.ratios).map(([name, value]) => ratio(r.id, name, value)),
      loadAverage: r.loadAverage,
    };
  });
}

function idleScenario(idle: IdleResults): SuiteScenario {
  const per = (pick: (h: IdleResults['holders'][number]) => Summary): SuiteFigure[] =>
    idle.holders.map((h) => figureOf(h.mode, h.title, pick(h)));
  return {
    id: 'M1',
    title: `${idle.settings.conns.toLocaleString('en')} idle connections`,
    figure: 'JS heap bytes per connection',
    higherIsBetter: false,
    servers: per((h) => h.heapPerConn),
    more: {
      'RSS bytes per connection': per((h) => h.rssPerConn),
      'pooled bytes leased': per((h) => h.leasedBytes),
    },
    ratios: Object.entries(idle.ratios).map(([name, value]) => ratio('M1', name, value)),
    loadAverage: idle.loadAverage,
  };
}

function codecScenarios(codecs: CodecResults): SuiteScenario[] {
  const scenarios: SuiteScenario[] = [];
  const sizes = [...new Set(codecs.results.map((r) => r.size))].sort((a, b) => a - b);
  for (const op of ['decode', 'encode'] as const) {
    for (const size of sizes) {
      const cases = codecs.results.filter((r) => r.op === op && r.size === size);
      if (cases.length === 0) continue;
      scenarios.push({
        id: 'C1',
        title: `${op}, ${sizeLabel(size)} frames`,
        figure: 'MB/s',
        higherIsBetter: true,
        servers: cases.map((c) =>
          figureOf(c.subject, c.title, {
            median: c.mbPerSec,
            min: c.mbPerSecRange[0],
            max: c.mbPerSecRange[1],
            runs: c.rounds,
          }),
        ),
        more: {},
        ratios: codecs.ratios
          .filter((r) => r.op === op && r.size === size)
          .map((r) => ratio('C1', `${r.op} ${r.mai}/${r.baseline} ${sizeLabel(size)}`, r.ratio)),
      });
    }
  }
  return scenarios;
}

function targetResults(scenarios: readonly SuiteScenario[], asked: readonly string[]) {
  return TARGETS.filter((t) => asked.includes(t.scenario)).map((t): TargetResult => {
    const found = scenarios
      .filter((s) => s.id === t.scenario)
      .flatMap((s) => s.ratios)
      .find((r) => r.name === t.ratio);
    const value = found !== undefined && Number.isFinite(found.value) ? found.value : null;
    return {
      scenario: t.scenario,
      figure: t.figure,
      ratio: t.ratio,
      target: boundText(t),
      measured: value,
      met: value === null ? null : (meets(t, value) ?? null),
    };
  });
}

function loadgenChecks(echo: EchoResults): LoadgenCheck[] {
  const checks: LoadgenCheck[] = [];
  for (const r of echo.scenarios) {
    if (r.latency || r.gc) continue;
    const c = r.servers.find((s) => s.server === 'c-echo');
    const mai = r.servers.find((s) => s.server === 'mai');
    const raw = r.servers.find((s) => s.server === 'raw');
    const node = r.servers
      .filter((s) => s.server !== 'c-echo')
      .sort((a, b) => b.framesPerSec.median - a.framesPerSec.median)[0];
    if (c === undefined || node === undefined) continue;
    checks.push({
      scenario: r.id,
      cEcho: c.framesPerSec.median,
      fastestNode: { server: node.server, framesPerSec: node.framesPerSec.median },
      headroom: c.framesPerSec.median / node.framesPerSec.median,
      rawOverMai:
        (raw?.framesPerSec.median ?? Number.NaN) / (mai?.framesPerSec.median ?? Number.NaN),
      loadgenCpuWithMai: mai?.loadgenCpu.median ?? Number.NaN,
    });
  }
  return checks;
}

function gitState(): SuiteResults['git'] {
  const git = (...args: string[]): string => {
    const out = spawnSync('git', args, { cwd: ROOT, encoding: 'utf8', timeout: 10_000 });
    return out.status === 0 ? out.stdout.trim() : '';
  };
  const changes = git(
    'status',
    '--porcelain',
    '--untracked-files=no',
    '--',
    '.',
    ':(exclude)bench/results',
  );
  const source = sourceState(ROOT);
  const lines = changes === '' ? [] : changes.split('\n');
  return {
    commit: source.commit,
    dirty: lines.length > 0,
    changes: lines,
    srcChanges: source.uncommitted,
  };
}

// ---- Markdown ----------------------------------------------------------------------------------

const SERVER_COLUMNS = [
  ['mai', 'mai'],
  ['hand', 'hand-written'],
  ['naive', 'naive'],
  ['split2', 'split2'],
  ['raw', 'raw bytes'],
  ['c-echo', 'C echo (loadgen check)'],
] as const;

function cell(figures: readonly SuiteFigure[], server: string, f: (v: number) => string): string {
  const found = figures.find((x) => x.server === server);
  return found === undefined ? '—' : summaryText(found, f);
}

const whole = (v: number): string => Math.round(v).toLocaleString('en');
const us = (v: number): string => (v >= 1000 ? whole(v) : v.toFixed(1));
/** MB/s: whole numbers from 100 up, three significant digits below. */
const mbps = (v: number): string => (v >= 100 ? whole(v) : v.toPrecision(3));

function endToEndTable(scenarios: readonly SuiteScenario[]): string {
  const rows: string[][] = [];
  for (const s of scenarios.filter((x) => x.id.startsWith('E'))) {
    const format = s.figure === 'MB/s' ? whole : human;
    if (s.id === 'E4') {
      const p50 = s.more['p50 round trip µs'] ?? [];
      rows.push([`E4 p50 µs`, ...SERVER_COLUMNS.map(([id]) => cell(p50, id, us))]);
      rows.push([`E4 p99 µs`, ...SERVER_COLUMNS.map(([id]) => cell(s.servers, id, us))]);
      continue;
    }
    rows.push([
      `${s.id} ${s.figure}`,
      ...SERVER_COLUMNS.map(([id]) => cell(s.servers, id, format)),
    ]);
  }
  return markdownTable(['scenario', ...SERVER_COLUMNS.map(([, name]) => name)], rows);
}

function memoryTables(scenarios: readonly SuiteScenario[]): string[] {
  const parts: string[] = [];
  const m1 = scenarios.find((s) => s.id === 'M1');
  if (m1 !== undefined) {
    parts.push(
      `### M1: ${m1.title}`,
      '',
      markdownTable(
        ['holder', 'JS heap B per connection', 'RSS B per connection', 'pooled bytes leased'],
        m1.servers.map((f) => [
          f.title,
          summaryText(f, whole),
          cell(m1.more['RSS bytes per connection'] ?? [], f.server, whole),
          cell(m1.more['pooled bytes leased'] ?? [], f.server, whole),
        ]),
      ),
      '',
    );
  }
  const m2 = scenarios.find((s) => s.id === 'M2');
  if (m2 !== undefined) {
    const more = (name: string, server: string, f: (v: number) => string): string =>
      cell(m2.more[name] ?? [], server, f);
    parts.push(
      `### M2: ${m2.title}`,
      '',
      markdownTable(
        [
          'server',
          'V8 heap B per frame',
          'scavenges per M frames',
          'mark-compacts per M frames',
          'GC ms per M frames',
          'heap growth per M frames (after full GC)',
          'frames/s while recording',
        ],
        m2.servers.map((f) => [
          f.title,
          summaryText(f, (v) => v.toFixed(1)),
          more('scavenges per M frames', f.server, (v) => v.toFixed(1)),
          more('mark-compacts per M frames', f.server, (v) => v.toFixed(2)),
          more('GC ms per M frames', f.server, (v) => v.toFixed(1)),
          more('heap growth B per M frames', f.server, (v) => `${whole(v)} B`),
          more('frames/s while recording', f.server, human),
        ]),
      ),
      '',
    );
  }
  return parts;
}

const C1_COLUMNS = [
  ['lp-varint', 'mai lp varint'],
  ['it-lp', 'it-length-prefixed'],
  ['lps', 'length-prefixed-stream'],
  ['lp-u32', 'mai lp u32'],
  ['lines', 'mai lines (str)'],
  ['split2', 'split2'],
  ['resp', 'mai RESP'],
  ['redis-parser', 'redis-parser'],
] as const;

function codecTable(scenarios: readonly SuiteScenario[], op: 'decode' | 'encode'): string {
  const rows = scenarios
    .filter((s) => s.id === 'C1' && s.title.startsWith(op))
    .map((s) => [
      s.title.replace(`${op}, `, '').replace(' frames', ''),
      ...C1_COLUMNS.map(([id]) => cell(s.servers, id, mbps)),
    ]);
  return markdownTable(['frame', ...C1_COLUMNS.map(([, name]) => name)], rows);
}

function markdown(results: SuiteResults, chartFile: string): string {
  const { machine, git } = results;
  const load = (l: readonly number[]): string => l.map((v) => v.toFixed(2)).join(' / ');
  const targets = results.targets.map((t) => [
    t.scenario,
    t.figure,
    t.measured === null ? 'n/a' : t.scenario === 'M1' ? whole(t.measured) : t.measured.toFixed(2),
    t.target,
    t.met === null ? 'not measured' : t.met ? 'met' : '**missed**',
  ]);
  const missed = results.targets.filter((t) => t.met === false).length;
  const parts = [
    `# Benchmark suite${results.quick ? ' (quick)' : ''}`,
    '',
    `- When: ${results.timestamp} to ${results.finished} (${Math.round(results.durationSeconds)} s)`,
    `- Machine: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node} (V8 ${machine.v8}), Linux ${machine.kernel}`,
    `- Load average (1 / 5 / 15 min): ${load(results.loadAverage.start)} at the start, ${load(results.loadAverage.end)} at the end. The machine is shared: other work competes for both cores, and figures move from run to run; compare ratios within one run.`,
    `- Code: commit ${git.commit.slice(0, 12)}${git.dirty ? ` with uncommitted changes (${git.changes.length} file(s))` : ', clean tree'}`,
    results.placement === null
      ? '- Placement: n/a (no end-to-end scenario ran)'
      : `- Placement: server ${results.placement.server}; load generator ${results.placement.loadgen}; ${results.placement.note}`,
    `- Command: \`${results.command}\`; details in ${results.details.map((d) => `\`${d}\``).join(', ')}`,
    '',
    `![mai beside its baselines](${chartFile})`,
    '',
    `## Targets (PERFORMANCE.md): ${missed === 0 ? 'none missed' : `${missed} missed`}`,
    '',
    markdownTable(['scenario', 'figure', 'value', 'target', 'result'], targets),
    '',
  ];
  if (results.scenarios.some((s) => s.id.startsWith('E'))) {
    parts.push(
      '## End to end (E1–E5): median (min–max) of the runs',
      '',
      endToEndTable(results.scenarios),
      '',
    );
  }
  if (results.loadgenCheck.length > 0) {
    parts.push(
      '### Load generator check',
      '',
      markdownTable(
        [
          'scenario',
          'C echo frames/s',
          'fastest Node server',
          'headroom (C echo ÷ fastest)',
          'raw ÷ mai',
          'loadgen CPU with mai',
          'could the load side be the limit?',
        ],
        results.loadgenCheck.map((c) => [
          c.scenario,
          human(c.cEcho),
          `${c.fastestNode.server} ${human(c.fastestNode.framesPerSec)}`,
          `${c.headroom.toFixed(2)}×`,
          `${c.rawOverMai.toFixed(2)}×`,
          `${(c.loadgenCpuWithMai * 100).toFixed(0)}%`,
          c.headroom >= HEADROOM ? 'no' : '**possibly**',
        ]),
      ),
      '',
      `The load generator drives the C echo server (no framing, no JavaScript) as hard as it can: when that is less than ${HEADROOM}× the fastest Node server, the load side (its core shared with other work) may have capped the figures of that scenario.`,
      '',
    );
  }
  if (results.scenarios.some((s) => s.id === 'M1' || s.id === 'M2')) {
    parts.push('## Memory (M1, M2)', '', ...memoryTables(results.scenarios));
  }
  if (results.scenarios.some((s) => s.id === 'C1')) {
    parts.push(
      '## Codecs (C1): MB/s, median of the rounds (slowest–fastest round)',
      '',
      'Decode:',
      '',
      codecTable(results.scenarios, 'decode'),
      '',
      'Encode (packages with an encoder):',
      '',
      codecTable(results.scenarios, 'encode'),
      '',
    );
  }
  if (results.failures.length > 0) {
    parts.push('## Failures', '', ...results.failures.map((f) => `- ${f}`), '');
  }
  return parts.join('\n');
}

// ---- Chart -------------------------------------------------------------------------------------

const SERIES: readonly Series[] = [
  { id: 'mai', name: 'mai', color: '#e8590c' },
  { id: 'hand', name: 'hand-written', color: '#1971c2' },
  { id: 'naive', name: 'naive', color: '#adb5bd' },
  { id: 'split2', name: 'split2', color: '#7048e8' },
  { id: 'raw', name: 'raw bytes (ceiling)', color: '#2f9e44' },
  { id: 'it-lp', name: 'it-length-prefixed', color: '#f08c00' },
  { id: 'lps', name: 'length-prefixed-stream', color: '#0c8599' },
  { id: 'bare', name: 'bare net.Socket', color: '#495057' },
];

/** Bars of `servers` (those present), relative to `reference`. */
function bars(
  figures: readonly SuiteFigure[],
  servers: readonly string[],
  reference: string,
  label: (v: number) => string,
  series: (server: string) => string = (server) => server,
): Bar[] {
  const base = figures.find((f) => f.server === reference)?.median ?? Number.NaN;
  return servers.flatMap((server) => {
    const f = figures.find((x) => x.server === server);
    if (f === undefined) return [];
    return [{ series: series(server), relative: f.median / base, label: label(f.median) }];
  });
}

/** A ratio target as a level of the chart, where 1× is the ratio's baseline. */
function targetLevel(scenario: string, name: string): Group['target'] {
  const t = targetFor(scenario, name);
  return t === undefined ? undefined : { level: t.limit, text: `mai ${boundText(t)}×` };
}

function chartPanels(scenarios: readonly SuiteScenario[]): Panel[] {
  const panels: Panel[] = [];
  const endToEnd: Group[] = [];
  for (const s of scenarios.filter((x) => x.id.startsWith('E'))) {
    const lines = s.id === 'E5';
    const reference = lines ? 'split2' : 'hand';
    const servers = lines ? ['mai', 'split2', 'raw'] : ['mai', 'hand', 'naive', 'raw'];
    const latency = s.id === 'E4';
    const figures = latency ? (s.more['round trips/s'] ?? []) : s.servers;
    const size = lines ? `${s.title.match(/\d+ B/)?.[0] ?? ''} lines` : /^[^,]*/.exec(s.title)?.[0];
    const target = lines
      ? targetLevel('E5', 'mai/split2')
      : latency
        ? undefined
        : targetLevel(s.id, 'mai/hand');
    endToEnd.push({
      title: `${s.id} · ${latency ? '1 in flight' : size}`,
      subtitle: latency ? 'round trips/s' : s.figure,
      bars: bars(figures, servers, reference, s.figure === 'MB/s' ? whole : human),
      target,
    });
  }
  if (endToEnd.length > 0) {
    panels.push({
      title: 'End to end: mai beside its baselines (higher is better)',
      axis: '1× = the hand-written server (E5: split2, the lines baseline); bars labelled with the absolute figure',
      groups: endToEnd,
    });
  }
  const decode = scenarios.filter((s) => s.id === 'C1' && s.title.startsWith('decode'));
  if (decode.length > 0) {
    panels.push({
      title: 'C1 codec decode, same wire format (varint length): MB/s (higher is better)',
      axis: '1× = it-length-prefixed; at 64 KiB and 1 MiB the packages hand out views of the input, mai copies',
      groups: decode.map((s) => ({
        title: `C1 · ${s.title.replace('decode, ', '').replace(' frames', '')}`,
        subtitle: 'decode MB/s',
        bars: bars(s.servers, ['lp-varint', 'it-lp', 'lps'], 'it-lp', mbps, (id) =>
          id === 'lp-varint' ? 'mai' : id,
        ),
        target: targetLevel(
          'C1',
          `decode lp-varint/it-lp ${s.title.replace('decode, ', '').replace(' frames', '')}`,
        ),
      })),
    });
  }
  const memory: Group[] = [];
  const m1 = scenarios.find((s) => s.id === 'M1');
  if (m1 !== undefined) {
    const bare = m1.servers.find((f) => f.server === 'bare')?.median ?? Number.NaN;
    const heapTarget = targetFor('M1', 'heap above bare');
    memory.push({
      title: 'M1 · JS heap',
      subtitle: 'bytes per idle connection',
      bars: bars(m1.servers, ['bare', 'mai'], 'bare', whole),
      target: heapTarget && {
        level: (bare + heapTarget.limit) / bare,
        text: `mai ≤ bare + ${heapTarget.limit} B`,
      },
    });
    memory.push({
      title: 'M1 · RSS',
      subtitle: 'bytes per idle connection',
      bars: bars(m1.more['RSS bytes per connection'] ?? [], ['bare', 'mai'], 'bare', whole),
    });
  }
  const m2 = scenarios.find((s) => s.id === 'M2');
  if (m2 !== undefined) {
    memory.push({
      title: 'M2 · allocation',
      subtitle: 'V8 heap bytes per frame (E1)',
      bars: bars(m2.servers, ['mai', 'hand'], 'hand', whole),
    });
    memory.push({
      title: 'M2 · collections',
      subtitle: 'scavenges per M frames',
      bars: bars(m2.more['scavenges per M frames'] ?? [], ['mai', 'hand'], 'hand', whole),
    });
  }
  if (memory.length > 0) {
    panels.push({
      title: 'Memory: mai beside its baselines (lower is better)',
      axis: '1× = the bare net.Socket server (M1) or the hand-written server (M2)',
      groups: memory,
    });
  }
  return panels;
}

// ---- Main --------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options.render !== undefined) {
    render(options.render);
    return;
  }
  const started = new Date();
  const loadStart = loadavg().map((v) => Math.round(v * 100) / 100);
  const machine = machineInfo();
  const git = gitState();
  const progress = new ProgressLine();
  mkdirSync(RESULTS, { recursive: true });
  const logPath = join(RESULTS, 'latest.log');
  const logFd = openSync(logPath, 'w');
  const parts = PARTS.map((part) => ({
    part,
    scenarios: part.scenarios.filter((id) => options.scenarios.includes(id)),
  })).filter((p) => p.scenarios.length > 0);
  console.log(
    `mai benchmark suite${options.quick ? ' (quick)' : ''}: ${options.scenarios.join(', ')} on ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}; load average ${loadStart.join(' / ')}; output of the benchmarks in ${relative(ROOT, logPath)}`,
  );
  const outputs = new Map<Part['id'], unknown>();
  const failures: string[] = [];
  const settings: Record<string, unknown> = {};
  for (const [i, { part, scenarios }] of parts.entries()) {
    const args = part.args(options.quick, scenarios);
    settings[part.id] = `node build/bench/${part.entry} ${args.join(' ')}`.trim();
    const heading = `[${i + 1}/${parts.length} ${part.id}]`;
    progress.show(`${heading} starting`);
    try {
      outputs.set(part.id, await runPart(part, args, logFd, progress, heading));
    } catch (error) {
      failures.push(error instanceof Error ? error.message : String(error));
    }
  }
  closeSync(logFd);
  progress.done(`[done] ${parts.length} part(s), ${failures.length} failed`);

  const echo = outputs.get('echo') as EchoResults | undefined;
  const idle = outputs.get('idle') as IdleResults | undefined;
  const codecs = outputs.get('codecs') as CodecResults | undefined;
  const scenarios = [
    ...(echo === undefined ? [] : echoScenarios(echo)),
    ...(idle === undefined ? [] : [idleScenario(idle)]),
    ...(codecs === undefined ? [] : codecScenarios(codecs)),
  ];
  const partial = options.quick || options.scenarios.length < ALL_SCENARIOS.length;
  const base = partial ? 'latest-partial' : 'latest';
  // Where each benchmark wrote its own results (its -partial file for a quick or partial run).
  const detail = (part: Part['id']): string => {
    const all = PARTS.find((p) => p.id === part)?.scenarios ?? [];
    const subset = all.some((id) => !options.scenarios.includes(id));
    return `bench/results/${part}${options.quick || subset ? '-partial' : ''}.json`;
  };
  const finished = new Date();
  const results: SuiteResults = {
    suite: 'mai benchmarks (PERFORMANCE.md)',
    timestamp: started.toISOString(),
    finished: finished.toISOString(),
    durationSeconds: (finished.getTime() - started.getTime()) / 1000,
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    quick: options.quick,
    machine,
    loadAverage: { start: loadStart, end: loadavg().map((v) => Math.round(v * 100) / 100) },
    git,
    placement: echo?.placement ?? null,
    settings,
    scenarios,
    targets: targetResults(scenarios, options.scenarios),
    loadgenCheck: echo === undefined ? [] : loadgenChecks(echo),
    failures,
    details: [
      ...(echo === undefined ? [] : [detail('echo')]),
      ...(idle === undefined ? [] : [detail('idle')]),
      ...(codecs === undefined ? [] : [detail('codecs')]),
    ],
  };
  writeFileSync(join(RESULTS, `${base}.json`), `${JSON.stringify(results, null, 2)}\n`);
  writeReports(results, base);
  console.log(`\n${readFileSync(join(RESULTS, `${base}.md`), 'utf8')}`);
  console.log(
    `written: bench/results/${base}.json, ${base}.md, ${base}.svg in ${Math.round(results.durationSeconds)} s`,
  );
  if (failures.length > 0) process.exitCode = 1;
}

/** Writes bench/results/<base>.md and <base>.svg from the suite's results. */
function writeReports(results: SuiteResults, base: string): void {
  writeFileSync(join(RESULTS, `${base}.md`), markdown(results, `${base}.svg`));
  const { machine, git } = results;
  const title = `mai benchmarks${results.quick ? ' (quick)' : ''} — ${results.timestamp.slice(0, 16).replace('T', ' ')} UTC`;
  const notes = [
    `${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}; commit ${git.commit.slice(0, 10)}${git.dirty ? ' (uncommitted changes)' : ''}; load average ${results.loadAverage.start[0]?.toFixed(2)} at the start, on a shared machine`,
    'Each bar: the median of the runs; above it the absolute figure and the ratio to the reference (1×). Dashed red: the PERFORMANCE.md target.',
  ];
  writeFileSync(
    join(RESULTS, `${base}.svg`),
    barChart(title, notes, chartPanels(results.scenarios), SERIES),
  );
}

/**
 * `--render FILE`: the Markdown and the chart again from a saved run (after a change to how they
 * are drawn). Figures that were NaN (a failed run) are null in the JSON and read back as NaN.
 */
function render(file: string): void {
  const numeric = new Set(['median', 'min', 'max', 'value', 'before', 'after', 'headroom']);
  const results = JSON.parse(readFileSync(file, 'utf8'), (key, value: unknown) =>
    value === null && numeric.has(key) ? Number.NaN : value,
  ) as SuiteResults;
  const base = relative(RESULTS, file).replace(/\.json$/, '');
  writeReports(results, base);
  console.log(`written: bench/results/${base}.md, ${base}.svg`);
}

await main();
