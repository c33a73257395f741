/**
 * The fixture's cleanup, checked from outside: its after-hooks are collected from a stand-in
 * test context and run by hand, so each case can look at the engine after they ran, including
 * the case where a hook must fail.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, type TestContext, test } from 'node:test';
import type { Protocol, ProtocolEngine } from '../../src/index.js';
import { U32Codec } from './codecs.js';
import { dial, serve } from './engine-fixture.js';
import { rawConnect, readAll } from './peers.js';
import { Recorder } from './recorder.js';
import { assertEngineClean, TRANSPORTS, until } from './transports.js';

type Bytes = Protocol<{ in: Buffer }>;

/** A test context whose `after` hooks are kept, to be run (in order) by `runHooks`. */
function standIn(): { t: TestContext; runHooks: () => Promise<void> } {
  const hooks: (() => unknown)[] = [];
  const t = { after: (hook: () => unknown) => void hooks.push(hook) } as unknown as TestContext;
  return {
    t,
    runHooks: async () => {
      for (const hook of hooks) await hook();
    },
  };
}

/** Counts the calls of `engine.shutdown` (the fixture must not add one of its own). */
function countShutdowns(engine: ProtocolEngine<Bytes>): { calls: number } {
  const counter = { calls: 0 };
  const shutdown = engine.shutdown.bind(engine);
  engine.shutdown = (options) => {
    counter.calls++;
    return shutdown(options);
  };
  return counter;
}

const echo = () => {
  const log = new Recorder<Bytes>({ onFrame: (ctx, frame) => void ctx.send(frame) });
  return { log, options: { codec: () => new U32Codec(), handler: log.handler } };
};

for (const transport of TRANSPORTS) {
  describe(`engine fixture over ${transport}`, () => {
    test('a test that shuts its server down itself gets no second shutdown from the cleanup', async () => {
      const { t, runHooks } = standIn();
      const { log, options } = echo();
      const { server, listener } = await serve<Bytes>(t, transport, options);
      const shutdowns = countShutdowns(server);
      const socket = await rawConnect(listener.address);
      const reply = readAll(socket);
      socket.end(Buffer.from([0, 0, 0, 1, 7]));
      assert.deepEqual(await reply, Buffer.from([0, 0, 0, 1, 7]));
      const report = await server.shutdown({ deadlineMs: 1000 });
      await runHooks();
      assert.equal(shutdowns.calls, 1, 'only the test shut the engine down');
      assert.equal(report.forced, 0);
      if ('path' in listener.address) assert.equal(existsSync(listener.address.path), false);
      assert.deepEqual(log.violations, []);
      assertEngineClean(server);
    });

    test('a server and a client left running are shut down by the cleanup, and the socket file goes', async () => {
      const serverSide = standIn();
      const clientSide = standIn();
      const { log, options } = echo();
      const { server, listener } = await serve<Bytes>(serverSide.t, transport, options);
      const clientLog = new Recorder<Bytes>();
      const { client, ctx } = await dial<Bytes>(clientSide.t, listener, {
        codec: () => new U32Codec(),
        handler: clientLog.handler,
      });
      ctx.send(Buffer.from('still open'));
      await until(() => clientLog.logs.get(ctx.token)?.frames.length === 1, 5000, 'the echo');
      const serverShutdowns = countShutdowns(server);
      const clientShutdowns = countShutdowns(client);
      // The client's first, while its stream is surely open (the server's listener always is).
      await clientSide.runHooks();
      await serverSide.runHooks();
      assert.equal(serverShutdowns.calls, 1);
      assert.equal(clientShutdowns.calls, 1);
      if ('path' in listener.address) assert.equal(existsSync(listener.address.path), false);
      assert.deepEqual([...log.violations, ...clientLog.violations], []);
      assertEngineClean(server);
      assertEngineClean(client);
    });

    test('a cleanup that has to force a stream fails the test instead of hiding it', async () => {
      const { t, runHooks } = standIn();
      const log = new Recorder<Bytes>({
        onReady: (ctx) => {
          // Far more than the socket buffers hold, to a peer that never reads.
          for (let i = 0; i < 200; i++) ctx.send(Buffer.alloc(64 * 1024));
        },
      });
      const { server, listener } = await serve<Bytes>(t, transport, {
        codec: () => new U32Codec(),
        handler: log.handler,
        slowConsumerSoftLimit: 1024 * 1024 * 1024,
        slowConsumerHardLimit: 1024 * 1024 * 1024,
      });
      const socket = await rawConnect(listener.address);
      socket.pause();
      socket.on('error', () => {});
      await until(() => log.logs.size === 1, 5000, 'the stream');
      await assert.rejects(runHooks(), /shutdown forced 1/);
      socket.destroy();
      assert.equal([...log.logs.values()][0]?.errors[0]?.code, 'MAI_SHUTDOWN_DEADLINE');
      assertEngineClean(server);
    });
  });
}
