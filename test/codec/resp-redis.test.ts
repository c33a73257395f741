/**
 * H2 (RELIABILITY.md): the RESP codec against a real redis-server on loopback, on the same byte
 * streams. Each case is a stream of client requests (valid commands encoded by our encoder or
 * typed inline, then mutated in most cases), followed by a sentinel `ECHO <token>`:
 *
 * - redis-server either echoes the token (it read everything), closes with
 *   `-ERR Protocol error…` (it rejected the stream), or stays silent (it waits for more bytes);
 * - our decoder (`inlineCommands: true`) on the same bytes either decodes up to the sentinel,
 *   throws a MaiError, or asks for more bytes;
 * - both must agree, on the verdict and on the number of commands executed before it, and every
 *   ECHO we decoded must be answered with the argument we decoded.
 *
 * Where they disagree because redis-server is lenient on purpose (it does not check the CRLF
 * after a bulk or after a CR, ignores negative multibulk counts, stops at NUL bytes in a line,
 * and has higher limits), a small model of redis-server's request parser, itself checked
 * against the real server on every case, names the reason; such cases are counted and printed,
 * and documented in docs/codecs.md. Any other disagreement fails the test.
 *
 * Cases: 10,000 in a PR, 1,000,000 with MAI_RELIABILITY=long; MAI_H2_CASES overrides the
 * figure, MAI_H2_SEED replays a run.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { IncompleteFrame } from '../../src/codec/codec.js';
import { RespCodec } from '../../src/codec/resp.js';
import { splitInlineArgs } from '../../src/codec/resp-inline.js';
import { RespError, RespPush, type RespValue } from '../../src/codec/resp-types.js';
import { MaiError } from '../../src/errors.js';
import { StreamDecoder } from '../../src/testing/index.js';
import { figure } from '../reliability/profile.js';
import { type RedisServer, startRedisServer } from '../support/redis-server.js';

const CASES = figure('H2_CASES', 10_000, 1_000_000);
/**
 * The test's time bound: 10,000 cases take ≈ 8 s here (0.8 ms a case, 48 at a time), so 5 ms a
 * case leaves room for a loaded machine, and the long figure is not cut by the PR's bound.
 */
const TIME_BOUND_MS = Math.max(600_000, CASES * 5);
const SEED = Number(process.env.MAI_H2_SEED ?? Math.floor(Math.random() * 0x7fffffff));
/**
 * Silence after which redis-server is taken to be waiting for more bytes. A case where that
 * contradicts the model is asked again with a longer silence before it counts as a failure, so
 * a slow machine gives a slower run, not a false alarm.
 */
const QUIET_MS = 300;
const SLOW_QUIET_MS = 3_000;
const CONCURRENCY = 48;
/** Commands that block, stream, change the connection's mode or the server: disabled. */
const DISABLED = [
  'SHUTDOWN',
  'FLUSHALL',
  'FLUSHDB',
  'CONFIG',
  'MONITOR',
  'SUBSCRIBE',
  'PSUBSCRIBE',
  'SSUBSCRIBE',
  'BLPOP',
  'BRPOP',
  'BLMOVE',
  'BLMPOP',
  'BRPOPLPUSH',
  'BZPOPMIN',
  'BZPOPMAX',
  'BZMPOP',
  'XREAD',
  'XREADGROUP',
  'WAIT',
  'CLIENT',
  'REPLICAOF',
  'SLAVEOF',
  'SYNC',
  'PSYNC',
  'QUIT',
  'RESET',
  'MULTI',
  'EXEC',
  'SAVE',
  'BGSAVE',
  'BGREWRITEAOF',
  'SCRIPT',
  'EVAL',
  'EVALSHA',
  'FUNCTION',
  'FCALL',
  'FAILOVER',
  'CLUSTER',
  'MIGRATE',
  'ACL',
  'MODULE',
  'KEYS',
];

type Verdict = 'echoed' | 'error' | 'waiting';

const b = (text: string): Buffer => Buffer.from(text, 'latin1');

// ---- case generation ----------------------------------------------------------------------

const bytesArg = fc
  .oneof(
    { weight: 6, arbitrary: fc.uint8Array({ maxLength: 24 }) },
    { weight: 3, arbitrary: fc.stringMatching(/^[a-z0-9:]{1,12}$/).map((s) => b(s)) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 100, maxLength: 3000 }) },
  )
  .map((u) => Buffer.from(u));
const key = (prefix: string) => fc.integer({ min: 0, max: 3 }).map((n) => b(`mai:${prefix}:${n}`));
const word = (...words: string[]) => fc.constantFrom(...words).map((w) => b(w));
const command: fc.Arbitrary<Buffer[]> = fc
  .oneof(
    fc.constant([b('PING')]),
    fc.tuple(word('ECHO', 'echo'), bytesArg),
    fc.tuple(word('ECHO'), bytesArg),
    fc.tuple(word('SET'), key('s'), bytesArg),
    fc.tuple(word('GET', 'STRLEN', 'TYPE', 'DEL', 'INCR'), key('s')),
    fc.tuple(word('APPEND'), key('s'), bytesArg),
    fc.tuple(word('HSET'), key('h'), bytesArg, bytesArg),
    fc.tuple(word('HGETALL'), key('h')),
    fc.tuple(word('SADD'), key('z'), bytesArg),
    fc.tuple(word('SMEMBERS'), key('z')),
    fc.tuple(
      word('ZADD'),
      key('o'),
      fc.double({ noNaN: true }).map((d) => b(String(d))),
      bytesArg,
    ),
    fc.tuple(word('ZSCORE'), key('o'), bytesArg),
    fc.tuple(word('LPUSH'), key('l'), bytesArg),
    fc.tuple(word('LRANGE'), key('l'), word('0'), word('-1')),
    fc.tuple(word('HELLO'), word('2', '3')),
    fc.tuple(
      word('DEBUG'),
      word('PROTOCOL'),
      word(
        'string',
        'integer',
        'double',
        'bignum',
        'null',
        'array',
        'set',
        'map',
        'attrib',
        'push',
        'verbatim',
        'true',
        'false',
      ),
    ),
    fc.tuple(word('NOSUCHCOMMAND'), bytesArg),
  )
  .map((parts): Buffer[] => [...parts]);

/** How one command is written: by our encoder, inline (quoted), or an empty request. */
const rendering = fc.constantFrom(
  'multibulk',
  'multibulk',
  'multibulk',
  'inline',
  'inline-lf',
  'empty',
);

const mutation = fc.record({
  kind: fc.constantFrom('flip', 'insert', 'delete', 'truncate', 'number', 'number'),
  at: fc.nat(),
  bytes: fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 3 }),
    fc.constantFrom(
      ...['\r', '\n', '\r\n', '$', '*', '-', '0', '9', ' ', '"', "'", '\\', '\0', ':'].map(b),
    ),
  ),
  number: fc.constantFrom(
    '-1',
    '-2',
    '-0',
    '0',
    '00',
    '01',
    '+1',
    '',
    ' 1',
    '1 ',
    '2147483647',
    '2147483648',
    '1048576',
    '1048577',
    '67108865',
    '536870913',
    '99999999999999999999',
    '9223372036854775808',
    'x',
  ),
});

const caseArbitrary = fc.record({
  commands: fc.array(fc.tuple(command, rendering), { minLength: 1, maxLength: 4 }),
  mutations: fc.oneof(
    { weight: 3, arbitrary: fc.constant([]) },
    { weight: 7, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 3 }) },
  ),
});

type GeneratedCase = typeof caseArbitrary extends fc.Arbitrary<infer T> ? T : never;

/**
 * Cases are drawn 10,000 at a time, batch k from seed SEED + k (batch 0 is the whole PR run):
 * the long figure drawn at once would hold about 5 GB (≈ 5 KB a case measured here).
 */
const BATCH = 10_000;

/** Case `index` of the run, drawing its batch when the first case of that batch is asked for. */
function caseDrawer(): (index: number) => GeneratedCase {
  let drawn: GeneratedCase[] = [];
  let drawnBatch = -1;
  return (index) => {
    const batch = Math.floor(index / BATCH);
    if (batch !== drawnBatch) {
      const numRuns = Math.min(BATCH, CASES - batch * BATCH);
      drawn = fc.sample(caseArbitrary, { seed: (SEED + batch) | 0, numRuns });
      drawnBatch = batch;
    }
    return drawn[index - batch * BATCH] as GeneratedCase;
  };
}

function renderInline(args: Buffer[], lineEnd: string): Buffer {
  const parts = args.map((arg) => {
    let out = '"';
    for (const byte of arg) {
      out +=
        byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c
          ? String.fromCharCode(byte)
          : `\\x${byte.toString(16).padStart(2, '0')}`;
    }
    return `${out}"`;
  });
  return b(parts.join(' ') + lineEnd);
}

function render(generated: GeneratedCase): Buffer {
  const encoder = new RespCodec();
  const out: Buffer[] = [];
  for (const [args, how] of generated.commands) {
    if (how === 'empty') out.push(b(args.length % 2 === 0 ? '\r\n' : '*0\r\n'));
    else if (how === 'inline') out.push(renderInline(args, '\r\n'));
    else if (how === 'inline-lf') out.push(renderInline(args, '\n'));
    else {
      const buffer = Buffer.alloc(8192);
      out.push(buffer.subarray(0, encoder.encode(args, buffer, 0) as number));
    }
  }
  let bytes = Buffer.concat(out);
  for (const m of generated.mutations) {
    if (bytes.length === 0) break;
    const at = m.at % bytes.length;
    const extra = Buffer.from(m.bytes);
    if (m.kind === 'flip') bytes[at] = extra[0] as number;
    else if (m.kind === 'insert')
      bytes = Buffer.concat([bytes.subarray(0, at), extra, bytes.subarray(at)]);
    else if (m.kind === 'delete')
      bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + extra.length)]);
    else if (m.kind === 'truncate') bytes = bytes.subarray(0, at);
    else {
      // Replace the number of a header line (after a '*' or '$') by an interesting one.
      const headers: number[] = [];
      for (let i = 0; i < bytes.length; i++) {
        if ((bytes[i] === 0x2a || bytes[i] === 0x24) && (i === 0 || bytes[i - 1] === 0x0a))
          headers.push(i);
      }
      if (headers.length === 0) continue;
      const h = headers[at % headers.length] as number;
      const cr = bytes.indexOf(0x0d, h);
      if (cr < 0) continue;
      bytes = Buffer.concat([bytes.subarray(0, h + 1), b(m.number), bytes.subarray(cr)]);
    }
  }
  return Buffer.from(bytes);
}

function sentinel(token: string): Buffer {
  return b(`*2\r\n$4\r\nECHO\r\n$${token.length}\r\n${token}\r\n`);
}

// ---- our decoder --------------------------------------------------------------------------

interface Outcome {
  verdict: Verdict;
  /** Commands executed before the verdict: non-empty ones, without the sentinel. */
  commands: Buffer[][];
  error?: string;
}

function decodeOurs(bytes: Buffer, token: string): Outcome {
  const codec = new RespCodec({ inlineCommands: true });
  const commands: Buffer[][] = [];
  let start = 0;
  let error: string | undefined;
  for (let guard = 0; guard < 100_000 && start < bytes.length; guard++) {
    let result: ReturnType<RespCodec['decode']>;
    try {
      result = codec.decode(bytes, start, bytes.length);
    } catch (e) {
      assert.ok(e instanceof MaiError, `our decoder threw a non-MaiError: ${String(e)}`);
      error = `${e.code}: ${e.message}`;
      break;
    }
    if (result === IncompleteFrame) break;
    commands.push(result.frame as Buffer[]);
    start += result.bytesRead;
  }
  return classify(commands, error, start === bytes.length, token);
}

function classify(
  all: Buffer[][],
  error: string | undefined,
  consumed: boolean,
  token: string,
): Outcome {
  const commands = all.filter((c) => c.length > 0);
  if (error !== undefined) return { verdict: 'error', commands, error };
  const last = commands[commands.length - 1];
  if (consumed && last !== undefined && isSentinel(last, token)) {
    return { verdict: 'echoed', commands: commands.slice(0, -1) };
  }
  return { verdict: 'waiting', commands };
}

function isSentinel(command: Buffer[], token: string): boolean {
  return (
    command.length === 2 &&
    command[0]?.toString('latin1') === 'ECHO' &&
    command[1]?.toString('latin1') === token
  );
}

// ---- a model of redis-server's request parser (networking.c, 7.0) ---------------------------

interface ModelOutcome extends Outcome {
  /** Where redis-server is more lenient than mai, or mai's limits are lower. */
  lenient: Set<string>;
}

const INLINE_MAX = 64 * 1024;

/** string2ll: optional '-', no leading zero, no '+', at most 20 characters, within int64. */
function string2ll(text: Buffer): bigint | undefined {
  const s = text.toString('latin1');
  if (!/^(?:0|-?[1-9][0-9]*)$/.test(s) || s.length > 20) return undefined;
  const n = BigInt(s);
  return n >= -(2n ** 63n) && n < 2n ** 63n ? n : undefined;
}

/** Index of `byte` from `from`, as strchr sees it: a NUL byte ends the search (-2). */
function strchr(bytes: Buffer, byte: number, from: number): number {
  for (let i = from; i < bytes.length; i++) {
    if (bytes[i] === byte) return i;
    if (bytes[i] === 0) return -2;
  }
  return -1;
}

/**
 * redis-server's request parser (networking.c, 7.0: processMultibulkBuffer, processInlineBuffer)
 * as a model. With `strict = false` it is redis-server, checked against the real one on every
 * case, and it notes each place where it accepted what mai rejects (`lenient`). With
 * `strict = true` each of those places is an error instead, NUL bytes are ordinary bytes, and
 * mai's limits apply: that is the documented behaviour of mai, which our decoder must match
 * exactly (verdict and decoded commands).
 */
function redisModel(bytes: Buffer, token: string, strict: boolean): ModelOutcome {
  const lenient = new Set<string>();
  const all: Buffer[][] = [];
  let pos = 0;
  const done = (error: string | undefined, consumed: boolean): ModelOutcome => ({
    ...classify(all, error, consumed, token),
    lenient,
  });
  /** Where redis-server accepts and mai refuses: an error when strict, a note otherwise. */
  const differs = (condition: boolean, reason: string): boolean => {
    if (!condition) return false;
    if (strict) return true;
    lenient.add(reason);
    return false;
  };
  /** Finds a line end: strchr in redis-server stops at a NUL byte. */
  const find = (byte: number, from: number): number => {
    if (strict) return bytes.indexOf(byte, from);
    const found = strchr(bytes, byte, from);
    if (found === -2) lenient.add('NUL before the end of a line');
    return found;
  };
  const tooBig = (from: number) => (bytes.length - from > INLINE_MAX ? 'too big' : undefined);
  while (pos < bytes.length) {
    if (bytes[pos] === 0x2a) {
      const cr = find(0x0d, pos);
      if (cr < 0) return done(tooBig(pos), false);
      if (cr > bytes.length - 2) return done(undefined, false);
      if (differs(bytes[cr + 1] !== 0x0a, 'byte after CR not checked')) return done('CR', false);
      const count = string2ll(bytes.subarray(pos + 1, cr));
      if (count === undefined || count > 2147483647n)
        return done('invalid multibulk length', false);
      if (differs(count > 1048576n, 'count above maxArrayLength')) return done('limit', false);
      pos = cr + 2;
      if (count <= 0n) {
        if (differs(count < -1n, 'negative multibulk count ignored'))
          return done('negative', false);
        all.push([]);
        continue;
      }
      const args: Buffer[] = [];
      while (args.length < count) {
        // mai looks at the '$' at once; redis-server looks for the CR first.
        if (strict && pos < bytes.length && bytes[pos] !== 0x24) return done("expected '$'", false);
        const bcr = find(0x0d, pos);
        if (bcr < 0) return done(tooBig(pos), false);
        if (bcr > bytes.length - 2) return done(undefined, false);
        if (bytes[pos] !== 0x24) return done("expected '$'", false);
        if (differs(bytes[bcr + 1] !== 0x0a, 'byte after CR not checked')) return done('CR', false);
        const length = string2ll(bytes.subarray(pos + 1, bcr));
        if (length === undefined || length < 0n || length > 512n * 1024n * 1024n) {
          return done('invalid bulk length', false);
        }
        if (differs(length > 64n * 1024n * 1024n, 'bulk above maxBulkLength'))
          return done('limit', false);
        pos = bcr + 2;
        const n = Number(length);
        if (bytes.length - pos < n + 2) return done(undefined, false);
        const crlf = bytes[pos + n] === 0x0d && bytes[pos + n + 1] === 0x0a;
        if (differs(!crlf, 'CRLF after bulk not checked')) return done('CRLF', false);
        args.push(bytes.subarray(pos, pos + n));
        pos += n + 2;
      }
      all.push(args);
    } else {
      const lf = find(0x0a, pos);
      if (lf < 0) return done(tooBig(pos), false);
      const lineEnd = lf > pos && bytes[lf - 1] === 0x0d ? lf - 1 : lf;
      let args: Buffer[];
      try {
        args = splitInlineArgs(bytes, pos, lineEnd);
      } catch {
        return done('unbalanced quotes', false);
      }
      pos = lf + 1;
      all.push(args);
    }
  }
  return done(undefined, true);
}

// ---- redis-server ---------------------------------------------------------------------------

interface RedisOutcome {
  verdict: Verdict | 'closed without a protocol error';
  /** Replies to commands (pushes left out), without the echo or the protocol error. */
  replies: RespValue[];
  protocolError?: string;
}

function askRedis(
  redis: RedisServer,
  bytes: Buffer,
  token: string,
  quietMs: number,
): Promise<RedisOutcome> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(redis.port, redis.host);
    const replies: RespValue[] = [];
    const client = new StreamDecoder(new RespCodec({ maxDepth: 16 }));
    let settled = false;
    let quiet: NodeJS.Timeout | undefined;
    const finish = (outcome: RedisOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(quiet);
      socket.destroy();
      resolve(outcome);
    };
    // Chunks received so far: a silence holds only if none arrived after the timer fired.
    let chunks = 0;
    const arm = () => {
      clearTimeout(quiet);
      quiet = setTimeout(() => {
        // A timer that fires late (the loop was blocked: another worker drawing the next
        // 10,000 cases) fires before the replies already in the socket are read. Those are read
        // in the poll phase that runs before setImmediate's, so judge the silence there.
        const seen = chunks;
        setImmediate(() => {
          if (chunks === seen) finish({ verdict: 'waiting', replies });
        });
      }, quietMs);
    };
    socket.on('connect', () => {
      socket.write(bytes);
      arm();
    });
    socket.on('data', (chunk) => {
      chunks++;
      client.push(chunk, (frame) => {
        if (frame instanceof RespPush) return;
        replies.push(frame);
      });
      if (client.error !== undefined) {
        reject(new Error(`our decoder rejected redis-server's replies: ${client.error.message}`));
        finish({ verdict: 'waiting', replies });
        return;
      }
      const last = replies[replies.length - 1];
      if (Buffer.isBuffer(last) && last.toString('latin1') === token) {
        replies.pop();
        finish({ verdict: 'echoed', replies });
        return;
      }
      arm();
    });
    socket.on('close', () => {
      const last = replies[replies.length - 1];
      if (last instanceof RespError && last.message.startsWith('ERR Protocol error')) {
        replies.pop();
        finish({ verdict: 'error', replies, protocolError: last.message });
      } else {
        finish({ verdict: 'closed without a protocol error', replies });
      }
    });
    socket.on('error', (error) => {
      if (!settled) reject(error);
      finish({ verdict: 'waiting', replies });
    });
  });
}

// ---- the test -------------------------------------------------------------------------------

describe('H2: RESP codec against redis-server', () => {
  it(`${CASES} generated request streams give the same verdicts (seed ${SEED})`, {
    timeout: TIME_BOUND_MS,
  }, async (t) => {
    const redis = await startRedisServer({
      args: [
        '--enable-debug-command',
        'local',
        ...DISABLED.flatMap((name) => ['--rename-command', name, '']),
      ],
    });
    t.after(() => redis.stop());
    const started = performance.now();
    const caseAt = caseDrawer();
    const tallies = new Map<string, number>();
    const count = (name: string) => tallies.set(name, (tallies.get(name) ?? 0) + 1);
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      for (;;) {
        const index = next++;
        if (index >= CASES) return;
        const token = `mai-h2-${String(index).padStart(9, '0')}`;
        const stream = render(caseAt(index));
        const bytes = Buffer.concat([stream, sentinel(token)]);
        const ours = decodeOurs(bytes, token);
        const strict = redisModel(bytes, token, true);
        const model = redisModel(bytes, token, false);
        let real = await askRedis(redis, bytes, token, QUIET_MS);
        if (real.verdict === 'waiting' && model.verdict !== 'waiting') {
          count('asked again after a silence');
          real = await askRedis(redis, bytes, token, SLOW_QUIET_MS);
        }
        const problem = compare(ours, strict, model, real);
        count(`redis ${real.verdict}`);
        if (problem === undefined) continue;
        if (problem.startsWith('explained: ')) {
          count(problem);
          continue;
        }
        if (failures.length < 20) {
          failures.push(
            `case ${index}: ${problem}\n    bytes: ${JSON.stringify(stream.toString('latin1'))}`,
          );
        } else failures.length++;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`# H2: ${CASES} cases in ${seconds} s against ${redis.version} (seed ${SEED})`);
    for (const [name, n] of [...tallies].sort()) console.log(`#   ${name}: ${n}`);
    assert.equal(
      failures.length,
      0,
      `${failures.length} disagreements (seed ${SEED}):\n${failures.join('\n')}`,
    );
  });
});

function compare(
  ours: Outcome,
  strict: ModelOutcome,
  model: ModelOutcome,
  real: RedisOutcome,
): string | undefined {
  // The model must describe the real server exactly, or its explanations are worth nothing.
  if (real.verdict !== model.verdict || real.replies.length !== model.commands.length) {
    return `model of redis-server is wrong: model ${model.verdict} after ${model.commands.length} commands, redis ${real.verdict} after ${real.replies.length} replies (${real.protocolError ?? ''})`;
  }
  // mai is the strict model exactly: same verdict, same commands, byte for byte.
  const same =
    ours.verdict === strict.verdict &&
    ours.commands.length === strict.commands.length &&
    ours.commands.every((c, i) => {
      const other = strict.commands[i] as Buffer[];
      return c.length === other.length && c.every((arg, k) => arg.equals(other[k] as Buffer));
    });
  if (!same) {
    return `mai ${ours.verdict} after ${ours.commands.length} commands (${ours.error ?? ''}), its documented model ${strict.verdict} after ${strict.commands.length} (${strict.error ?? ''})`;
  }
  if (real.verdict === 'error' && ours.verdict !== 'error') {
    return `redis-server rejected the stream (${real.protocolError ?? ''}) and mai did not (${ours.verdict})`;
  }
  if (ours.verdict !== real.verdict || ours.commands.length !== real.replies.length) {
    // Only possible where the lenient model noted a documented difference.
    return `explained: ${[...model.lenient].sort().join(', ')}`;
  }
  // Every ECHO we decoded is answered with the argument we decoded.
  for (let i = 0; i < ours.commands.length; i++) {
    const command = ours.commands[i] as Buffer[];
    const reply = real.replies[i];
    if (
      command.length === 2 &&
      command[0]?.toString('latin1').toUpperCase() === 'ECHO' &&
      Buffer.isBuffer(reply) &&
      !reply.equals(command[1] as Buffer)
    ) {
      return `ECHO ${i}: mai decoded ${JSON.stringify(command[1]?.toString('latin1'))}, redis echoed ${JSON.stringify(reply.toString('latin1'))}`;
    }
  }
  return undefined;
}
