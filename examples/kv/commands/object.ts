import { RespError } from '../../../src/codec/resp-types.js';
import { command, type CommandSpec, keyed, type Reply } from '../command.js';
import { parseInteger } from '../integers.js';
import type { KvState } from '../kv-state.js';
import { unknownSubcommand } from '../replies.js';
import type { KvContext } from '../session.js';
import { type KvEntry, keyOf, StringKind } from '../store.js';

const NO_LFU = new RespError(
  'ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.',
);
/** Redis's refcount of its shared integers 0..9999 (OBJ_SHARED_REFCOUNT). */
const SHARED_REFCOUNT = 2147483647;
const HELP = [
  'OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'ENCODING <key>',
  '    Return the kind of internal representation used in order to store the value',
  '    associated with a <key>.',
  'FREQ <key>',
  '    Return the access frequency index of the <key>. The returned integer is',
  '    proportional to the logarithm of the recent access frequency of the key.',
  'IDLETIME <key>',
  '    Return the idle time of the <key>, that is the approximated number of',
  '    seconds elapsed since the last access to the key.',
  'REFCOUNT <key>',
  '    Return the number of references of the value associated with the specified',
  '    <key>.',
  'HELP',
  '    Prints this help.',
];

/**
 * The encoding Redis 7.0 would report: strings are `int` when made by a command that tries
 * the integer encoding and they read as one, else `embstr` up to 44 bytes, else `raw`.
 *
 * @example
 * ```ts
 * encodingOf(store.peek('k')!); // 'embstr'
 * ```
 */
export function encodingOf(entry: KvEntry): string {
  const value = entry.value;
  if (!Buffer.isBuffer(value)) return value.encoding;
  if (entry.kind === StringKind.Raw) return 'raw';
  if (entry.kind === StringKind.IntCopy) return 'int';
  if (entry.kind === StringKind.Auto && value.length <= 20 && parseInteger(value) !== undefined)
    return 'int';
  return value.length <= 44 ? 'embstr' : 'raw';
}

function refcount(entry: KvEntry): number {
  if (encodingOf(entry) !== 'int' || entry.kind === StringKind.IntCopy) return 1;
  const n = parseInteger(entry.value as Buffer) as number | bigint;
  return n >= 0 && n < 10000 ? SHARED_REFCOUNT : 1;
}

/** An OBJECT subcommand on a key: null for a missing key; the lookup does not touch it. */
function onKey(name: string, reply: (entry: KvEntry) => Reply): CommandSpec {
  return keyed(
    {
      name: `object|${name}`,
      arity: 3,
      group: 'generic',
      flags: ['readonly'],
      summary: `OBJECT ${name.toUpperCase()}`,
      handler: (kv: KvState, _ctx: KvContext, args: Buffer[]) => {
        const entry = kv.store.peek(keyOf(args[2] as Buffer));
        return entry === undefined ? null : reply(entry);
      },
    },
    2,
    2,
    1,
  );
}

const subcommands = new Map<string, CommandSpec>([
  ['encoding', onKey('encoding', (entry) => Buffer.from(encodingOf(entry), 'latin1'))],
  ['freq', onKey('freq', () => NO_LFU)],
  [
    'idletime',
    onKey('idletime', (entry) => Math.max(0, Math.floor((Date.now() - entry.accessedAt) / 1000))),
  ],
  ['refcount', onKey('refcount', refcount)],
  [
    'help',
    command({
      name: 'object|help',
      arity: 2,
      group: 'generic',
      flags: ['loading', 'stale'],
      summary: 'Returns helpful text about the different subcommands.',
      handler: () => HELP,
    }),
  ],
]);

/**
 * OBJECT ENCODING / FREQ / IDLETIME / REFCOUNT / HELP.
 *
 * @example
 * ```ts
 * const table = new CommandTable([objectCommand]);
 * ```
 */
export const objectCommand: CommandSpec = command({
  name: 'object',
  arity: -2,
  group: 'generic',
  flags: [],
  summary: 'A container for object introspection commands.',
  handler: (_kv, _ctx, args) => unknownSubcommand(args[1] as Buffer, 'OBJECT'),
  subcommands,
});
