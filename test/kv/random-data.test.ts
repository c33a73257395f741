import { test } from 'node:test';
import {
  hashGenerators,
  keyGenerators,
  listGenerators,
  scale,
  stringGenerators,
} from './random-generators.js';
import { runRandomSequences } from './random-sequences.js';

/**
 * Random command sequences over strings, keys, hashes and lists, each sent to the kv server
 * and to a real redis-server: every reply must match (see random-sequences.ts for how replies
 * whose order or value Redis leaves to chance are compared). The counts run are printed.
 */
const groups = [
  { name: 'strings', generators: [...stringGenerators, ...keyGenerators] },
  { name: 'hashes', generators: [...hashGenerators, ...keyGenerators.slice(0, 4)] },
  { name: 'lists', generators: [...listGenerators, ...keyGenerators.slice(0, 4)] },
  {
    name: 'mixed',
    generators: [...stringGenerators, ...keyGenerators, ...hashGenerators, ...listGenerators],
  },
];

for (const group of groups) {
  for (const resp3 of [false, true]) {
    test(`random sequences: ${group.name} (${resp3 ? 'RESP3' : 'RESP2'}) answer as redis-server does`, async (t) => {
      const result = await runRandomSequences({
        name: `${group.name}${resp3 ? '/resp3' : ''}`,
        generators: group.generators,
        sequences: scale(200, 5000),
        commandsPerSequence: 25,
        resp3,
      });
      t.diagnostic(
        `${result.sequences} sequences, ${result.commands} commands, seed ${result.seed}`,
      );
    });
  }
}
