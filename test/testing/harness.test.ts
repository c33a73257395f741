import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Protocol } from '../../src/index.js';
import { CodecHarness } from '../../src/testing/index.js';
import { LineCodec } from '../support/codecs.js';

type Lines = Protocol<{ in: string; timeout: string }>;

const names = (harness: CodecHarness<Lines>): string[] => harness.calls.map((call) => call.name);

describe('CodecHarness', () => {
  test('frames in, replies out, then the peer ends the stream', () => {
    const harness = new CodecHarness<Lines>({
      codec: () => new LineCodec(),
      handler: { onFrame: (ctx, line) => void ctx.send(line.toUpperCase()) },
    });
    harness.writeInbound(Buffer.from('hel'));
    assert.deepEqual(harness.frames, []);
    harness.writeInbound(Buffer.from('lo\nwor'));
    assert.equal(harness.readOutbound().toString(), 'HELLO\n');
    harness.endInbound(); // LineCodec delivers the last line at EOF
    assert.equal(harness.readOutbound().toString(), 'WOR\n');
    assert.deepEqual(names(harness), ['onReady', 'onFrame', 'onFrame', 'onClosed']);
    assert.equal(harness.closeInfo?.reason, 'remote');
    assert.equal(harness.closeInfo?.framesReceived, 2);
    assert.equal(harness.closed, true);
    assert.equal(harness.writeInbound(Buffer.from('late\n')), false);
  });

  test('a decode error reaches onError (send still works), then onClosed', () => {
    const harness = new CodecHarness<Lines>({
      codec: new LineCodec(),
      handler: {
        onFrame: () => {},
        onError: (ctx, error) => void ctx.send(`bye ${error.code}`),
      },
    });
    harness.writeInbound(Buffer.from('ok\nbad\xff\nnever\n', 'latin1'));
    assert.deepEqual(names(harness), ['onReady', 'onFrame', 'onError', 'onClosed']);
    assert.equal(harness.readOutbound().toString(), 'bye MAI_CORRUPT_FRAME\n');
    assert.equal(harness.closeInfo?.reason, 'error');
    assert.equal(harness.closeInfo?.error?.code, 'MAI_CORRUPT_FRAME');
    assert.equal(harness.closeInfo?.partialBytes, 'bad\xff\nnever\n'.length);
  });

  test('close() inside onFrame stops delivery of the frames after it', () => {
    const harness = new CodecHarness<Lines>({
      codec: () => new LineCodec(),
      handler: { onFrame: (ctx, line) => (line === 'quit' ? ctx.close() : undefined) },
    });
    harness.writeInbound(Buffer.from('a\nquit\nb\n'));
    assert.deepEqual(harness.frames, ['a', 'quit']);
    assert.equal(harness.closeInfo?.reason, 'local');
    assert.equal(harness.closeInfo?.partialBytes, 2);
  });

  test('end() closes only once the peer ends too', () => {
    const harness = new CodecHarness<Lines>({
      codec: () => new LineCodec(),
      handler: { onReady: (ctx) => ctx.end(), onFrame: () => {} },
    });
    harness.writeInbound(Buffer.from('still\n'));
    assert.equal(harness.closed, false);
    assert.equal(harness.send('x'), false);
    harness.endInbound();
    assert.deepEqual(names(harness), ['onReady', 'onFrame', 'onClosed']);
    assert.equal(harness.closeInfo?.reason, 'local');
  });

  test('timeouts fire on the fake clock, in order, and not after close', () => {
    const harness = new CodecHarness<Lines>({
      codec: () => new LineCodec(),
      handler: {
        onReady: (ctx) => {
          ctx.setTimeout('late', 200);
          ctx.setTimeout('early', 100);
          const cleared = ctx.setTimeout('cleared', 50);
          assert.equal(ctx.clearTimeout(cleared), true);
        },
        onFrame: () => {},
        onTimeout: (ctx, value) => {
          if (value === 'early') ctx.setTimeout('chained', 10);
          if (value === 'late') ctx.close();
        },
      },
    });
    harness.advance(99);
    assert.deepEqual(names(harness), ['onReady']);
    harness.advance(1000);
    const fired = harness.calls.flatMap((call) => (call.name === 'onTimeout' ? [call.value] : []));
    assert.deepEqual(fired, ['early', 'chained', 'late']);
    assert.equal(harness.now, 1099);
    assert.equal(harness.calls.at(-1)?.name, 'onClosed');
  });

  test('onClosed waits for a pending onFrame Promise; a rejection is MAI_HANDLER_FAILED', async () => {
    let release: () => void = () => {};
    const harness = new CodecHarness<Lines>({
      codec: () => new LineCodec(),
      handler: {
        onFrame: (_ctx, line) =>
          line === 'wait'
            ? new Promise<void>((resolve) => {
                release = resolve;
              })
            : Promise.reject(new Error('nope')),
      },
    });
    harness.writeInbound(Buffer.from('wait\n'));
    harness.endInbound();
    assert.ok(!names(harness).includes('onClosed'));
    release();
    await harness.settle();
    assert.equal(harness.closeInfo?.reason, 'remote');

    const failing = new CodecHarness<Lines>({
      codec: () => new LineCodec(),
      handler: { onFrame: () => Promise.reject(new Error('nope')) },
    });
    failing.writeInbound(Buffer.from('x\n'));
    await failing.settle();
    assert.equal(failing.closeInfo?.error?.code, 'MAI_HANDLER_FAILED');
  });
});
