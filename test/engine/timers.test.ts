/**
 * The engine's timer wheel (src/engine/timers.ts) against a model: with a clock of its own, any
 * sequence of arming, cancelling and time passing (1 ms to weeks, past the wheel's 2^30 ms
 * span and its rebasing) fires exactly the timeouts whose deadline has come, in deadline order,
 * ties in the order they were set. Then the real clock: nothing early, little late.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { TimerQueue } from '../../src/engine/timers.js';

const RUNS = Number(process.env.MAI_PROPERTY_RUNS ?? 2000);
const DAY = 24 * 3600 * 1000;

type Op =
  | { kind: 'add'; ms: number }
  | { kind: 'cancel'; pick: number }
  | { kind: 'advance'; ms: number };

/** Delays across every level of the wheel and beyond its span. */
const delay = fc.oneof(
  fc.integer({ min: 1, max: 40 }),
  fc.integer({ min: 1, max: 2_000 }),
  fc.integer({ min: 1, max: 120_000 }),
  fc.integer({ min: 1, max: 40 * DAY }),
);

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: delay.map((ms) => ({ kind: 'add' as const, ms })) },
  { weight: 2, arbitrary: fc.nat().map((pick) => ({ kind: 'cancel' as const, pick })) },
  {
    weight: 3,
    arbitrary: fc
      .oneof(fc.integer({ min: 0, max: 50 }), delay)
      .map((ms) => ({ kind: 'advance' as const, ms })),
  },
);

interface Pending {
  id: number;
  label: number;
  deadline: number;
  seq: number;
}

test(`timer wheel ≡ model: ${RUNS} random sequences of add / cancel / advance (1 ms to 40 days)`, () => {
  fc.assert(
    fc.property(
      fc.array(op, { minLength: 1, maxLength: 200 }),
      fc.integer({ min: 0, max: 2 ** 40 }),
      (ops, start) => {
        let now = start;
        const queue = new TimerQueue(() => now);
        const fired: number[] = [];
        let pending: Pending[] = [];
        let seq = 0;
        try {
          for (const step of ops) {
            if (step.kind === 'add') {
              const label = seq++;
              const id = queue.add(step.ms, () => fired.push(label));
              pending.push({ id, label, deadline: now + step.ms, seq: label });
            } else if (step.kind === 'cancel') {
              if (pending.length === 0) {
                assert.equal(queue.cancel(123_456_789), false);
                continue;
              }
              const victim = pending[step.pick % pending.length] as Pending;
              assert.equal(queue.cancel(victim.id), true);
              assert.equal(queue.cancel(victim.id), false, 'a second cancel finds nothing');
              pending = pending.filter((p) => p !== victim);
            } else {
              now += step.ms;
              fired.length = 0;
              const count = queue.fireDue();
              const due = pending
                .filter((p) => p.deadline <= now)
                .sort((a, b) => a.deadline - b.deadline || a.seq - b.seq);
              pending = pending.filter((p) => p.deadline > now);
              assert.deepEqual(
                fired,
                due.map((p) => p.label),
                `at ${now - start} ms`,
              );
              assert.equal(count, due.length);
            }
            assert.equal(queue.size, pending.length);
          }
        } finally {
          queue.clear();
        }
      },
    ),
    { numRuns: RUNS },
  );
});

test('callbacks may arm and cancel timeouts while the wheel fires', () => {
  let now = 1_000;
  const queue = new TimerQueue(() => now);
  const log: string[] = [];
  const later = queue.add(10, () => log.push('later'));
  queue.add(5, () => {
    log.push('first');
    queue.cancel(later);
    queue.add(1, () => log.push('re-armed'));
  });
  queue.add(5, () => log.push('second'));
  now += 5;
  queue.fireDue();
  assert.deepEqual(log, ['first', 'second']);
  now += 1;
  queue.fireDue();
  assert.deepEqual(log, ['first', 'second', 're-armed']);
  now += 100;
  assert.equal(queue.fireDue(), 0, 'the cancelled one never fires');
  assert.equal(queue.size, 0);
});

test('a zero delay fires on the next turn, never inside the call that armed it', () => {
  let now = 50;
  const queue = new TimerQueue(() => now);
  let fired = 0;
  queue.add(0, () => fired++);
  assert.equal(queue.fireDue(), 0, 'not due in the same millisecond');
  now += 1;
  assert.equal(queue.fireDue(), 1);
  assert.equal(fired, 1);
  queue.clear();
});

test('real clock: 2,000 timeouts of 1–300 ms fire in order, none early, few late', async () => {
  // The queue's own reading of the clock, so the expected deadlines are exactly its own.
  let read = 0;
  const queue = new TimerQueue(() => {
    read = Date.now();
    return read;
  });
  const late: number[] = [];
  let last = -1;
  let outOfOrder = 0;
  let count = 0;
  const done = new Promise<void>((resolve) => {
    for (let i = 0; i < 2000; i++) {
      const ms = 1 + ((i * 7919) % 300);
      let deadline = 0;
      queue.add(ms, () => {
        const now = Date.now();
        late.push(now - deadline);
        if (deadline < last) outOfOrder++;
        last = deadline;
        if (++count === 2000) resolve();
      });
      deadline = read + ms;
    }
  });
  await done;
  late.sort((a, b) => a - b);
  assert.equal(outOfOrder, 0, 'deadline order');
  assert.ok((late[0] as number) >= 0, `none early (earliest ${late[0]} ms)`);
  // Generous: CI machines stall; the point is that nothing waits for a far slot's turn.
  assert.ok((late[late.length - 1] as number) < 250, `latest ${late[late.length - 1]} ms late`);
  assert.equal(queue.size, 0);
});
