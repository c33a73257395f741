/**
 * The figures of the rows of RELIABILITY.md (the load rows in test/reliability, and B2, H1, H2
 * in test/codec): the PR column by default, the long column with `MAI_RELIABILITY=long` (what
 * `npm run test:long` sets, and all it sets). Single figures can be overridden for a
 * measurement run, e.g. `MAI_A1_CONNS=2000`.
 */

/** True when the long figures of RELIABILITY.md are asked for. */
export const LONG = process.env.MAI_RELIABILITY === 'long';

/**
 * A figure: `MAI_<name>` if set, else the long or PR value.
 *
 * @example
 * ```ts
 * const conns = figure('A1_CONNS', 10_000, 18_000);
 * ```
 */
export function figure(name: string, pr: number, long: number): number {
  const raw = process.env[`MAI_${name}`];
  if (raw !== undefined && raw !== '') {
    const value = Number(raw);
    if (Number.isSafeInteger(value) && value > 0) return value;
    throw new Error(`MAI_${name} must be a positive integer, got ${raw}`);
  }
  return LONG ? long : pr;
}

/**
 * B2: runs of the encode → random chunking → decode property (which also checks B3's encode
 * safety) for each codec configuration the codec tests set up: 20,000 in a PR, 5,000,000 long.
 * `MAI_PROPERTY_RUNS` overrides it.
 */
export const PROPERTY_RUNS = figure('PROPERTY_RUNS', 20_000, 5_000_000);

/** A seed: `MAI_SEED` if set (to replay a failure), else a fresh one. Printed by the caller. */
export function testSeed(): number {
  const raw = process.env.MAI_SEED;
  if (raw !== undefined && raw !== '') return Number(raw) >>> 0;
  return (Math.random() * 2 ** 32) >>> 0;
}
