import {
  protocolEngine,
  type ProtocolEngine,
  type ShutdownReport,
} from '../../src/engine/engine.js';
import type { Listener } from '../../src/transport/listener.js';
import { CommandTable } from './command.js';
import { connectionCommands } from './commands/connection.js';
import { hashCommands } from './commands/hashes.js';
import { keyCommands } from './commands/keys.js';
import { listCommands } from './commands/lists.js';
import { pubsubCommands } from './commands/pubsub.js';
import { serverCommands } from './commands/server.js';
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
}

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
    ...transactionCommands,
  ]);
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
  const handler = new KvHandler(kv);
  const engine = protocolEngine<KvProtocol>({
    codec: () => new KvCodec({ inlineCommands: true, maxBulkLength: 512 * 1024 * 1024 }),
    handler,
    session: () => new KvSession(kv.nextClientId()),
    // Redis allows 512 MiB values; a frame is a whole command.
    maxFrameLength: 2 ** 31 - 1,
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
