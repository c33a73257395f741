import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDouble, parseFloatArg, parseRangeFloat } from '../../examples/kv/floats.js';
import { KvZset } from '../../examples/kv/sorted-set.js';

test('a sorted set of 100k members keeps ranks, ranges and order right through updates', () => {
  const zset = new KvZset(false);
  const n = 100_000;
  // Scores in a scrambled order, so inserts land all over the list.
  for (let i = 0; i < n; i++) zset.add(Buffer.from(`m${i}`), (i * 7919) % n);
  assert.equal(zset.size, n);
  for (let i = 0; i < n; i += 997) {
    const member = Buffer.from(`m${i}`);
    assert.equal(zset.rankOf(member), (i * 7919) % n);
    assert.equal(zset.list.byRank((i * 7919) % n)?.member.toString(), `m${i}`);
  }
  // Move every tenth member to the end, then check the order is still ascending.
  for (let i = 0; i < n; i += 10) zset.add(Buffer.from(`m${i}`), n + i);
  let previous = Number.NEGATIVE_INFINITY;
  let walked = 0;
  for (let node = zset.list.first; node !== null; node = node.next, walked++) {
    assert.ok(node.score >= previous);
    previous = node.score;
  }
  assert.equal(walked, n);
  assert.deepEqual(
    zset.scoreRanks({ min: n, max: Infinity, minExclusive: false, maxExclusive: false }),
    [n - n / 10, n],
  );
  for (let i = 0; i < n; i += 2) zset.remove(Buffer.from(`m${i}`));
  assert.equal(zset.size, n / 2);
  assert.equal(zset.list.length, n / 2);
});

test('floats are read as Redis reads them and printed as %.17g', () => {
  assert.equal(parseFloatArg(Buffer.from('0x1p-3')), 0.125);
  assert.equal(parseFloatArg(Buffer.from('1e-400')), undefined);
  assert.equal(parseFloatArg(Buffer.from('1e400')), undefined);
  assert.equal(parseFloatArg(Buffer.from('-Infinity')), Number.NEGATIVE_INFINITY);
  assert.equal(parseFloatArg(Buffer.from(' 1')), undefined);
  assert.equal(parseRangeFloat(' 1'), 1);
  assert.equal(parseRangeFloat(''), 0);
  assert.equal(parseRangeFloat('1\u0000x'), 1);
  assert.equal(formatDouble(0.1), '0.10000000000000001');
  assert.equal(formatDouble(1e21), '1e+21');
  assert.equal(formatDouble(1e-5), '1.0000000000000001e-05');
  assert.equal(formatDouble(0.0001), '0.0001');
  assert.equal(formatDouble(-0), '-0');
  assert.equal(formatDouble(123456789.123), '123456789.123');
});
