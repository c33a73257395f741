import { RespError } from '../../../src/codec/resp-types.js';
import { command, type CommandSpec, type Reply } from '../command.js';
import { parseFloatArg } from '../floats.js';
import { parseInteger } from '../integers.js';
import type { KvState } from '../kv-state.js';
import { Errors } from '../replies.js';
import { KvSet } from '../sets.js';
import type { KvContext } from '../session.js';
import { KvZset } from '../sorted-set.js';
import { keyOf } from '../store.js';
import { isWord } from '../words.js';
import { membersReply, storeZset, ZsetErrors } from '../zset-replies.js';

/**
 * ZUNION, ZINTER, ZDIFF, their *STORE forms, and ZINTERCARD. Inputs may be sorted sets or
 * plain sets (whose members count as score 1). As in Redis's `zunionInterDiffGenericCommand`:
 * numkeys, then every key's type, then the options; a weighted score that is NaN (inf × 0)
 * counts as 0, and so does a SUM of inf and -inf.
 */

type Op = 'union' | 'inter' | 'diff';
type Aggregate = 'sum' | 'min' | 'max';

const LIMIT_NEGATIVE = new RespError("ERR LIMIT can't be negative");

/** One input: its members and scores (a plain set's are 1), and its weight. */
interface Source {
  readonly entries: Iterable<[Buffer, number]>;
  readonly size: number;
  score(member: Buffer): number | undefined;
  weight: number;
}

function sourceOf(value: KvZset | KvSet | undefined): Source {
  if (value instanceof KvZset) {
    return {
      entries: pairsOf(value),
      size: value.size,
      score: (member) => value.score(member),
      weight: 1,
    };
  }
  if (value instanceof KvSet) {
    return {
      entries: value.members().map((member): [Buffer, number] => [member, 1]),
      size: value.size,
      score: (member) => (value.has(member) ? 1 : undefined),
      weight: 1,
    };
  }
  return { entries: [], size: 0, score: () => undefined, weight: 1 };
}

function* pairsOf(zset: KvZset): Generator<[Buffer, number]> {
  for (let node = zset.list.first; node !== null; node = node.next) yield [node.member, node.score];
}

function weighted(score: number, weight: number): number {
  const product = score * weight;
  return Number.isNaN(product) ? 0 : product;
}

function aggregate(how: Aggregate, into: number, value: number): number {
  // Not Math.min/max: they order -0 before 0, and Redis's comparison keeps the first of a tie.
  // biome-ignore lint/complexity/useMathMinMax: see above
  if (how === 'min') return value < into ? value : into;
  // biome-ignore lint/complexity/useMathMinMax: see above
  if (how === 'max') return value > into ? value : into;
  const sum = into + value;
  return Number.isNaN(sum) ? 0 : sum;
}

/** The result of the operation, as a sorted set that keeps -0 (as Redis's skip list does). */
function compute(op: Op, sources: Source[], how: Aggregate, limit: number): KvZset {
  const out = new KvZset(false);
  if (op === 'diff') {
    const [first, ...rest] = sources as [Source, ...Source[]];
    for (const [member, score] of first.entries) {
      if (rest.every((source) => source.score(member) === undefined)) out.add(member, score);
    }
    return out;
  }
  // Smallest first, as Redis orders them: the intersection walks the smallest input.
  const ordered = [...sources].sort((a, b) => a.size - b.size);
  if (op === 'inter') {
    const [first, ...rest] = ordered as [Source, ...Source[]];
    for (const [member, score] of first.entries) {
      let total = weighted(score, first.weight);
      let everywhere = true;
      for (const source of rest) {
        const other = source.score(member);
        if (other === undefined) {
          everywhere = false;
          break;
        }
        total = aggregate(how, total, weighted(other, source.weight));
      }
      if (!everywhere) continue;
      out.add(member, total);
      if (limit > 0 && out.size >= limit) break;
    }
    return out;
  }
  const totals = new Map<string, [Buffer, number]>();
  for (const source of ordered) {
    for (const [member, score] of source.entries) {
      const key = member.toString('latin1');
      const value = weighted(score, source.weight);
      const seen = totals.get(key);
      if (seen === undefined) totals.set(key, [member, value]);
      else seen[1] = aggregate(how, seen[1], value);
    }
  }
  for (const [member, score] of totals.values()) out.add(member, score);
  return out;
}

function algebra(op: Op, mode: 'reply' | 'store' | 'card', name: string) {
  return (kv: KvState, ctx: KvContext, args: Buffer[]): Reply => {
    const at = mode === 'store' ? 2 : 1;
    const parsed = parseInteger(args[at] as Buffer);
    if (parsed === undefined) return Errors.notInteger;
    if (parsed < 1) {
      return new RespError(`ERR at least 1 input key is needed for '${name}' command`);
    }
    if (parsed > args.length - at - 1) return Errors.syntax;
    const count = Number(parsed);
    const sources: Source[] = [];
    for (let i = 0; i < count; i++) {
      const entry = kv.store.lookup(keyOf(args[at + 1 + i] as Buffer));
      const value = entry?.value;
      if (value !== undefined && !(value instanceof KvZset) && !(value instanceof KvSet))
        return Errors.wrongType;
      sources.push(sourceOf(value as KvZset | KvSet | undefined));
    }
    let how: Aggregate = 'sum';
    let withScores = false;
    let limit = 0;
    const options = op !== 'diff' && mode !== 'card';
    for (let j = at + 1 + count; j < args.length; ) {
      const remaining = args.length - j;
      const word = args[j] as Buffer;
      if (options && remaining > count && isWord(word, 'WEIGHTS')) {
        for (let i = 0; i < count; i++) {
          const weight = parseFloatArg(args[j + 1 + i] as Buffer);
          if (weight === undefined) return ZsetErrors.weight;
          (sources[i] as Source).weight = weight;
        }
        j += 1 + count;
      } else if (options && remaining >= 2 && isWord(word, 'AGGREGATE')) {
        const value = args[j + 1] as Buffer;
        if (isWord(value, 'SUM')) how = 'sum';
        else if (isWord(value, 'MIN')) how = 'min';
        else if (isWord(value, 'MAX')) how = 'max';
        else return Errors.syntax;
        j += 2;
      } else if (mode === 'reply' && isWord(word, 'WITHSCORES')) {
        withScores = true;
        j += 1;
      } else if (mode === 'card' && remaining >= 2 && isWord(word, 'LIMIT')) {
        const value = parseInteger(args[j + 1] as Buffer);
        if (value === undefined || value < 0) return LIMIT_NEGATIVE;
        limit = Number(value);
        j += 2;
      } else {
        return Errors.syntax;
      }
    }
    const result = compute(op, sources, how, limit);
    if (mode === 'card') return result.size;
    if (mode === 'store') return storeZset(kv, keyOf(args[1] as Buffer), pairsOf(result));
    return membersReply(ctx, [...nodesOf(result)], withScores);
  };
}

function* nodesOf(zset: KvZset): Generator<{ member: Buffer; score: number }> {
  for (let node = zset.list.first; node !== null; node = node.next) yield node;
}

const group = 'sorted-set';

function spec(
  name: string,
  arity: number,
  flags: string[],
  summary: string,
  handler: CommandSpec['handler'],
  store: boolean,
): CommandSpec {
  // The keys follow numkeys, so COMMAND reports them as movable; a *STORE's first key is fixed.
  return command({
    name,
    arity,
    flags: [...flags, 'movablekeys'],
    summary,
    group,
    handler,
    ...(store ? { firstKey: 1, lastKey: 1, step: 1 } : {}),
  });
}

const READ = ['readonly'];
const WRITE = ['write', 'denyoom'];

/**
 * ZUNION, ZINTER, ZDIFF, ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE, ZINTERCARD.
 *
 * @example
 * ```ts
 * const table = new CommandTable(sortedSetAlgebraCommands);
 * ```
 */
export const sortedSetAlgebraCommands: readonly CommandSpec[] = [
  spec('zunion', -3, READ, 'Add multiple sorted sets', algebra('union', 'reply', 'zunion'), false),
  spec(
    'zinter',
    -3,
    READ,
    'Intersect multiple sorted sets',
    algebra('inter', 'reply', 'zinter'),
    false,
  ),
  spec(
    'zdiff',
    -3,
    READ,
    'Subtract multiple sorted sets',
    algebra('diff', 'reply', 'zdiff'),
    false,
  ),
  spec(
    'zunionstore',
    -4,
    WRITE,
    'Add multiple sorted sets and store the resulting sorted set in a new key',
    algebra('union', 'store', 'zunionstore'),
    true,
  ),
  spec(
    'zinterstore',
    -4,
    WRITE,
    'Intersect multiple sorted sets and store the resulting sorted set in a new key',
    algebra('inter', 'store', 'zinterstore'),
    true,
  ),
  spec(
    'zdiffstore',
    -4,
    WRITE,
    'Subtract multiple sorted sets and store the resulting sorted set in a new key',
    algebra('diff', 'store', 'zdiffstore'),
    true,
  ),
  spec(
    'zintercard',
    -3,
    READ,
    'Intersect multiple sorted sets and return the cardinality of the result',
    algebra('inter', 'card', 'zintercard'),
    false,
  ),
];
