import type { KvOutbound } from './kv-codec.js';
import type { KvState } from './kv-state.js';
import type { NoReply } from './replies.js';
import { isWord } from './words.js';
import type { KvContext } from './session.js';

/**
 * What a command handler returns: the reply to send, or `NO_REPLY` when it sent its own.
 *
 * @example
 * ```ts
 * const ping: CommandHandler = () => 'PONG';
 * ```
 */
export type Reply = KvOutbound | NoReply;

/**
 * Runs one command. `args[0]` is the command name as sent; the arity is already checked.
 *
 * @example
 * ```ts
 * const strlen: CommandHandler = (kv, _ctx, args) => kv.store.lookup(keyOf(args[1]!))?.value.length ?? 0;
 * ```
 */
export type CommandHandler = (kv: KvState, ctx: KvContext, args: Buffer[]) => Reply;

/**
 * A command and what COMMAND / COMMAND DOCS say about it, in Redis's terms: `arity` is the
 * argument count including the name, exact when positive, a minimum when negative; key
 * positions are `firstKey`, `lastKey` (-1: the last argument), `step`.
 *
 * @example
 * ```ts
 * const get: CommandSpec = { name: 'get', arity: 2, flags: ['readonly', 'fast'], firstKey: 1,
 *   lastKey: 1, step: 1, group: 'string', summary: 'Get the value of a key', handler };
 * ```
 */
export interface CommandSpec {
  /** Lower-case full name: `get`, or `client|setname` for a subcommand. */
  readonly name: string;
  readonly arity: number;
  readonly flags: readonly string[];
  readonly firstKey: number;
  readonly lastKey: number;
  readonly step: number;
  readonly group: string;
  readonly summary: string;
  readonly handler: CommandHandler;
  /** For container commands (CLIENT, COMMAND): subcommands by lower-case name. */
  readonly subcommands?: ReadonlyMap<string, CommandSpec>;
  /**
   * The `denyoom` flag as a field, so the per-command `maxmemory` test is a property read:
   * such a command may grow memory and is refused with `-OOM` above `maxmemory`.
   */
  readonly denyOom?: boolean;
}

/** The fields most specs share, so each family file states only what differs. */
type SpecInput = Pick<CommandSpec, 'name' | 'arity' | 'summary' | 'handler'> &
  Partial<Omit<CommandSpec, 'name' | 'arity' | 'summary' | 'handler'>>;

/**
 * Builds a spec with keyless defaults (`firstKey` 0) unless told otherwise.
 *
 * @example
 * ```ts
 * command({ name: 'ping', arity: -1, summary: 'Ping the server', handler: () => 'PONG' });
 * ```
 */
export function command(input: SpecInput): CommandSpec {
  return {
    flags: [],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    group: 'generic',
    ...input,
    denyOom: input.flags?.includes('denyoom') ?? false,
  };
}

/**
 * Shorthand for a command on keys `firstKey..lastKey`.
 *
 * @example
 * ```ts
 * keyed({ name: 'get', arity: 2, summary: '…', handler }, 1, 1, 1);
 * ```
 */
export function keyed(input: SpecInput, firstKey = 1, lastKey = 1, step = 1): CommandSpec {
  return command({ ...input, firstKey, lastKey, step });
}

/**
 * Commands by name, found without building a string: candidates are bucketed by the name's
 * length and first letter (case-folded), and each is compared to the request's bytes
 * case-insensitively (`isWord`). A bucket holds one to three commands, so a lookup is a Map
 * get on a small integer and a few byte comparisons; the GET/SET/PING path allocates nothing.
 *
 * @example
 * ```ts
 * const table = new CommandTable([...stringCommands]);
 * table.lookup(Buffer.from('GET'))?.name; // 'get'
 * ```
 */
export class CommandTable {
  readonly #buckets = new Map<number, { upper: string; spec: CommandSpec }[]>();
  readonly #specs: CommandSpec[] = [];

  constructor(specs: Iterable<CommandSpec>) {
    for (const spec of specs) this.add(spec);
  }

  add(spec: CommandSpec): void {
    this.#specs.push(spec);
    const upper = spec.name.toUpperCase();
    const bucket = bucketOf(upper.length, upper.charCodeAt(0));
    const list = this.#buckets.get(bucket) ?? [];
    list.push({ upper, spec });
    this.#buckets.set(bucket, list);
  }

  lookup(name: Buffer): CommandSpec | undefined {
    if (name.length === 0) return undefined;
    const list = this.#buckets.get(bucketOf(name.length, name[0] as number));
    if (list === undefined) return undefined;
    for (let i = 0; i < list.length; i++) {
      const candidate = list[i] as { upper: string; spec: CommandSpec };
      if (isWord(name, candidate.upper)) return candidate.spec;
    }
    return undefined;
  }

  /** Every top-level command, in registration order. */
  get specs(): readonly CommandSpec[] {
    return this.#specs;
  }
}

/** Length and case-folded first byte in one small integer. */
function bucketOf(length: number, first: number): number {
  const folded = first >= 0x61 && first <= 0x7a ? first - 0x20 : first;
  return length * 256 + folded;
}
