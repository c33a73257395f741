import { RespError, RespPush, type RespValue } from '../../../src/codec/resp-types.js';
import { command, type CommandSpec, type Reply } from '../command.js';
import { deliver } from '../execute.js';
import type { KvState } from '../kv-state.js';
import { NO_REPLY, unknownSubcommand } from '../replies.js';
import type { KvContext } from '../session.js';
import { keyBytes, keyOf } from '../store.js';

const SUBSCRIBE = Buffer.from('subscribe');
const UNSUBSCRIBE = Buffer.from('unsubscribe');
const PSUBSCRIBE = Buffer.from('psubscribe');
const PUNSUBSCRIBE = Buffer.from('punsubscribe');

/**
 * One confirmation per channel, each a push: `>3` for RESP3 clients, `*3` for RESP2 ones (the
 * codec maps it down), with the client's subscription count after it.
 */
function confirm(ctx: KvContext, kind: Buffer, name: RespValue): void {
  deliver(ctx, new RespPush([kind, name, ctx.session.subscriptions]));
}

function subscribe(kv: KvState, ctx: KvContext, args: Buffer[]): Reply {
  for (let i = 1; i < args.length; i++) {
    kv.pubsub.subscribe(ctx, keyOf(args[i] as Buffer));
    confirm(ctx, SUBSCRIBE, args[i] as Buffer);
  }
  return NO_REPLY;
}

function psubscribe(kv: KvState, ctx: KvContext, args: Buffer[]): Reply {
  for (let i = 1; i < args.length; i++) {
    kv.pubsub.psubscribe(ctx, keyOf(args[i] as Buffer));
    confirm(ctx, PSUBSCRIBE, args[i] as Buffer);
  }
  return NO_REPLY;
}

/** UNSUBSCRIBE with no channel leaves all; with none to leave, Redis still answers once, null. */
function unsubscribe(patterns: boolean) {
  return (kv: KvState, ctx: KvContext, args: Buffer[]): Reply => {
    const kind = patterns ? PUNSUBSCRIBE : UNSUBSCRIBE;
    const leave = (name: string) =>
      patterns ? kv.pubsub.punsubscribe(ctx, name) : kv.pubsub.unsubscribe(ctx, name);
    if (args.length > 1) {
      for (let i = 1; i < args.length; i++) {
        leave(keyOf(args[i] as Buffer));
        confirm(ctx, kind, args[i] as Buffer);
      }
      return NO_REPLY;
    }
    const current = patterns ? ctx.session.patterns : ctx.session.channels;
    if (current === null || current.size === 0) {
      confirm(ctx, kind, null);
      return NO_REPLY;
    }
    for (const name of [...current]) {
      leave(name);
      confirm(ctx, kind, keyBytes(name));
    }
    return NO_REPLY;
  };
}

const HELP = [
  'PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CHANNELS [<pattern>]',
  "    Return the currently active channels matching a <pattern> (default: '*').",
  'NUMPAT',
  '    Return number of subscriptions to patterns.',
  'NUMSUB [<channel> ...]',
  '    Return the number of subscribers for the specified channels, excluding',
  '    pattern subscriptions(default: no channels).',
  'SHARDCHANNELS [<pattern>]',
  "    Return the currently active shard level channels matching a <pattern> (default: '*').",
  'SHARDNUMSUB [<shardchannel> ...]',
  '    Return the number of subscribers for the specified shard level channel(s)',
  'HELP',
  '    Prints this help.',
];

const CHANNELS_SYNTAX = new RespError(
  "ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.",
);

const pubsubSubcommands = new Map<string, CommandSpec>([
  [
    'channels',
    command({
      name: 'pubsub|channels',
      arity: -2,
      group: 'pubsub',
      flags: ['pubsub', 'loading', 'stale'],
      summary: 'Returns the active channels.',
      // Redis checks this count in the command, hence its own wording.
      handler: (kv, _ctx, args) => {
        if (args.length > 3) return CHANNELS_SYNTAX;
        const pattern = args.length === 3 ? keyOf(args[2] as Buffer) : undefined;
        return kv.pubsub.channels(pattern).map(keyBytes);
      },
    }),
  ],
  // No shard channel ever has a subscriber (SSUBSCRIBE is not served): empty answers.
  [
    'shardchannels',
    command({
      name: 'pubsub|shardchannels',
      arity: -2,
      group: 'pubsub',
      flags: ['pubsub', 'loading', 'stale'],
      summary: 'Returns the active shard channels.',
      handler: (_kv, _ctx, args) =>
        args.length > 3
          ? new RespError(
              "ERR unknown subcommand or wrong number of arguments for 'SHARDCHANNELS'. Try PUBSUB HELP.",
            )
          : [],
    }),
  ],
  [
    'shardnumsub',
    command({
      name: 'pubsub|shardnumsub',
      arity: -2,
      group: 'pubsub',
      flags: ['pubsub', 'loading', 'stale'],
      summary: 'Returns the count of subscribers of shard channels.',
      handler: (_kv, _ctx, args) => args.slice(2).flatMap((channel) => [channel, 0]),
    }),
  ],
  [
    'help',
    command({
      name: 'pubsub|help',
      arity: 2,
      group: 'pubsub',
      flags: ['loading', 'stale'],
      summary: 'Returns helpful text about the different subcommands.',
      handler: () => HELP,
    }),
  ],
  [
    'numpat',
    command({
      name: 'pubsub|numpat',
      arity: 2,
      group: 'pubsub',
      summary: 'Returns a count of unique pattern subscriptions.',
      handler: (kv) => kv.pubsub.patternCount,
    }),
  ],
  [
    'numsub',
    command({
      name: 'pubsub|numsub',
      arity: -2,
      group: 'pubsub',
      summary: 'Returns a count of subscribers to channels.',
      handler: (kv, _ctx, args) => {
        const reply: RespValue[] = [];
        for (let i = 2; i < args.length; i++)
          reply.push(args[i] as Buffer, kv.pubsub.subscribers(keyOf(args[i] as Buffer)));
        return reply;
      },
    }),
  ],
]);

const flags = ['pubsub', 'noscript', 'loading', 'stale'];

/**
 * SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, PUBSUB (CHANNELS, NUMSUB, NUMPAT,
 * HELP). The sharded variants (SSUBSCRIBE, SPUBLISH, PUBSUB SHARDCHANNELS) are not served.
 *
 * @example
 * ```ts
 * const table = new CommandTable(pubsubCommands);
 * ```
 */
export const pubsubCommands: readonly CommandSpec[] = [
  command({
    name: 'subscribe',
    arity: -2,
    group: 'pubsub',
    flags,
    summary: 'Listens for messages published to channels.',
    handler: subscribe,
  }),
  command({
    name: 'unsubscribe',
    arity: -1,
    group: 'pubsub',
    flags,
    summary: 'Stops listening to messages posted to channels.',
    handler: unsubscribe(false),
  }),
  command({
    name: 'psubscribe',
    arity: -2,
    group: 'pubsub',
    flags,
    summary: 'Listens for messages published to channels that match one or more patterns.',
    handler: psubscribe,
  }),
  command({
    name: 'punsubscribe',
    arity: -1,
    group: 'pubsub',
    flags,
    summary: 'Stops listening to messages published to channels that match one or more patterns.',
    handler: unsubscribe(true),
  }),
  command({
    name: 'publish',
    arity: 3,
    group: 'pubsub',
    flags: ['pubsub', 'loading', 'stale', 'fast'],
    summary: 'Posts a message to a channel.',
    handler: (kv, _ctx, args) => kv.pubsub.publish(args[1] as Buffer, args[2] as Buffer),
  }),
  command({
    name: 'pubsub',
    arity: -2,
    group: 'pubsub',
    summary: 'A container for Pub/Sub commands.',
    handler: (_kv, _ctx, args) => unknownSubcommand(args[1] as Buffer, 'PUBSUB'),
    subcommands: pubsubSubcommands,
  }),
];
