/**
 * The server the seed README promised ("Creating a Server … is being worked on"), as a mai
 * program: it echoes every line back, on TCP and, if asked, on a Unix socket too.
 *
 *   node build/examples/echo-server.js [port]                 (default 9999; 0 picks a free port)
 *   node build/examples/echo-server.js [port] --path /tmp/echo.sock
 *
 * Ctrl-C (SIGINT) or SIGTERM shuts it down gracefully.
 */
import {
  type CloseInfo,
  type Context,
  type Handler,
  kilobytes,
  type MaiError,
  type Protocol,
  protocolEngine,
} from '../src/index.js';
import { EchoCodec } from './echo-codec.js';

type EchoServer = Protocol<{ in: string; out: string; timeout: number }>;

class EchoServerHandler implements Handler<EchoServer> {
  onReady(ctx: Context<EchoServer>): void {
    console.log(`Connection from ${ctx.remoteAddress ?? 'a Unix socket peer'}`);
  }

  onFrame(ctx: Context<EchoServer>, message: string): void {
    ctx.send(message);
  }

  onError(ctx: Context<EchoServer>, error: MaiError): void {
    console.log(`Error. ${ctx.remoteAddress}, ${error.code}: ${error.message}`);
  }

  onClosed(_ctx: Context<EchoServer>, info: CloseInfo): void {
    console.log(`Disconnected (${info.reason}), ${info.framesReceived} frames echoed`);
  }
}

const args = process.argv.slice(2);
const port = Number(args[0] ?? 9999);
const pathIndex = args.indexOf('--path');
const path = pathIndex === -1 ? undefined : args[pathIndex + 1];

const engine = protocolEngine<EchoServer>({
  codec: () => new EchoCodec(),
  handler: new EchoServerHandler(),
  initialBufferSize: kilobytes(32),
  initialBufferPoolSize: 16,
  maxBufferPoolSize: 128,
});
const tcp = await engine.listen({ port, host: '127.0.0.1' });
console.log(`Listening on ${'port' in tcp.address ? `127.0.0.1:${tcp.address.port}` : ''}`);
if (path !== undefined) {
  await engine.listen({ path });
  console.log(`Listening on ${path}`);
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    const report = await engine.shutdown({ deadlineMs: 5000 });
    console.log(`Shut down: ${report.streams.length} streams closed, ${report.forced} forced`);
  });
}
await engine.wait();
