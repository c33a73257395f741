import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startKvServer } from '../../examples/kv/kv-server.js';
import { startRedisServer } from '../support/redis-server.js';
import { sendRaw } from './raw-protocol-wire.js';

/**
 * Raw bytes, each on a fresh connection, to the KV server and to a real redis-server 7.0: the
 * bytes that come back until the server closes (or falls silent) must be the same, and so must
 * whether it closed. Covers Redis's protocol errors (each closes the connection after its
 * `-ERR Protocol error: …`), inline commands with quotes and escapes, empty queries, and a
 * 100 MB argument.
 */
interface RawCase {
  name: string;
  bytes: Buffer;
  /** How long a silent server is waited for (longer where it has a lot to read). */
  quietMs?: number;
}

const raw = (name: string, text: string): RawCase => ({ name, bytes: Buffer.from(text, 'latin1') });

const CASES: RawCase[] = [
  // Multibulk counts
  raw('non-numeric count', '*abc\r\nPING\r\n'),
  raw('count with +', '*+5\r\nPING\r\n'),
  raw('count with leading zero', '*01\r\n$4\r\nPING\r\n'),
  raw('count with a space', '*1 \r\n'),
  raw('empty count', '*\r\nPING\r\n'),
  raw('count above INT_MAX', '*2147483648\r\n'),
  raw('count at INT_MAX, then silence', '*2147483647\r\n'),
  raw('commands before the bad one are answered', 'PING\r\n*x\r\nPING\r\n'),
  // Bulk lengths
  raw('non-numeric bulk length', '*2\r\n$abc\r\n'),
  raw('null bulk in a command', '*2\r\n$-1\r\n'),
  raw('bulk length with +', '*1\r\n$+4\r\nPING\r\n'),
  raw('bulk length with leading zero', '*1\r\n$04\r\nPING\r\n'),
  raw('empty bulk length', '*1\r\n$\r\n'),
  raw('bulk above proto-max-bulk-len', '*1\r\n$536870913\r\n'),
  raw('bulk at proto-max-bulk-len, then silence', '*1\r\n$536870912\r\n'),
  raw("expected '$', got 'x'", '*1\r\nx\r\n'),
  raw("expected '$', got ':'", '*2\r\n$3\r\nGET\r\n:1\r\n'),
  // Inline commands
  raw('double quotes', 'SET k "a b"\r\nGET k\r\nDEL k\r\n'),
  raw('single quotes', "ECHO 'x y'\r\n"),
  raw('escapes', 'ECHO "\\x41\\x4\\n\\t\\\\\\"q"\r\n'),
  raw('escaped single quote', "ECHO 'it\\'s'\r\n"),
  raw('quote inside an argument', 'ECHO a"b c"\r\n'),
  raw('empty quoted argument', 'ECHO ""\r\n'),
  raw('CR inside an inline line', 'PING\rPING\r\n'),
  raw('LF only', 'PING\nPING\n'),
  raw('unbalanced double quote', 'SET k "a b\r\n'),
  raw('closing quote not followed by a space', 'SET k "a"b\r\n'),
  raw('unbalanced single quote', "ECHO 'x\r\n"),
  raw('unbalanced after a good command', '*1\r\n$4\r\nPING\r\nSET k "\r\n'),
  // Empty queries
  raw('blank lines', '\r\n\r\n\nPING\r\n'),
  raw('spaces only', '   \r\n\t\r\nPING\r\n'),
  raw('empty multibulks', '*0\r\n*-1\r\nPING\r\n'),
  // Size limits
  {
    name: 'too big inline request (no newline)',
    bytes: Buffer.from('A'.repeat(200_000), 'latin1'),
  },
  {
    name: 'too big inline request (with newline)',
    bytes: Buffer.from(`${'A'.repeat(200_000)}\r\n`, 'latin1'),
  },
];

function bigArgument(): RawCase {
  const size = 100 * 1024 * 1024;
  const head = Buffer.from(`*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$${size}\r\n`, 'latin1');
  const body = Buffer.alloc(size, 0x61);
  const tail = Buffer.from(
    '\r\n*2\r\n$6\r\nSTRLEN\r\n$3\r\nbig\r\n*3\r\n$6\r\nAPPEND\r\n$3\r\nbig\r\n$1\r\nz\r\n*2\r\n$3\r\nDEL\r\n$3\r\nbig\r\n',
    'latin1',
  );
  return { name: '100 MB argument', bytes: Buffer.concat([head, body, tail]), quietMs: 3000 };
}

const show = (bytes: Buffer) => JSON.stringify(bytes.toString('latin1').slice(0, 300));

test('raw protocol: the same bytes back as redis-server 7.0, until the same close', async (t) => {
  const redis = await startRedisServer();
  t.after(() => redis.stop());
  const kv = await startKvServer({ port: 0 });
  t.after(() => kv.close());
  const port = kv.port as number;
  let closes = 0;
  for (const item of [...CASES, bigArgument()]) {
    const [mine, theirs] = await Promise.all([
      sendRaw(port, item.bytes, item.quietMs),
      sendRaw(redis.port, item.bytes, item.quietMs),
    ]);
    assert.equal(show(mine.bytes), show(theirs.bytes), `${item.name}: reply bytes`);
    assert.ok(mine.bytes.equals(theirs.bytes), `${item.name}: reply bytes beyond 300`);
    assert.equal(mine.closed, theirs.closed, `${item.name}: closed`);
    if (mine.closed) closes++;
  }
  t.diagnostic(`${CASES.length + 1} raw cases, ${closes} closed by both servers`);
  // A protocol error closes only its own connection: the server still answers.
  const after = await sendRaw(port, Buffer.from('PING\r\n'));
  assert.equal(after.bytes.toString(), '+PONG\r\n');
});
