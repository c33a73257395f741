import assert from 'node:assert/strict';
import { test } from 'node:test';
import { protocolEngine, type Protocol } from '../src/index.js';
import { LineCodec } from './support/codecs.js';

type Lines = Protocol<{ in: string }>;

test('smoke: echo lines over TCP', async () => {
  const server = protocolEngine<Lines>({
    codec: () => new LineCodec(),
    handler: {
      onFrame(ctx, line) {
        ctx.send(line.toUpperCase());
      },
    },
  });
  const listener = await server.listen({ port: 0, host: '127.0.0.1' });
  const got: string[] = [];
  const client = protocolEngine<Lines>({
    codec: () => new LineCodec(),
    handler: {
      onReady(ctx) {
        ctx.send('hello');
        ctx.send('world');
      },
      onFrame(ctx, line) {
        got.push(line);
        if (got.length === 2) ctx.close();
      },
    },
  });
  await client.connect(listener.address);
  await client.wait();
  await server.shutdown({ deadlineMs: 1000 });
  assert.deepEqual(got, ['HELLO', 'WORLD']);
  assert.equal(server.stats().pool.leased, 0);
  assert.equal(client.stats().pool.leased, 0);
});
