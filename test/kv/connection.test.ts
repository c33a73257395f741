import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareScenarios, type Step } from './wire-scenario.js';

/** `conn: request` shorthand (arguments split on spaces). */
const s = (conn: number, line: string, normalize?: (frame: string) => string): Step =>
  normalize === undefined
    ? { conn, request: line.split(' ') }
    : { conn, request: line.split(' '), normalize };

/** HELLO's map names the server: its version and the client id are masked. */
const helloMask = (frame: string) =>
  frame
    .replace(/version\r\n\$\d+\r\n[^\r]*\r\n/, 'version\r\n<v>\r\n')
    .replace(/id\r\n:\d+\r\n/, 'id\r\n<id>\r\n');

/**
 * CLIENT LIST / INFO: the fields that differ by nature (ids, addresses, sizes, ages) are
 * masked; the field names, their order and flags/sub/psub/multi/cmd/user/resp are compared.
 */
const clientMask = (frame: string) =>
  frame
    .replace(/^\$\d+\r\n/, '$<n>\r\n')
    .replace(
      /\b(id|addr|laddr|fd|age|idle|qbuf|qbuf-free|argv-mem|multi-mem|rbs|rbp|obl|oll|omem|tot-mem)=[^ ]*/g,
      '$1=<x>',
    );
const hello = (conn: number, line: string): Step => s(conn, line, helloMask);
const client = (conn: number, line: string): Step => s(conn, line, clientMask);

const SCENARIOS: Record<string, Step[]> = {
  'HELLO: forms, errors, names set while parsing as 7.0 does': [
    hello(0, 'HELLO'),
    hello(0, 'HELLO 2 SETNAME'),
    hello(0, 'HELLO 2 AUTH default'),
    hello(0, 'HELLO 2 AUTH default pw SETNAME n1'),
    s(0, 'CLIENT GETNAME'),
    hello(0, 'HELLO 2 SETNAME n2 AUTH default'),
    s(0, 'CLIENT GETNAME'),
    hello(0, 'HELLO 2 SETNAME a b'),
    hello(0, 'HELLO 1'),
    hello(0, 'HELLO 0'),
    hello(0, 'HELLO -1'),
    hello(0, 'HELLO 2 foo'),
    hello(0, 'HELLO 2 AUTH nobody pw'),
    hello(0, 'HELLO 3 SETNAME n3'),
    s(0, 'CLIENT GETNAME'),
    s(0, 'PING'),
    hello(0, 'HELLO 2'),
    s(0, 'PING'),
  ],
  'RESET: out of subscribed mode, MULTI, RESP3 and the name': [
    s(0, 'CLIENT SETNAME foo'),
    s(0, 'SUBSCRIBE a'),
    s(0, 'RESET'),
    s(0, 'CLIENT GETNAME'),
    s(0, 'MULTI'),
    s(0, 'RESET'),
    s(0, 'EXEC'),
    hello(0, 'HELLO 3'),
    s(0, 'RESET'),
    client(0, 'CLIENT INFO'),
    s(0, 'RESET x'),
  ],
  'RESET: back to the default user, so with a password the client must AUTH again': [
    s(0, 'CONFIG SET requirepass pw'),
    s(0, 'GET p'),
    s(0, 'RESET'),
    s(0, 'GET p'),
    s(0, 'AUTH pw'),
    s(0, 'GET p'),
    { conn: 0, request: ['CONFIG', 'SET', 'requirepass', ''] },
    s(0, 'RESET'),
    s(0, 'GET p'),
  ],
  'CLIENT REPLY OFF/SKIP/ON; messages still reach a silenced subscriber': [
    s(0, 'CLIENT REPLY SKIP'),
    s(0, 'PING a'),
    s(0, 'PING b'),
    s(0, 'CLIENT REPLY OFF'),
    s(0, 'PING c'),
    s(0, 'CLIENT REPLY SKIP'),
    s(0, 'PING d'),
    s(0, 'PING d2'),
    s(0, 'CLIENT REPLY ON'),
    s(0, 'PING e'),
    s(0, 'CLIENT REPLY SKIP'),
    s(0, 'NOSUCH'),
    s(0, 'PING f'),
    s(0, 'CLIENT REPLY x'),
    s(0, 'CLIENT REPLY'),
    hello(1, 'HELLO 3'),
    s(1, 'SUBSCRIBE ch'),
    s(1, 'CLIENT REPLY OFF'),
    s(2, 'PUBLISH ch x'),
    s(1, 'PING'),
    s(1, 'CLIENT REPLY ON'),
    s(2, 'PUBLISH ch y'),
  ],
  'CLIENT KILL: old and filter forms, errors': [
    s(0, 'CLIENT KILL 1.2.3.4:5'),
    s(0, 'CLIENT KILL ID 9999'),
    s(0, 'CLIENT KILL ID 0'),
    s(0, 'CLIENT KILL ID x'),
    s(0, 'CLIENT KILL TYPE foo'),
    s(0, 'CLIENT KILL USER nob'),
    s(0, 'CLIENT KILL ADDR 1.2.3.4:5'),
    s(0, 'CLIENT KILL foo bar'),
    s(0, 'CLIENT KILL ID'),
    s(0, 'CLIENT KILL SKIPME maybe'),
    s(0, 'CLIENT KILL LADDR 1:1 SKIPME no'),
    s(0, 'CLIENT KILL MAXAGE 10'),
    s(0, 'CLIENT KILL ID 1 TYPE'),
    s(0, 'CLIENT KILL'),
    s(1, 'SUBSCRIBE x'),
    s(0, 'CLIENT KILL TYPE pubsub'),
    s(0, 'PUBSUB NUMSUB x'),
    s(2, 'PING'),
    s(0, 'CLIENT KILL TYPE normal USER default'),
    s(2, 'PING'),
    s(0, 'CLIENT KILL TYPE normal SKIPME no'),
  ],
  'CLIENT LIST/INFO fields, filters, NO-EVICT, errors': [
    s(0, 'CLIENT NO-EVICT on'),
    client(0, 'CLIENT INFO'),
    s(0, 'CLIENT NO-EVICT x'),
    s(0, 'CLIENT NO-EVICT off'),
    s(0, 'CLIENT NO-EVICT'),
    s(0, 'CLIENT NO-TOUCH on'),
    s(0, 'MULTI'),
    s(0, 'PING'),
    client(0, 'CLIENT INFO'),
    s(0, 'DISCARD'),
    s(1, 'PSUBSCRIBE p*'),
    client(0, 'CLIENT LIST TYPE pubsub'),
    s(0, 'CLIENT LIST TYPE master'),
    s(0, 'CLIENT LIST TYPE foo'),
    s(0, 'CLIENT LIST ID 1 x'),
    s(0, 'CLIENT LIST ID 99999'),
    s(0, 'CLIENT LIST foo'),
    s(0, 'CLIENT LIST ID'),
    s(0, 'CLIENT LIST TYPE normal ID 1'),
    s(0, 'CLIENT INFO x'),
    s(0, 'CLIENT GETNAME x'),
    s(0, 'CLIENT ID x'),
    s(0, 'CLIENT SETNAME a\nb'),
    s(0, 'ECHO'),
    s(0, 'ECHO a b'),
    s(0, 'SELECT x'),
    s(0, 'SELECT 0'),
    s(0, 'QUIT'),
  ],
  'pub/sub: two subscribers, a pattern, PUBSUB introspection, RESP2 subscribed rules': [
    s(0, 'SUBSCRIBE news'),
    s(1, 'PSUBSCRIBE n*s ne[tx]t'),
    s(2, 'PUBLISH news hello'),
    s(2, 'PUBLISH nett x'),
    s(2, 'PUBLISH other x'),
    s(2, 'PUBSUB CHANNELS'),
    s(2, 'PUBSUB CHANNELS n*'),
    s(2, 'PUBSUB CHANNELS x*'),
    s(2, 'PUBSUB CHANNELS a b'),
    s(2, 'PUBSUB NUMSUB news other news'),
    s(2, 'PUBSUB NUMSUB'),
    s(2, 'PUBSUB NUMPAT'),
    s(2, 'PUBSUB NUMPAT x'),
    s(2, 'PUBSUB HELP'),
    s(2, 'PUBSUB SHARDCHANNELS'),
    s(2, 'PUBSUB SHARDCHANNELS a b'),
    s(2, 'PUBSUB SHARDNUMSUB a b'),
    s(2, 'PUBSUB'),
    s(2, 'PUBSUB nosuch'),
    s(0, 'CLIENT ID'),
    s(0, 'PUBSUB CHANNELS'),
    s(0, 'MULTI'),
    s(0, 'EXEC'),
    s(0, 'PING'),
    s(0, 'PING x'),
    s(0, 'SUBSCRIBE news'),
    s(0, 'UNSUBSCRIBE other'),
    s(1, 'PUNSUBSCRIBE nomatch'),
    s(1, 'PUNSUBSCRIBE n*s'),
    s(2, 'PUBLISH news again'),
    s(1, 'PUNSUBSCRIBE'),
    s(0, 'UNSUBSCRIBE'),
    s(0, 'GET x'),
    s(0, 'QUIT'),
  ],
  'pub/sub RESP3: pushes, any command while subscribed, PING answered normally': [
    hello(0, 'HELLO 3'),
    s(0, 'SUBSCRIBE a b'),
    s(0, 'PSUBSCRIBE *'),
    s(1, 'PUBLISH a 1'),
    s(0, 'GET x'),
    s(0, 'PING'),
    s(0, 'PING y'),
    s(0, 'CLIENT ID', (frame) => frame.replace(/^:\d+/, ':<id>')),
    s(0, 'UNSUBSCRIBE b'),
    s(1, 'PUBLISH b 2'),
    s(0, 'PUNSUBSCRIBE'),
    s(0, 'UNSUBSCRIBE'),
    s(0, 'UNSUBSCRIBE'),
  ],
};

test('connection and pub/sub scenarios give the bytes redis-server gives, on every connection', async (t) => {
  const { version, problems } = await compareScenarios(t, SCENARIOS);
  assert.equal(problems.length, 0, `${version}\n${problems.join('\n')}`);
});
