import { AssertionError } from 'node:assert';
import net from 'node:net';
import { startKvServer } from '../../examples/kv/kv-server.js';
import { startRedisServer } from '../support/redis-server.js';
import { encodeRequest } from './resp-wire.js';

/**
 * Differential random testing of the kv server against a real redis-server: generated command
 * sequences go to both, and every reply must be the same bytes.
 *
 * Each sequence runs on fresh connections (so MULTI, SUBSCRIBE, HELLO or QUIT in one sequence
 * cannot leak into the next), starts with FLUSHALL (and HELLO 3 for `resp3`, whose reply names
 * the server and is not compared), then sends its commands either pipelined (all written at
 * once, the replies compared in order) or one by one; the choice is random per sequence.
 *
 * Most replies are compared byte for byte. Where Redis's reply depends on its hash tables or
 * its random generator, no other server can match the bytes, so the comparison is relaxed for
 * those commands only (`compareModeOf`): element order is ignored for KEYS, HKEYS, HVALS,
 * HGETALL, SMEMBERS and the like; only the shape is compared for RANDOMKEY, HRANDFIELD,
 * SRANDMEMBER, SPOP; a SCAN-family page is compared as a set only when both cursors are 0 (a
 * generator that wants full checks sends `SCAN 0 COUNT 1000` over a small key space). Replies
 * that depend on the clock (TTL, PTTL, EXPIRETIME, PEXPIRETIME, OBJECT IDLETIME) may differ by
 * a small tolerance when both are non-negative; generators keep them deterministic otherwise
 * by using TTLs far larger than a run (thousands of seconds) or absolute times in the past.
 */

/**
 * A deterministic pseudo-random source.
 *
 * @example
 * ```ts
 * const rng = createRng(42);
 * rng.pick(['GET', 'SET']);
 * ```
 */
export interface Rng {
  /** An integer in 0..n-1. */
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
  bytes(n: number): Buffer;
}

/**
 * Makes one command (its name first) from the random source.
 *
 * @example
 * ```ts
 * const get: CommandGenerator = (rng) => ['GET', rng.pick(['a', 'b'])];
 * ```
 */
export type CommandGenerator = (rng: Rng) => (string | Buffer)[];

/**
 * How two replies are compared (see the module comment).
 *
 * @example
 * ```ts
 * const mode: CompareMode = 'unordered';
 * ```
 */
export type CompareMode = 'exact' | 'unordered' | 'pairs' | 'shape' | 'scan' | 'clock';

/**
 * What to run.
 *
 * @example
 * ```ts
 * await runRandomSequences({ name: 'strings', generators: [get, set], sequences: 100,
 *   commandsPerSequence: 20 });
 * ```
 */
export interface RandomRunOptions {
  name: string;
  generators: readonly CommandGenerator[];
  sequences: number;
  commandsPerSequence: number;
  /** Default: the MAI_KV_SEED environment variable, else a fixed value. Printed on mismatch. */
  seed?: number;
  resp3?: boolean;
  /** Overrides the comparison of some commands; `undefined` falls back to `compareModeOf`. */
  compare?: (command: readonly (string | Buffer)[]) => CompareMode | undefined;
  /** How many replies a command gets (default 1; SUBSCRIBE a b gets 2). */
  replyCount?: (command: readonly (string | Buffer)[]) => number;
  /** Stops starting new sequences after this long (default 10 minutes); counts say what ran. */
  timeLimitMs?: number;
}

/**
 * What ran.
 *
 * @example
 * ```ts
 * const { sequences, commands, seed } = await runRandomSequences(options);
 * ```
 */
export interface RandomRunResult {
  sequences: number;
  commands: number;
  seed: number;
}

const DEFAULT_SEED = 0x6d6169;
/** One reply not arriving within this long fails the run (a hung server is a finding). */
const REPLY_TIMEOUT_MS = 10_000;

/**
 * A mulberry32 generator: 32 bits of state, fast, and good enough to spread test inputs.
 *
 * @example
 * ```ts
 * createRng(1).int(6); // the same number on every run
 * ```
 */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return {
    int,
    pick: <T>(items: readonly T[]): T => items[int(items.length)] as T,
    chance: (p) => next() < p,
    bytes: (n) => {
      const out = Buffer.alloc(n);
      for (let i = 0; i < n; i++) out[i] = int(256);
      return out;
    },
  };
}

/** The seed a run uses: the option, else MAI_KV_SEED, else the fixed default. */
function seedOf(options: RandomRunOptions): number {
  if (options.seed !== undefined) return options.seed;
  const env = process.env.MAI_KV_SEED;
  if (env !== undefined && env !== '' && Number.isFinite(Number(env))) return Number(env) >>> 0;
  return DEFAULT_SEED;
}

const UNORDERED = new Set([
  'KEYS',
  'HKEYS',
  'HVALS',
  'SMEMBERS',
  'SINTER',
  'SUNION',
  'SDIFF',
  'PUBSUB',
]);
const PAIRS = new Set(['HGETALL', 'CONFIG']);
const SHAPE = new Set(['RANDOMKEY', 'HRANDFIELD', 'SRANDMEMBER', 'SPOP', 'ZRANDMEMBER']);
const SCAN = new Set(['SCAN', 'HSCAN', 'SSCAN', 'ZSCAN']);
const CLOCK = new Set(['TTL', 'PTTL', 'EXPIRETIME', 'PEXPIRETIME', 'OBJECT']);

/**
 * The comparison a command's reply gets by default.
 *
 * @example
 * ```ts
 * compareModeOf(['HKEYS', 'h']); // 'unordered'
 * ```
 */
export function compareModeOf(command: readonly (string | Buffer)[]): CompareMode {
  const name = String(command[0] ?? '').toUpperCase();
  if (UNORDERED.has(name)) return 'unordered';
  if (PAIRS.has(name)) return 'pairs';
  if (SHAPE.has(name)) return 'shape';
  if (SCAN.has(name)) return 'scan';
  if (CLOCK.has(name)) return 'clock';
  return 'exact';
}

/** Where the RESP value starting at `at` ends (its bytes are assumed complete). */
function skipValue(bytes: Buffer, at: number): number {
  const lineEnd = bytes.indexOf('\r\n', at, 'latin1');
  const type = String.fromCharCode(bytes[at] as number);
  const header = bytes.toString('latin1', at + 1, lineEnd);
  let end = lineEnd + 2;
  if (type === '$' || type === '!' || type === '=') {
    return Number(header) < 0 ? end : end + Number(header) + 2;
  }
  let count = Number(header);
  if (type === '%' || type === '|') count *= 2;
  else if (type !== '*' && type !== '~' && type !== '>') return end;
  for (let i = 0; i < count; i++) end = skipValue(bytes, end);
  // An attribute annotates the value that follows it.
  return type === '|' ? skipValue(bytes, end) : end;
}

/** The header line and the raw bytes of each top-level element of an aggregate reply. */
function splitReply(reply: Buffer): { header: string; elements: Buffer[] } {
  const lineEnd = reply.indexOf('\r\n', 0, 'latin1');
  const header = reply.toString('latin1', 0, lineEnd);
  const elements: Buffer[] = [];
  const type = header[0];
  if (type !== '*' && type !== '~' && type !== '%' && type !== '>') return { header, elements };
  let at = lineEnd + 2;
  while (at < reply.length) {
    const end = skipValue(reply, at);
    elements.push(reply.subarray(at, end));
    at = end;
  }
  return { header, elements };
}

/** The elements as a sorted multiset; `group` elements make one item (2 for field/value). */
function sortedItems(elements: readonly Buffer[], group: number): string[] {
  const items: string[] = [];
  for (let i = 0; i < elements.length; i += group) {
    items.push(
      elements
        .slice(i, i + group)
        .map((e) => e.toString('latin1'))
        .join(''),
    );
  }
  return items.sort();
}

function integerOf(reply: Buffer): number | undefined {
  if (reply[0] !== 0x3a) return undefined;
  return Number(reply.toString('latin1', 1, reply.length - 2));
}

/** Whether two replies are equal under `mode`. */
function sameReply(mode: CompareMode, want: Buffer, got: Buffer): boolean {
  if (want.equals(got)) return true;
  if (want[0] !== got[0]) return false;
  if (mode === 'exact') return false;
  if (mode === 'clock') {
    const a = integerOf(want);
    const b = integerOf(got);
    // Both non-negative: a TTL or absolute time read a few ms apart on two servers.
    return a !== undefined && b !== undefined && a >= 0 && b >= 0 && Math.abs(a - b) <= 2000;
  }
  const w = splitReply(want);
  const g = splitReply(got);
  if (mode === 'shape') return w.header === g.header;
  if (mode === 'scan') {
    const [wCursor, wKeys] = w.elements;
    const [gCursor, gKeys] = g.elements;
    if (wCursor === undefined || gCursor === undefined || wKeys === undefined) return false;
    if (gKeys === undefined) return false;
    const done = (c: Buffer) => c.toString('latin1') === '$1\r\n0\r\n';
    if (done(wCursor) !== done(gCursor)) return false;
    if (!done(wCursor)) return true;
    return sameReply('unordered', wKeys, gKeys);
  }
  if (w.header !== g.header) return false;
  const group = mode === 'pairs' || w.header[0] === '%' ? 2 : 1;
  return sortedItems(w.elements, group).join('\n') === sortedItems(g.elements, group).join('\n');
}

/** A connection whose replies are read one at a time, each with a timeout. */
class ReplyReader {
  readonly socket: net.Socket;
  #buffered: Buffer = Buffer.alloc(0);
  #closed = false;
  #wake: (() => void) | undefined;

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buffered = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk]);
      this.#wake?.();
    });
    const closed = () => {
      this.#closed = true;
      this.#wake?.();
    };
    socket.on('close', closed);
    socket.on('error', closed);
  }

  static open(port: number): Promise<ReplyReader> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new ReplyReader(socket));
      });
    });
  }

  send(commands: readonly (readonly (string | Buffer)[])[]): void {
    this.socket.write(Buffer.concat(commands.map((c) => encodeRequest(c))));
  }

  /** The next whole reply's bytes, or null once the server closed the connection. */
  async next(): Promise<Buffer | null> {
    const deadline = Date.now() + REPLY_TIMEOUT_MS;
    for (;;) {
      const end = completeValueEnd(this.#buffered, 0);
      if (end !== undefined) {
        const reply = Buffer.from(this.#buffered.subarray(0, end));
        this.#buffered = this.#buffered.subarray(end);
        return reply;
      }
      if (this.#closed) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${REPLY_TIMEOUT_MS} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Where the complete value at `at` ends, or undefined while bytes are missing. */
function completeValueEnd(bytes: Buffer, at: number): number | undefined {
  const lineEnd = bytes.indexOf('\r\n', at, 'latin1');
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(bytes[at] as number);
  const header = Number(bytes.toString('latin1', at + 1, lineEnd));
  let end = lineEnd + 2;
  if (type === '$' || type === '!' || type === '=') {
    if (header < 0) return end;
    return bytes.length >= end + header + 2 ? end + header + 2 : undefined;
  }
  let count = header;
  if (type === '%' || type === '|') count *= 2;
  else if (type !== '*' && type !== '~' && type !== '>') return end;
  for (let i = 0; i < count; i++) {
    const next = completeValueEnd(bytes, end);
    if (next === undefined) return undefined;
    end = next;
  }
  return type === '|' ? completeValueEnd(bytes, end) : end;
}

function escaped(reply: Buffer | null): string {
  return reply === null ? '(connection closed)' : JSON.stringify(reply.toString('latin1'));
}

function shown(command: readonly (string | Buffer)[]): string {
  return JSON.stringify(command.map((a) => (typeof a === 'string' ? a : a.toString('latin1'))));
}

/**
 * Runs generated sequences against the kv server and a real redis-server (both started here
 * and stopped at the end) and throws an AssertionError at the first reply that differs, naming
 * the seed, sequence, command index, command and both replies. Sequence `i` draws from its own
 * generator seeded from the run's seed and `i`, so a failure replays with the same seed.
 *
 * @example
 * ```ts
 * const result = await runRandomSequences({ name: 'strings', generators, sequences: 200,
 *   commandsPerSequence: 30 });
 * console.log(`${result.sequences} sequences, ${result.commands} commands`);
 * ```
 */
export async function runRandomSequences(options: RandomRunOptions): Promise<RandomRunResult> {
  const seed = seedOf(options);
  const redis = await startRedisServer();
  const kv = await startKvServer({ port: 0 }).catch(async (error: unknown) => {
    await redis.stop();
    throw error;
  });
  const started = Date.now();
  const timeLimit = options.timeLimitMs ?? 600_000;
  let sequences = 0;
  let commands = 0;
  try {
    for (let s = 0; s < options.sequences && Date.now() - started < timeLimit; s++) {
      const rng = createRng((seed ^ Math.imul(s + 1, 0x9e3779b1)) >>> 0);
      const batch: (string | Buffer)[][] = [];
      for (let i = 0; i < options.commandsPerSequence; i++) {
        batch.push(rng.pick(options.generators)(rng));
      }
      const fail = (index: number, want: Buffer | null, got: Buffer | null, why = ''): never => {
        throw new AssertionError({
          message:
            `${options.name}: kv differs from redis-server${why} (seed ${seed}, rerun with ` +
            `MAI_KV_SEED=${seed}), sequence ${s}, command ${index}: ${shown(batch[index] ?? [])}\n` +
            `  redis-server: ${escaped(want)}\n  mai kv:       ${escaped(got)}\n` +
            `  sequence so far:\n${batch
              .slice(0, index + 1)
              .map((c, i) => `    ${i}: ${shown(c)}`)
              .join('\n')}`,
        });
      };
      await runSequence(kv.port as number, redis.port, batch, rng.chance(0.5), options, fail);
      sequences++;
      commands += batch.length;
    }
  } finally {
    await kv.close(1000);
    await redis.stop();
  }
  return { sequences, commands, seed };
}

type Fail = (index: number, want: Buffer | null, got: Buffer | null, why?: string) => never;

async function runSequence(
  kvPort: number,
  redisPort: number,
  batch: readonly (string | Buffer)[][],
  pipelined: boolean,
  options: RandomRunOptions,
  fail: Fail,
): Promise<void> {
  const [want, got] = await Promise.all([ReplyReader.open(redisPort), ReplyReader.open(kvPort)]);
  try {
    const setup: string[][] = [['FLUSHALL']];
    if (options.resp3 === true) setup.push(['HELLO', '3']);
    for (const reader of [want, got]) reader.send(setup);
    for (let i = 0; i < setup.length; i++) {
      const [a, b] = await Promise.all([want.next(), got.next()]);
      if (i === 0 && (a === null || b === null || !a.equals(b))) fail(-1, a, b, ' on FLUSHALL');
    }
    if (pipelined) {
      want.send(batch);
      got.send(batch);
    }
    for (let i = 0; i < batch.length; i++) {
      const command = batch[i] as (string | Buffer)[];
      if (!pipelined) {
        want.send([command]);
        got.send([command]);
      }
      const mode = options.compare?.(command) ?? compareModeOf(command);
      const count = options.replyCount?.(command) ?? 1;
      for (let r = 0; r < count; r++) {
        const [a, b] = await Promise.all([want.next(), got.next()]).catch((error: unknown) =>
          fail(i, null, null, `: ${String(error)}`),
        );
        if (a === null && b === null) return;
        if (a === null || b === null || !sameReply(mode, a, b)) fail(i, a, b);
      }
    }
  } finally {
    want.close();
    got.close();
  }
}
