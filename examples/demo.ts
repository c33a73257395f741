/**
 * `npm start`: mai's main job in one process. A mai server listens on TCP and on a Unix
 * socket; mai clients connect over both, exchange real frames, and the program prints what
 * happened: frames, round trips, how each stream closed, and the buffer pool afterwards.
 *
 *   npm start                     (or: node build/examples/demo.js [clients] [frames])
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Address, LinesCodec, type Protocol, protocolEngine } from '../src/index.js';

type Chat = Protocol<{ in: string; session: { sent: number; received: number; started: number } }>;

const clients = Number(process.argv[2] ?? 4);
const frames = Number(process.argv[3] ?? 10_000);

// The server: every line in, one line out ("<n> <LINE IN UPPER CASE>").
let served = 0;
const server = protocolEngine<Chat>({
  codec: () => new LinesCodec(),
  session: () => ({ sent: 0, received: 0, started: Date.now() }),
  handler: {
    onFrame(ctx, line) {
      ctx.session.received++;
      served++;
      ctx.send(`${ctx.session.received} ${line.toUpperCase()}`);
    },
  },
});

const socketPath = join(tmpdir(), `mai-demo-${process.pid}.sock`);
rmSync(socketPath, { force: true });
const tcp = await server.listen({ port: 0, host: '127.0.0.1' });
await server.listen({ path: socketPath });
const tcpAddress = tcp.address as { port: number; host: string };
console.log(
  `mai server listening on tcp ${tcpAddress.host}:${tcpAddress.port} and unix ${socketPath}`,
);

// The clients: each pipelines `frames` lines and checks every reply.
const results: string[] = [];
let mismatches = 0;
const client = protocolEngine<Chat>({
  codec: () => new LinesCodec(),
  session: () => ({ sent: 0, received: 0, started: Date.now() }),
  handler: {
    onReady(ctx) {
      for (let i = 0; i < frames; i++) ctx.send(`hello ${i} from stream ${ctx.token}`);
      ctx.session.sent = frames;
    },
    onFrame(ctx, line) {
      const i = ctx.session.received++;
      if (line !== `${i + 1} HELLO ${i} FROM STREAM ${ctx.token}`) mismatches++;
      if (ctx.session.received === frames) ctx.close();
    },
    onClosed(ctx, info) {
      const ms = Date.now() - ctx.session.started;
      results.push(
        `  stream ${ctx.token} via ${ctx.remoteAddress}: ${info.framesSent} sent, ` +
          `${info.framesReceived} received in ${ms} ms, closed (${info.reason})`,
      );
    },
    onError(ctx, error) {
      console.error(`  stream ${ctx.token}: ${error.code} ${error.message}`);
    },
  },
});

const started = Date.now();
const targets: Address[] = Array.from({ length: clients }, (_, i) =>
  i % 2 === 0 ? { port: tcpAddress.port, host: '127.0.0.1' } : { path: socketPath },
);
await Promise.all(targets.map((address) => client.connect(address)));
await client.wait();
const elapsed = Date.now() - started;

console.log(`${clients} clients (half TCP, half Unix socket) each sent ${frames} lines:`);
for (const line of results.sort()) console.log(line);
const total = clients * frames;
console.log(
  `${served} frames served, ${total} replies checked, ${mismatches} mismatched, ` +
    `${Math.round((2 * total) / (elapsed / 1000)).toLocaleString('en')} frames/s both ways in ${elapsed} ms`,
);

const report = await server.shutdown({ deadlineMs: 2000 });
const pools = { server: server.stats().pool, client: client.stats().pool };
console.log(
  `server shut down (${report.forced} forced); pooled buffers still leased: ` +
    `server ${pools.server.leased}, client ${pools.client.leased}`,
);
if (mismatches > 0 || served !== total || pools.server.leased + pools.client.leased > 0) {
  process.exitCode = 1;
}
