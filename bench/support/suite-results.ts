/**
 * The suite's results (bench/results/latest.json): the JSON the echo, idle and codec benchmarks
 * hand to bench/run.ts, turned into one list of scenarios, each with every server's median /
 * min / max / runs and its ratios judged against PERFORMANCE.md's targets.
 */
import { spawnSync } from 'node:child_process';
import type { CodecResults } from '../codecs.js';
import type { EchoResults, ScenarioResult, ServerSummary } from '../echo.js';
import type { IdleResults } from '../idle.js';
import { ROOT } from './processes.js';
import {
  type MachineInfo,
  type SourceState,
  type Summary,
  sizeLabel,
  sourceState,
} from './report.js';
import { boundText, meets, TARGETS, targetFor } from './targets.js';
/** One server's figure in a scenario. */
export interface SuiteFigure {
  readonly server: string;
  readonly title: string;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: readonly number[];
}

/** A ratio of a scenario and the target it is held to. */
export interface SuiteRatio {
  readonly name: string;
  readonly value: number;
  readonly target?: string;
  readonly met?: boolean;
}

/** One scenario (C1: one operation at one frame size) as latest.json holds it. */
export interface SuiteScenario {
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
export interface TargetResult {
  readonly scenario: string;
  readonly figure: string;
  readonly ratio: string;
  readonly target: string;
  readonly measured: number | null;
  /** null: not measured in this run (or the run failed). */
  readonly met: boolean | null;
}

/** C echo ÷ fastest Node server below which the load side may be what limits a scenario. */
export const HEADROOM = 1.5;

/** Per throughput scenario: is the load generator, not the server, the limit? */
export interface LoadgenCheck {
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

export interface SuiteResults {
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

/**
 * E1–E5 and M2 from bench/echo.ts: the main figure (frames/s, MB/s for E3, p99 for E4, heap bytes
 * per frame for M2) and the others under `more`.
 *
 * @example
 * ```ts
 * const scenarios = echoScenarios(echoJson);
 * ```
 */
export function echoScenarios(echo: EchoResults): SuiteScenario[] {
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

/**
 * M1 from bench/idle.ts: JS heap per connection, RSS and leased bytes under `more`.
 *
 * @example
 * ```ts
 * const m1 = idleScenario(idleJson);
 * ```
 */
export function idleScenario(idle: IdleResults): SuiteScenario {
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

/**
 * C1 from bench/codecs.ts: one entry per operation and frame size, MB/s per codec or package.
 *
 * @example
 * ```ts
 * const c1 = codecScenarios(codecsJson); // "decode, 5 B frames", …
 * ```
 */
export function codecScenarios(codecs: CodecResults): SuiteScenario[] {
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

/**
 * Every PERFORMANCE.md target of the scenarios asked for, with the ratio measured (or null).
 *
 * @example
 * ```ts
 * targetResults(scenarios, ['E1', 'M1']).filter((t) => t.met === false);
 * ```
 */
export function targetResults(
  scenarios: readonly SuiteScenario[],
  asked: readonly string[],
): TargetResult[] {
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

/**
 * For each throughput scenario: the C echo server's frames/s beside the fastest Node server's,
 * and raw bytes beside mai.
 *
 * @example
 * ```ts
 * loadgenChecks(echoJson).filter((c) => c.headroom < HEADROOM);
 * ```
 */
export function loadgenChecks(echo: EchoResults): LoadgenCheck[] {
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

/**
 * The commit measured, and whether tracked files outside bench/results differ from it.
 *
 * @example
 * ```ts
 * gitState().dirty; // false on a clean tree
 * ```
 */
export function gitState(): SuiteResults['git'] {
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
