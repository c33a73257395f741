/**
 * The targets of PERFORMANCE.md, in one place: each is a bound on one ratio (or figure) of one
 * scenario, as the benchmarks name them in their results.
 */

/** One target: `ratio` of `scenario` must be `bound` `limit`. */
export interface Target {
  readonly scenario: string;
  /** The ratio's name in the scenario's results, e.g. `mai/hand`, `p99 mai/hand`. */
  readonly ratio: string;
  readonly bound: '≥' | '≤';
  readonly limit: number;
  /** What the figure is, for a person. */
  readonly figure: string;
}

const C1_SIZES = ['5 B', '125 B', '64 KiB', '1 MiB'] as const;
const C1_PACKAGES = [
  ['it-lp', 'it-length-prefixed'],
  ['lps', 'length-prefixed-stream'],
] as const;

/**
 * Every target of PERFORMANCE.md but R1 (the RESP example has its own benchmark, bench/resp.ts).
 * C1 compares mai's length-prefixed codec with a varint length, the packages' own wire format.
 */
export const TARGETS: readonly Target[] = [
  {
    scenario: 'E1',
    ratio: 'mai/hand',
    bound: '≥',
    limit: 1,
    figure: 'frames/s mai / hand-written',
  },
  { scenario: 'E1', ratio: 'mai/naive', bound: '≥', limit: 10, figure: 'frames/s mai / naive' },
  {
    scenario: 'E2',
    ratio: 'mai/hand',
    bound: '≥',
    limit: 1,
    figure: 'frames/s mai / hand-written',
  },
  { scenario: 'E3', ratio: 'mai/hand', bound: '≥', limit: 1, figure: 'MB/s mai / hand-written' },
  { scenario: 'E3', ratio: 'mai/raw', bound: '≥', limit: 0.85, figure: 'MB/s mai / raw bytes' },
  {
    scenario: 'E4',
    ratio: 'p99 mai/hand',
    bound: '≤',
    limit: 1.1,
    figure: 'p99 round trip mai / hand-written',
  },
  // The same bounds for mai with borrowed frames (`borrow: true`), an opt-in mode: see
  // docs/performance.md for why both are reported.
  ...(['E1', 'E2', 'E3'] as const).map(
    (scenario): Target => ({
      scenario,
      ratio: 'mai-borrow/hand',
      bound: '≥',
      limit: 1,
      figure: `${scenario === 'E3' ? 'MB/s' : 'frames/s'} mai (borrowed frames) / hand-written`,
    }),
  ),
  {
    scenario: 'E3',
    ratio: 'mai-borrow/raw',
    bound: '≥',
    limit: 0.85,
    figure: 'MB/s mai (borrowed frames) / raw bytes',
  },
  {
    scenario: 'E4',
    ratio: 'p99 mai-borrow/hand',
    bound: '≤',
    limit: 1.1,
    figure: 'p99 round trip mai (borrowed frames) / hand-written',
  },
  { scenario: 'E5', ratio: 'mai/split2', bound: '≥', limit: 2, figure: 'lines/s mai / split2' },
  {
    scenario: 'E5',
    ratio: 'mai-borrow/split2',
    bound: '≥',
    limit: 2,
    figure: 'lines/s mai (Buffer lines, borrowed) / split2',
  },
  {
    scenario: 'M1',
    ratio: 'heap above bare',
    bound: '≤',
    limit: 2048,
    figure: 'JS heap bytes per idle connection above a bare net.Socket',
  },
  {
    scenario: 'M1',
    ratio: 'pooled bytes leased',
    bound: '≤',
    limit: 0,
    figure: 'pooled bytes leased by 10,000 idle connections',
  },
  ...C1_SIZES.flatMap((size) =>
    C1_PACKAGES.map(
      ([id, name]): Target => ({
        scenario: 'C1',
        ratio: c1RatioName('lp-varint', id, 'decode', size),
        bound: '≥',
        limit: 5,
        figure: `decode MB/s at ${size}, mai (varint length) / ${name}`,
      }),
    ),
  ),
];

/**
 * How a C1 ratio is named, in targets and in bench/codecs.ts results.
 *
 * @example
 * ```ts
 * c1RatioName('lp-varint', 'it-lp', 'decode', '5 B'); // "decode lp-varint/it-lp 5 B"
 * ```
 */
export function c1RatioName(mai: string, baseline: string, op: string, size: string): string {
  return `${op} ${mai}/${baseline} ${size}`;
}

/**
 * The target a ratio is held to, if any.
 *
 * @example
 * ```ts
 * targetFor('E5', 'mai/split2')?.limit; // 2
 * ```
 */
export function targetFor(scenario: string, ratio: string): Target | undefined {
  return TARGETS.find((t) => t.scenario === scenario && t.ratio === ratio);
}

/**
 * `≥ 2`, `≤ 1.10`, `≤ 2048`.
 *
 * @example
 * ```ts
 * boundText(targetFor('E4', 'p99 mai/hand')); // "≤ 1.10"
 * ```
 */
export function boundText(target: Target | undefined): string {
  if (target === undefined) return '';
  const limit = Number.isInteger(target.limit) ? String(target.limit) : target.limit.toFixed(2);
  return `${target.bound} ${limit}`;
}

/**
 * Whether `value` meets `target`: true, false, or undefined when there is no target or no value.
 *
 * @example
 * ```ts
 * meets(targetFor('E1', 'mai/naive'), 20.8); // true
 * ```
 */
export function meets(target: Target | undefined, value: number): boolean | undefined {
  if (target === undefined || !Number.isFinite(value)) return undefined;
  return target.bound === '≥' ? value >= target.limit : value <= target.limit;
}

/**
 * "yes", "no" or "" for a Markdown table.
 *
 * @example
 * ```ts
 * metText(meets(targetFor('E1', 'mai/hand'), 0.7)); // "no"
 * ```
 */
export function metText(met: boolean | undefined): string {
  return met === undefined ? '' : met ? 'yes' : 'no';
}
