import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { type Address, type Context, type Protocol, protocolEngine } from '../../src/index.js';
import { U32Codec } from '../support/codecs.js';
import { reserveAddress } from '../support/engine-fixture.js';
import { Recorder } from '../support/recorder.js';
import { assertEngineClean, TRANSPORTS } from '../support/transports.js';

type Bytes = Protocol<{ in: Buffer; session: { id: number; expect: number } }>;

const CONNECTIONS = 1000;
const FRAMES = 1000;
const serverScript = fileURLToPath(new URL('../support/echo-server-process.js', import.meta.url));

/** Frame `seq` of connection `id`: (id, seq, filler of a size that varies with both). */
function frameFor(id: number, seq: number): Buffer {
  const filler = (id * 31 + seq * 7) % 48;
  const frame = Buffer.allocUnsafe(8 + filler);
  frame.writeUInt32BE(id, 0);
  frame.writeUInt32BE(seq, 4);
  frame.fill((id + seq) & 0xff, 8);
  return frame;
}

for (const transport of TRANSPORTS) {
  describe(`load over ${transport}`, () => {
    test(`${CONNECTIONS} concurrent connections × ${FRAMES} frames: none lost, reordered or duplicated`, async (t) => {
      const address = reserveAddress(t, transport);
      const server = fork(serverScript, [JSON.stringify(address)], { stdio: 'inherit' });
      t.after(() => server.kill());
      const bound = await new Promise<Address>((resolve) =>
        server.once('message', (m) => resolve((m as { address: Address }).address)),
      );

      const problems: string[] = [];
      let echoed = 0;
      const log = new Recorder<Bytes>({
        onReady(ctx) {
          for (let seq = 0; seq < FRAMES; seq++) ctx.send(frameFor(ctx.session.id, seq));
        },
        onFrame(ctx, frame) {
          const expected = frameFor(ctx.session.id, ctx.session.expect);
          if (!frame.equals(expected) && problems.length < 10) {
            problems.push(
              `conn ${ctx.session.id}: frame ${ctx.session.expect} came back as ${frame.toString('hex')}`,
            );
          }
          ctx.session.expect++;
          echoed++;
          if (ctx.session.expect === FRAMES) ctx.close();
        },
      });
      const client = protocolEngine<Bytes>({ codec: () => new U32Codec(), handler: log.handler });
      const contexts: Context<Bytes>[] = [];
      // Connect in waves of 100 so the listen backlog is never the subject of the test.
      for (let wave = 0; wave < CONNECTIONS; wave += 100) {
        const batch = Array.from({ length: 100 }, (_, i) =>
          client.connect({ ...bound, session: { id: wave + i, expect: 0 } }),
        );
        contexts.push(...(await Promise.all(batch)));
      }
      await client.wait();

      server.send('shutdown');
      const report = await new Promise<{
        streams: number;
        closed: number;
        frames: number;
        forced: number;
        violations: string[];
        stats: { pool: { leased: number }; streams: number; timers: number };
      }>((resolve) => server.once('message', (m) => resolve(m as never)));

      assert.deepEqual(problems, []);
      assert.equal(contexts.length, CONNECTIONS);
      assert.equal(echoed, CONNECTIONS * FRAMES, 'every frame echoed exactly once');
      for (const stream of log.logs.values()) {
        assert.equal(stream.frames.length, FRAMES);
        assert.equal(stream.closeInfo?.framesSent, FRAMES);
        assert.equal(stream.closeInfo?.framesUnsent, 0);
      }
      assert.deepEqual(log.violations, []);
      assertEngineClean(client);
      assert.deepEqual(report.violations, []);
      assert.equal(report.streams, CONNECTIONS);
      assert.equal(report.closed, CONNECTIONS);
      assert.equal(report.frames, CONNECTIONS * FRAMES);
      assert.equal(report.forced, 0);
      assert.equal(report.stats.pool.leased, 0, 'server leases back to 0');
      assert.equal(report.stats.streams, 0);
      assert.equal(report.stats.timers, 0);
    });
  });
}
