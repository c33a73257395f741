import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * The compiled server entry, as `npm start` runs it.
 *
 * @example
 * ```ts
 * spawn(process.execPath, [KV_SERVER_ENTRY, '--port', '0']);
 * ```
 */
export const KV_SERVER_ENTRY = fileURLToPath(
  new URL('../../examples/kv/server.js', import.meta.url),
);

/**
 * A KV server running as a child process.
 *
 * @example
 * ```ts
 * const kv: KvProcess = await startKvProcess(['--port', '0']);
 * await kv.stop();
 * ```
 */
export interface KvProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** Everything it printed so far. */
  output(): string;
  /** SIGTERM, then waits for exit (SIGKILL after `graceMs`); resolves with exit code and signal. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Spawns `build/examples/kv/server.js --port 0 [...args]` and waits for its banner, which names
 * the port it bound.
 *
 * @example
 * ```ts
 * const kv = await startKvProcess();
 * t.after(() => kv.stop());
 * ```
 */
export async function startKvProcess(
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<KvProcess> {
  const child = spawn(process.execPath, [KV_SERVER_ENTRY, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const stop = async (graceMs = 5000) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    }
    return exited;
  };
  const deadline = Date.now() + 10_000;
  for (let i = 0; i < 500; i++) {
    const match = /listening on [^:\s]+:(\d+)/.exec(output);
    if (match !== null) {
      return { child, port: Number(match[1]), output: () => output, stop };
    }
    if (child.exitCode !== null || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await stop();
  throw new Error(`the KV server did not start:\n${output}`);
}
