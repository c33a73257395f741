/**
 * G1: `engine.shutdown()` with 1,000 connections × 100 frames queued, peers reading: every frame
 * delivered before our FIN, no reset, new connects refused.
 * G2: the same with 10 peers that never read (and more queued for them than the kernel
 * buffers): those 10 are closed at the deadline with their unsent frames reported; the other
 * 990 are unaffected.
 *
 * The peers are raw sockets in another process (load-client-process, mode `readers`). Each
 * says first whether it reads ("R") or not ("N"), so the server knows whom to queue more for.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { type Context, LengthPrefixedCodec, type Protocol } from '../../src/index.js';
import { serve } from '../support/engine-fixture.js';
import { Invariants } from '../support/invariants.js';
import { Recorder } from '../support/recorder.js';
import { until } from '../support/transports.js';
import { ClientProcess } from './processes.js';
import { figure } from './profile.js';
import { taggedFrame } from './tagged-frame.js';

type Bytes = Protocol<{ in: Buffer; session: { reads: boolean | null } }>;

interface ReadersReport {
  outcomes: {
    frames: number;
    reset: boolean;
    fin: boolean;
    error: string;
    pending: number;
    nonReader: boolean;
  }[];
  problems: string[];
}

const CONNS = figure('G_CONNS', 1_000, 1_000);
const FRAMES = 100;
/** For a non-reader: 100 × 64 KiB, above what loopback socket buffers absorb (~4 MiB here). */
const NON_READER_PAYLOAD = 64 * 1024;

/** A new connect after shutdown began must be refused. */
function connectRefused(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

describe('G1/G2: graceful shutdown', () => {
  for (const nonReaders of [0, 10]) {
    const row = nonReaders === 0 ? 'G1' : 'G2';
    test(`${row}: ${CONNS} conns × ${FRAMES} queued frames, ${nonReaders} peers never read`, async (t) => {
      const invariants = Invariants.install(t);
      const contexts: Context<Bytes>[] = [];
      const log = new Recorder<Bytes>({
        onFrame(ctx, hello) {
          if (ctx.session.reads !== null) return;
          ctx.session.reads = hello.toString() === 'R';
          contexts.push(ctx);
        },
      });
      const { server, listener } = await serve<Bytes>(
        t,
        'tcp',
        {
          codec: () => new LengthPrefixedCodec(),
          handler: log.handler,
          session: () => ({ reads: null }),
          debugBuffers: true,
          // The non-readers must be closed by the shutdown deadline, not by the slow-consumer
          // watchdog (D2's subject).
          slowConsumerSoftLimitMs: 60_000,
        },
        { backlog: 2048 },
      );
      const client = ClientProcess.start<ReadersReport>(t, {
        mode: 'readers',
        address: listener.address,
        conns: CONNS,
        nonReaders,
        timeoutMs: 60_000,
      });
      assert.equal(await client.connected, CONNS);
      await until(() => contexts.length === CONNS, 20_000, 'every peer said hello');

      // Queue 100 frames on every stream, then shut down in the same tick.
      for (const ctx of contexts) {
        const size = ctx.session.reads ? 100 : NON_READER_PAYLOAD;
        for (let seq = 0; seq < FRAMES; seq++) ctx.send(taggedFrame(ctx.token, seq, size));
      }
      const deadlineMs = 2000;
      const shutdown = server.shutdown({ deadlineMs });
      const refused = await connectRefused((listener.address as { port: number }).port);
      const report = await shutdown;
      client.send('stop');
      const peers = await client.report;

      assert.equal(refused, 'ECONNREFUSED', 'new connects refused once shutdown began');
      assert.deepEqual(peers.problems, [], 'frames arrived intact and in order');
      const readers = peers.outcomes.filter((o) => !o.nonReader);
      const silent = peers.outcomes.filter((o) => o.nonReader);
      assert.equal(readers.length, CONNS - nonReaders);
      for (const reader of readers) {
        assert.equal(reader.frames, FRAMES, 'every queued frame delivered');
        assert.ok(reader.fin, 'then our FIN');
        assert.equal(reader.reset, false, 'no reset');
        assert.equal(reader.pending, 0, 'no partial frame');
      }
      assert.equal(silent.length, nonReaders);
      const silentInfo = [...log.logs.values()]
        .filter((e) => e.frames[0]?.toString() === 'N')
        .map((e) => ({ info: e.closeInfo, error: e.errors[0]?.message }));
      assert.equal(
        report.forced,
        nonReaders,
        `exactly the non-readers were forced: ${JSON.stringify(silentInfo.slice(0, 2))}`,
      );
      for (const stream of report.streams) {
        const entry = log.logs.get(stream.token);
        const reads = contexts.find((c) => c.token === stream.token)?.session.reads;
        if (reads) {
          assert.equal(stream.forced, false);
          assert.equal(stream.framesUnsent, 0);
          assert.equal(entry?.closeInfo?.framesSent, FRAMES);
          assert.equal(entry?.closeInfo?.reason, 'shutdown');
        } else {
          assert.equal(stream.forced, true);
          assert.ok(stream.framesUnsent > 0, 'unsent frames reported');
          assert.equal(entry?.errors[0]?.code, 'MAI_SHUTDOWN_DEADLINE');
          const info = entry?.closeInfo;
          assert.equal((info?.framesSent ?? 0) + (info?.framesUnsent ?? 0), FRAMES);
        }
      }
      await invariants.check([server], [log], { expectedStreams: [CONNS] });
    });
  }
});
