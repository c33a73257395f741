/**
 * The setup most socket tests begin with, written once: a server engine listening on a fresh
 * address, clients connected to it, and the cleanup that must run however the test ends.
 *
 * Cleanup is registered with `t.after` before anything can fail, and it is a backstop, not the
 * test's own ending: a test that shuts its engines down and inspects the report keeps doing so,
 * and the backstop then finds the engine idle and does nothing (no second `shutdown()`, whose
 * own behaviour is under test elsewhere). An engine still running when the test ends (the test
 * failed half-way, or it leaves the ending to the fixture) is shut down with a deadline so the
 * file never hangs. The backstop hides nothing: its shutdown is bounded, and a stream it had to
 * force fails the test (when the test had already failed, node:test keeps the first failure).
 * Leak checks stay in the tests, where each one wants them (`assertEngineClean`).
 */
import type { Socket } from 'node:net';
import type { TestContext } from 'node:test';
import {
  type Address,
  type AnyProtocol,
  type ConnectOptions,
  type Context,
  type EngineOptions,
  type Listener,
  type ListenOptions,
  type ProtocolEngine,
  protocolEngine,
} from '../../src/index.js';
import { rawConnect } from './peers.js';
import { listenAddress, removeSocketFile, type Transport } from './transports.js';

/** The shutdown deadline of the backstop: long enough for a graceful close on loopback. */
const BACKSTOP_DEADLINE_MS = 1000;

/** What `engine.listen` takes besides the address (`maxConnections`, `backlog`, `tls`, …). */
export type ListenExtras<P extends AnyProtocol> = Omit<ListenOptions<P>, 'port' | 'host' | 'path'>;

/** What `engine.connect` takes besides the address (`session`, `timeoutMs`, `tls`, …). */
export type ConnectExtras<P extends AnyProtocol> = Omit<
  ConnectOptions<P>,
  'port' | 'host' | 'path'
>;

/** A listening server engine: the engine, its listener, and the address it was asked for. */
export interface Served<P extends AnyProtocol> {
  server: ProtocolEngine<P>;
  listener: Listener;
  /** The address requested (`port: 0` for TCP); `listener.address` is the one bound. */
  address: Address;
}

/** A client engine with one stream connected. */
export interface Dialed<P extends AnyProtocol> {
  client: ProtocolEngine<P>;
  ctx: Context<P>;
}

/**
 * A fresh address of `transport` for a server the test starts itself (a child process, a plain
 * `net.Server`); its socket file is removed when the test ends.
 *
 * @example
 * ```ts
 * const address = reserveAddress(t, 'unix');
 * const child = fork(serverScript, [JSON.stringify(address)]);
 * ```
 */
export function reserveAddress(t: TestContext, transport: Transport): Address {
  const address = listenAddress(transport);
  t.after(() => removeSocketFile(address));
  return address;
}

/**
 * Shuts `engine` down when the test ends if it is still running, with a deadline; does nothing
 * if the test already brought it to rest. Rejects (failing the test) if that shutdown had to
 * force a stream or did not finish.
 *
 * @example
 * ```ts
 * const engine = protocolEngine({ codec, handler });
 * shutDownAfter(t, engine);
 * ```
 */
export function shutDownAfter<P extends AnyProtocol>(
  t: TestContext,
  engine: ProtocolEngine<P>,
): void {
  t.after(async () => {
    const { streams, listeners, pendingConnects } = engine.stats();
    if (streams + listeners + pendingConnects === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error('the fixture shutdown did not finish')),
        BACKSTOP_DEADLINE_MS * 2,
      );
    });
    try {
      const report = await Promise.race([
        engine.shutdown({ deadlineMs: BACKSTOP_DEADLINE_MS }),
        gaveUp,
      ]);
      if (report.forced > 0) {
        throw new Error(
          `the engine was left running with ${streams} streams; the fixture's shutdown forced ${report.forced}`,
        );
      }
    } finally {
      clearTimeout(timer);
    }
  });
}

/**
 * Listens with an engine the test made on a fresh address of `transport`, with cleanup (see the
 * module comment).
 *
 * @example
 * ```ts
 * const { listener } = await listenOn(t, engine, 'tcp', { backlog: 1024 });
 * ```
 */
export async function listenOn<P extends AnyProtocol>(
  t: TestContext,
  engine: ProtocolEngine<P>,
  transport: Transport,
  extras: ListenExtras<P> = {},
): Promise<{ listener: Listener; address: Address }> {
  // node:test runs after-hooks in the order they were added: shut down, then remove the file.
  shutDownAfter(t, engine);
  const address = reserveAddress(t, transport);
  const listener = await engine.listen({ ...address, ...extras } as ListenOptions<P>);
  return { listener, address };
}

/**
 * Makes a server engine from `options` and listens on a fresh address of `transport`; the
 * engine is shut down (if the test did not) and the socket file removed when the test ends.
 *
 * @example
 * ```ts
 * const { server, listener } = await serve<Lines>(t, transport, { codec, handler });
 * const socket = await rawConnect(listener.address);
 * // ...
 * await server.shutdown({ deadlineMs: 1000 });
 * assertEngineClean(server);
 * ```
 */
export async function serve<P extends AnyProtocol>(
  t: TestContext,
  transport: Transport,
  options: EngineOptions<P>,
  extras: ListenExtras<P> = {},
): Promise<Served<P>> {
  const server = protocolEngine<P>(options);
  const { listener, address } = await listenOn(t, server, transport, extras);
  return { server, listener, address };
}

/**
 * Makes a client engine from `options` and connects it to `listener`; the engine is shut down
 * when the test ends if its streams are still open.
 *
 * @example
 * ```ts
 * const { client, ctx } = await dial<Lines>(t, listener, { codec, handler });
 * await client.wait();
 * ```
 */
export async function dial<P extends AnyProtocol>(
  t: TestContext,
  listener: Listener,
  options: EngineOptions<P>,
  extras: ConnectExtras<P> = {},
): Promise<Dialed<P>> {
  const client = protocolEngine<P>(options);
  shutDownAfter(t, client);
  const ctx = await client.connect({ ...listener.address, ...extras } as ConnectOptions<P>);
  return { client, ctx };
}

/**
 * Listens with `engine` on a fresh address of `transport` and connects a plain `net` client to
 * it, for tests that write the bytes on the wire themselves.
 *
 * @example
 * ```ts
 * const socket = await listenAndConnect(t, server, transport);
 * socket.end(u32Frame('hello'));
 * ```
 */
export async function listenAndConnect<P extends AnyProtocol>(
  t: TestContext,
  engine: ProtocolEngine<P>,
  transport: Transport,
): Promise<Socket> {
  const { listener } = await listenOn(t, engine, transport);
  return rawConnect(listener.address);
}
