import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { IncompleteFrame, InsufficientBuffer } from '../../src/codec/codec.js';
import { RespCodec, type RespCodecOptions } from '../../src/codec/resp.js';
import type { Protocol } from '../../src/index.js';
import { doubleText } from '../../src/codec/resp-encode.js';
import {
  RespAttributed,
  RespBigNumber,
  RespDouble,
  RespError,
  RespMap,
  RespPush,
  type RespOutbound,
  RespSet,
  RespSwitchProtocol,
  type RespValue,
  RespVerbatim,
} from '../../src/codec/resp-types.js';
import { DecodeError, EncodeError, FrameTooLongError, MaiError } from '../../src/errors.js';
import { assertCodecConformance, type ConformanceCase } from '../../src/testing/index.js';
import { PROPERTY_RUNS } from '../reliability/profile.js';
import { serve } from '../support/engine-fixture.js';
import { decodeAll, respValue } from './resp-values.js';

const b = (text: string): Buffer => Buffer.from(text, 'latin1');

function decodeOne(text: string | Buffer, options: RespCodecOptions = {}): RespValue {
  const frames = decodeAll(text, options);
  assert.equal(frames.length, 1);
  return frames[0] as RespValue;
}

function encode(value: RespValue, protocol: 2 | 3 = 3, options: RespCodecOptions = {}): string {
  const codec = new RespCodec({ ...options, protocol });
  const buffer = Buffer.alloc(4096);
  const n = codec.encode(value, buffer, 0);
  assert.notEqual(n, InsufficientBuffer);
  return buffer.toString('latin1', 0, n as number);
}

function expectError(text: string, code: string, pattern: RegExp, options: RespCodecOptions = {}) {
  assert.throws(
    () => decodeAll(text, options),
    (error: unknown) => {
      assert.ok(error instanceof MaiError, `not a MaiError: ${String(error)}`);
      assert.equal(error.code, code);
      assert.match(error.message, pattern);
      return true;
    },
  );
}

describe('RespCodec: decoding each type', () => {
  it('simple string, error, integer', () => {
    assert.equal(decodeOne('+OK\r\n'), 'OK');
    assert.equal(decodeOne('+\r\n'), '');
    assert.equal(decodeOne('+h\xc3\xa9\r\n'), 'hé');
    assert.deepEqual(decodeOne('-ERR wrong\r\n'), new RespError('ERR wrong'));
    assert.equal(decodeOne(':0\r\n'), 0);
    assert.equal(decodeOne(':-42\r\n'), -42);
    assert.equal(decodeOne(':+7\r\n'), 7);
    assert.equal(decodeOne(':9007199254740991\r\n'), Number.MAX_SAFE_INTEGER);
    assert.equal(decodeOne(':9007199254740992\r\n'), 9007199254740992n);
    assert.equal(decodeOne(':-9223372036854775808\r\n'), -(2n ** 63n));
    assert.equal(decodeOne(':9223372036854775807\r\n'), 2n ** 63n - 1n);
  });

  it('bulk strings are binary-safe Buffer copies; $-1 is null', () => {
    const bytes = b('$5\r\na\r\n\x00\xff\r\n');
    const frame = decodeOne(bytes);
    assert.ok(Buffer.isBuffer(frame));
    assert.deepEqual(frame, b('a\r\n\x00\xff'));
    bytes.fill(0x21);
    assert.deepEqual(frame, b('a\r\n\x00\xff'), 'the frame must not be a view of the input');
    assert.deepEqual(decodeOne('$0\r\n\r\n'), Buffer.alloc(0));
    assert.equal(decodeOne('$-1\r\n'), null);
  });

  it('arrays, null array, nesting', () => {
    assert.deepEqual(decodeOne('*0\r\n'), []);
    assert.equal(decodeOne('*-1\r\n'), null);
    assert.deepEqual(decodeOne('*2\r\n*1\r\n:1\r\n$1\r\nx\r\n'), [[1], b('x')]);
  });

  it('a command decodes to a plain array of Buffers', () => {
    const frame = decodeOne('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n');
    assert.ok(Array.isArray(frame));
    assert.equal(Object.getPrototypeOf(frame), Array.prototype);
    assert.deepEqual(frame, [b('SET'), b('k'), b('v')]);
    for (const arg of frame) assert.ok(Buffer.isBuffer(arg));
  });

  it('RESP3 null, boolean, double, big number', () => {
    assert.equal(decodeOne('_\r\n'), null);
    assert.equal(decodeOne('#t\r\n'), true);
    assert.equal(decodeOne('#f\r\n'), false);
    assert.deepEqual(decodeOne(',1.5\r\n'), new RespDouble(1.5));
    assert.deepEqual(decodeOne(',-2\r\n'), new RespDouble(-2));
    assert.deepEqual(decodeOne(',1.25e-3\r\n'), new RespDouble(0.00125));
    assert.deepEqual(decodeOne(',1E+21\r\n'), new RespDouble(1e21));
    assert.deepEqual(decodeOne(',inf\r\n'), new RespDouble(Number.POSITIVE_INFINITY));
    assert.deepEqual(decodeOne(',-inf\r\n'), new RespDouble(Number.NEGATIVE_INFINITY));
    assert.deepEqual(decodeOne(',nan\r\n'), new RespDouble(Number.NaN));
    assert.ok(Object.is((decodeOne(',-0\r\n') as RespDouble).value, -0));
    assert.deepEqual(
      decodeOne('(3492890328409238509324850943850943825024385\r\n'),
      new RespBigNumber(3492890328409238509324850943850943825024385n),
    );
    assert.deepEqual(decodeOne('(-1\r\n'), new RespBigNumber(-1n));
  });

  it('RESP3 bulk error, verbatim string', () => {
    assert.deepEqual(
      decodeOne('!22\r\nSYNTAX invalid\r\nsyntax\r\n'),
      new RespError('SYNTAX invalid\r\nsyntax', true),
    );
    assert.deepEqual(
      decodeOne('=15\r\ntxt:Some string\r\n'),
      new RespVerbatim('txt', b('Some string')),
    );
    assert.deepEqual(decodeOne('=4\r\nmkd:\r\n'), new RespVerbatim('mkd', Buffer.alloc(0)));
  });

  it('RESP3 map, set, push, attribute', () => {
    assert.deepEqual(
      decodeOne('%2\r\n+first\r\n:1\r\n$6\r\nsecond\r\n#f\r\n'),
      new RespMap([
        ['first', 1],
        [b('second'), false],
      ]),
    );
    assert.deepEqual(decodeOne('%0\r\n'), new RespMap([]));
    assert.deepEqual(decodeOne('~2\r\n:1\r\n:1\r\n'), new RespSet([1, 1]));
    assert.deepEqual(
      decodeOne('>3\r\n+message\r\n+news\r\n$2\r\nhi\r\n'),
      new RespPush(['message', 'news', b('hi')]),
    );
    assert.deepEqual(
      decodeOne('|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*1\r\n:2\r\n'),
      new RespAttributed([['key-popularity', new RespMap([[b('a'), new RespDouble(0.19)]])]], [2]),
    );
    // An attribute inside an aggregate annotates one element; it does not count as one.
    assert.deepEqual(decodeOne('*2\r\n|1\r\n+ttl\r\n:5\r\n+v\r\n:3\r\n'), [
      new RespAttributed([['ttl', 5]], 'v'),
      3,
    ]);
    assert.deepEqual(decodeOne('|0\r\n_\r\n'), new RespAttributed([], null));
  });

  it('several frames in one buffer, each with its own bytesRead', () => {
    assert.deepEqual(decodeAll('+a\r\n:1\r\n*1\r\n$1\r\nb\r\n'), ['a', 1, [b('b')]]);
  });

  it('resumes an incomplete frame instead of restarting it', () => {
    const codec = new RespCodec();
    const bytes = b('*2\r\n$3\r\nfoo\r\n$3\r\nbar\r\n');
    for (let end = 0; end < bytes.length; end++) {
      assert.equal(codec.decode(bytes, 0, end), IncompleteFrame, `at ${end}`);
    }
    const result = codec.decode(bytes, 0, bytes.length);
    assert.notEqual(result, IncompleteFrame);
    if (result !== IncompleteFrame) {
      assert.deepEqual(result.frame, [b('foo'), b('bar')]);
      assert.equal(result.bytesRead, bytes.length);
    }
  });
});

describe('RespCodec: malformed input (C5) and limits (C1, C4)', () => {
  const corrupt = 'MAI_CORRUPT_FRAME';
  const tooLong = 'MAI_FRAME_TOO_LONG';

  it('negative lengths other than -1 are corrupt, with the bytes in the message', () => {
    expectError('$-2\r\n', corrupt, /"\$-2"/);
    expectError('*-5\r\n', corrupt, /"\*-5"/);
    expectError('%-1\r\n', corrupt, /negative/);
    expectError('~-1\r\n', corrupt, /negative/);
    expectError('!-1\r\n', corrupt, /negative/);
    expectError('$-0\r\n', corrupt, /"\$-0"/);
  });

  it('non-numeric, non-canonical and overflowing lengths are corrupt', () => {
    expectError('$abc\r\n', corrupt, /"\$a"/);
    expectError('$\r\n', corrupt, /invalid length/);
    expectError('$+3\r\n', corrupt, /"\$\+"/);
    expectError('$03\r\n', corrupt, /"\$03"/);
    expectError('$ 3\r\n', corrupt, /invalid length/);
    expectError('$3 \r\n', corrupt, /"\$3 "/);
    expectError('*1x\r\n', corrupt, /"\*1x"/);
    expectError('$99999999999999999999\r\n', corrupt, /overflows/);
    expectError('*9223372036854775808\r\n', corrupt, /overflows/);
    expectError(':9223372036854775808\r\n', corrupt, /overflows/);
    expectError(':1.5\r\n', corrupt, /invalid integer/);
    expectError(':\r\n', corrupt, /invalid integer/);
  });

  it('framing errors are corrupt', () => {
    expectError('?\r\n', corrupt, /unknown RESP type byte: "\?"/);
    expectError('$3\r\nabcXY', corrupt, /not followed by CRLF: "XY"/);
    expectError('$3\r\nabc\nX', corrupt, /not followed by CRLF/);
    expectError('*1\rX', corrupt, /CR not followed by LF/);
    expectError('+a\rb\r\n', corrupt, /CR not followed by LF/);
    expectError('+a\nb\r\n', corrupt, /LF inside a line/);
    expectError('#x\r\n', corrupt, /malformed line/);
    expectError('_x', corrupt, /malformed line/);
    expectError(',1.5.5\r\n', corrupt, /invalid double/);
    expectError(',0x10\r\n', corrupt, /invalid double/);
    expectError('(12a\r\n', corrupt, /invalid big number/);
    expectError('=3\r\ntxt\r\n', corrupt, /verbatim/);
    expectError('=5\r\ntxt_x\r\n', corrupt, /verbatim/);
  });

  it('limits: exactly max passes, max+1 fails from the header with both numbers', () => {
    const small = { maxBulkLength: 4, maxArrayLength: 2, maxDepth: 2 };
    assert.deepEqual(decodeOne('$4\r\nabcd\r\n', small), b('abcd'));
    expectError('$5\r\n', tooLong, /bulk length 5 exceeds maxBulkLength 4/, small);
    expectError('!5\r\n', tooLong, /maxBulkLength 4/, small);
    expectError('+abcde\r\n', tooLong, /line length 5 exceeds maxBulkLength 4/, small);
    assert.deepEqual(decodeOne('*2\r\n:1\r\n:2\r\n', small), [1, 2]);
    expectError('*3\r\n', tooLong, /count 3 exceeds maxArrayLength 2/, small);
    expectError('%3\r\n', tooLong, /maxArrayLength 2/, small);
    assert.deepEqual(decodeOne('*1\r\n*1\r\n:1\r\n', small), [[1]]);
    expectError('*1\r\n*1\r\n*0\r\n', tooLong, /nesting depth 3 exceeds maxDepth 2/, small);
    expectError('|1\r\n+a\r\n+b\r\n*1\r\n*0\r\n', tooLong, /maxDepth 2/, small);
    const error = (() => {
      try {
        decodeAll('$2000000000\r\n');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(error instanceof FrameTooLongError);
    assert.equal(error.length, 2_000_000_000);
    assert.equal(error.limit, 64 * 1024 * 1024);
  });

  it('a declared size allocates nothing: huge counts and lengths wait for their bytes', () => {
    const options = { maxArrayLength: 2 ** 31, maxBulkLength: 2 ** 31 };
    const before = process.memoryUsage().arrayBuffers;
    for (const header of ['*2000000000\r\n', '$2000000000\r\n', '%2000000000\r\n']) {
      const bytes = b(header);
      assert.equal(new RespCodec(options).decode(bytes, 0, bytes.length), IncompleteFrame);
    }
    assert.ok(process.memoryUsage().arrayBuffers - before < 1024 * 1024);
  });

  it('C4: depth 1,000,000 gives a typed error, not a RangeError', () => {
    const deep = Buffer.from(`${'*1\r\n'.repeat(1_000_000)}:1\r\n`);
    expectError(deep.toString('latin1'), tooLong, /nesting depth 9 exceeds maxDepth 8/);
    // With the limit lifted, the iterative decoder and encoder handle it without recursion.
    const codec = new RespCodec({ maxDepth: Number.POSITIVE_INFINITY, protocol: 3 });
    const result = codec.decode(deep, 0, deep.length);
    assert.notEqual(result, IncompleteFrame);
    if (result === IncompleteFrame) return;
    assert.equal(result.bytesRead, deep.length);
    const out = Buffer.alloc(deep.length);
    assert.equal(codec.encode(result.frame, out, 0), deep.length);
    assert.ok(out.equals(deep));
    // Attributes chained a million times deep are rejected the same way.
    const chained = `${'|1\r\n+k\r\n+v\r\n'.repeat(1_000_000)}:1\r\n`;
    expectError(chained, tooLong, /maxDepth 8/);
  });

  it('C4: a huge count of elements is refused over the limit and streamed under it', () => {
    expectError('*1048577\r\n', tooLong, /1048577 exceeds maxArrayLength 1048576/);
    const n = 1_048_576;
    const bytes = Buffer.from(`*${n}\r\n${':1\r\n'.repeat(n)}`);
    const frame = decodeOne(bytes);
    assert.ok(Array.isArray(frame));
    assert.equal(frame.length, n);
  });
});

describe('RespCodec: encoding', () => {
  it('every type for RESP3', () => {
    assert.equal(encode(b('a\r\nb')), '$4\r\na\r\nb\r\n');
    assert.equal(encode('OK'), '+OK\r\n');
    assert.equal(encode(-12), ':-12\r\n');
    assert.equal(encode(2n ** 63n - 1n), ':9223372036854775807\r\n');
    assert.equal(encode(null), '_\r\n');
    assert.equal(encode(true), '#t\r\n');
    assert.equal(encode([b('x'), [1]]), '*2\r\n$1\r\nx\r\n*1\r\n:1\r\n');
    assert.equal(encode(new RespError('ERR x')), '-ERR x\r\n');
    assert.equal(encode(new RespError('ERR\r\nx', true)), '!6\r\nERR\r\nx\r\n');
    assert.equal(encode(new RespDouble(1.5)), ',1.5\r\n');
    assert.equal(encode(new RespDouble(Number.NEGATIVE_INFINITY)), ',-inf\r\n');
    assert.equal(encode(new RespDouble(Number.NaN)), ',nan\r\n');
    assert.equal(encode(new RespBigNumber(-(10n ** 30n))), `(-1${'0'.repeat(30)}\r\n`);
    assert.equal(encode(new RespVerbatim('txt', b('hi'))), '=6\r\ntxt:hi\r\n');
    assert.equal(encode(new RespMap([['a', 1]])), '%1\r\n+a\r\n:1\r\n');
    assert.equal(encode(new RespSet([1])), '~1\r\n:1\r\n');
    assert.equal(encode(new RespPush([b('m')])), '>1\r\n$1\r\nm\r\n');
    assert.equal(encode(new RespAttributed([['k', 1]], 'v')), '|1\r\n+k\r\n:1\r\n+v\r\n');
  });

  it('RESP3-only types mapped down for RESP2 as Redis does', () => {
    assert.equal(encode(null, 2), '$-1\r\n');
    assert.equal(encode(true, 2), ':1\r\n');
    assert.equal(encode(false, 2), ':0\r\n');
    assert.equal(encode(new RespDouble(1.5), 2), '$3\r\n1.5\r\n');
    assert.equal(encode(new RespDouble(Number.POSITIVE_INFINITY), 2), '$3\r\ninf\r\n');
    assert.equal(encode(new RespBigNumber(12n), 2), '$2\r\n12\r\n');
    assert.equal(encode(new RespVerbatim('txt', b('hi')), 2), '$2\r\nhi\r\n');
    assert.equal(encode(new RespMap([['a', 1]]), 2), '*2\r\n+a\r\n:1\r\n');
    assert.equal(encode(new RespSet([1]), 2), '*1\r\n:1\r\n');
    assert.equal(encode(new RespPush([1]), 2), '*1\r\n:1\r\n');
    assert.equal(encode(new RespAttributed([['k', 1]], new RespAttributed([], 'v')), 2), '+v\r\n');
    assert.equal(encode(new RespError('a\r\nb', true), 2), '-a  b\r\n');
  });

  it('the protocol switches mid-stream (HELLO 3)', () => {
    const codec = new RespCodec();
    const buffer = Buffer.alloc(64);
    assert.equal(codec.protocol, 2);
    let n = codec.encode(new RespMap([['proto', 3]]), buffer, 0) as number;
    assert.equal(buffer.toString('latin1', 0, n), '*2\r\n+proto\r\n:3\r\n');
    codec.protocol = 3;
    n = codec.encode(new RespMap([['proto', 3]]), buffer, 0) as number;
    assert.equal(buffer.toString('latin1', 0, n), '%1\r\n+proto\r\n:3\r\n');
    assert.throws(() => {
      codec.protocol = 4 as 3;
    }, /protocol must be 2 or 3/);
  });

  it('RespSwitchProtocol switches with its reply, and not when the reply is not written', () => {
    const codec = new RespCodec();
    const buffer = Buffer.alloc(64);
    const hello = new RespSwitchProtocol(3, new RespMap([['proto', 3]]));
    assert.equal(codec.encode(hello, Buffer.alloc(4), 0), InsufficientBuffer);
    assert.equal(codec.protocol, 2, 'a reply not written yet does not switch');
    assert.throws(() => codec.encode(new RespSwitchProtocol(3, 'a\nb'), buffer, 0), EncodeError);
    assert.equal(codec.protocol, 2, 'a reply that cannot be written does not switch');
    const n = codec.encode(hello, buffer, 0) as number;
    assert.equal(buffer.toString('latin1', 0, n), '%1\r\n+proto\r\n:3\r\n');
    assert.equal(codec.protocol, 3);
    const m = codec.encode(new RespSwitchProtocol(2, true), buffer, 0) as number;
    assert.equal(buffer.toString('latin1', 0, m), ':1\r\n');
    assert.equal(codec.protocol, 2);
  });

  it('a server switches to RESP3 mid-stream on HELLO 3 (engine, loopback)', async (t) => {
    type Redis = Protocol<{ in: RespValue; out: RespOutbound }>;
    const { listener } = await serve<Redis>(t, 'tcp', {
      codec: () => new RespCodec({ inlineCommands: true }),
      handler: {
        onFrame(ctx, command) {
          const args = command as Buffer[];
          const name = args[0]?.toString('latin1').toUpperCase();
          if (name === 'HELLO') {
            const proto = Number(args[1]?.toString()) === 3 ? 3 : 2;
            ctx.send(new RespSwitchProtocol(proto, new RespMap([['proto', proto]])));
          } else if (name === 'TYPES') {
            ctx.send([null, true, new RespDouble(1.5), new RespMap([['a', 1]])]);
          } else ctx.send(new RespError(`ERR unknown command '${name}'`));
        },
      },
    });
    const expected =
      '*4\r\n$-1\r\n:1\r\n$3\r\n1.5\r\n*2\r\n+a\r\n:1\r\n' +
      '%1\r\n+proto\r\n:3\r\n' +
      '*4\r\n_\r\n#t\r\n,1.5\r\n%1\r\n+a\r\n:1\r\n';
    const address = listener.address as { port: number };
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(address.port, '127.0.0.1');
      let received = '';
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`timed out; received ${JSON.stringify(received)}`));
      }, 5000);
      socket.on('error', reject);
      socket.on('connect', () => socket.write('TYPES\r\n*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\nTYPES\n'));
      socket.on('data', (chunk) => {
        received += chunk.toString('latin1');
        if (received.length >= expected.length) {
          clearTimeout(timer);
          socket.end();
          resolve(received);
        }
      });
    });
    assert.equal(reply, expected);
  });

  it('InsufficientBuffer when the buffer is short, at any size', () => {
    const value: RespValue = [
      b('hello'),
      new RespMap([['k', new RespDouble(2.5)]]),
      'status',
      12345,
    ];
    const full = encode(value);
    const codec = new RespCodec({ protocol: 3 });
    for (let size = 0; size < full.length; size++) {
      assert.equal(codec.encode(value, Buffer.alloc(size), 0), InsufficientBuffer, `size ${size}`);
    }
    const buffer = Buffer.alloc(full.length + 3);
    assert.equal(codec.encode(value, buffer, 3), full.length);
    assert.equal(buffer.toString('latin1', 3), full);
  });

  it('refuses what it cannot represent with an EncodeError', () => {
    const refused: Array<[RespValue, RegExp]> = [
      ['a\r\nb', /CR, LF/],
      ['\ud800', /lone surrogate/],
      [new RespError('x\ny'), /CR, LF/],
      [1.5, /not a safe integer/],
      [2 ** 60, /not a safe integer/],
      [2n ** 63n, /64-bit range/],
      [new RespVerbatim('text', b('')), /3 latin1/],
      [undefined as unknown as RespValue, /not a RESP value: undefined/],
      [{ a: 1 } as unknown as RespValue, /not a RESP value: Object/],
    ];
    for (const [value, pattern] of refused) {
      assert.throws(
        () => encode(value),
        (error: unknown) => error instanceof EncodeError && pattern.test(error.message),
      );
    }
    const limits = { maxBulkLength: 2, maxArrayLength: 1, maxDepth: 1 };
    assert.throws(() => encode(b('abc'), 3, limits), /maxBulkLength 2/);
    assert.throws(() => encode([1, 2], 3, limits), /maxArrayLength 1/);
    assert.throws(() => encode([[1]], 3, limits), /nesting depth 2 exceeds maxDepth 1/);
    const cyclic: RespValue[] = [];
    cyclic.push(cyclic);
    assert.throws(() => encode(cyclic), /maxDepth 8/);
  });

  it('doubles use the shortest text that reads back exactly', () => {
    for (const d of [0.1, -0, 1e21, 1.5e-7, 123, Number.MAX_VALUE, Number.MIN_VALUE]) {
      const text = doubleText(d);
      assert.ok(Object.is((decodeOne(`,${text}\r\n`) as RespDouble).value, d), text);
    }
  });
});

describe('RespCodec: inlineCommands (requests as redis-server reads them)', () => {
  const inline = { inlineCommands: true };
  const args = (...list: string[]) => list.map((s) => b(s));

  it('splits inline lines like redis-server (quotes, escapes)', () => {
    assert.deepEqual(decodeOne('PING\r\n', inline), args('PING'));
    assert.deepEqual(decodeOne('PING\n', inline), args('PING'));
    assert.deepEqual(decodeOne('  SET  k\t"a b"  \r\n', inline), args('SET', 'k', 'a b'));
    assert.deepEqual(decodeOne('ECHO "\\x41\\n\\"\\q"\r\n', inline), args('ECHO', 'A\n"q'));
    assert.deepEqual(decodeOne("ECHO 'it\\'s' \"\"\r\n", inline), args('ECHO', "it's", ''));
    assert.deepEqual(decodeOne('a"b c" d\r\n', inline), args('ab c', 'd'));
    assert.deepEqual(decodeOne('\r\n', inline), []);
    assert.deepEqual(decodeOne('a\x0bb\r\n', inline), args('a\x0bb'));
    expectError('ECHO "abc\r\n', 'MAI_CORRUPT_FRAME', /unbalanced quotes/, inline);
    expectError('ECHO "abc"x\r\n', 'MAI_CORRUPT_FRAME', /unbalanced quotes/, inline);
  });

  it('commands are arrays of bulk strings only; empty commands are []', () => {
    assert.deepEqual(decodeOne('*2\r\n$3\r\nGET\r\n$1\r\nk\r\n', inline), args('GET', 'k'));
    assert.deepEqual(decodeAll('*0\r\n*-1\r\n', inline), [[], []]);
    expectError('*1\r\n:1\r\n', 'MAI_CORRUPT_FRAME', /expected '\$': ":"/, inline);
    expectError('*1\r\n$-1\r\n', 'MAI_CORRUPT_FRAME', /null bulk/, inline);
    expectError('*-2\r\n', 'MAI_CORRUPT_FRAME', /negative length/, inline);
    // A top-level byte other than '*' is an inline command, as in redis-server.
    assert.deepEqual(decodeOne('$3\r\n', inline), args('$3'));
  });

  it('inline line limit: max passes, max+1 fails even before the newline', () => {
    const options = { inlineCommands: true, maxInlineLength: 8 };
    assert.deepEqual(decodeOne('12345678\r\n', options), args('12345678'));
    expectError('123456789\r\n', 'MAI_FRAME_TOO_LONG', /9 exceeds maxInlineLength 8/, options);
    const codec = new RespCodec(options);
    assert.equal(codec.decode(b('12345678\r'), 0, 9), IncompleteFrame);
    assert.throws(() => codec.decode(b('123456789'), 0, 9), FrameTooLongError);
  });
});

// ---- the conformance kit (B1-B4, C1) -------------------------------------------------------

const typeCases: Array<ConformanceCase<RespValue>> = [
  { name: 'simple string', bytes: b('+OK\r\n'), frames: ['OK'] },
  { name: 'simple error', bytes: b('-ERR x\r\n'), frames: [new RespError('ERR x')] },
  { name: 'integer', bytes: b(':-1234567890123\r\n'), frames: [-1234567890123] },
  { name: 'big integer', bytes: b(':9223372036854775807\r\n'), frames: [2n ** 63n - 1n] },
  { name: 'bulk string', bytes: b('$6\r\nfoo\r\nb\r\n'), frames: [b('foo\r\nb')] },
  { name: 'empty bulk', bytes: b('$0\r\n\r\n'), frames: [Buffer.alloc(0)] },
  { name: 'null bulk', bytes: b('$-1\r\n'), frames: [null] },
  { name: 'null array', bytes: b('*-1\r\n'), frames: [null] },
  {
    name: 'command',
    bytes: b('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nvv\r\n'),
    frames: [[b('SET'), b('k'), b('vv')]],
  },
  { name: 'nested array', bytes: b('*2\r\n*0\r\n*1\r\n+x\r\n'), frames: [[[], ['x']]] },
  { name: 'null', bytes: b('_\r\n'), frames: [null] },
  { name: 'booleans', bytes: b('#t\r\n#f\r\n'), frames: [true, false] },
  {
    name: 'doubles',
    bytes: b(',3.25\r\n,inf\r\n,-inf\r\n,nan\r\n,1e+300\r\n'),
    frames: [3.25, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN, 1e300].map(
      (d) => new RespDouble(d),
    ),
  },
  {
    name: 'big number',
    bytes: b('(-123456789012345678901234567890\r\n'),
    frames: [new RespBigNumber(-123456789012345678901234567890n)],
  },
  {
    name: 'bulk error',
    bytes: b('!8\r\nERR\r\nbad\r\n'),
    frames: [new RespError('ERR\r\nbad', true)],
  },
  {
    name: 'verbatim',
    bytes: b('=8\r\ntxt:a\r\nb\r\n'),
    frames: [new RespVerbatim('txt', b('a\r\nb'))],
  },
  {
    name: 'map',
    bytes: b('%2\r\n+a\r\n:1\r\n$1\r\nb\r\n%0\r\n'),
    frames: [
      new RespMap([
        ['a', 1],
        [b('b'), new RespMap([])],
      ]),
    ],
  },
  { name: 'set', bytes: b('~3\r\n:1\r\n+a\r\n_\r\n'), frames: [new RespSet([1, 'a', null])] },
  {
    name: 'push',
    bytes: b('>2\r\n+pubsub\r\n$1\r\nm\r\n'),
    frames: [new RespPush(['pubsub', b('m')])],
  },
  {
    name: 'attribute',
    bytes: b('|1\r\n+ttl\r\n:9\r\n*1\r\n|0\r\n:1\r\n'),
    frames: [new RespAttributed([['ttl', 9]], [new RespAttributed([], 1)])],
  },
  {
    name: 'stream of frames',
    bytes: b('+a\r\n:1\r\n$1\r\nb\r\n*0\r\n_\r\n'),
    frames: ['a', 1, b('b'), [], null],
  },
];

const errorCases: Array<ConformanceCase<RespValue>> = [
  { name: 'unknown type', bytes: b('+ok\r\n?x\r\n'), frames: ['ok'], error: 'MAI_CORRUPT_FRAME' },
  { name: 'negative length', bytes: b('$-2\r\n'), frames: [], error: 'MAI_CORRUPT_FRAME' },
  { name: 'negative count', bytes: b('*-3\r\n'), frames: [], error: 'MAI_CORRUPT_FRAME' },
  { name: 'non-numeric length', bytes: b('$1a\r\n'), frames: [], error: 'MAI_CORRUPT_FRAME' },
  { name: 'leading zero', bytes: b('*01\r\n'), frames: [], error: 'MAI_CORRUPT_FRAME' },
  {
    name: 'overflowing length',
    bytes: b('$92233720368547758070\r\n'),
    frames: [],
    error: 'MAI_CORRUPT_FRAME',
  },
  {
    name: 'overflowing count, 19 digits',
    bytes: b('*9223372036854775808\r\n'),
    frames: [],
    error: 'MAI_CORRUPT_FRAME',
  },
  { name: 'bulk without CRLF', bytes: b('$1\r\nab\r\n'), frames: [], error: 'MAI_CORRUPT_FRAME' },
  { name: 'CR without LF', bytes: b(':1\r:'), frames: [], error: 'MAI_CORRUPT_FRAME' },
  { name: 'bad boolean', bytes: b('#tt'), frames: [], error: 'MAI_CORRUPT_FRAME' },
  { name: 'bad double', bytes: b(',1e\r\n'), frames: [], error: 'MAI_CORRUPT_FRAME' },
  {
    name: 'count over limit',
    bytes: b('*1\r\n*2000000000\r\n'),
    frames: [],
    error: 'MAI_FRAME_TOO_LONG',
  },
  {
    name: 'length over limit',
    bytes: b('$2000000000\r\n'),
    frames: [],
    error: 'MAI_FRAME_TOO_LONG',
  },
  {
    name: 'depth over limit',
    bytes: b('*1\r\n'.repeat(9)),
    frames: [],
    error: 'MAI_FRAME_TOO_LONG',
  },
  {
    name: 'truncated bulk',
    bytes: b('$5\r\nab'),
    frames: [],
    eof: { error: 'MAI_TRUNCATED_FRAME' },
  },
  {
    name: 'truncated array',
    bytes: b(':1\r\n*2\r\n:1\r\n'),
    frames: [1],
    eof: { error: 'MAI_TRUNCATED_FRAME' },
  },
];

const requestCases: Array<ConformanceCase<RespValue>> = [
  {
    name: 'command',
    bytes: b('*2\r\n$4\r\nECHO\r\n$3\r\na\r\n\r\n'),
    frames: [[b('ECHO'), b('a\r\n')]],
  },
  {
    name: 'inline',
    bytes: b('PING\r\nECHO "a b" \'c\'\nX\r\n'),
    frames: [[b('PING')], [b('ECHO'), b('a b'), b('c')], [b('X')]],
  },
  { name: 'empty commands', bytes: b('\r\n*0\r\n*-1\r\n\n'), frames: [[], [], [], []] },
  {
    name: 'mixed',
    bytes: b('GET k\r\n*1\r\n$4\r\nPING\r\n'),
    frames: [[b('GET'), b('k')], [b('PING')]],
  },
  { name: 'not a bulk', bytes: b('*1\r\n+PING\r\n'), frames: [], error: 'MAI_CORRUPT_FRAME' },
  {
    name: 'unbalanced',
    bytes: b('PING\r\nECHO "a\r\n'),
    frames: [[b('PING')]],
    error: 'MAI_CORRUPT_FRAME',
  },
  { name: 'truncated inline', bytes: b('PING'), frames: [], eof: { error: 'MAI_TRUNCATED_FRAME' } },
];

/** What a RESP2 peer receives for a value: Redis's mapping of RESP3-only types. */
function asResp2(value: RespValue): RespValue {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map(asResp2);
  if (value instanceof RespDouble) return b(doubleText(value.value));
  if (value instanceof RespBigNumber) return b(value.value.toString());
  if (value instanceof RespVerbatim) return value.text;
  if (value instanceof RespMap) return value.entries.flatMap(([k, v]) => [asResp2(k), asResp2(v)]);
  if (value instanceof RespSet || value instanceof RespPush) return value.items.map(asResp2);
  if (value instanceof RespAttributed) return asResp2(value.value);
  if (value instanceof RespError && value.bulk)
    return new RespError(value.message.replace(/[\r\n]/g, ' '));
  return value;
}

describe('RespCodec: conformance kit', () => {
  it('every type and error (B1, B4), limits (C1), small limits', async () => {
    await assertCodecConformance<RespValue>({
      name: 'resp',
      codec: () => new RespCodec({ protocol: 3 }),
      cases: [...typeCases, ...errorCases],
    });
    const small = { maxBulkLength: 8, maxArrayLength: 3, maxDepth: 3, protocol: 3 } as const;
    await assertCodecConformance<RespValue>({
      name: 'resp small limits',
      codec: () => new RespCodec(small),
      cases: [
        {
          name: 'at limits',
          bytes: b('*3\r\n$8\r\n12345678\r\n*1\r\n*0\r\n+12345678\r\n'),
          frames: [[b('12345678'), [[]], '12345678']],
        },
      ],
      limits: [
        { name: 'bulk length', atMax: b('$8\r\n12345678\r\n'), overMax: b('$9\r\n123456789\r\n') },
        { name: 'simple string line', atMax: b('+12345678\r\n'), overMax: b('+123456789\r\n') },
        {
          name: 'verbatim length',
          atMax: b('=8\r\ntxt:1234\r\n'),
          overMax: b('=9\r\ntxt:12345\r\n'),
        },
        {
          name: 'array count',
          atMax: b('*3\r\n:1\r\n:2\r\n:3\r\n'),
          overMax: b('*4\r\n:1\r\n:2\r\n:3\r\n:4\r\n'),
        },
        {
          name: 'map count',
          atMax: b('%3\r\n:1\r\n:1\r\n:2\r\n:2\r\n:3\r\n:3\r\n'),
          overMax: b('%4\r\n'),
        },
        {
          name: 'depth',
          atMax: b('*1\r\n*1\r\n*1\r\n:1\r\n'),
          overMax: b('*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n'),
        },
      ],
    });
  });

  it('requests with inline commands (B1, B4, C1)', async () => {
    await assertCodecConformance<RespValue>({
      name: 'resp requests',
      codec: () =>
        new RespCodec({
          inlineCommands: true,
          maxInlineLength: 16,
          maxBulkLength: 8,
          maxArrayLength: 2,
        }),
      cases: requestCases,
      limits: [
        {
          name: 'inline line',
          atMax: b('1234567890123456\r\n'),
          overMax: b('12345678901234567\r\n'),
        },
        {
          name: 'argument',
          atMax: b('*1\r\n$8\r\n12345678\r\n'),
          overMax: b('*1\r\n$9\r\n123456789\r\n'),
        },
        { name: 'argument count', atMax: b('*2\r\n$0\r\n\r\n$0\r\n\r\n'), overMax: b('*3\r\n') },
      ],
    });
  });

  for (const protocol of [3, 2] as const) {
    it(`round trip of random values, RESP${protocol} (B2, B3), ${PROPERTY_RUNS} runs`, async () => {
      const started = performance.now();
      await assertCodecConformance<RespValue>({
        name: `resp${protocol} round trip`,
        codec: () => new RespCodec({ protocol }),
        cases: [],
        roundTrip: {
          arbitrary: respValue(),
          runs: PROPERTY_RUNS,
          ...(protocol === 2 ? { expected: asResp2 } : {}),
        },
      });
      const ms = Math.round(performance.now() - started);
      console.log(`# resp${protocol} round trip: ${PROPERTY_RUNS} runs in ${ms} ms`);
    });
  }
});

describe('RespCodec: resumable decoding cost', () => {
  it('byte-by-byte delivery is linear (measured, not asserted)', () => {
    const args = Array.from({ length: 4096 }, (_, i) => Buffer.alloc(200, i));
    const wire = Buffer.alloc(2 * 1024 * 1024);
    const codec = new RespCodec({ protocol: 3 });
    const n = codec.encode(args, wire, 0) as number;
    let calls = 0;
    const started = performance.now();
    let frame: RespValue = null;
    for (let end = 1; end <= n; end++) {
      calls++;
      const result = codec.decode(wire, 0, end);
      if (result !== IncompleteFrame) {
        frame = result.frame;
        break;
      }
    }
    const ms = performance.now() - started;
    assert.equal(calls, n);
    assert.deepEqual(frame, args);
    console.log(`# byte-by-byte: ${n} bytes, ${n} decode calls in ${ms.toFixed(0)} ms`);
    const inline = new RespCodec({ inlineCommands: true });
    const line = Buffer.from(`${'x'.repeat(65_000)}\r\n`);
    const t2 = performance.now();
    for (let end = 1; end <= line.length; end++) {
      const result = inline.decode(line, 0, end);
      if (result !== IncompleteFrame) assert.equal(end, line.length);
    }
    console.log(
      `# byte-by-byte inline line of ${line.length} bytes in ${(performance.now() - t2).toFixed(0)} ms`,
    );
  });
});

describe('RespCodec: errors are typed', () => {
  it('every decode failure is a DecodeError', () => {
    for (const text of ['$x', '*-9\r\n', '\x00', '=1\r\nx\r\n']) {
      assert.throws(() => decodeAll(text), DecodeError);
    }
  });
});
