import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { startKvProcess } from './kv-process.js';

const run = promisify(execFile);

/** Runs redis-cli with `args`, feeding `input` on stdin; resolves with its stdout. */
function redisCli(args: string[], input?: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`redis-cli ${args.join(' ')} exited ${code}: ${err}${out}`));
    });
    child.stdin.end(input ?? '');
  });
}

test('redis-cli in scripted mode: commands as arguments, one per run', async (t) => {
  const kv = await startKvProcess(['--port', '0']);
  t.after(() => kv.stop());
  const p = ['-p', String(kv.port)];
  assert.equal(await redisCli([...p, 'PING']), 'PONG\n');
  assert.equal(await redisCli([...p, 'SET', 'greeting', 'hello world']), 'OK\n');
  assert.equal(await redisCli([...p, 'GET', 'greeting']), 'hello world\n');
  assert.equal(await redisCli([...p, 'INCRBY', 'counter', '41']), '41\n');
  assert.equal(await redisCli([...p, 'INCR', 'counter']), '42\n');
  assert.equal(await redisCli([...p, 'HSET', 'h', 'a', '1', 'b', '2']), '2\n');
  assert.equal(await redisCli([...p, 'HGETALL', 'h']), 'a\n1\nb\n2\n');
  assert.equal(await redisCli([...p, 'RPUSH', 'l', 'x', 'y', 'z']), '3\n');
  assert.equal(await redisCli([...p, 'LRANGE', 'l', '0', '-1']), 'x\ny\nz\n');
  assert.equal(await redisCli([...p, 'TYPE', 'l']), 'list\n');
  assert.equal(await redisCli([...p, 'DBSIZE']), '4\n');
  // --raw shows errors as text; the default (non-tty) output too, with "ERR" kept.
  assert.match(
    await redisCli([...p, 'NOSUCH', 'a']),
    /^ERR unknown command 'NOSUCH', with args beginning with: 'a' \n/,
  );
  assert.match(
    await redisCli([...p, 'LPUSH', 'greeting', 'x']),
    /^WRONGTYPE Operation against a key holding the wrong kind of value/,
  );
  const info = await redisCli([...p, 'INFO', 'server']);
  assert.match(info, /# Server/);
  assert.match(info, new RegExp(`tcp_port:${kv.port}`));
  // -3: redis-cli switches with HELLO 3; a RESP3 map prints as "field value" lines.
  assert.equal(await redisCli([...p, '-3', 'HGETALL', 'h']), 'a 1\nb 2\n');
});

test('redis-cli in scripted mode: commands piped on stdin, pipelined in one connection', async (t) => {
  const kv = await startKvProcess(['--port', '0']);
  t.after(() => kv.stop());
  const lines: string[] = [];
  for (let i = 0; i < 500; i++) lines.push(`SET key:${i} value-${i}`);
  lines.push(
    'DBSIZE',
    'GET key:499',
    'MGET key:0 key:1 nosuch',
    'SET e v EX 100',
    'TTL e',
    'DEL key:0 key:1 nosuch',
    'EXISTS key:0 key:2',
  );
  const out = await redisCli(['-p', String(kv.port)], `${lines.join('\n')}\n`);
  const replies = out.split('\n');
  assert.equal(
    replies.slice(0, 500).every((reply) => reply === 'OK'),
    true,
  );
  assert.deepEqual(replies.slice(500), [
    '500',
    'value-499',
    'value-0',
    'value-1',
    '',
    'OK',
    '100',
    '2',
    '1',
    '',
  ]);
  // --pipe sends raw RESP and reports the replies it counted.
  const piped = await redisCli(
    ['-p', String(kv.port), '--pipe'],
    Buffer.from('*3\r\n$3\r\nSET\r\n$4\r\np:\x00\xff\r\n$1\r\nv\r\n*1\r\n$4\r\nPING\r\n', 'latin1'),
  );
  assert.match(piped, /errors: 0, replies: 2/);
  // The binary key landed as its 4 bytes.
  assert.equal(
    await redisCli(['-p', String(kv.port), '--no-raw', 'KEYS', 'p:*']),
    '1) "p:\\x00\\xff"\n',
  );
});

test('redis-cli over the Unix socket (--path), and MAI_KV_PORT sets the port', async (t) => {
  const path = join(tmpdir(), `mai-kv-${randomBytes(6).toString('hex')}.sock`);
  const kv = await startKvProcess(['--path', path], { MAI_KV_PORT: '0' });
  t.after(() => kv.stop());
  assert.notEqual(kv.port, 6380);
  assert.equal(await redisCli(['-s', path, 'SET', 'via', 'unix']), 'OK\n');
  assert.equal(await redisCli(['-p', String(kv.port), 'GET', 'via']), 'unix\n');
  assert.match(kv.output(), /redis-cli -s /);
  const stopped = await kv.stop();
  assert.deepEqual(stopped, { code: 0, signal: null });
  assert.equal(existsSync(path), false, 'the socket file is removed on shutdown');
});

test('SIGTERM and SIGINT shut the server down gracefully: clients closed, exit code 0', async (t) => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const kv = await startKvProcess(['--port', '0']);
    t.after(() => kv.stop());
    // A client connected when the signal arrives gets its reply flushed, then the server's FIN;
    // a socket that answers FIN with FIN (Node's default) closes within the graceful path.
    const client = net.connect(kv.port, '127.0.0.1');
    t.after(() => client.destroy());
    client.write('PING\r\n');
    await new Promise((resolve) => client.once('data', resolve));
    const closed = new Promise((resolve) => client.once('close', resolve));
    const exit = new Promise((resolve) =>
      kv.child.once('exit', (code, sig) => resolve({ code, sig })),
    );
    kv.child.kill(signal);
    await closed;
    assert.deepEqual(await exit, { code: 0, sig: null });
    assert.match(kv.output(), /Shut down: 1 connections closed, 0 forced/);
  }
});

test('redis-benchmark -P 16 completes against the server and reports throughput for PING, SET, GET', async (t) => {
  const kv = await startKvProcess(['--port', '0']);
  t.after(() => kv.stop());
  const { stdout } = await run(
    'redis-benchmark',
    ['-p', String(kv.port), '-q', '-n', '20000', '-t', 'ping,set,get', '-P', '16', '-c', '20'],
    { timeout: 60_000 },
  );
  // One "NAME: N requests per second" line per test; the tool prints progress with \r first.
  const rates = new Map<string, number>();
  for (const match of stdout.matchAll(/([A-Z_]+): ([\d.]+) requests per second/g)) {
    rates.set(match[1] as string, Number(match[2]));
  }
  for (const name of ['PING_INLINE', 'PING_MBULK', 'SET', 'GET']) {
    assert.ok((rates.get(name) ?? 0) > 0, `${name} reported no throughput:\n${stdout}`);
  }
  // Every SET landed: redis-benchmark's key is the literal "key:__rand_int__" without -r.
  assert.equal(await redisCli(['-p', String(kv.port), 'STRLEN', 'key:__rand_int__']), '3\n');
});
