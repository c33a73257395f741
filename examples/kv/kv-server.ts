import {
  protocolEngine,
  type ProtocolEngine,
  type ShutdownReport,
} from '../../src/engine/engine.js';
import type { Listener } from '../../src/transport/listener.js';
import { authCommands } from './auth.js';
import { CommandTable } from './command.js';
import { CONFIG_PARAMETERS } from './config.js';
import { connectionCommands } from './commands/connection.js';
import { hashCommands } from './commands/hashes.js';
import { keyCommands } from './commands/keys.js';
import { listCommands } from './commands/lists.js';
import { pubsubCommands } from './commands/pubsub.js';
import { serverCommands } from './commands/server.js';
import { setCommands } from './commands/sets.js';
import { sortedSetCommands } from './commands/sorted-sets.js';
import { sortedSetAlgebraCommands } from './commands/zset-algebra.js';
import { sortedSetPopCommands } from './commands/zset-pops.js';
import { sortedSetRangeCommands } from './commands/zset-ranges.js';
import { stringCommands } from './commands/strings.js';
import { transactionCommands } from './commands/transactions.js';
import { KvCodec } from './kv-codec.js';
import { KvHandler } from './kv-handler.js';
import { KvState } from './kv-state.js';
import { type KvProtocol, KvSession } from './session.js';

/**
 * Where and how to run the server.
 *
 * @example
 * ```ts
 * await startKvServer({ port: 0, path: '/tmp/kv.sock', writeHighWaterMark: 64 * 1024 });
 * ```
 */
export interface KvServerOptions {
  /** TCP port; 0 picks a free one. Default 6380. Set `port: null` to listen on `path` only. */
  port?: number | null;
  /** TCP host. Default 127.0.0.1. */
  host?: string;
  /** A Unix socket path to listen on as well. */
  path?: string;
  /** The engine's write high-water mark: above it a subscriber counts as a slow consumer. */
  writeHighWaterMark?: number;
  /** Period of the active expiry sweep in ms (0: lazy expiry only). Default 100. */
  sweepIntervalMs?: number;
  /**
   * CONFIG parameters to start with, by their CONFIG name and in CONFIG SET's syntax
   * (`{ requirepass: 'pw', maxmemory: '100mb', 'client-output-buffer-limit': 'pubsub 1mb 0 0' }`).
   * A bad value throws with CONFIG SET's error text.
   */
  config?: Readonly<Record<string, string>>;
}

/**
 * The engine's own output limit, a backstop behind `client-output-buffer-limit` (which CONFIG
 * SET changes at run time; the engine's limits are fixed when it is built): no client's queue
 * may pass it, whatever its class's limit says.
 */
const ENGINE_OUTPUT_BACKSTOP = 1024 * 1024 * 1024;

/**
 * A running server.
 *
 * @example
 * ```ts
 * const server: KvServer = await startKvServer({ port: 0 });
 * console.log(server.port);
 * await server.close();
 * ```
 */
export interface KvServer {
  readonly engine: ProtocolEngine<KvProtocol>;
  readonly state: KvState;
  /** The TCP port bound (the chosen one for `port: 0`), or undefined. */
  readonly port: number | undefined;
  readonly path: string | undefined;
  /** Graceful shutdown: replies queued are flushed, then every connection is closed. */
  close(deadlineMs?: number): Promise<ShutdownReport>;
}

/**
 * The full command table.
 *
 * @example
 * ```ts
 * createCommandTable().lookup(Buffer.from('GET'))?.arity; // 2
 * ```
 */
export function createCommandTable(): CommandTable {
  return new CommandTable([
    ...connectionCommands,
    ...serverCommands,
    ...stringCommands,
    ...keyCommands,
    ...hashCommands,
    ...listCommands,
    ...pubsubCommands,
    ...setCommands,
    ...sortedSetCommands,
    ...sortedSetRangeCommands,
    ...sortedSetAlgebraCommands,
    ...sortedSetPopCommands,
    ...authCommands,
    ...transactionCommands,
  ]);
}

/** Applies `startKvServer`'s `config` as CONFIG SET would, throwing its error on a bad value. */
function applyConfig(kv: KvState, config: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(config)) {
    const parameter = CONFIG_PARAMETERS.find((p) => p.name === name.toLowerCase());
    if (parameter?.set === undefined) throw new Error(`unknown CONFIG parameter '${name}'`);
    const error = parameter.set(kv.config, value);
    if (error !== undefined) throw new Error(`${name}: ${error}`);
  }
}

/**
 * Starts the key-value server: RESP2 and RESP3 (HELLO 3) over TCP and, if asked, a Unix socket.
 *
 * @example
 * ```ts
 * const server = await startKvServer({ port: 0 });
 * // redis-cli -p ${server.port} PING
 * await server.close();
 * ```
 */
export async function startKvServer(options: KvServerOptions = {}): Promise<KvServer> {
  const kv = new KvState(createCommandTable(), options.sweepIntervalMs ?? 100);
  applyConfig(kv, options.config ?? {});
  const handler = new KvHandler(kv);
  const engine = protocolEngine<KvProtocol>({
    // Read per connection, so CONFIG SET proto-max-bulk-len applies to connections made after it.
    codec: () =>
      new KvCodec({
        inlineCommands: true,
        maxBulkLength: kv.config.protoMaxBulkLen,
        // Redis's bound (INT_MAX): a declared count reserves nothing, see RespRequestDecoder.
        maxArrayLength: 2 ** 31 - 1,
      }),
    handler,
    session: () => new KvSession(kv.nextClientId()),
    // Redis allows 512 MiB values; a frame is a whole command.
    maxFrameLength: 2 ** 31 - 1,
    slowConsumerSoftLimit: ENGINE_OUTPUT_BACKSTOP,
    slowConsumerHardLimit: ENGINE_OUTPUT_BACKSTOP,
    ...(options.writeHighWaterMark === undefined
      ? {}
      : { writeHighWaterMark: options.writeHighWaterMark }),
  });
  kv.engine = engine;
  const listeners: Listener[] = [];
  try {
    if (options.port !== null) {
      const tcp = await engine.listen({
        port: options.port ?? 6380,
        host: options.host ?? '127.0.0.1',
      });
      listeners.push(tcp);
      if ('port' in tcp.address) kv.tcpPort = tcp.address.port;
    }
    if (options.path !== undefined) listeners.push(await engine.listen({ path: options.path }));
  } catch (error) {
    await engine.shutdown({ deadlineMs: 1000 });
    throw error;
  }
  kv.memory.sample(kv.config.maxmemory);
  kv.scheduleSweep();
  return {
    engine,
    state: kv,
    port: options.port === null ? undefined : kv.tcpPort,
    path: options.path,
    close: (deadlineMs = 5000) => {
      kv.stopped = true;
      return engine.shutdown({ deadlineMs });
    },
  };
}
