/**
 * A5: fairness. One peer floods the echo server with 1 MiB chunks of empty frames (reading and
 * dropping the echoes) while 100 others ping-pong one frame at a time; the flood and the
 * ping-pong clients are separate processes from the server. Measured: the ping-pongers' round
 * trips (p99 ≤ 50 ms) and the server's event-loop delay (monitorEventLoopDelay, p99 ≤ 50 ms)
 * while the flood runs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ClientProcess, mib, ServerProcess } from './processes.js';
import { figure } from './profile.js';

interface PingReport {
  roundTrips: number;
  p50: number;
  p99: number;
  max: number;
}
interface FloodReport {
  bytesSent: number;
  bytesReceived: number;
}

const PINGERS = 100;
const SECONDS = figure('A5_SECONDS', 5, 60);
const LIMIT_MS = 50;

describe('A5: fairness under a flood', () => {
  test(`1 flooder (1 MiB chunks of empty frames) vs ${PINGERS} ping-pongers for ${SECONDS} s`, async (t) => {
    const server = await ServerProcess.start(
      t,
      { port: 0, host: '127.0.0.1' },
      { codec: 'length-prefixed', unchecked: true },
    );
    const pingers = ClientProcess.start<PingReport>(t, {
      mode: 'pingpong',
      address: server.address,
      conns: PINGERS,
      timeoutMs: (SECONDS + 30) * 1000,
    });
    assert.equal(await pingers.connected, PINGERS);
    const flooder = ClientProcess.start<FloodReport>(t, {
      mode: 'flood',
      address: server.address,
      timeoutMs: (SECONDS + 30) * 1000,
    });
    await flooder.connected;
    // Let the flood get going, then measure from a clean histogram.
    await new Promise((resolve) => setTimeout(resolve, 500));
    server.child.send('reset-loop-delay');
    pingers.send('go');
    await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
    const during = await server.measure();
    pingers.send('stop');
    flooder.send('stop');
    const ping = await pingers.report;
    const flood = await flooder.report;
    const report = await server.shutdown();
    t.diagnostic(
      JSON.stringify({
        roundTrips: ping.roundTrips,
        rttP50Ms: ping.p50.toFixed(2),
        rttP99Ms: ping.p99.toFixed(2),
        rttMaxMs: ping.max.toFixed(2),
        eventLoopP99Ms: during.eventLoopP99Ms.toFixed(2),
        flooded: mib(flood.bytesSent),
        floodEchoed: mib(flood.bytesReceived),
        serverRssPeak: mib(report.rssPeak),
      }),
    );
    assert.ok(ping.roundTrips > PINGERS * 10, 'the ping-pongers made progress');
    assert.ok(flood.bytesSent >= 1024 * 1024 * SECONDS, 'the flood really flooded');
    assert.deepEqual(report.violations, []);
    assert.deepEqual(report.invariants, [], 'server invariant block');
    assert.ok(
      ping.p99 <= LIMIT_MS,
      `round-trip p99 ${ping.p99.toFixed(1)} ms above ${LIMIT_MS} ms`,
    );
    assert.ok(
      during.eventLoopP99Ms <= LIMIT_MS,
      `event-loop delay p99 ${during.eventLoopP99Ms.toFixed(1)} ms above ${LIMIT_MS} ms`,
    );
  });
});
