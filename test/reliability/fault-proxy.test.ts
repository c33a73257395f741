import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import type { Address } from '../../src/index.js';
import { reserveAddress } from '../support/engine-fixture.js';
import {
  type DirectionFaults,
  FaultProxy,
  NO_FAULTS,
  randomPlan,
  seededRandom,
} from '../support/fault-proxy.js';
import { Invariants } from '../support/invariants.js';
import { rawConnect } from '../support/peers.js';
import { TRANSPORTS, type Transport } from '../support/transports.js';
import { checkTaggedFrame, crc32, taggedFrame } from './tagged-frame.js';

/** A plain net server that records what each connection received and how it ended. */
interface Sink {
  server: Server;
  address: Address;
  received: { bytes: Buffer[]; reads: number; ended: 'fin' | 'reset' | 'open'; at: number[] }[];
  sockets: Socket[];
}

async function startSink(t: TestContext, transport: Transport, reply?: Buffer): Promise<Sink> {
  const sink: Sink = {
    server: createServer({ allowHalfOpen: true }),
    address: reserveAddress(t, transport),
    received: [],
    sockets: [],
  };
  sink.server.on('connection', (socket) => {
    const record = {
      bytes: [] as Buffer[],
      reads: 0,
      ended: 'open' as 'fin' | 'reset' | 'open',
      at: [] as number[],
    };
    sink.received.push(record);
    sink.sockets.push(socket);
    if (reply !== undefined) socket.write(reply);
    socket.on('data', (chunk: Buffer) => {
      record.bytes.push(chunk);
      record.reads++;
      record.at.push(Date.now());
    });
    socket.on('end', () => {
      record.ended = 'fin';
      socket.end();
    });
    socket.on('error', () => {
      record.ended = 'reset';
    });
  });
  const requested = sink.address;
  await new Promise<void>((resolve) =>
    'path' in requested
      ? sink.server.listen(requested.path, resolve)
      : sink.server.listen(0, '127.0.0.1', resolve),
  );
  const bound = sink.server.address();
  if (bound !== null && typeof bound === 'object')
    sink.address = { port: bound.port, host: '127.0.0.1' };
  return sink;
}

async function stopSink(sink: Sink): Promise<void> {
  for (const socket of sink.sockets) socket.destroy();
  await new Promise((resolve) => sink.server.close(resolve));
}

function faults(overrides: Partial<DirectionFaults>): DirectionFaults {
  return { ...NO_FAULTS, ...overrides };
}

/** Sends `bytes` through the proxy, ends, and waits for the sink's side to close or time out. */
async function sendThrough(
  proxy: FaultProxy,
  bytes: Buffer,
): Promise<{ error: string; got: Buffer }> {
  const socket = await rawConnect(proxy.address);
  const chunks: Buffer[] = [];
  let error = '';
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', (e: NodeJS.ErrnoException) => {
    error = e.code ?? e.message;
  });
  socket.on('end', () => socket.end());
  socket.end(bytes);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      socket.destroy();
      resolve();
    }, 5000);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return { error, got: Buffer.concat(chunks) };
}

describe('support: crc32 and tagged frames', () => {
  test('crc32 matches the IEEE check value', () => {
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
    assert.equal(crc32(Buffer.alloc(0)), 0);
  });

  test('a tagged frame checks itself: corruption, wrong seq and wrong conn are caught', () => {
    const frame = taggedFrame(3, 5, 50);
    assert.equal(checkTaggedFrame(frame, 3, 5), null);
    assert.match(checkTaggedFrame(frame, 3, 6) ?? '', /expected seq 6/);
    assert.match(checkTaggedFrame(frame, 4, 5) ?? '', /crossed/);
    const corrupt = Buffer.from(frame);
    corrupt[20] = (corrupt[20] as number) ^ 1;
    assert.match(checkTaggedFrame(corrupt, 3, 5) ?? '', /CRC/);
    assert.equal(frame.subarray(8, 58).includes(0xdd), false, 'payloads never hold the canary');
  });
});

describe('fault proxy', () => {
  test('plans are deterministic given the seed', () => {
    const bounds = { bytesToServer: 1000, bytesToClient: 1000 };
    const a = randomPlan(seededRandom(1234), bounds);
    const b = randomPlan(seededRandom(1234), bounds);
    const c = randomPlan(seededRandom(1235), bounds);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  for (const transport of TRANSPORTS) {
    test(`${transport}: no faults is a plain pipe both ways`, async (t) => {
      const invariants = Invariants.install(t);
      const sink = await startSink(t, transport, Buffer.from('hello from server'));
      const proxy = await FaultProxy.start({ target: sink.address, seed: 1 });
      const payload = Buffer.alloc(200_000, 7);
      const { got, error } = await sendThrough(proxy, payload);
      assert.equal(error, '');
      assert.equal(got.toString(), 'hello from server');
      assert.deepEqual(Buffer.concat(sink.received[0]?.bytes ?? []), payload);
      assert.equal(proxy.sessions[0]?.outcome, 'closed');
      assert.equal(proxy.sessions[0]?.forwardedToServer, payload.length);
      await proxy.close();
      await stopSink(sink);
      await invariants.check([], []);
    });

    test(`${transport}: split into 1..8 byte pieces, delivered intact and in many reads`, async (t) => {
      const invariants = Invariants.install(t);
      const sink = await startSink(t, transport);
      const proxy = await FaultProxy.start({
        target: sink.address,
        seed: 2,
        planFor: () => ({ toServer: faults({ pieceMin: 1, pieceMax: 8 }), toClient: faults({}) }),
      });
      const payload = Buffer.from(Array.from({ length: 2000 }, (_, i) => i & 0xff));
      await sendThrough(proxy, payload);
      const record = sink.received[0];
      assert.deepEqual(Buffer.concat(record?.bytes ?? []), payload);
      // One piece per event-loop turn: most reads are single pieces (kernel coalescing aside).
      assert.ok((record?.reads ?? 0) >= 2000 / 8 / 4, `only ${record?.reads} reads`);
      await proxy.close();
      await stopSink(sink);
      await invariants.check([], []);
    });

    test(`${transport}: cut after N bytes gives exactly N bytes, then FIN`, async (t) => {
      const invariants = Invariants.install(t);
      const sink = await startSink(t, transport);
      const proxy = await FaultProxy.start({
        target: sink.address,
        seed: 3,
        planFor: () => ({
          toServer: faults({ pieceMin: 1, pieceMax: 64, cutAtByte: 777 }),
          toClient: faults({}),
        }),
      });
      const payload = Buffer.alloc(5000, 1);
      await sendThrough(proxy, payload);
      assert.equal(Buffer.concat(sink.received[0]?.bytes ?? []).length, 777);
      assert.equal(sink.received[0]?.ended, 'fin');
      assert.equal(proxy.sessions[0]?.outcome, 'cut');
      assert.equal(proxy.sessions[0]?.brokenDirection, 'toServer');
      await proxy.close();
      await stopSink(sink);
      await invariants.check([], []);
    });

    test(`${transport}: reset after N bytes: at most N bytes, then a reset (TCP) or close (Unix)`, async (t) => {
      const invariants = Invariants.install(t);
      const sink = await startSink(t, transport);
      const proxy = await FaultProxy.start({
        target: sink.address,
        seed: 4,
        planFor: () => ({ toServer: faults({ resetAtByte: 1000 }), toClient: faults({}) }),
      });
      const { error } = await sendThrough(proxy, Buffer.alloc(50_000, 1));
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(Buffer.concat(sink.received[0]?.bytes ?? []).length <= 1000);
      assert.equal(proxy.sessions[0]?.outcome, 'reset');
      if (transport === 'tcp') {
        assert.equal(error, 'ECONNRESET', 'the client sees a reset');
        // Linux reports a reset that arrives while received bytes are still unread as an end of
        // stream once they are read (tcp_recvmsg checks the shutdown flag before the error), so
        // the server side may see either.
        assert.notEqual(sink.received[0]?.ended, 'open', 'the server side ended');
      }
      await proxy.close();
      await stopSink(sink);
      await invariants.check([], []);
    });
  }

  test('latency, stall and bandwidth slow delivery down by at least what they say', async (t) => {
    const invariants = Invariants.install(t);
    const sink = await startSink(t, 'tcp');
    const proxy = await FaultProxy.start({
      target: sink.address,
      seed: 5,
      planFor: (_random, index) => ({
        toServer:
          index === 0
            ? faults({ latencyMs: 100 })
            : index === 1
              ? faults({ stallAtByte: 10, stallMs: 150 })
              : faults({ bytesPerSecond: 200_000 }),
        toClient: faults({}),
      }),
    });
    let started = Date.now();
    await sendThrough(proxy, Buffer.alloc(20, 1));
    const first = sink.received[0];
    assert.ok((first?.at[0] ?? 0) - started >= 95, 'latency held the bytes back');
    started = Date.now();
    await sendThrough(proxy, Buffer.alloc(20, 1));
    const second = sink.received[1];
    assert.ok((second?.at.at(-1) ?? 0) - started >= 145, 'the stall held the rest back');
    assert.equal(Buffer.concat(second?.bytes ?? []).length, 20);
    started = Date.now();
    await sendThrough(proxy, Buffer.alloc(60_000, 1));
    const third = sink.received[2];
    // 60,000 bytes at 200,000 B/s: the last byte leaves no earlier than ~300 ms minus one piece.
    assert.ok((third?.at.at(-1) ?? 0) - started >= 250, 'bandwidth was capped');
    await proxy.close();
    await stopSink(sink);
    await invariants.check([], []);
  });
});
