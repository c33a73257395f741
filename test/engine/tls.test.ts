/**
 * TLS: `listen({ tls })` and `connect({ tls })` over TCP and Unix sockets, with a certificate
 * made for the test. Frames both ways, large frames, certificate and name checks, handshakes
 * that fail or never come, and a graceful shutdown that flushes before close_notify.
 */
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { connect as connectTls } from 'node:tls';
import { type Protocol, protocolEngine } from '../../src/index.js';
import { U32Codec } from '../support/codecs.js';
import { dial, serve } from '../support/engine-fixture.js';
import { rawConnect, readAll } from '../support/peers.js';
import { Recorder } from '../support/recorder.js';
import { testIdentity } from '../support/tls.js';
import { assertEngineClean, TRANSPORTS, type Transport, until } from '../support/transports.js';

type Bytes = Protocol<{ in: Buffer }>;

/** An echo server speaking TLS with the test identity. */
async function tlsEchoServer(
  t: TestContext,
  transport: Transport,
  options: { firstFrameTimeoutMs?: number } = {},
) {
  const { key, cert } = testIdentity();
  const log = new Recorder<Bytes>({ onFrame: (ctx, frame) => void ctx.send(frame) });
  const { server, listener } = await serve<Bytes>(
    t,
    transport,
    { codec: () => new U32Codec(), handler: log.handler, ...options },
    { tls: { key, cert } },
  );
  return { log, server, listener };
}

/** Client TLS options that trust the test identity and check the name `localhost`. */
function trusting() {
  return { ca: testIdentity().cert, servername: 'localhost' };
}

for (const transport of TRANSPORTS) {
  describe(`TLS over ${transport}`, () => {
    test('engines exchange 2,000 frames (1 B – 256 KiB) both ways, in order, and close cleanly', async (t) => {
      const { log, server, listener } = await tlsEchoServer(t, transport);
      const payloads = Array.from({ length: 2000 }, (_, i) =>
        Buffer.alloc(i % 100 === 0 ? 256 * 1024 : 1 + (i % 300), i & 0xff),
      );
      const clientLog = new Recorder<Bytes>({
        onReady: (ctx) => {
          for (const payload of payloads) ctx.send(payload);
        },
        onFrame: (ctx) => {
          if (clientLog.logs.get(ctx.token)?.frames.length === payloads.length) ctx.close();
        },
      });
      const { client } = await dial<Bytes>(
        t,
        listener,
        { codec: () => new U32Codec(), handler: clientLog.handler },
        { tls: trusting() },
      );
      await client.wait();
      await until(() => log.closedCount === 1, 5000, 'server onClosed');
      await server.shutdown({ deadlineMs: 2000 });
      const [clientStream] = [...clientLog.logs.values()];
      const [serverStream] = [...log.logs.values()];
      assert.equal(clientStream?.frames.length, payloads.length);
      assert.ok(
        clientStream?.frames.every((frame, i) => frame.equals(payloads[i] as Buffer)),
        'every echo equals what was sent',
      );
      assert.equal(serverStream?.frames.length, payloads.length);
      assert.equal(clientStream?.closeInfo?.framesUnsent, 0);
      assert.equal(serverStream?.closeInfo?.reason, 'remote');
      assert.equal(listener.handshakeFailures, 0);
      assert.deepEqual([...log.violations, ...clientLog.violations], []);
      assertEngineClean(server);
      assertEngineClean(client);
    });

    test('a client that does not trust the certificate, or expects another name, is refused: MAI_CONNECT_FAILED with the TLS cause', async (t) => {
      const { log, server, listener } = await tlsEchoServer(t, transport);
      const client = protocolEngine<Bytes>({
        codec: () => new U32Codec(),
        handler: { onFrame: () => {} },
      });
      await assert.rejects(client.connect({ ...listener.address, tls: {} }), (error: unknown) => {
        const { code, cause } = error as { code: string; cause?: { code?: string } };
        assert.equal(code, 'MAI_CONNECT_FAILED');
        assert.equal(cause?.code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
        return true;
      });
      await assert.rejects(
        client.connect({
          ...listener.address,
          tls: { ca: testIdentity().cert, servername: 'example.com' },
        }),
        (error: unknown) => {
          const { code, cause } = error as { code: string; cause?: { code?: string } };
          assert.equal(code, 'MAI_CONNECT_FAILED');
          assert.equal(cause?.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
          return true;
        },
      );
      // The client hangs up before its Finished message: the server never has a stream (a
      // client that just closes says nothing the server could count as a failed handshake).
      await client.shutdown({ deadlineMs: 1000 });
      await server.shutdown({ deadlineMs: 1000 });
      assert.equal(log.logs.size, 0, 'no stream for a refused handshake');
      assert.deepEqual(log.violations, []);
      assertEngineClean(server);
      assertEngineClean(client);
    });

    test('plaintext sent to a TLS listener, and a handshake that never comes, are dropped and counted; no handler call', async (t) => {
      const { log, server, listener } = await tlsEchoServer(t, transport, {
        firstFrameTimeoutMs: 300,
      });
      const garbage = await rawConnect(listener.address);
      const garbageClosed = readAll(garbage);
      garbage.write('*1\r\n$4\r\nPING\r\n');
      const silent = await rawConnect(listener.address);
      const started = Date.now();
      const silentClosed = readAll(silent);
      await garbageClosed;
      await silentClosed;
      const silentMs = Date.now() - started;
      assert.ok(silentMs >= 250 && silentMs < 3000, `silent client dropped after ${silentMs} ms`);
      await until(() => listener.handshakeFailures === 2, 5000, 'both counted');
      await server.shutdown({ deadlineMs: 1000 });
      assert.equal(log.logs.size, 0);
      assertEngineClean(server);
    });

    test('graceful shutdown flushes 100 queued frames to a TLS peer before closing', async (t) => {
      const { key, cert } = testIdentity();
      const log = new Recorder<Bytes>({
        onReady: (ctx) => {
          for (let i = 0; i < 100; i++) ctx.send(Buffer.alloc(1000, i));
        },
      });
      const { server, listener } = await serve<Bytes>(
        t,
        transport,
        { codec: () => new U32Codec(), handler: log.handler },
        { tls: { key, cert } },
      );
      const peer = connectTls({
        ...('path' in listener.address
          ? { path: listener.address.path }
          : { port: listener.address.port, host: '127.0.0.1' }),
        ...trusting(),
      });
      const chunks: Buffer[] = [];
      peer.on('data', (chunk: Buffer) => chunks.push(chunk));
      const ended = new Promise((resolve) => peer.once('end', resolve));
      peer.once('end', () => peer.end());
      await new Promise((resolve) => peer.once('secureConnect', resolve));
      await until(() => log.logs.size === 1, 5000, 'stream adopted');
      const report = await server.shutdown({ deadlineMs: 5000 });
      await ended;
      const received = Buffer.concat(chunks);
      assert.equal(received.length, 100 * 1004, 'every queued frame arrived before the end');
      assert.equal(report.forced, 0);
      assert.equal(report.streams[0]?.framesUnsent, 0);
      assert.deepEqual(log.violations, []);
      assertEngineClean(server);
    });
  });
}
