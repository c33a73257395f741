/**
 * How a benchmark tells bench/run.ts (which forks it) how far it is and what it found. When the
 * benchmark runs on its own (no IPC channel), these do nothing.
 */

/**
 * A message from a benchmark to bench/run.ts.
 *
 * @example
 * ```ts
 * child.on('message', (m: ToSuite) => { if (m.type === 'progress') show(m.label); });
 * ```
 */
export type ToSuite =
  | { type: 'progress'; done: number; total: number; label: string }
  | { type: 'result'; result: unknown };

/**
 * Reports that `done` of `total` steps are finished and what runs now.
 *
 * @example
 * ```ts
 * reportProgress(3, 26, 'E1 run 1/3 naive');
 * ```
 */
export function reportProgress(done: number, total: number, label: string): void {
  if (process.send === undefined || !process.connected) return;
  process.send({ type: 'progress', done, total, label } satisfies ToSuite);
}

/**
 * Hands the benchmark's JSON result to bench/run.ts; resolves once it is sent.
 *
 * @example
 * ```ts
 * await reportResult(json);
 * ```
 */
export function reportResult(result: unknown): Promise<void> {
  const send = process.send?.bind(process);
  if (send === undefined || !process.connected) return Promise.resolve();
  return new Promise((resolve) => {
    send({ type: 'result', result } satisfies ToSuite, undefined, undefined, () => resolve());
  });
}
