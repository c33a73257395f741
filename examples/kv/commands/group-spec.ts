import { type CommandSpec, keyed } from '../command.js';

/**
 * A spec builder for one command group's commands on keys 1..`lastKey` (1: the usual single
 * key; -1: every argument after the name; 2: a source and a destination).
 *
 * @example
 * ```ts
 * const spec = groupSpec('set');
 * spec('scard', 2, ['readonly', 'fast'], 'Get the number of members in a set', scard);
 * ```
 */
export function groupSpec(group: string) {
  return (
    name: string,
    arity: number,
    flags: string[],
    summary: string,
    handler: CommandSpec['handler'],
    lastKey = 1,
  ): CommandSpec => keyed({ name, arity, flags, summary, group, handler }, 1, lastKey, 1);
}
