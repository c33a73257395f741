import { arch, platform, release } from 'node:os';
import {
  RespError,
  RespMap,
  type RespPair,
  type RespValue,
  RespVerbatim,
} from '../../../src/codec/resp-types.js';
import { command, type CommandSpec, type Reply } from '../command.js';
import { CONFIG_PARAMETERS, type ConfigParameter } from '../config.js';
import type { KvState } from '../kv-state.js';
import { Errors, unknownSubcommand } from '../replies.js';
import type { KvContext } from '../session.js';
import { globMatch } from '../glob.js';
import { isWord } from '../words.js';
import { REDIS_COMPAT_VERSION } from './connection.js';

/** COMMAND's ten-element description of one command, as Redis 7 lays it out. */
function describe(spec: CommandSpec): RespValue[] {
  const subcommands: RespValue[] = [];
  for (const sub of spec.subcommands?.values() ?? []) subcommands.push(describe(sub));
  return [
    Buffer.from(spec.name),
    spec.arity,
    [...spec.flags],
    spec.firstKey,
    spec.lastKey,
    spec.step,
    [],
    [],
    [],
    subcommands,
  ];
}

/** COMMAND DOCS's entry for one command: summary, since, group (and subcommands). */
function docs(spec: CommandSpec): RespMap {
  const entries: RespPair[] = [
    [Buffer.from('summary'), Buffer.from(spec.summary)],
    [Buffer.from('since'), Buffer.from('1.0.0')],
    [Buffer.from('group'), Buffer.from(spec.group)],
  ];
  if (spec.subcommands !== undefined) {
    const subs: RespPair[] = [];
    for (const sub of spec.subcommands.values()) subs.push([Buffer.from(sub.name), docs(sub)]);
    entries.push([Buffer.from('subcommands'), new RespMap(subs)]);
  }
  return new RespMap(entries);
}

const commandSubcommands = new Map<string, CommandSpec>([
  [
    'count',
    command({
      name: 'command|count',
      arity: 2,
      summary: 'Returns a count of commands.',
      handler: (kv) => kv.table.specs.length,
    }),
  ],
  [
    'list',
    command({
      name: 'command|list',
      arity: -2,
      summary: 'Returns a list of command names.',
      handler: (kv) => kv.table.specs.map((spec) => Buffer.from(spec.name)),
    }),
  ],
  [
    'info',
    command({
      name: 'command|info',
      arity: -2,
      summary: 'Returns information about one, multiple or all commands.',
      handler: (kv, _ctx, args) => {
        if (args.length === 2) return kv.table.specs.map(describe);
        const infos: RespValue[] = [];
        for (let i = 2; i < args.length; i++) {
          const spec = kv.table.lookup(args[i] as Buffer);
          infos.push(spec === undefined ? null : describe(spec));
        }
        return infos;
      },
    }),
  ],
  [
    'docs',
    command({
      name: 'command|docs',
      arity: -2,
      summary: 'Returns documentary information about one, multiple or all commands.',
      handler: (kv, _ctx, args) => {
        const entries: RespPair[] = [];
        if (args.length === 2) {
          for (const spec of kv.table.specs) entries.push([Buffer.from(spec.name), docs(spec)]);
        }
        for (let i = 2; i < args.length; i++) {
          const spec = kv.table.lookup(args[i] as Buffer);
          if (spec !== undefined) entries.push([Buffer.from(spec.name), docs(spec)]);
        }
        return new RespMap(entries);
      },
    }),
  ],
]);

function humanBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes}B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(2)}K`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 / 1024).toFixed(2)}M`;
  return `${(bytes / 1024 ** 3).toFixed(2)}G`;
}

/** The INFO sections this server has, each a function of the state. */
const SECTIONS: Record<string, (kv: KvState) => string[]> = {
  server: (kv) => [
    `redis_version:${REDIS_COMPAT_VERSION}`,
    'redis_mode:standalone',
    `os:${platform()} ${release()} ${arch()}`,
    'arch_bits:64',
    'multiplexing_api:libuv',
    `process_id:${process.pid}`,
    `tcp_port:${kv.tcpPort}`,
    `uptime_in_seconds:${Math.floor((Date.now() - kv.startedAt) / 1000)}`,
    `uptime_in_days:${Math.floor((Date.now() - kv.startedAt) / 86_400_000)}`,
    'mai_server:kv',
    `node_version:${process.version}`,
  ],
  clients: (kv) => {
    let subscribers = 0;
    for (const ctx of kv.clients) if (ctx.session.subscriptions > 0) subscribers++;
    return [
      `connected_clients:${kv.clients.size}`,
      `maxclients:${kv.config.maxclients}`,
      `pubsub_clients:${subscribers}`,
      'blocked_clients:0',
    ];
  },
  memory: (kv) => {
    const memory = process.memoryUsage();
    const used = kv.memory.sample(kv.config.maxmemory);
    return [
      `used_memory:${used}`,
      `used_memory_human:${humanBytes(used)}`,
      `used_memory_peak:${kv.memory.peak}`,
      `used_memory_peak_human:${humanBytes(kv.memory.peak)}`,
      `maxmemory:${kv.config.maxmemory}`,
      `maxmemory_human:${humanBytes(kv.config.maxmemory)}`,
      `maxmemory_policy:${kv.config.maxmemoryPolicy}`,
      `used_memory_rss:${memory.rss}`,
      `used_memory_rss_human:${humanBytes(memory.rss)}`,
      `used_memory_external:${memory.external}`,
      `used_memory_array_buffers:${memory.arrayBuffers}`,
    ];
  },
  stats: (kv) => {
    const pool = kv.engine.stats().pool;
    return [
      `total_connections_received:${kv.connectionsReceived}`,
      `total_commands_processed:${kv.commandsProcessed}`,
      `rejected_connections:${kv.limits.rejected}`,
      `client_output_buffer_limit_disconnections:${kv.limits.outputDisconnections + kv.pubsub.slowConsumersDropped}`,
      `expired_keys:${kv.store.expiredKeys}`,
      `keyspace_hits:${kv.store.keyspaceHits}`,
      `keyspace_misses:${kv.store.keyspaceMisses}`,
      `pubsub_channels:${kv.pubsub.channelCount}`,
      `pubsub_patterns:${kv.pubsub.patternCount}`,
      `slow_consumers_dropped:${kv.pubsub.slowConsumersDropped}`,
      `mai_pool:${JSON.stringify(pool).replace(/[{}"]/g, '').replace(/:/g, '=')}`,
    ];
  },
  keyspace: (kv) =>
    kv.store.size === 0
      ? []
      : [`db0:keys=${kv.store.size},expires=${kv.store.volatileCount},avg_ttl=0`],
};

const TITLES: Record<string, string> = {
  server: 'Server',
  clients: 'Clients',
  memory: 'Memory',
  stats: 'Stats',
  keyspace: 'Keyspace',
};

/** INFO [section ...]: `all`, `default`, `everything` or no argument give every section. */
function info(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  let names: string[];
  const asked = args.slice(1).map((arg) => arg.toString('latin1').toLowerCase());
  if (
    asked.length === 0 ||
    asked.some((name) => name === 'all' || name === 'default' || name === 'everything')
  ) {
    names = Object.keys(SECTIONS);
  } else {
    names = Object.keys(SECTIONS).filter((name) => asked.includes(name));
  }
  const blocks = names.map((name) =>
    [`# ${TITLES[name]}`, ...(SECTIONS[name]?.(kv) ?? [])].join('\r\n'),
  );
  const text = blocks.length === 0 ? '' : `${blocks.join('\r\n\r\n')}\r\n`;
  return new RespVerbatim('txt', Buffer.from(text, 'utf8'));
}

function flush(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  if (args.length > 2) return Errors.syntax;
  const mode = args[1];
  if (mode !== undefined && !isWord(mode, 'ASYNC') && !isWord(mode, 'SYNC')) return Errors.syntax;
  kv.store.clear();
  return 'OK';
}

/** CONFIG GET pattern [pattern ...]: every parameter matching any pattern, once each. */
function configGet(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  const patterns = args.slice(2).map((arg) => arg.toString('latin1'));
  const entries: RespPair[] = [];
  for (const parameter of CONFIG_PARAMETERS) {
    // An exact name is echoed as given (CONFIG GET MAXMEMORY answers MAXMEMORY), as in Redis.
    const exact = patterns.find((p) => p.toLowerCase() === parameter.name);
    if (exact === undefined && !patterns.some((p) => globMatch(p.toLowerCase(), parameter.name))) {
      continue;
    }
    entries.push([
      Buffer.from(exact ?? parameter.name, 'latin1'),
      Buffer.from(parameter.get(kv.config), 'latin1'),
    ]);
  }
  return new RespMap(entries);
}

/**
 * CONFIG SET name value [name value ...]: all or nothing, as Redis 7 does it. Every name is
 * checked before any value is applied; a bad value rolls back the ones applied before it.
 */
function configSet(kv: KvState, _ctx: KvContext, args: Buffer[]): Reply {
  if (args.length % 2 !== 0) return Errors.syntax;
  const changes: [ConfigParameter, string][] = [];
  for (let i = 2; i < args.length; i += 2) {
    const name = (args[i] as Buffer).toString('latin1');
    const parameter = CONFIG_PARAMETERS.find((p) => p.name === name.toLowerCase());
    if (parameter?.set === undefined) {
      return new RespError(`ERR Unknown option or number of arguments for CONFIG SET - '${name}'`);
    }
    if (changes.some(([seen]) => seen === parameter))
      return configSetFailed(name, 'duplicate parameter');
    changes.push([parameter, (args[i + 1] as Buffer).toString('latin1')]);
  }
  const previous = changes.map(([parameter]) => parameter.get(kv.config));
  for (let i = 0; i < changes.length; i++) {
    const [parameter, value] = changes[i] as [ConfigParameter, string];
    const error = parameter.set?.(kv.config, value);
    if (error !== undefined) {
      for (let j = i - 1; j >= 0; j--) changes[j]?.[0].set?.(kv.config, previous[j] as string);
      return configSetFailed(parameter.name, error);
    }
  }
  // A new maxmemory takes effect at the next write, not the next tick.
  kv.memory.sample(kv.config.maxmemory);
  return 'OK';
}

function configSetFailed(name: string, why: string): RespError {
  return new RespError(`ERR CONFIG SET failed (possibly related to argument '${name}') - ${why}`);
}

const configSubcommands = new Map<string, CommandSpec>([
  [
    'get',
    command({
      name: 'config|get',
      arity: -3,
      group: 'server',
      flags: ['admin', 'noscript', 'loading', 'stale'],
      summary: 'Returns the effective values of configuration parameters.',
      handler: configGet,
    }),
  ],
  [
    'set',
    command({
      name: 'config|set',
      arity: -4,
      group: 'server',
      flags: ['admin', 'noscript', 'loading', 'stale'],
      summary: 'Sets configuration parameters in-flight.',
      handler: configSet,
    }),
  ],
  [
    'resetstat',
    command({
      name: 'config|resetstat',
      arity: 2,
      group: 'server',
      flags: ['admin', 'noscript', 'loading', 'stale'],
      summary: "Resets the server's statistics.",
      handler: (kv) => {
        kv.commandsProcessed = 0;
        kv.connectionsReceived = 0;
        return 'OK';
      },
    }),
  ],
]);

/**
 * COMMAND (COUNT, LIST, INFO, DOCS), CONFIG GET/SET/RESETSTAT, INFO, DBSIZE, FLUSHDB, FLUSHALL.
 *
 * @example
 * ```ts
 * const table = new CommandTable(serverCommands);
 * ```
 */
export const serverCommands: readonly CommandSpec[] = [
  command({
    name: 'command',
    arity: -1,
    group: 'server',
    flags: ['loading', 'stale'],
    summary: 'Returns detailed information about all commands.',
    handler: (kv, _ctx, args) =>
      args.length === 1
        ? kv.table.specs.map(describe)
        : unknownSubcommand(args[1] as Buffer, 'COMMAND'),
    subcommands: commandSubcommands,
  }),
  command({
    name: 'config',
    arity: -2,
    group: 'server',
    summary: 'A container for server configuration commands.',
    handler: (_kv, _ctx, args) => unknownSubcommand(args[1] as Buffer, 'CONFIG'),
    subcommands: configSubcommands,
  }),
  command({
    name: 'info',
    arity: -1,
    group: 'server',
    flags: ['loading', 'stale'],
    summary: 'Returns information and statistics about the server.',
    handler: info,
  }),
  command({
    name: 'dbsize',
    arity: 1,
    group: 'server',
    flags: ['readonly', 'fast'],
    summary: 'Returns the number of keys in the database.',
    handler: (kv) => kv.store.size,
  }),
  command({
    name: 'flushdb',
    arity: -1,
    group: 'server',
    flags: ['write'],
    summary: 'Removes all keys from the current database.',
    handler: flush,
  }),
  command({
    name: 'flushall',
    arity: -1,
    group: 'server',
    flags: ['write'],
    summary: 'Removes all keys from all databases.',
    handler: flush,
  }),
];
