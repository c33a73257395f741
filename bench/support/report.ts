import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';

/** The machine a result was measured on, recorded beside every figure. */
export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly node: string;
  readonly v8: string;
  readonly kernel: string;
  /** 1/5/15-minute load averages when the benchmark started: other work on a shared machine. */
  readonly loadAverage: readonly number[];
}

/**
 * Reads the CPU model from /proc/cpuinfo (falls back to "unknown" off Linux), the usable core
 * count, and the Node/V8/kernel versions.
 *
 * @example
 * ```ts
 * console.log(machineInfo().cpuModel); // "AMD EPYC"
 * ```
 */
export function machineInfo(): MachineInfo {
  let cpuModel = 'unknown';
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'latin1'));
    if (match?.[1] !== undefined) cpuModel = match[1].trim();
  } catch {
    // Not Linux: the model stays unknown.
  }
  return {
    cpuModel,
    // All online CPUs, not this process's affinity (the benchmark may have pinned itself).
    cores: cpus().length,
    node: process.version,
    v8: process.versions.v8,
    kernel: release(),
    loadAverage: loadavg().map((v) => Math.round(v * 100) / 100),
  };
}

/** Median and range of a few runs. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: readonly number[];
}

/**
 * Median (mean of the middle two for an even count), min and max.
 *
 * @example
 * ```ts
 * summarize([3, 1, 2]); // { median: 2, min: 1, max: 3, runs: [3, 1, 2] }
 * ```
 */
export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, runs: [] };
  const mid = n >> 1;
  const median =
    n % 2 === 1
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[n - 1] as number, runs: values };
}

/**
 * A summary for a table: the median, with min–max beside it when there were several runs.
 *
 * @example
 * ```ts
 * summaryText(summarize([3, 1, 2]), String); // "2 (1–3)"
 * ```
 */
export function summaryText(summary: Summary, format: (value: number) => string): string {
  if (summary.runs.length === 0) return 'n/a';
  if (summary.runs.length === 1) return format(summary.median);
  return `${format(summary.median)} (${format(summary.min)}–${format(summary.max)})`;
}

/**
 * Formats a number for a table: 1.23 M, 456 k, 12.3.
 *
 * @example
 * ```ts
 * human(2_345_678); // "2.35 M"
 * ```
 */
export function human(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${(value / 1e6).toFixed(2)} M`;
  if (abs >= 1e4) return `${(value / 1e3).toFixed(0)} k`;
  if (abs >= 1e3) return `${(value / 1e3).toFixed(1)} k`;
  if (abs >= 100) return value.toFixed(0);
  return value.toFixed(abs >= 10 ? 1 : 2);
}

/**
 * A byte size as the benchmarks label it: 5 B, 64 KiB, 1 MiB.
 *
 * @example
 * ```ts
 * sizeLabel(65536); // "64 KiB"
 * ```
 */
export function sizeLabel(size: number): string {
  if (size >= 1024 * 1024) return `${size / (1024 * 1024)} MiB`;
  return size >= 1024 ? `${size / 1024} KiB` : `${size} B`;
}

/**
 * A Markdown table from a header row and body rows.
 *
 * @example
 * ```ts
 * markdownTable(['a', 'b'], [['1', '2']]);
 * ```
 */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Which code was measured: the commit, and the files under src/ that differ from it. */
export interface SourceState {
  readonly commit: string;
  /** `git status --porcelain -- src` lines: work in progress the figures include. */
  readonly uncommitted: readonly string[];
}

/**
 * The git commit and uncommitted src/ changes of the tree at `root` (others edit it while the
 * benchmarks run, so the figures say what they measured).
 *
 * @example
 * ```ts
 * sourceState('/work/main').commit; // "8248f85…"
 * ```
 */
export function sourceState(root: string): SourceState {
  const git = (...args: string[]): string => {
    const result = spawnSync('git', args, { cwd: root, encoding: 'utf8', timeout: 10_000 });
    return result.status === 0 ? result.stdout.trim() : '';
  };
  const status = git('status', '--porcelain', '--', 'src');
  return {
    commit: git('rev-parse', 'HEAD') || 'unknown',
    uncommitted: status === '' ? [] : status.split('\n'),
  };
}

/**
 * A Markdown bullet saying which code was measured.
 *
 * @example
 * ```ts
 * sourceLine(sourceState(root)); // "- Code: commit 8248f85…, uncommitted src/ changes: none"
 * ```
 */
export function sourceLine(state: SourceState): string {
  const added = state.uncommitted.filter((line) => line.startsWith('??')).length;
  const changed = state.uncommitted
    .filter((line) => !line.startsWith('??'))
    .map((line) => `\`${line.trim()}\``);
  const parts = [...changed, ...(added > 0 ? [`${added} new file(s) or folder(s)`] : [])];
  return `- Code: commit ${state.commit.slice(0, 12)}; uncommitted src/ changes included: ${parts.length === 0 ? 'none' : parts.join(', ')}`;
}
