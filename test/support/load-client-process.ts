/**
 * Load clients in a process of their own (the server under test runs elsewhere, so neither
 * process's memory or event loop is the other's). Started with
 * `fork(file, [JSON.stringify(job)])`; sends `{ connected }` once its connections are up (modes
 * that hold connections), `{ report }` when done, then exits. `'stop'` ends the modes that run
 * until told.
 *
 * | mode     | what it does                                                                     |
 * |----------|----------------------------------------------------------------------------------|
 * | echo     | mai client: `conns` streams each pipeline `frames` tagged frames of random size  |
 * |          | through a codec kind, check every echo (loss, dup, reorder, CRC, secrets: I2)     |
 * | churn    | raw sockets: `lifecycles` times connect, 10 u32 frames, read the echoes, close   |
 * |          | by FIN or RST at random, `concurrency` at a time                                 |
 * | readers  | raw sockets: `conns` connect and send a u32 frame "R" (reads) or "N"; each reads |
 * |          | tagged u32 frames until FIN, except the first `nonReaders`, which never read and |
 * |          | are destroyed after the readers are done and 'stop' came                         |
 * | idle     | raw sockets: `conns` connect and hold, no traffic, until 'stop'                  |
 * | pingpong | raw sockets: `conns` each send one u32 frame, wait for its echo, repeat, until   |
 * |          | 'stop'; reports round-trip percentiles                                           |
 * | flood    | raw socket: writes 1 MiB chunks of empty u32 frames (reading and dropping what   |
 * |          | comes back) until 'stop', or until `bytes` are sent when given                   |
 *
 * Every loop is bounded by a count and by `timeoutMs`.
 */
import type { Socket } from 'node:net';
import { type Address, type Context, type Protocol, protocolEngine } from '../../src/index.js';
import { type CodecKind, codecAdapter } from '../reliability/codec-kinds.js';
import { checkTaggedFrame, longestRun, taggedFrame } from '../reliability/tagged-frame.js';
import { randomInt, seededRandom } from './fault-proxy.js';
import { invariantViolations } from './invariants.js';
import { rawConnect } from './peers.js';
import { Recorder } from './recorder.js';

export type LoadJob =
  | {
      mode: 'echo';
      address: Address;
      codec: CodecKind;
      conns: number;
      frames: number;
      seed: number;
      minPayload: number;
      maxPayload: number;
      /** Connections opened at once (the rest wait for a wave to connect). */
      wave: number;
      /** I2: payloads carry a per-connection secret; any other connection's is a violation. */
      secrets?: boolean;
      timeoutMs: number;
    }
  | {
      mode: 'churn';
      address: Address;
      lifecycles: number;
      concurrency: number;
      seed: number;
      timeoutMs: number;
      /** Connection id of the first lifecycle (ids are checked in the echoes). */
      firstId: number;
    }
  | {
      mode: 'readers';
      address: Address;
      conns: number;
      nonReaders: number;
      timeoutMs: number;
    }
  | { mode: 'idle'; address: Address; conns: number; timeoutMs: number }
  | { mode: 'pingpong'; address: Address; conns: number; timeoutMs: number }
  | {
      mode: 'flood';
      address: Address;
      /** Stop once this many bytes are written (A5's long figure); without it, only 'stop'. */
      bytes?: number;
      timeoutMs: number;
    };

/** What `echo` reports. */
export interface EchoReport {
  connected: number;
  framesChecked: number;
  problems: string[];
  canaryRuns: number;
  invariants: string[];
  ms: number;
}

const job = JSON.parse(process.argv[2] ?? '{}') as LoadJob;
const started = Date.now();
let stopRequested = false;
process.on('message', (message) => {
  if (message === 'stop') stopRequested = true;
});
const deadline = (): boolean => Date.now() - started > job.timeoutMs;

/** Splits a byte stream into u32-length-prefixed payloads. */
class U32Reader {
  #pending: Buffer = Buffer.alloc(0);
  push(chunk: Buffer, onFrame: (payload: Buffer) => void): void {
    let bytes = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    let offset = 0;
    while (bytes.length - offset >= 4) {
      const length = bytes.readUInt32BE(offset);
      if (bytes.length - offset - 4 < length) break;
      onFrame(bytes.subarray(offset + 4, offset + 4 + length));
      offset += 4 + length;
    }
    bytes = bytes.subarray(offset);
    this.#pending = bytes.length === 0 ? Buffer.alloc(0) : Buffer.from(bytes);
  }
  get pendingBytes(): number {
    return this.#pending.length;
  }
}

function u32(payload: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(4 + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  payload.copy(frame, 4);
  return frame;
}

/** The 8-byte secret of a connection: a marker no payload byte run is likely to hold, then id. */
export function secretOf(conn: number): Buffer {
  const secret = Buffer.from([0x01, 0x53, 0x45, 0x43, 0, 0, 0, 0]);
  secret.writeUInt32BE(conn, 4);
  return secret;
}

async function echo(spec: Extract<LoadJob, { mode: 'echo' }>): Promise<EchoReport> {
  type Tagged = Protocol<{ in: unknown; out: unknown; session: { conn: number; next: number } }>;
  const adapter = codecAdapter(spec.codec);
  const problems: string[] = [];
  const note = (problem: string): void => {
    if (problems.length < 20) problems.push(problem);
  };
  let framesChecked = 0;
  let canaryRuns = 0;
  const marker = secretOf(0).subarray(0, 4);
  const log = new Recorder<Tagged>({
    onReady(ctx) {
      const random = seededRandom(spec.seed ^ Math.imul(ctx.session.conn + 1, 0x27d4eb2d));
      const secret = spec.secrets === true ? secretOf(ctx.session.conn) : undefined;
      for (let seq = 0; seq < spec.frames; seq++) {
        const size = randomInt(random, spec.minPayload, spec.maxPayload);
        ctx.send(adapter.toFrame(taggedFrame(ctx.session.conn, seq, size, secret)));
      }
    },
    onFrame(ctx, frame) {
      const entry = log.logs.get(ctx.token);
      if (entry !== undefined) {
        entry.frames.length = 0;
        entry.events.length = 1;
      }
      const bytes = adapter.fromFrame(frame);
      if (bytes === null) {
        note(`conn ${ctx.session.conn}: echo is not a tagged frame`);
      } else {
        const problem = checkTaggedFrame(bytes, ctx.session.conn, ctx.session.next);
        if (problem !== null) note(problem);
        if (longestRun(bytes, 0xdd) >= 8) canaryRuns++;
        if (spec.secrets === true) {
          for (let at = bytes.indexOf(marker); at !== -1; at = bytes.indexOf(marker, at + 1)) {
            // A payload shorter than 8 bytes holds only part of its secret: the CRC follows.
            if (at + 8 > bytes.length - 4) continue;
            // Random payload bytes hold the 4-byte marker by chance (once in 2^32 positions,
            // and the long rows check billions: A2 at 500 × 10,000 with MAI_SEED=4195581516
            // has one). Only the id of another connection of this run makes it a secret.
            const owner = bytes.readUInt32BE(at + 4);
            if (owner !== ctx.session.conn && owner < spec.conns) {
              note(`conn ${ctx.session.conn}: secret of conn ${owner} seen`);
            }
          }
        }
      }
      framesChecked++;
      ctx.session.next++;
      if (ctx.session.next === spec.frames) ctx.close();
    },
    onError(ctx, error) {
      note(`conn ${ctx.session.conn}: ${error.code} ${error.message}`);
    },
    onClosed(ctx, info) {
      if (ctx.session.next !== spec.frames) {
        note(
          `conn ${ctx.session.conn}: closed after ${ctx.session.next} of ${spec.frames} echoes (${info.reason})`,
        );
      }
    },
  });
  const client = protocolEngine<Tagged>({
    codec: adapter.codec,
    handler: log.handler,
    debugBuffers: true,
    connectTimeoutMs: 30_000,
  });
  const contexts: Context<Tagged>[] = [];
  for (let first = 0; first < spec.conns && !deadline(); first += spec.wave) {
    const count = Math.min(spec.wave, spec.conns - first);
    const wave = Array.from({ length: count }, (_, i) =>
      client.connect({ ...spec.address, session: { conn: first + i, next: 0 } }),
    );
    const settled = await Promise.allSettled(wave);
    for (const result of settled) {
      if (result.status === 'fulfilled') contexts.push(result.value);
      else note(`connect failed: ${String(result.reason)}`);
    }
  }
  process.send?.({ connected: contexts.length });
  const timer = setTimeout(
    () => {
      note(`timed out after ${spec.timeoutMs} ms with ${client.stats().streams} streams open`);
      for (const ctx of contexts) ctx.abort();
    },
    Math.max(1, spec.timeoutMs - (Date.now() - started)),
  );
  await client.wait();
  clearTimeout(timer);
  return {
    connected: contexts.length,
    framesChecked,
    problems,
    canaryRuns,
    invariants: invariantViolations([client], [log], [contexts.length]),
    ms: Date.now() - started,
  };
}

async function churn(spec: Extract<LoadJob, { mode: 'churn' }>): Promise<unknown> {
  const random = seededRandom(spec.seed);
  let started_ = 0;
  let finished = 0;
  let byFin = 0;
  let byReset = 0;
  const problems: string[] = [];
  const one = async (n: number, useReset: boolean): Promise<void> => {
    const socket = await rawConnect(spec.address);
    socket.on('error', () => {});
    const reader = new U32Reader();
    const frames: Buffer[] = [];
    for (let seq = 0; seq < 10; seq++) frames.push(u32(taggedFrame(n, seq, (n + seq) % 40)));
    let expected = 0;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        if (problems.length < 10) problems.push(`lifecycle ${n}: no 10 echoes in 5 s`);
        resolve();
      }, 5000);
      socket.on('data', (chunk: Buffer) =>
        reader.push(chunk, (payload) => {
          const problem = checkTaggedFrame(payload, n, expected);
          if (problem !== null && problems.length < 10) problems.push(problem);
          expected++;
          if (expected === 10) {
            clearTimeout(timer);
            resolve();
          }
        }),
      );
      socket.write(Buffer.concat(frames));
    });
    if (useReset) {
      byReset++;
      socket.resetAndDestroy();
    } else {
      byFin++;
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.once('end', () => socket.end());
        socket.end();
      });
    }
    finished++;
  };
  const worker = async (): Promise<void> => {
    while (started_ < spec.lifecycles && !deadline()) {
      const n = spec.firstId + started_++;
      try {
        await one(n, random() < 0.5);
      } catch (error) {
        if (problems.length < 10) problems.push(`lifecycle ${n}: ${String(error)}`);
        finished++;
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, worker));
  return { lifecycles: finished, byFin, byReset, problems, ms: Date.now() - started };
}

async function readers(spec: Extract<LoadJob, { mode: 'readers' }>): Promise<unknown> {
  const sockets: Socket[] = [];
  const problems: string[] = [];
  for (let i = 0; i < spec.conns; i += 200) {
    const wave = await Promise.allSettled(
      Array.from({ length: Math.min(200, spec.conns - i) }, () => rawConnect(spec.address)),
    );
    for (const result of wave) {
      if (result.status === 'fulfilled') sockets.push(result.value);
      else problems.push(String(result.reason));
    }
  }
  const results = sockets.map((socket, i) => {
    const reader = new U32Reader();
    const outcome = { frames: 0, reset: false, fin: false, error: '', conn: -1, pending: 0 };
    const nonReader = i < spec.nonReaders;
    if (nonReader) socket.pause();
    // Tells the server whether this peer reads ("R") or not ("N").
    socket.write(u32(Buffer.from(nonReader ? 'N' : 'R')));
    return new Promise<typeof outcome & { nonReader: boolean }>((resolve) => {
      socket.on('data', (chunk: Buffer) =>
        reader.push(chunk, (payload) => {
          if (outcome.conn === -1) outcome.conn = payload.readUInt32BE(0);
          const problem = checkTaggedFrame(payload, outcome.conn, outcome.frames);
          if (problem !== null && problems.length < 10) problems.push(problem);
          outcome.frames++;
        }),
      );
      socket.on('end', () => {
        outcome.fin = true;
        socket.end();
      });
      socket.on('error', (error: NodeJS.ErrnoException) => {
        outcome.error = error.code ?? error.message;
        if (error.code === 'ECONNRESET') outcome.reset = true;
      });
      socket.on('close', () => {
        outcome.pending = reader.pendingBytes;
        resolve({ ...outcome, nonReader });
      });
    });
  });
  process.send?.({ connected: sockets.length });
  const timer = setTimeout(() => {
    problems.push(`timed out after ${spec.timeoutMs} ms`);
    for (const socket of sockets) socket.destroy();
  }, spec.timeoutMs);
  // A paused socket never learns of the server's close (nothing reads the FIN or the reset):
  // the non-readers are let go once every reader is done and the test says 'stop'.
  const readerOutcomes = await Promise.all(results.slice(spec.nonReaders));
  if (spec.nonReaders > 0) await waitForStop();
  for (const socket of sockets.slice(0, spec.nonReaders)) socket.destroy();
  const outcomes = [...(await Promise.all(results.slice(0, spec.nonReaders))), ...readerOutcomes];
  clearTimeout(timer);
  return { outcomes, problems };
}

async function idle(spec: Extract<LoadJob, { mode: 'idle' }>): Promise<unknown> {
  const sockets: Socket[] = [];
  let failed = 0;
  for (let i = 0; i < spec.conns; i += 500) {
    const wave = await Promise.allSettled(
      Array.from({ length: Math.min(500, spec.conns - i) }, () => rawConnect(spec.address)),
    );
    for (const result of wave) {
      if (result.status === 'fulfilled') {
        result.value.on('error', () => {});
        sockets.push(result.value);
      } else failed++;
    }
  }
  process.send?.({ connected: sockets.length });
  await waitForStop();
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve) => {
          socket.once('close', () => resolve());
          socket.on('data', () => {});
          socket.once('end', () => socket.end());
          socket.end();
        }),
    ),
  );
  return { held: sockets.length, failed };
}

async function pingpong(spec: Extract<LoadJob, { mode: 'pingpong' }>): Promise<unknown> {
  const sockets = await Promise.all(
    Array.from({ length: spec.conns }, () => rawConnect(spec.address)),
  );
  process.send?.({ connected: sockets.length });
  const rtts: number[] = [];
  const ping = u32(Buffer.from('ping'));
  let measuring = false;
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  measuring = true;
  await Promise.all(
    sockets.map(async (socket) => {
      const reader = new U32Reader();
      let waiting: (() => void) | null = null;
      socket.on('data', (chunk: Buffer) => reader.push(chunk, () => waiting?.()));
      for (let i = 0; i < 1_000_000 && !stopRequested && !deadline(); i++) {
        const sent = process.hrtime.bigint();
        await new Promise<void>((resolve) => {
          waiting = resolve;
          socket.write(ping);
        });
        if (measuring) rtts.push(Number(process.hrtime.bigint() - sent) / 1e6);
      }
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.once('end', () => socket.end());
        socket.end();
      });
    }),
  );
  rtts.sort((a, b) => a - b);
  const at = (q: number): number =>
    rtts[Math.min(rtts.length - 1, Math.floor(q * rtts.length))] ?? -1;
  return { roundTrips: rtts.length, p50: at(0.5), p99: at(0.99), max: rtts.at(-1) ?? -1 };
}

async function flood(spec: Extract<LoadJob, { mode: 'flood' }>): Promise<unknown> {
  const socket = await rawConnect(spec.address);
  socket.on('error', () => {});
  let received = 0;
  socket.on('data', (chunk: Buffer) => {
    received += chunk.length;
  });
  // 1 MiB of empty frames: 262,144 zero lengths.
  const chunk = Buffer.alloc(1024 * 1024);
  process.send?.({ connected: 1 });
  let sent = 0;
  const budget = spec.bytes ?? Number.POSITIVE_INFINITY;
  for (let i = 0; i < 100_000 && sent < budget && !stopRequested && !deadline(); i++) {
    sent += chunk.length;
    if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve));
  }
  await new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    socket.once('end', () => socket.end());
    socket.end();
  });
  return { bytesSent: sent, bytesReceived: received };
}

async function waitForStop(): Promise<void> {
  for (let i = 0; i < 1_000_000 && !stopRequested && !deadline(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const report =
  job.mode === 'echo'
    ? await echo(job)
    : job.mode === 'churn'
      ? await churn(job)
      : job.mode === 'readers'
        ? await readers(job)
        : job.mode === 'idle'
          ? await idle(job)
          : job.mode === 'pingpong'
            ? await pingpong(job)
            : await flood(job);
process.send?.({ report });
process.disconnect();
