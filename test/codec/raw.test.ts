import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_MAX_CHUNK_LENGTH, RawCodec } from '../../src/codec/raw.js';
import { assertCodecConformance, decodeChunks } from '../../src/testing/index.js';
import { PROPERTY_RUNS } from '../reliability/profile.js';

const runs = PROPERTY_RUNS;
const bytesOf = (frames: Uint8Array[]): number[] => [...Buffer.concat(frames)];

describe('RawCodec', () => {
  for (const borrow of [false, true]) {
    test(`conformance (frames compared as the byte stream they form)${borrow ? ', borrowed frames' : ''}`, async () => {
      const started = performance.now();
      await assertCodecConformance<Buffer, Uint8Array>({
        name: `raw${borrow ? ' borrowed' : ''}`,
        codec: () => new RawCodec({ maxChunkLength: 3, borrow }),
        // Chunk boundaries are the network's: only the bytes, in order, must not depend on them.
        units: bytesOf,
        cases: [
          {
            name: 'text',
            bytes: Buffer.from('hello, world'),
            frames: [Buffer.from('hello, world')],
          },
          {
            name: 'binary',
            bytes: Buffer.from([0, 0xff, 0x0d, 0x0a, 0]),
            frames: [Buffer.from([0, 0xff, 0x0d, 0x0a, 0])],
          },
          { name: 'multi-byte UTF-8', bytes: Buffer.from('é✓🎉'), frames: [Buffer.from('é✓🎉')] },
          { name: 'nothing', bytes: Buffer.alloc(0), frames: [] },
        ],
        roundTrip: {
          arbitrary: fc.uint8Array({ maxLength: 8 }),
          check: (sent, received) => Buffer.concat(sent).equals(Buffer.concat(received)),
          runs,
        },
      });
      console.log(`raw conformance: ${(performance.now() - started).toFixed(0)} ms (${runs} runs)`);
    });
  }

  test('delivers what is available at once, split at maxChunkLength', () => {
    const big = Buffer.alloc(DEFAULT_MAX_CHUNK_LENGTH + 10, 7);
    const result = decodeChunks(new RawCodec(), [Buffer.from('ab'), big]);
    assert.deepEqual(
      result.frames.map((frame) => frame.length),
      [2, DEFAULT_MAX_CHUNK_LENGTH, 10],
    );
    assert.equal(result.error, undefined);
    assert.throws(() => new RawCodec({ maxChunkLength: 0 }), { code: 'MAI_INVALID_OPTION' });
  });
});
