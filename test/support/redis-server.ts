import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A redis-server started for a test, on a loopback port of its own. */
/** The flags of a throwaway redis-server: loopback only, no persistence, no log file. */
export function redisServerArgs(port: number, dir: string): string[] {
  return [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--logfile',
    '',
  ];
}

export interface RedisServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** `redis-server --version`, e.g. `Redis server v=7.0.15 …`. */
  readonly version: string;
  /** Stops the server (SIGTERM, then SIGKILL after 3 s) and removes its directory. */
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  /** More command-line arguments, e.g. `['--rename-command', 'FLUSHALL', '']`. */
  args?: string[];
}

const INSTALL_HINT =
  'redis-server is required by this test and was not found on PATH: install it with ' +
  '`apt-get install -y redis-server redis-tools` (CI installs it in .ci/run)';

/**
 * Starts a real `redis-server` with no persistence on a free loopback port, and waits until it
 * answers PING. Throws (so the test fails, never skips) when redis-server is not installed.
 *
 * @example
 * ```ts
 * const redis = await startRedisServer();
 * t.after(() => redis.stop());
 * net.connect(redis.port, redis.host);
 * ```
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) {
    throw new Error(`${INSTALL_HINT} (${probe.error?.message ?? `exit ${probe.status}`})`);
  }
  const version = probe.stdout.trim();
  let lastError: unknown;
  // A free port can be taken between our probe and redis's bind: try a few.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'mai-redis-'));
    const child = spawn('redis-server', [...redisServerArgs(port, dir), ...(options.args ?? [])], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => {
      output = (output + d.toString()).slice(-4000);
    });
    child.stderr?.on('data', (d: Buffer) => {
      output = (output + d.toString()).slice(-4000);
    });
    const stop = () => stopChild(child, dir);
    try {
      await waitForPong(port, child, 5_000);
      return { host: '127.0.0.1', port, version, stop };
    } catch (error) {
      lastError = new Error(
        `redis-server did not start on port ${port}: ${String(error)}\n${output}`,
      );
      await stop();
    }
  }
  throw lastError;
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls with PING until +PONG, the child exits, or `timeoutMs` passes. */
async function waitForPong(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; attempt < 500 && Date.now() < deadline; attempt++) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`);
    if (await ping(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no PONG within ${timeoutMs} ms`);
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      reply += d.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

async function stopChild(child: ChildProcess, dir: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve();
      }, 3_000);
    });
    await Promise.race([exited, killed]);
    clearTimeout(timer);
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
}
