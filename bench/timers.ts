/**
 * Timeouts at 10,000 streams (issue 4: "all cheap with 10,000 streams").
 *
 *   node build/bench/timers.js [--conns 10000] [--seconds 10] [--runs 3]
 *
 * Two parts, both written to bench/results/timers.json and timers.md:
 *
 * 1. In process, with 10,000 timeouts pending: the cost of arming and cancelling one more, and
 *    of firing 10,000 due ones, for mai's TimerQueue (one timer wheel, one Node timer) beside
 *    Node's own timers (one `setTimeout` each, as `socket.setTimeout` does).
 * 2. End to end: a server (own process, CPU 0) holds `--conns` idle connections (opened by a
 *    holder process, CPU 1), each with a 1 s idle timeout that fires again every second. mai
 *    uses `idleTimeouts.read` (one watchdog entry per stream in the engine's timer wheel, next to its
 *    first-frame and partial-frame deadlines); the baseline is a bare `net` server with
 *    `socket.setTimeout(1000)`, re-armed in its `'timeout'` listener. Figure: server CPU per
 *    fired timeout and event-loop delay p99, median of `--runs`.
 */
import { fork, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { type Protocol, protocolEngine, RawCodec } from '../src/index.js';
import { TimerQueue } from '../src/engine/timers.js';
import {
  machineInfo,
  markdownTable,
  sourceLine,
  sourceState,
  summarize,
} from './support/report.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const RESULTS = join(ROOT, 'bench/results');

interface ServerReport {
  fired: number;
  cpuMs: number;
  seconds: number;
  loopDelayP99Ms: number;
}

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
}

// ---- Part 1: in process --------------------------------------------------------------------

interface MicroResult {
  kind: string;
  armCancelNs: number;
  fireNsEach: number;
}

function nowNs(): number {
  return Number(process.hrtime.bigint());
}

/** Arms and cancels `ops` timeouts with `pending` others waiting; then fires `pending` due ones. */
async function micro(kind: 'mai' | 'node', pending: number, ops: number): Promise<MicroResult> {
  let fired = 0;
  const onFire = (): void => {
    fired++;
  };
  const queue = new TimerQueue();
  const add = (ms: number): unknown =>
    kind === 'mai' ? queue.add(ms, onFire) : setTimeout(onFire, ms);
  const cancel = (handle: unknown): void => {
    if (kind === 'mai') queue.cancel(handle as number);
    else clearTimeout(handle as NodeJS.Timeout);
  };
  // Far deadlines, spread like streams opened over time.
  const background = Array.from({ length: pending }, (_, i) => add(60_000 + (i % 1000)));
  let started = nowNs();
  for (let i = 0; i < ops; i++) cancel(add(30_000 + (i % 5000)));
  const armCancelNs = (nowNs() - started) / ops;
  for (const handle of background) cancel(handle);
  // Due in 20 ms, all of them; time from the first firing to the last.
  const due = 20;
  for (let i = 0; i < pending; i++) add(due);
  started = nowNs();
  while (fired < pending) await new Promise((resolve) => setImmediate(resolve));
  const elapsed = nowNs() - started - due * 1e6;
  return { kind, armCancelNs, fireNsEach: Math.max(0, elapsed) / pending };
}

// ---- Part 2: end to end --------------------------------------------------------------------

async function serve(kind: 'mai' | 'node', conns: number, seconds: number): Promise<void> {
  let fired = 0;
  let opened = 0;
  let ready: () => void = () => {};
  const allOpen = new Promise<void>((resolve) => {
    ready = resolve;
  });
  const opening = (): void => {
    if (++opened === conns) ready();
  };
  let port: number;
  let stop: () => Promise<unknown>;
  if (kind === 'mai') {
    const engine = protocolEngine<Protocol<{ in: Buffer; timeout: string }>>({
      codec: () => new RawCodec(),
      handler: {
        onReady: opening,
        onFrame: () => {},
        onTimeout: () => {
          fired++;
        },
      },
      idleTimeouts: { read: { ms: 1000, value: 'idle' } },
    });
    const listener = await engine.listen({ port: 0, host: '127.0.0.1', backlog: 4096 });
    port = (listener.address as { port: number }).port;
    stop = () => engine.shutdown({ deadlineMs: 5000 });
  } else {
    const server = createServer((socket: Socket) => {
      socket.on('error', () => {});
      socket.setTimeout(1000);
      socket.on('timeout', () => {
        fired++;
        socket.setTimeout(1000);
      });
      opening();
    });
    await new Promise<void>((resolve) =>
      server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve),
    );
    port = (server.address() as { port: number }).port;
    stop = () =>
      new Promise((resolve) => {
        server.close(resolve);
        setImmediate(() => process.send?.('close-all'));
      });
  }
  process.send?.({ port });
  await allOpen;
  // Let the first round of timeouts spread out, then measure whole seconds.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const firedBefore = fired;
  const cpuBefore = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const cpu = process.cpuUsage(cpuBefore);
  delay.disable();
  const report: ServerReport = {
    fired: fired - firedBefore,
    cpuMs: (cpu.user + cpu.system) / 1000,
    seconds,
    loopDelayP99Ms: delay.percentile(99) / 1e6,
  };
  process.send?.({ report });
  await stop();
  process.exit(0);
}

async function hold(port: number, conns: number): Promise<void> {
  const sockets: Socket[] = [];
  for (let i = 0; i < conns; i += 500) {
    const batch = Array.from(
      { length: Math.min(500, conns - i) },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const socket = connect({ port, host: '127.0.0.1' }, () => resolve(socket));
          socket.once('error', reject);
        }),
    );
    sockets.push(...(await Promise.all(batch)));
  }
  for (const socket of sockets) socket.on('error', () => {});
  process.on('message', () => {
    for (const socket of sockets) socket.destroy();
    process.exit(0);
  });
}

/** Pins a process (all its threads) to one CPU where there are two and taskset is found. */
function pin(pid: number | undefined, cpu: number): void {
  if (pid === undefined || availableParallelism() < 2) return;
  spawnSync('taskset', ['-a', '-cp', String(cpu), String(pid)], { stdio: 'ignore' });
}

/** Runs one server and one holder, each in its own process (pinned where taskset is found). */
function endToEnd(kind: 'mai' | 'node', conns: number, seconds: number): Promise<ServerReport> {
  const spawnPinned = (cpu: number, args: string[]) => {
    const child = fork(SELF, args);
    pin(child.pid, cpu);
    return child;
  };
  const server = spawnPinned(0, ['serve', kind, String(conns), String(seconds)]);
  return new Promise((resolve, reject) => {
    let holder: ReturnType<typeof fork> | null = null;
    server.on('message', (message: { port?: number; report?: ServerReport } | string) => {
      if (message === 'close-all') {
        holder?.send('close');
      } else if (typeof message === 'object' && message.port !== undefined) {
        holder = spawnPinned(1, ['hold', String(message.port), String(conns)]);
      } else if (typeof message === 'object' && message.report !== undefined) {
        holder?.send('close');
        resolve(message.report);
      }
    });
    server.once('exit', (code) => {
      if (code !== 0) reject(new Error(`${kind} server exited with ${code}`));
    });
  });
}

async function main(): Promise<void> {
  const conns = option('conns', 10_000);
  const seconds = option('seconds', 10);
  const runs = option('runs', 3);
  const machine = machineInfo();
  const source = sourceState(ROOT);
  const microRows: MicroResult[][] = [];
  for (let run = 0; run < runs; run++) {
    microRows.push([await micro('mai', conns, 100_000), await micro('node', conns, 100_000)]);
  }
  const microSummary = (['mai', 'node'] as const).map((kind, k) => ({
    kind,
    armCancelNs: summarize(microRows.map((row) => (row[k] as MicroResult).armCancelNs)),
    fireNsEach: summarize(microRows.map((row) => (row[k] as MicroResult).fireNsEach)),
  }));
  const e2e: Record<'mai' | 'node', ServerReport[]> = { mai: [], node: [] };
  for (let run = 0; run < runs; run++) {
    for (const kind of run % 2 === 0 ? (['mai', 'node'] as const) : (['node', 'mai'] as const)) {
      process.stdout.write(`\rend to end: run ${run + 1}/${runs}, ${kind}…   `);
      e2e[kind].push(await endToEnd(kind, conns, seconds));
    }
  }
  process.stdout.write('\n');
  const perTimeout = (kind: 'mai' | 'node') =>
    summarize(e2e[kind].map((r) => (r.cpuMs * 1000) / Math.max(1, r.fired)));
  const firedPerSecond = (kind: 'mai' | 'node') =>
    summarize(e2e[kind].map((r) => r.fired / r.seconds));
  const loop = (kind: 'mai' | 'node') => summarize(e2e[kind].map((r) => r.loopDelayP99Ms));
  const result = {
    machine,
    source,
    conns,
    seconds,
    runs,
    micro: microSummary,
    endToEnd: (['mai', 'node'] as const).map((kind) => ({
      kind,
      cpuMicrosPerTimeout: perTimeout(kind),
      firedPerSecond: firedPerSecond(kind),
      loopDelayP99Ms: loop(kind),
      reports: e2e[kind],
    })),
  };
  const f = (n: number, digits = 1): string => n.toFixed(digits);
  const md = [
    `# Timeouts at ${conns.toLocaleString('en')} streams`,
    '',
    `${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, load ${machine.loadAverage.join(' ')}; ${sourceLine(source)}. Median of ${runs} runs (min–max).`,
    '',
    `## In process, ${conns.toLocaleString('en')} timeouts pending`,
    '',
    markdownTable(
      ['timers', 'arm + cancel one (ns)', 'fire one of 10,000 due (ns)'],
      microSummary.map((m) => [
        m.kind === 'mai' ? 'mai TimerQueue (timer wheel, one Node timer)' : 'Node setTimeout each',
        `${f(m.armCancelNs.median)} (${f(m.armCancelNs.min)}–${f(m.armCancelNs.max)})`,
        `${f(m.fireNsEach.median)} (${f(m.fireNsEach.min)}–${f(m.fireNsEach.max)})`,
      ]),
    ),
    '',
    `## End to end: ${conns.toLocaleString('en')} idle connections, a 1 s idle timeout each, ${seconds} s`,
    '',
    markdownTable(
      ['server', 'timeouts fired / s', 'server CPU per timeout (µs)', 'event-loop delay p99 (ms)'],
      result.endToEnd.map((r) => [
        r.kind === 'mai' ? 'mai (idleTimeouts.read)' : 'bare net (socket.setTimeout)',
        `${f(r.firedPerSecond.median, 0)}`,
        `${f(r.cpuMicrosPerTimeout.median, 2)} (${f(r.cpuMicrosPerTimeout.min, 2)}–${f(r.cpuMicrosPerTimeout.max, 2)})`,
        `${f(r.loopDelayP99Ms.median, 1)} (${f(r.loopDelayP99Ms.min, 1)}–${f(r.loopDelayP99Ms.max, 1)})`,
      ]),
    ),
    '',
  ].join('\n');
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'timers.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(RESULTS, 'timers.md'), md);
  console.log(md);
}

const [mode, a, b, c] = process.argv.slice(2);
if (mode === 'serve') await serve(a as 'mai' | 'node', Number(b), Number(c));
else if (mode === 'hold') await hold(Number(a), Number(b));
else await main();
