/**
 * F1: a golden stream of three frames, cut at every byte offset, by FIN and by reset (RST on
 * TCP; an abrupt close on Unix sockets, which have no RST). The frames completed before the cut
 * are delivered exactly once, in order, before onClosed; onClosed reports the bytes of the
 * unfinished frame as partial.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type Codec,
  LengthPrefixedCodec,
  LinesCodec,
  type Protocol,
  RespCodec,
} from '../../src/index.js';
import { serve } from '../support/engine-fixture.js';
import { Invariants } from '../support/invariants.js';
import { rawConnect } from '../support/peers.js';
import { Recorder } from '../support/recorder.js';
import { TRANSPORTS, until } from '../support/transports.js';

type Any = Protocol<{ in: unknown; out: unknown }>;

interface Golden {
  name: string;
  codec: () => Codec<unknown, unknown>;
  /** The three frames on the wire, one Buffer each. */
  wire: Buffer[];
}

const GOLDEN: Golden[] = [
  {
    name: 'length-prefixed',
    codec: () => new LengthPrefixedCodec() as Codec<unknown, unknown>,
    wire: [
      Buffer.from([0, 0, 0, 3, 0x61, 0x62, 0x63]),
      Buffer.from([0, 0, 0, 0]),
      Buffer.from([0, 0, 0, 5, 1, 2, 3, 4, 5]),
    ],
  },
  {
    name: 'lines',
    codec: () => new LinesCodec() as Codec<unknown, unknown>,
    wire: [Buffer.from('first line\r\n'), Buffer.from('\n'), Buffer.from('third\n')],
  },
  {
    name: 'resp',
    codec: () => new RespCodec() as Codec<unknown, unknown>,
    wire: [
      Buffer.from('*2\r\n$3\r\nGET\r\n$1\r\nk\r\n'),
      Buffer.from(':-42\r\n'),
      Buffer.from('$5\r\nhello\r\n'),
    ],
  },
];

/** The frames a codec decodes from the whole golden stream (the reference). */
function referenceFrames(golden: Golden): unknown[] {
  const codec = golden.codec();
  const bytes = Buffer.concat(golden.wire);
  const frames: unknown[] = [];
  let start = 0;
  for (let i = 0; i < 3; i++) {
    const result = codec.decode(bytes, start, bytes.length);
    assert.notEqual(typeof result, 'symbol', 'the golden stream decodes');
    const decoded = result as { frame: unknown; bytesRead: number };
    frames.push(decoded.frame);
    start += decoded.bytesRead;
  }
  return frames;
}

for (const transport of TRANSPORTS) {
  describe(`F1 over ${transport}: cut at every byte offset`, () => {
    for (const golden of GOLDEN) {
      for (const how of ['fin', 'reset'] as const) {
        test(`${golden.name}, cut by ${how}`, async (t) => {
          const invariants = Invariants.install(t);
          const reference = referenceFrames(golden);
          const stream = Buffer.concat(golden.wire);
          const ends = golden.wire.map((_, i) =>
            golden.wire.slice(0, i + 1).reduce((sum, b) => sum + b.length, 0),
          );
          const log = new Recorder<Any>({});
          const { server, listener } = await serve<Any>(t, transport, {
            codec: golden.codec,
            handler: log.handler,
            debugBuffers: true,
          });
          const problems: string[] = [];
          for (let cut = 0; cut <= stream.length; cut++) {
            const socket = await rawConnect(listener.address);
            socket.on('error', () => {});
            socket.on('data', () => {});
            const before = log.closedCount;
            if (how === 'fin') {
              socket.end(stream.subarray(0, cut));
            } else {
              // Written in one piece, then reset once the bytes are on their way.
              socket.write(stream.subarray(0, cut), () => {
                if (transport === 'tcp') socket.resetAndDestroy();
                else socket.destroy();
              });
            }
            await until(() => log.closedCount === before + 1, 5000, `onClosed at cut ${cut}`);
            socket.destroy();
            const entry = [...log.logs.values()].at(-1);
            const complete = ends.filter((end) => end <= cut).length;
            const completeBytes = complete === 0 ? 0 : (ends[complete - 1] as number);
            const info = entry?.closeInfo;
            const delivered = entry?.frames ?? [];
            try {
              // onEnd (the peer's clean FIN) comes after the frames; onError, if any, after that.
              assert.match(
                entry?.events.join(',') ?? '',
                /^ready(,frame)*(,end)?(,error)?,closed$/,
                'frames, then end, then error, then closed',
              );
              if (how === 'fin') {
                // Every byte was read: exact.
                assert.deepEqual(
                  delivered,
                  reference.slice(0, complete),
                  'complete frames, once, in order',
                );
                assert.equal(info?.partialBytes, cut - completeBytes, 'partial bytes reported');
                if (cut > completeBytes) {
                  assert.equal(entry?.errors[0]?.code, 'MAI_TRUNCATED_FRAME');
                } else {
                  assert.equal(entry?.errors.length, 0, 'a cut between frames is a clean end');
                  assert.ok(entry?.events.includes('end'), 'onEnd for a clean end');
                }
              } else {
                // Bytes the kernel dropped at the reset are gone; the ones read are accounted.
                assert.deepEqual(
                  delivered,
                  reference.slice(0, delivered.length),
                  'a prefix, in order',
                );
                const deliveredBytes =
                  delivered.length === 0 ? 0 : (ends[delivered.length - 1] as number);
                assert.ok(
                  deliveredBytes + (info?.partialBytes ?? 0) <= cut,
                  'no byte counted twice or invented',
                );
              }
            } catch (error) {
              problems.push(
                `cut ${cut}: ${(error as Error).message.split('\n')[0]} events=${entry?.events.join(',')}`,
              );
            }
          }
          await server.shutdown({ deadlineMs: 1000 });
          assert.deepEqual(problems, []);
          await invariants.check([server], [log], { expectedStreams: [stream.length + 1] });
        });
      }
    }
  });
}
