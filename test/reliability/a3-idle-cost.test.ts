/**
 * A3: the cost of an idle connection. N peers (another process) connect and stay silent. The
 * holder process (bare `net.Socket`s, or mai streams) reports its JS heap after a full GC with
 * 0 and with N connections; mai's cost per connection is its growth minus the bare baseline's.
 * Targets: 0 pooled bytes leased by idle streams; ≤ 2 KB of JS heap per connection above a
 * bare `net.Socket`.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { describe, type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Address } from '../../src/index.js';
import { ClientProcess } from './processes.js';
import { figure } from './profile.js';

const CONNS = figure('A3_CONNS', 10_000, 18_000);
const LIMIT_BYTES = 2048;
const holderScript = fileURLToPath(new URL('./idle-holder-process.js', import.meta.url));

interface HolderMeasure {
  heapUsed: number;
  rss: number;
  open: number;
  leasedBytes: number;
}

function ask<T>(child: ChildProcess, message: string, key: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: unknown): void => {
      if (typeof m !== 'object' || m === null || !(key in m)) return;
      child.off('message', onMessage);
      resolve((m as Record<string, T>)[key] as T);
    };
    child.on('message', onMessage);
    child.once('exit', () => reject(new Error('holder exited')));
    if (message !== '') child.send(message);
  });
}

/** Heap growth of a holder from 0 to CONNS idle connections, and what its streams lease. */
async function measure(
  t: TestContext,
  mode: 'bare' | 'mai',
): Promise<{ perConn: number; leasedBytes: number }> {
  const child = fork(holderScript, [mode, JSON.stringify({ port: 0, host: '127.0.0.1' })], {
    execArgv: ['--expose-gc'],
    stdio: 'inherit',
  });
  t.after(() => {
    if (child.exitCode === null) child.kill();
  });
  const address = await ask<Address>(child, '', 'address');
  const empty = await ask<HolderMeasure>(child, 'measure', 'measure');
  const peers = ClientProcess.start<{ held: number; failed: number }>(t, {
    mode: 'idle',
    address,
    conns: CONNS,
    // 120 s at the PR's 10,000 connections, scaled with the long figure.
    timeoutMs: Math.max(120_000, CONNS * 12),
  });
  assert.equal(await peers.connected, CONNS);
  let full = await ask<HolderMeasure>(child, 'measure', 'measure');
  for (let i = 0; i < 200 && full.open < CONNS; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    full = await ask<HolderMeasure>(child, 'measure', 'measure');
  }
  assert.equal(full.open, CONNS, `${mode}: every connection held`);
  // A second measurement: the figure must be stable, not a GC artefact.
  const again = await ask<HolderMeasure>(child, 'measure', 'measure');
  peers.send('stop');
  await peers.report;
  const invariants = await ask<string[]>(child, 'shutdown', 'invariants');
  assert.deepEqual(invariants, [], `${mode}: invariant block`);
  const perConn = (Math.min(full.heapUsed, again.heapUsed) - empty.heapUsed) / CONNS;
  return { perConn, leasedBytes: full.leasedBytes };
}

describe('A3: idle connection cost', () => {
  test(`${CONNS} idle connections: 0 pooled bytes leased, ≤ 2 KB JS heap each above a bare net.Socket`, async (t) => {
    const bare = await measure(t, 'bare');
    const mai = await measure(t, 'mai');
    const overhead = mai.perConn - bare.perConn;
    t.diagnostic(
      JSON.stringify({
        conns: CONNS,
        bareHeapPerConn: Math.round(bare.perConn),
        maiHeapPerConn: Math.round(mai.perConn),
        maiOverheadPerConn: Math.round(overhead),
        leasedBytesIdle: mai.leasedBytes,
      }),
    );
    assert.equal(mai.leasedBytes, 0, 'idle streams lease no pooled bytes');
    assert.ok(
      overhead <= LIMIT_BYTES,
      `mai costs ${Math.round(overhead)} B per idle connection above a bare socket`,
    );
  });
});
