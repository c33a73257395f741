/**
 * The invariant block must be able to fail: a leaked server socket, a leaked timer, a lease
 * not given back and a lifecycle out of order are each caught.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import { LengthPrefixedCodec, type Protocol } from '../../src/index.js';
import { serve } from '../support/engine-fixture.js';
import { activeResources, invariantViolations, resourcesAbove } from '../support/invariants.js';
import { Recorder } from '../support/recorder.js';

type Bytes = Protocol<{ in: Buffer }>;

describe('support: the invariant block catches what it should', () => {
  test('a server and a timer left open are reported, and not once closed', async () => {
    const baseline = activeResources();
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const timer = setTimeout(() => {}, 60_000);
    const leaks = resourcesAbove(baseline);
    assert.ok(
      leaks.some((leak) => leak.includes('TCPServerWrap')),
      leaks.join('; '),
    );
    assert.ok(
      leaks.some((leak) => leak.includes('Timeout')),
      leaks.join('; '),
    );
    clearTimeout(timer);
    await new Promise((resolve) => server.close(resolve));
    // A closed handle leaves the list a turn or two later (Invariants.check polls the same way).
    for (let i = 0; i < 100 && resourcesAbove(baseline).length > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.deepEqual(resourcesAbove(baseline), []);
  });

  test('a listener left open and a lifecycle out of order are reported', async (t) => {
    const log = new Recorder<Bytes>({});
    const { server: engine } = await serve<Bytes>(t, 'tcp', {
      codec: () => new LengthPrefixedCodec(),
      handler: log.handler,
      debugBuffers: true,
    });
    // A handler call the engine never made: onClosed without onReady.
    log.handler.onClosed?.({ token: 99 } as never, {} as never);
    const problems = invariantViolations([engine], [log]);
    assert.ok(
      problems.some((p) => p.includes('listeners open')),
      problems.join('; '),
    );
    assert.ok(
      problems.some((p) => p.includes('closed before onReady')),
      problems.join('; '),
    );
    await engine.shutdown({ deadlineMs: 100 });
  });
});
