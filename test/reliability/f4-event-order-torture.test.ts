/**
 * F4: event-order torture. close(), abort() and end() called from inside every handler
 * callback, twice, and mixed; the peer resetting during our writes (EPIPE/ECONNRESET); an error
 * after close. Each must give no crash, exactly one onClosed, and nothing after it (the
 * Recorder and the invariant block check that).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Context, type Handler, LengthPrefixedCodec, type Protocol } from '../../src/index.js';
import { serve } from '../support/engine-fixture.js';
import { Invariants } from '../support/invariants.js';
import { rawConnect, u32Frame } from '../support/peers.js';
import { Recorder } from '../support/recorder.js';
import { TRANSPORTS, until } from '../support/transports.js';

type Bytes = Protocol<{ in: Buffer }>;
type Act =
  | 'close'
  | 'abort'
  | 'end'
  | 'close,close'
  | 'abort,close'
  | 'close,abort'
  | 'end,abort'
  | 'send,close,send';

const ACTS: Act[] = [
  'close',
  'abort',
  'end',
  'close,close',
  'abort,close',
  'close,abort',
  'end,abort',
  'send,close,send',
];
const WHERE = ['onReady', 'onFrame', 'onError', 'onClosed', 'onEnd'] as const;

function act(ctx: Context<Bytes>, what: Act): void {
  for (const step of what.split(',')) {
    if (step === 'close') ctx.close();
    else if (step === 'abort') ctx.abort();
    else if (step === 'end') ctx.end();
    else ctx.send(Buffer.from('late'));
  }
}

/** What the peer does: send 3 frames then a corrupt header (to reach onError), then FIN. */
function peerBytes(): Buffer {
  const bad = Buffer.alloc(4, 0xff); // declares 4 GiB: over any limit
  return Buffer.concat([u32Frame('a'), u32Frame('b'), u32Frame('c'), bad]);
}

for (const transport of TRANSPORTS) {
  describe(`F4 over ${transport}: event-order torture`, () => {
    test('close/abort/end (once, twice, mixed) inside every handler callback', async (t) => {
      const invariants = Invariants.install(t);
      let current: { where: (typeof WHERE)[number]; what: Act } = {
        where: 'onReady',
        what: 'close',
      };
      const inner: Partial<Handler<Bytes>> = {
        onReady: (ctx) => current.where === 'onReady' && act(ctx, current.what),
        onFrame: (ctx) => {
          if (current.where === 'onFrame') act(ctx, current.what);
        },
        onError: (ctx) => current.where === 'onError' && act(ctx, current.what),
        onClosed: (ctx) => current.where === 'onClosed' && act(ctx, current.what),
        onEnd: (ctx) => current.where === 'onEnd' && act(ctx, current.what),
      };
      const log = new Recorder<Bytes>(inner);
      const { server, listener } = await serve<Bytes>(t, transport, {
        codec: () => new LengthPrefixedCodec({ maxFrameLength: 1024 }),
        handler: log.handler,
        debugBuffers: true,
        closeTimeoutMs: 200,
      });
      let cases = 0;
      for (const where of WHERE) {
        for (const what of ACTS) {
          current = { where, what };
          for (const peer of ['corrupt', 'clean-fin'] as const) {
            const before = log.closedCount;
            const socket = await rawConnect(listener.address);
            socket.on('error', () => {});
            socket.on('data', () => {});
            socket.on('end', () => socket.end());
            socket.end(peer === 'corrupt' ? peerBytes() : u32Frame('only'));
            await until(
              () => log.closedCount === before + 1,
              5000,
              `onClosed for ${where}/${what}/${peer}`,
            );
            socket.destroy();
            cases++;
          }
        }
      }
      await server.shutdown({ deadlineMs: 1000 });
      assert.equal(cases, WHERE.length * ACTS.length * 2);
      await invariants.check([server], [log], { expectedStreams: [cases] });
    });

    test('the peer resets while we write (EPIPE/ECONNRESET), and errors after close', async (t) => {
      const invariants = Invariants.install(t);
      const big = Buffer.alloc(256 * 1024, 0x41);
      const log = new Recorder<Bytes>({
        onReady(ctx) {
          for (let i = 0; i < 20; i++) ctx.send(big);
          if (ctx.token % 3 === 0) ctx.close(); // the reset then arrives during the linger
        },
        onFrame(ctx) {
          for (let i = 0; i < 20; i++) ctx.send(big);
        },
        onError(ctx) {
          ctx.send(big);
          ctx.close();
          ctx.abort();
        },
      });
      const { server, listener } = await serve<Bytes>(t, transport, {
        codec: () => new LengthPrefixedCodec(),
        handler: log.handler,
        debugBuffers: true,
      });
      await Promise.all(
        Array.from({ length: 30 }, async (_, i) => {
          const socket = await rawConnect(listener.address);
          socket.on('error', () => {});
          socket.write(u32Frame('go'));
          await new Promise<void>((resolve) => {
            let bytes = 0;
            socket.on('data', (chunk: Buffer) => {
              bytes += chunk.length;
              if (bytes > 100_000 + i * 10_000) resolve();
            });
          });
          if (transport === 'tcp') socket.resetAndDestroy();
          else socket.destroy();
        }),
      );
      await until(() => log.closedCount === 30, 10_000, '30 onClosed');
      await server.shutdown({ deadlineMs: 1000 });
      for (const entry of log.logs.values()) {
        const info = entry.closeInfo;
        assert.ok(info !== undefined);
        assert.ok(info.framesUnsent > 0, 'the reset left frames unsent');
      }
      await invariants.check([server], [log], { expectedStreams: [30] });
    });
  });
}
