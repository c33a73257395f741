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
import { type ChildProcess, fork } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CodecResults } from './codecs.js';
import type { EchoResults } from './echo.js';
import type { IdleResults } from './idle.js';
import { RESULTS, ROOT } from './support/processes.js';
import type { ToSuite } from './support/progress.js';
import { machineInfo } from './support/report.js';
import {
  codecScenarios,
  echoScenarios,
  gitState,
  idleScenario,
  loadgenChecks,
  type SuiteResults,
  targetResults,
} from './support/suite-results.js';
import { writeReports } from './support/suite-report.js';

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
