/**
 * Peers that misbehave on purpose, in a process of their own so the server under test is the
 * only thing in its process. Started with `fork(file, [mode, addressJson, optionsJson])`; sends
 * one report message when done.
 *
 * - `drip`: opens `connections` sockets and writes one byte of a never-ending U32 frame to each,
 *   every `intervalMs` (slowloris). Reports, per connection, ms from its first byte to the
 *   server closing it.
 * - `blast`: one socket that writes `totalBytes` of U32 frames of `frameSize` payload bytes as
 *   fast as the socket takes them (respecting its own write back-pressure), then ends.
 * - `bulk`: opens `connections` sockets; each writes `frames` U32 frames of `frameSize` bytes
 *   (payload bytes = connection index & 0xff), as fast as its socket takes them, then ends and
 *   reads the replies until the server closes. Reports, per connection, the bytes received.
 */
import { connect, type Socket } from 'node:net';
import type { Address } from '../../src/index.js';

const mode = process.argv[2];
const address = JSON.parse(process.argv[3] ?? '{}') as Address;
const options = JSON.parse(process.argv[4] ?? '{}') as Record<string, number>;

function open(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket =
      'path' in address
        ? connect({ path: address.path })
        : connect({ port: address.port, host: address.host ?? '127.0.0.1' });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      resolve(socket);
    });
  });
}

async function drip(): Promise<void> {
  const connections = options.connections ?? 1000;
  const intervalMs = options.intervalMs ?? 1000;
  const header = Buffer.from([0, 0, 0x10, 0]); // declares 4096 payload bytes: never completes
  const sockets: Socket[] = [];
  for (let i = 0; i < connections; i += 100) {
    sockets.push(
      ...(await Promise.all(Array.from({ length: Math.min(100, connections - i) }, open))),
    );
  }
  const firstByteAt = new Array<number>(connections).fill(0);
  const closedAfter = new Array<number>(connections).fill(-1);
  let open_ = connections;
  const done = new Promise<void>((resolve) => {
    sockets.forEach((socket, i) => {
      socket.on('data', () => {});
      socket.once('close', () => {
        closedAfter[i] = Date.now() - (firstByteAt[i] as number);
        if (--open_ === 0) resolve();
      });
    });
  });
  let sent = 0;
  const tick = (): void => {
    const at = Date.now();
    for (const [i, socket] of sockets.entries()) {
      if (socket.destroyed) continue;
      if (sent === 0) firstByteAt[i] = at;
      socket.write(sent < header.length ? header.subarray(sent, sent + 1) : Buffer.from([0x61]));
    }
    sent++;
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  const bound = setTimeout(() => {
    for (const socket of sockets) socket.destroy();
  }, options.boundMs ?? 60_000);
  await done;
  clearInterval(timer);
  clearTimeout(bound);
  process.send?.({ closedAfter });
}

async function blast(): Promise<void> {
  const frameSize = options.frameSize ?? 64 * 1024;
  const total = options.totalBytes ?? 1024 * 1024 * 1024;
  const frame = Buffer.alloc(4 + frameSize, 0x62);
  frame.writeUInt32BE(frameSize, 0);
  const socket = await open();
  socket.on('data', () => {});
  const started = Date.now();
  let written = 0;
  while (written < total) {
    if (!socket.write(frame)) await new Promise((resolve) => socket.once('drain', resolve));
    written += frameSize;
  }
  await new Promise<void>((resolve) => socket.end(resolve));
  await new Promise((resolve) => socket.once('close', resolve));
  process.send?.({ written, frames: Math.ceil(total / frameSize), ms: Date.now() - started });
}

async function bulk(): Promise<void> {
  const connections = options.connections ?? 100;
  const frames = options.frames ?? 1;
  const frameSize = options.frameSize ?? 256 * 1024;
  const sockets: Socket[] = [];
  for (let i = 0; i < connections; i++) sockets.push(await open());
  const started = Date.now();
  const received = await Promise.all(
    sockets.map(async (socket, index) => {
      let bytes = 0;
      socket.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      const closed = new Promise((resolve) => socket.once('close', resolve));
      const frame = Buffer.alloc(4 + frameSize, index & 0xff);
      frame.writeUInt32BE(frameSize, 0);
      for (let i = 0; i < frames; i++) {
        if (!socket.write(frame)) await new Promise((resolve) => socket.once('drain', resolve));
      }
      socket.end();
      await closed;
      return bytes;
    }),
  );
  process.send?.({ received, ms: Date.now() - started });
}

const modes: Record<string, () => Promise<void>> = { drip, blast, bulk };
const run = modes[mode ?? ''];
if (run === undefined) throw new Error(`unknown mode ${mode}`);
await run();
process.disconnect?.();
