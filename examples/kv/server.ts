/**
 * mai's main job: an in-memory key-value server that speaks RESP2 and RESP3, so redis-cli,
 * redis-benchmark and Redis client libraries talk to it as to redis-server.
 *
 *   node build/examples/kv/server.js [--port 6380] [--host 127.0.0.1] [--path /tmp/kv.sock]
 *     [--requirepass pw] [--maxmemory 100mb] [--maxclients 10000] [--timeout 0]
 *     [--maxmemory-policy noeviction] [--proto-max-bulk-len 512mb]
 *     [--client-output-buffer-limit 'pubsub 32mb 8mb 60']
 *
 * Every CONFIG SET parameter is a flag of the same name, with the same syntax.
 * The port also comes from MAI_KV_PORT (the flag wins); `--port 0` picks a free one. SIGINT or
 * SIGTERM shuts it down gracefully: queued replies are flushed, then connections closed.
 */
import { CONFIG_PARAMETERS } from './config.js';
import { startKvServer } from './kv-server.js';

function flag(name: string): string | undefined {
  const args = process.argv.slice(2);
  const at = args.indexOf(name);
  if (at >= 0) return args[at + 1];
  const inline = args.find((arg) => arg.startsWith(`${name}=`));
  return inline?.slice(name.length + 1);
}

const portText = flag('--port') ?? process.env.MAI_KV_PORT ?? '6380';
const port = Number(portText);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(
    `invalid port ${JSON.stringify(portText)}: use --port N or MAI_KV_PORT=N (0-65535)`,
  );
  process.exit(2);
}
const path = flag('--path');
const host = flag('--host') ?? '127.0.0.1';

const config: Record<string, string> = {};
for (const parameter of CONFIG_PARAMETERS) {
  const value = parameter.set === undefined ? undefined : flag(`--${parameter.name}`);
  // CONFIG values are bytes read as latin1 (a password typed with non-ASCII characters is
  // compared with the UTF-8 bytes a client sends), so the flag's text is turned into the same.
  if (value !== undefined) config[parameter.name] = Buffer.from(value, 'utf8').toString('latin1');
}

let server: Awaited<ReturnType<typeof startKvServer>>;
try {
  server = await startKvServer({ port, host, config, ...(path === undefined ? {} : { path }) });
} catch (error) {
  console.error(`cannot start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
}
console.log(
  `mai kv server listening on ${host}:${server.port}${path === undefined ? '' : ` and ${path}`}`,
);
console.log(
  `Talk to it with:  redis-cli -p ${server.port}${path === undefined ? '' : `   or   redis-cli -s ${path}`}`,
);
console.log(
  'Try: redis-cli -p ' +
    `${server.port} SET greeting hello && redis-cli -p ${server.port} GET greeting`,
);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    void server.close().then((report) => {
      console.log(
        `Shut down: ${report.streams.length} connections closed, ${report.forced} forced`,
      );
    });
  });
}
await server.engine.wait();
