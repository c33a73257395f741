/**
 * C6: one bad connection among 1,000 busy ones. While 1,000 clients (another process) pipeline
 * tagged frames through the server, one more peer sends two good frames and then a header
 * declaring 1 GiB. Only that stream errors (MAI_FRAME_TOO_LONG) and closes, after its two
 * frames; every other stream delivers and echoes everything, checked frame by frame.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LengthPrefixedCodec, type Protocol } from '../../src/index.js';
import { serve } from '../support/engine-fixture.js';
import { Invariants } from '../support/invariants.js';
import type { EchoReport } from '../support/load-client-process.js';
import { rawConnect, readAll, u32Frame } from '../support/peers.js';
import { Recorder } from '../support/recorder.js';
import { until } from '../support/transports.js';
import { ClientProcess } from './processes.js';
import { figure, testSeed } from './profile.js';
import { checkTaggedFrame } from './tagged-frame.js';

type Bytes = Protocol<{ in: Buffer; session: { conn: number; next: number } }>;

// C6 has no long figure in RELIABILITY.md: the long run repeats the PR's.
const CONNS = figure('C6_CONNS', 1_000, 1_000);
const FRAMES = figure('C6_FRAMES', 300, 300);

describe('C6: isolation', () => {
  test(`one bad connection among ${CONNS} busy ones`, async (t) => {
    const invariants = Invariants.install(t);
    const seed = testSeed();
    const problems: string[] = [];
    let framesSeen = 0;
    const log = new Recorder<Bytes>({
      onFrame(ctx, frame) {
        framesSeen++;
        const entry = log.logs.get(ctx.token);
        if (entry !== undefined && entry.frames.length > 4) entry.frames.length = 0;
        if (frame.length >= 12) {
          if (ctx.session.next === 0) ctx.session.conn = frame.readUInt32BE(0);
          const problem = checkTaggedFrame(frame, ctx.session.conn, ctx.session.next);
          if (problem !== null && problems.length < 10) problems.push(problem);
        }
        ctx.session.next++;
        ctx.send(frame);
      },
    });
    const { server, listener } = await serve<Bytes>(
      t,
      'tcp',
      {
        codec: () => new LengthPrefixedCodec({ maxFrameLength: 64 * 1024 }),
        handler: log.handler,
        session: () => ({ conn: -1, next: 0 }),
        debugBuffers: true,
      },
      { backlog: 2048 },
    );
    const client = ClientProcess.start<EchoReport>(t, {
      mode: 'echo',
      address: listener.address,
      codec: 'length-prefixed',
      conns: CONNS,
      frames: FRAMES,
      seed,
      minPayload: 0,
      maxPayload: 200,
      wave: 500,
      timeoutMs: 120_000,
    });
    await client.connected;
    // The busy streams are mid-flight: now the bad one.
    await until(() => framesSeen > (CONNS * FRAMES) / 10, 30_000, 'traffic under way');
    const bad = await rawConnect(listener.address);
    const badReply = readAll(bad);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1024 * 1024 * 1024, 0);
    bad.write(Buffer.concat([u32Frame('one'), u32Frame('two'), header, Buffer.alloc(100, 1)]));
    const echoedToBad = await badReply;
    const report = await client.report;
    await until(() => log.closedCount === CONNS + 1, 10_000, 'every stream closed');
    await server.shutdown({ deadlineMs: 1000 });

    assert.deepEqual(report.problems, [], `client-side violations (seed ${seed})`);
    assert.equal(report.framesChecked, CONNS * FRAMES, 'the busy streams lost nothing');
    assert.deepEqual(problems, [], 'server-side violations');
    const failed = [...log.logs.values()].filter((entry) => entry.errors.length > 0);
    assert.equal(failed.length, 1, 'exactly one stream errored');
    assert.equal(failed[0]?.errors[0]?.code, 'MAI_FRAME_TOO_LONG');
    assert.equal(failed[0]?.closeInfo?.framesReceived, 2, 'its good frames came first');
    assert.deepEqual(echoedToBad, Buffer.concat([u32Frame('one'), u32Frame('two')]));
    for (const entry of log.logs.values()) {
      if (entry.errors.length > 0) continue;
      assert.equal(entry.closeInfo?.framesReceived, FRAMES);
      assert.equal(entry.closeInfo?.framesSent, FRAMES);
    }
    assert.deepEqual(report.invariants, []);
    await invariants.check([server], [log], { expectedStreams: [CONNS + 1] });
  });
});
