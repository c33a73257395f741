import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import fc from 'fast-check';
import { parseInteger, addInteger } from '../../examples/kv/integers.js';
import { Deque } from '../../examples/kv/deque.js';
import { KvStore } from '../../examples/kv/store.js';

test('parseInteger accepts what Redis string2ll accepts, nothing else', () => {
  const good: [string, number | bigint][] = [
    ['0', 0],
    ['-1', -1],
    ['42', 42],
    ['999999999999999', 999999999999999],
    ['9007199254740993', 9007199254740993n],
    ['9223372036854775807', 9223372036854775807n],
    ['-9223372036854775808', -9223372036854775808n],
  ];
  for (const [text, value] of good) assert.equal(parseInteger(Buffer.from(text)), value, text);
  for (const text of [
    '',
    '-',
    '+1',
    '01',
    '-0',
    ' 1',
    '1 ',
    '1.0',
    '1e3',
    '9223372036854775808',
    '-9223372036854775809',
    'abc',
  ]) {
    assert.equal(parseInteger(Buffer.from(text)), undefined, JSON.stringify(text));
  }
  assert.equal(addInteger(9007199254740991, 2), 9007199254740993n);
  assert.equal(addInteger(9223372036854775807n, 1), undefined);
  assert.equal(addInteger(9007199254740993n, -2), 9007199254740991);
});

test('keys expire lazily on access and by the periodic sweep (mocked clock)', (t) => {
  mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
  t.after(() => mock.timers.reset());
  const store = new KvStore();
  for (let i = 0; i < 100; i++) {
    const entry = store.set(`k${i}`, Buffer.from('v'));
    store.expireAt(`k${i}`, entry, Date.now() + 1000);
  }
  store.set('forever', Buffer.from('v'));
  assert.equal(store.size, 101);
  assert.equal(store.volatileCount, 100);
  mock.timers.tick(999);
  assert.notEqual(store.lookup('k0'), undefined);
  mock.timers.tick(1);
  assert.equal(store.lookup('k0'), undefined, 'expired exactly at its deadline');
  assert.equal(store.size, 100, 'the lookup deleted it');
  // Nobody reads the others: the sweep finds them (bounded rounds, each sampling 20).
  for (let i = 0; i < 100 && store.volatileCount > 0; i++) store.sweep(20, 1000);
  assert.equal(store.volatileCount, 0);
  assert.equal(store.size, 1);
  assert.equal(store.expiredKeys, 100);
});

test('SET over a key keeps its TTL only with keepTtl; an expired key is a new key', (t) => {
  mock.timers.enable({ apis: ['Date'], now: 5_000 });
  t.after(() => mock.timers.reset());
  const store = new KvStore();
  const first = store.set('k', Buffer.from('1'));
  store.expireAt('k', first, 6_000);
  assert.equal(store.set('k', Buffer.from('2'), true).expiresAt, 6_000);
  assert.equal(store.set('k', Buffer.from('3')).expiresAt, 0);
  store.expireAt('k', first, 6_000);
  mock.timers.tick(1_000);
  const again = store.set('k', Buffer.from('4'));
  assert.notEqual(again, first);
  assert.ok(again.seq > first.seq);
});

test('SCAN returns every key present for the whole scan exactly once while other keys come and go (fast-check)', () => {
  const runs = Number(process.env.MAI_PROPERTY_RUNS ?? 300);
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 200 }),
      fc.array(
        fc.record({
          count: fc.integer({ min: 1, max: 30 }),
          deletes: fc.array(fc.nat(400), { maxLength: 5 }),
          adds: fc.array(fc.nat(400), { maxLength: 5 }),
        }),
        { minLength: 1, maxLength: 60 },
      ),
      (initial, steps) => {
        const store = new KvStore();
        for (let i = 0; i < initial; i++) store.set(`k${i}`, Buffer.from('v'));
        const touched = new Set<string>();
        const seen = new Map<string, number>();
        let cursor = 0;
        let done = false;
        for (const step of steps) {
          const page = store.scan(cursor, step.count, undefined, undefined);
          for (const key of page.keys) seen.set(key, (seen.get(key) ?? 0) + 1);
          cursor = page.cursor;
          if (cursor === 0) {
            done = true;
            break;
          }
          for (const d of step.deletes) {
            touched.add(`k${d}`);
            store.delete(`k${d}`);
          }
          for (const a of step.adds) {
            touched.add(`k${a}`);
            store.set(`k${a}`, Buffer.from('v'));
          }
        }
        // Finish the scan without further changes (bounded by the key count).
        for (let i = 0; !done && i < 1000; i++) {
          const page = store.scan(cursor, 10, undefined, undefined);
          for (const key of page.keys) seen.set(key, (seen.get(key) ?? 0) + 1);
          cursor = page.cursor;
          done = cursor === 0;
        }
        assert.ok(done, 'the scan finished');
        for (let i = 0; i < initial; i++) {
          const key = `k${i}`;
          if (touched.has(key)) continue;
          assert.equal(seen.get(key), 1, `${key} seen ${seen.get(key) ?? 0} times`);
        }
      },
    ),
    { numRuns: Math.min(runs, 20_000) },
  );
});

test('SCAN with a cursor that was not parked (evicted or forged) resumes by skipping', () => {
  const store = new KvStore();
  for (let i = 0; i < 50; i++) store.set(`k${i}`, Buffer.from('v'));
  const first = store.scan(0, 10, undefined, undefined);
  // 20 other scans evict the parked iterator of the first one.
  for (let i = 0; i < 20; i++) store.scan(0, 5, undefined, undefined);
  const keys = [...first.keys];
  let cursor = first.cursor;
  for (let i = 0; i < 100 && cursor !== 0; i++) {
    const page = store.scan(cursor, 10, undefined, undefined);
    keys.push(...page.keys);
    cursor = page.cursor;
  }
  assert.equal(cursor, 0);
  assert.deepEqual(
    keys,
    Array.from({ length: 50 }, (_, i) => `k${i}`),
  );
  assert.deepEqual(store.scan(0, 100, 'k1*', undefined).keys.length, 11);
});

test('Deque behaves as an array used from both ends, through growth and wrap-around', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(fc.constantFrom('pushFront', 'pushBack', 'popFront', 'popBack'), fc.nat(99)),
        {
          maxLength: 200,
        },
      ),
      (ops) => {
        const deque = new Deque<number>();
        const model: number[] = [];
        for (const [op, n] of ops) {
          if (op === 'pushFront') {
            deque.pushFront(n);
            model.unshift(n);
          } else if (op === 'pushBack') {
            deque.pushBack(n);
            model.push(n);
          } else if (op === 'popFront') assert.equal(deque.popFront(), model.shift());
          else assert.equal(deque.popBack(), model.pop());
          assert.equal(deque.length, model.length);
        }
        assert.deepEqual(deque.toArray(), model);
        for (let i = 0; i < model.length; i++) assert.equal(deque.at(i), model[i]);
      },
    ),
    { numRuns: 200 },
  );
});
