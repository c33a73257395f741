import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng, runRandomSequences } from './random-sequences.js';

test('random runner: the same seed draws the same numbers', () => {
  const a = createRng(7);
  const b = createRng(7);
  const draws = (rng: typeof a) => Array.from({ length: 20 }, () => rng.int(1000));
  assert.deepEqual(draws(a), draws(b));
  assert.notDeepEqual(draws(createRng(8)), draws(createRng(7)));
});

test('random runner: replies that agree pass, and the count of what ran is returned', async () => {
  const result = await runRandomSequences({
    name: 'runner-self-check',
    generators: [
      (rng) => ['SET', rng.pick(['a', 'b']), String(rng.int(100))],
      (rng) => ['GET', rng.pick(['a', 'b'])],
    ],
    sequences: 5,
    commandsPerSequence: 10,
    seed: 1,
  });
  assert.deepEqual(result, { sequences: 5, commands: 50, seed: 1 });
});

test('random runner: the first differing reply fails the run, naming seed, sequence and command', async () => {
  // INFO names the server, so its bytes differ between kv and redis-server.
  await assert.rejects(
    runRandomSequences({
      name: 'runner-self-check',
      generators: [() => ['PING'], () => ['INFO', 'server']],
      sequences: 3,
      commandsPerSequence: 10,
      seed: 2,
      resp3: true,
    }),
    (error: Error) => {
      assert.equal(error.name, 'AssertionError');
      assert.match(
        error.message,
        /seed 2, rerun with MAI_KV_SEED=2\), sequence 0, command \d+: \["INFO","server"\]/,
      );
      assert.match(error.message, /redis-server: "=\d+\\r\\ntxt:# Server/);
      return true;
    },
  );
});
