/**
 * What a handler holds and how its replies leave: the context has the documented members only,
 * a throw out of onFrame is MAI_HANDLER_FAILED whatever was thrown, and replies to a read leave
 * at the end of that read with no tick of their own.
 */
import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { describe, test } from 'node:test';
import {
  type Context,
  EncodeError,
  type EncodeResult,
  ErrorCode,
  type MaiError,
  type Protocol,
  protocolEngine,
} from '../../src/index.js';
import { U32Codec } from '../support/codecs.js';
import { rawConnect, readAll, u32Frame } from '../support/peers.js';
import { listenOn } from '../support/engine-fixture.js';
import { assertEngineClean, TRANSPORTS, until } from '../support/transports.js';

type Bytes = Protocol<{ in: Buffer }>;

/** Every member a `Context` documents (src/engine/protocol.ts), and nothing else. */
const DOCUMENTED = [
  'clearTimeout',
  'close',
  'closed',
  'drain',
  'end',
  'abort',
  'localAddress',
  'queuedBytes',
  'remoteAddress',
  'send',
  'session',
  'setTimeout',
  'token',
  'writable',
].sort();

/** Every property name reachable on `value` up to (not including) Object.prototype. */
function reachable(value: object): string[] {
  const names = new Set<string>();
  for (let at: object | null = value; at !== null && at !== Object.prototype; ) {
    for (const name of Object.getOwnPropertyNames(at)) if (name !== 'constructor') names.add(name);
    at = Object.getPrototypeOf(at) as object | null;
  }
  return [...names].sort();
}

/** Refuses to encode the frame `refuse`. */
class RefusingCodec extends U32Codec {
  override encode(frame: Buffer, buffer: Buffer, start: number): EncodeResult {
    if (frame.toString() === 'refuse') throw new EncodeError('this frame cannot be encoded');
    return super.encode(frame, buffer, start);
  }
}

for (const transport of TRANSPORTS) {
  describe(`handlers over ${transport}`, () => {
    test('the context has the documented members and none of the engine’s', async (t) => {
      let seen: Context<Bytes> | undefined;
      const engine = protocolEngine<Bytes>({
        codec: () => new U32Codec(),
        handler: {
          onReady: (ctx) => {
            seen = ctx;
          },
          onFrame() {},
        },
      });
      const { listener } = await listenOn(t, engine, transport);
      const socket = await rawConnect(listener.address);
      await until(() => seen !== undefined, 5000, 'onReady');
      const ctx = seen as Context<Bytes>;
      assert.deepEqual(reachable(ctx), DOCUMENTED);
      assert.equal('failSlowConsumer' in ctx, false);
      assert.equal('forceClose' in ctx, false);
      assert.equal(engine.context(ctx.token), ctx, 'engine.context gives the same facade');
      socket.end();
      await readAll(socket);
      await engine.shutdown({ deadlineMs: 1000 });
      assertEngineClean(engine);
    });

    test('an EncodeError thrown by ctx.send inside onFrame is MAI_HANDLER_FAILED with the EncodeError as cause', async (t) => {
      const errors: MaiError[] = [];
      const engine = protocolEngine<Bytes>({
        codec: () => new RefusingCodec(),
        handler: {
          onFrame: (ctx, frame) => void ctx.send(frame),
          onError: (_ctx, error) => void errors.push(error),
        },
      });
      const { listener } = await listenOn(t, engine, transport);
      const socket = await rawConnect(listener.address);
      const replies = readAll(socket);
      socket.write(Buffer.concat([u32Frame('ok'), u32Frame('refuse'), u32Frame('late')]));
      // The reply to the frame before the failing one still leaves; nothing after it is read.
      assert.deepEqual(await replies, u32Frame('ok'));
      assert.equal(errors.length, 1);
      assert.equal(errors[0]?.code, ErrorCode.HandlerFailed);
      assert.ok(errors[0]?.cause instanceof EncodeError);
      assert.equal((errors[0]?.cause as MaiError | undefined)?.code, ErrorCode.EncodeFailed);
      await engine.shutdown({ deadlineMs: 1000 });
      assertEngineClean(engine);
    });

    test('replies to a read leave at the end of the read: the engine schedules no tick for them', async (t) => {
      const engine = protocolEngine<Bytes>({
        codec: () => new U32Codec(),
        handler: { onFrame: (ctx, frame) => void ctx.send(frame) },
      });
      const { listener } = await listenOn(t, engine, transport);
      const socket = await rawConnect(listener.address);
      await until(() => engine.stats().streams === 1, 5000, 'the stream');
      // Let onReady's tick pass: from here on, only reads drive the server.
      await new Promise((resolve) => setTimeout(resolve, 20));
      const scheduledByEngine: string[] = [];
      const hook = createHook({
        init(_id, type) {
          if (type !== 'TickObject') return;
          const limit = Error.stackTraceLimit;
          Error.stackTraceLimit = 30;
          const stack = (new Error().stack ?? '').split('\n');
          Error.stackTraceLimit = limit;
          // The frame that called process.nextTick: the one after it in the stack.
          const at = stack.findIndex((line) => line.includes('process.nextTick'));
          const caller = at === -1 ? '' : (stack[at + 1] ?? '');
          if (caller.includes('/src/engine/')) scheduledByEngine.push(caller.trim());
        },
      });
      const frames = Array.from({ length: 200 }, (_, i) => u32Frame(`frame ${i}`));
      const expected = Buffer.concat(frames);
      const received: Buffer[] = [];
      let bytes = 0;
      socket.on('data', (chunk: Buffer) => {
        received.push(chunk);
        bytes += chunk.length;
      });
      hook.enable();
      for (let round = 0; round < 5; round++) {
        bytes = 0;
        received.length = 0;
        socket.write(expected);
        await until(() => bytes >= expected.length, 5000, 'the echoes');
        assert.deepEqual(Buffer.concat(received), expected);
      }
      hook.disable();
      assert.deepEqual(scheduledByEngine, []);
      socket.end();
      await readAll(socket);
      await engine.shutdown({ deadlineMs: 1000 });
      assertEngineClean(engine);
    });
  });
}
