import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { globMatch } from '../../examples/kv/glob.js';

test('globMatch follows Redis glob rules', () => {
  const cases: [string, string, boolean][] = [
    ['*', '', true],
    ['*', 'anything', true],
    ['h?llo', 'hello', true],
    ['h?llo', 'hllo', false],
    ['h*llo', 'heeeello', true],
    ['h[ae]llo', 'hallo', true],
    ['h[ae]llo', 'hillo', false],
    ['h[^e]llo', 'hallo', true],
    ['h[^e]llo', 'hello', false],
    ['h[a-b]llo', 'hbllo', true],
    ['h[b-a]llo', 'hallo', true],
    ['h[a-b]llo', 'hcllo', false],
    ['h\\*llo', 'h*llo', true],
    ['h\\*llo', 'hello', false],
    ['[\\]]', ']', true],
    ['a*b*c', 'aXXbYYc', true],
    ['a*b*c', 'aXXbYY', false],
    ['**a', 'bba', true],
    ['user:*:name', 'user:42:name', true],
    ['\u0000*', '\u0000\u00ff', true],
    ['[abc', 'a', true],
    ['[abc', 'd', false],
  ];
  for (const [pattern, text, expected] of cases) {
    assert.equal(
      globMatch(pattern, text),
      expected,
      `${JSON.stringify(pattern)} on ${JSON.stringify(text)}`,
    );
  }
});

test('globMatch agrees with a regular-expression oracle on random patterns (fast-check)', () => {
  const token = fc.constantFrom(
    ['a', 'a'],
    ['b', 'b'],
    ['?', '[\\s\\S]'],
    ['*', '[\\s\\S]*'],
    ['[ab]', '[ab]'],
    ['[^a]', '[^a]'],
    ['[a-b]', '[a-b]'],
    ['\\*', '\\*'],
    ['\\?', '\\?'],
  );
  const text = fc
    .array(fc.constantFrom('a', 'b', 'c', '*', '?'), { maxLength: 12 })
    .map((chars) => chars.join(''));
  const runs = Number(process.env.MAI_PROPERTY_RUNS ?? 2000);
  fc.assert(
    fc.property(fc.array(token, { maxLength: 8 }), text, (tokens, input) => {
      const pattern = tokens.map(([glob]) => glob).join('');
      const regex = new RegExp(`^${tokens.map(([, re]) => re).join('')}$`);
      return globMatch(pattern, input) === regex.test(input);
    }),
    { numRuns: Math.min(runs, 200_000) },
  );
});

test('globMatch stays linear-ish on patterns that make recursive matchers explode', () => {
  const pattern = `${'a*'.repeat(30)}b`;
  const text = 'a'.repeat(5000);
  assert.equal(globMatch(pattern, text), false);
});
