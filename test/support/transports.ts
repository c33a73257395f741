import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Address, AnyProtocol, ProtocolEngine } from '../../src/index.js';
import assert from 'node:assert/strict';

/** Every engine test runs over both: loopback TCP and a Unix socket path. */
export const TRANSPORTS = ['tcp', 'unix'] as const;
export type Transport = (typeof TRANSPORTS)[number];

/** A fresh address to listen on: an ephemeral loopback port, or a random socket path. */
export function listenAddress(transport: Transport): Address {
  if (transport === 'tcp') return { port: 0, host: '127.0.0.1' };
  const path = join(tmpdir(), `mai-test-${process.pid}-${randomBytes(6).toString('hex')}.sock`);
  return { path };
}

/** Removes a Unix socket file a test left behind (Node unlinks it on close; this is a backstop). */
export function removeSocketFile(address: Address): void {
  if ('path' in address) rmSync(address.path, { force: true });
}

// Moved to engine-fixture.ts with the rest of the listen/connect setup; re-exported so test
// files written against this module keep compiling.
export { listenAndConnect } from './engine-fixture.js';

/**
 * The invariant block every engine test ends with: no stream, listener, timer or pooled buffer
 * left behind by the engine.
 */
export function assertEngineClean(
  engine: ProtocolEngine<AnyProtocol> | ProtocolEngine<never>,
): void {
  const stats = (engine as ProtocolEngine<AnyProtocol>).stats();
  assert.equal(stats.streams, 0, 'streams still managed');
  assert.equal(stats.listeners, 0, 'listeners still open');
  assert.equal(stats.pendingConnects, 0, 'connects still pending');
  assert.equal(stats.timers, 0, 'timers still pending');
  assert.equal(stats.pool.leased, 0, 'pooled buffers still leased');
  assert.equal(stats.pool.leasedBytes, 0, 'pooled bytes still leased');
}

/** Resolves after `predicate` holds, polling each tick; rejects after `ms` (a bound, not a timing). */
export async function until(
  predicate: () => boolean,
  ms = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
