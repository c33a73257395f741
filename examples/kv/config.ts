/**
 * The server's run-time settings, as CONFIG GET and CONFIG SET see them: each parameter reads
 * and writes one field of `KvConfig`, parses values the way redis-server 7.0 does, and refuses
 * bad ones with redis-server's words (CONFIG SET prefixes them with
 * `ERR CONFIG SET failed (possibly related to argument '<name>') - `).
 */

/** One class of `client-output-buffer-limit`: bytes, bytes, seconds; 0 turns a limit off. */
export interface OutputLimit {
  hard: number;
  soft: number;
  softSeconds: number;
}

/** The client classes Redis has limits for; `replica` is kept only to be reported. */
export type ClientClass = 'normal' | 'replica' | 'pubsub';

/**
 * Every setting CONFIG can change, with redis-server's defaults.
 *
 * @example
 * ```ts
 * const config = new KvConfig();
 * config.requirepass = 'secret';
 * ```
 */
export class KvConfig {
  /** '' is no password (every client is authenticated), as in Redis. */
  requirepass = '';
  /** Bytes; 0 is no limit. */
  maxmemory = 0;
  maxmemoryPolicy: 'noeviction' = 'noeviction';
  maxclients = 10_000;
  /** Longest bulk argument a new connection may send. */
  protoMaxBulkLen = 512 * 1024 * 1024;
  /** Seconds a client may stay idle before it is closed; 0 is never. */
  timeout = 0;
  readonly outputLimits: Record<ClientClass, OutputLimit> = {
    normal: { hard: 0, soft: 0, softSeconds: 0 },
    replica: { hard: 256 * 1024 * 1024, soft: 64 * 1024 * 1024, softSeconds: 60 },
    pubsub: { hard: 32 * 1024 * 1024, soft: 8 * 1024 * 1024, softSeconds: 60 },
  };
}

/** A CONFIG parameter: its value as CONFIG GET prints it, and a setter that returns an error text. */
export interface ConfigParameter {
  readonly name: string;
  get(config: KvConfig): string;
  /** Applies `value`, or returns why not (Redis's words, without the CONFIG SET prefix). */
  set?(config: KvConfig, value: string): string | undefined;
}

const POLICIES = [
  'volatile-lru',
  'volatile-lfu',
  'volatile-random',
  'volatile-ttl',
  'allkeys-lru',
  'allkeys-lfu',
  'allkeys-random',
  'noeviction',
];

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1000,
  kb: 1024,
  m: 1000 ** 2,
  mb: 1024 ** 2,
  g: 1000 ** 3,
  gb: 1024 ** 3,
};

/**
 * A memory value as redis-server's `memtoull` reads it: digits and an optional unit (`k`
 * 1000, `kb` 1024, `m`, `mb`, `g`, `gb`; any case). Undefined when it is not one.
 *
 * @example
 * ```ts
 * parseMemory('10mb'); // 10485760
 * ```
 */
export function parseMemory(text: string): number | undefined {
  const match = /^(\d+)([a-z]*)$/i.exec(text);
  if (match === null) return undefined;
  const unit = UNITS[(match[2] as string).toLowerCase()];
  if (unit === undefined) return undefined;
  const value = Number(match[1]) * unit;
  return Number.isSafeInteger(value) ? value : undefined;
}

/** An integer as redis-server's `string2ll` reads it (no `+`, no leading zero). */
function parseInteger(text: string): number | undefined {
  if (!/^(0|-?[1-9]\d*)$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

function integerIn(
  text: string,
  min: number,
  max: number,
  apply: (value: number) => void,
): string | undefined {
  const value = parseInteger(text);
  if (value === undefined) return "argument couldn't be parsed into an integer";
  if (value < min || value > max) return `argument must be between ${min} and ${max} inclusive`;
  apply(value);
  return undefined;
}

/** `client-output-buffer-limit`: `<class> <hard> <soft> <seconds>` repeated; all or nothing. */
function setOutputLimits(config: KvConfig, value: string): string | undefined {
  const words = value.split(/\s+/).filter((word) => word !== '');
  if (words.length === 0 || words.length % 4 !== 0) {
    return 'Wrong number of arguments in buffer limit configuration.';
  }
  const parsed: [ClientClass, OutputLimit][] = [];
  for (let i = 0; i < words.length; i += 4) {
    const name = (words[i] as string).toLowerCase();
    const kind: ClientClass | undefined =
      name === 'normal' || name === 'pubsub'
        ? name
        : name === 'replica' || name === 'slave'
          ? 'replica'
          : undefined;
    if (kind === undefined) return 'Invalid client class specified in buffer limit configuration.';
    const hard = parseMemory(words[i + 1] as string);
    const soft = parseMemory(words[i + 2] as string);
    const softSeconds = parseInteger(words[i + 3] as string);
    if (hard === undefined || soft === undefined || softSeconds === undefined || softSeconds < 0) {
      return 'Error in hard, soft or soft_seconds setting in buffer limit configuration.';
    }
    parsed.push([kind, { hard, soft, softSeconds }]);
  }
  for (const [kind, limit] of parsed) config.outputLimits[kind] = limit;
  return undefined;
}

function outputLimitsText(config: KvConfig): string {
  const { normal, replica, pubsub } = config.outputLimits;
  const one = (name: string, limit: OutputLimit) =>
    `${name} ${limit.hard} ${limit.soft} ${limit.softSeconds}`;
  return [one('normal', normal), one('slave', replica), one('pubsub', pubsub)].join(' ');
}

/** Read-only parameters tools ask for (redis-benchmark prints `save` and `appendonly`). */
function fixed(name: string, value: string): ConfigParameter {
  return { name, get: () => value };
}

/**
 * Every parameter CONFIG knows, in the order CONFIG GET lists them.
 *
 * @example
 * ```ts
 * CONFIG_PARAMETERS.find((p) => p.name === 'maxclients')?.get(new KvConfig()); // '10000'
 * ```
 */
export const CONFIG_PARAMETERS: readonly ConfigParameter[] = [
  fixed('save', ''),
  fixed('appendonly', 'no'),
  fixed('databases', '1'),
  {
    name: 'requirepass',
    get: (config) => config.requirepass,
    set: (config, value) => {
      config.requirepass = value;
      return undefined;
    },
  },
  {
    name: 'maxmemory',
    get: (config) => String(config.maxmemory),
    set: (config, value) => {
      const bytes = parseMemory(value);
      if (bytes === undefined) return 'argument must be a memory value';
      config.maxmemory = bytes;
      return undefined;
    },
  },
  {
    name: 'maxmemory-policy',
    get: (config) => config.maxmemoryPolicy,
    set: (config, value) => {
      const policy = value.toLowerCase();
      if (!POLICIES.includes(policy)) {
        return `argument(s) must be one of the following: ${POLICIES.join(', ')}`;
      }
      // Eviction needs per-key sizes and access times the store does not keep.
      if (policy !== 'noeviction') return `policy '${policy}' is not supported by this server`;
      config.maxmemoryPolicy = policy;
      return undefined;
    },
  },
  {
    name: 'maxclients',
    get: (config) => String(config.maxclients),
    set: (config, value) =>
      integerIn(value, 1, 4294967295, (n) => {
        config.maxclients = n;
      }),
  },
  {
    name: 'proto-max-bulk-len',
    get: (config) => String(config.protoMaxBulkLen),
    set: (config, value) => {
      const bytes = parseMemory(value);
      if (bytes === undefined) return 'argument must be a memory value';
      // The codec's ceiling: a bulk is one frame, and the engine's frames stop below 2 GiB.
      const max = 2 ** 31 - 1 - 64;
      // Redis's words for Redis's range; a second text for the ceiling Redis does not have.
      if (bytes < 1024 * 1024) {
        return 'argument must be between 1048576 and 9223372036854775807 inclusive';
      }
      if (bytes > max) return `argument must be at most ${max} on this server`;
      config.protoMaxBulkLen = bytes;
      return undefined;
    },
  },
  {
    name: 'timeout',
    get: (config) => String(config.timeout),
    set: (config, value) =>
      integerIn(value, 0, 2147483647, (n) => {
        config.timeout = n;
      }),
  },
  { name: 'client-output-buffer-limit', get: outputLimitsText, set: setOutputLimits },
];
