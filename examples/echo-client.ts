/**
 * The seed README's echo client, as a mai program.
 *
 *   node build/examples/echo-client.js [port]          (default 9999, as in the seed)
 *   node build/examples/echo-client.js --path /tmp/echo.sock
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

// The family of types this protocol uses.
type EchoClient = Protocol<{ in: string; out: string; timeout: number }>;

class EchoClientHandler implements Handler<EchoClient> {
  onReady(ctx: Context<EchoClient>): void {
    console.log(`Connected to ${ctx.remoteAddress}`);
    const message = 'Supercalifragilisticexpialidocious!';
    ctx.send(message);
    ctx.setTimeout(5000, 5000); // give up if no echo within 5 s
  }

  onFrame(ctx: Context<EchoClient>, message: string): void {
    console.log(`Received a message from ${ctx.remoteAddress}: '${message.trimEnd()}'`);
    ctx.close();
  }

  onTimeout(ctx: Context<EchoClient>, timeout: number): void {
    console.log(`A timeout has occurred: ${timeout}`);
    ctx.close();
  }

  onError(ctx: Context<EchoClient>, error: MaiError): void {
    console.log(`Error. ${ctx.remoteAddress}, ${error.code}: ${error.message}`);
  }

  onClosed(ctx: Context<EchoClient>, info: CloseInfo): void {
    console.log(`Disconnected from ${ctx.remoteAddress} (${info.reason})`);
  }
}

const args = process.argv.slice(2);
const address =
  args[0] === '--path' && args[1] !== undefined
    ? { path: args[1] }
    : { port: Number(args[0] ?? 9999), host: '127.0.0.1' };

console.log(`Connecting to ${'path' in address ? address.path : `localhost:${address.port}`}...`);
const engine = protocolEngine<EchoClient>({
  codec: () => new EchoCodec(),
  handler: new EchoClientHandler(),
  initialBufferSize: kilobytes(32),
  initialBufferPoolSize: 16,
  maxBufferPoolSize: 128,
});
try {
  await engine.connect(address);
} catch (error) {
  console.log(`Could not connect: ${(error as MaiError).code}: ${(error as Error).message}`);
  process.exitCode = 1;
}
await engine.wait();
