import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const example = (name: string): string =>
  fileURLToPath(new URL(`../examples/${name}.js`, import.meta.url));

test('examples/echo-server and examples/echo-client do the seed README’s echo, over TCP and a Unix socket', async (t) => {
  const path = join(tmpdir(), `mai-example-${randomBytes(6).toString('hex')}.sock`);
  const server = spawn(process.execPath, [example('echo-server'), '0', '--path', path], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => server.kill('SIGKILL'));
  let output = '';
  server.stdout.setEncoding('utf8');
  server.stdout.on('data', (chunk: string) => {
    output += chunk;
  });
  const deadline = Date.now() + 10_000;
  while (!output.includes(`Listening on ${path}`)) {
    assert.ok(Date.now() < deadline, `server did not start: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const port = /Listening on 127\.0\.0\.1:(\d+)/.exec(output)?.[1];
  assert.ok(port, output);

  for (const target of [[port], ['--path', path]]) {
    const { stdout } = await run(process.execPath, [example('echo-client'), ...target], {
      timeout: 10_000,
    });
    assert.match(stdout, /^Connecting to .+\.\.\.$/m);
    assert.match(stdout, /^Connected to .+$/m);
    assert.match(stdout, /^Received a message from .+: 'Supercalifragilisticexpialidocious!'$/m);
    assert.match(stdout, /^Disconnected from .+ \(local\)$/m);
  }

  const exited = new Promise<number | null>((resolve) => server.once('exit', resolve));
  server.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.match(output, /Shut down: \d+ streams closed, 0 forced/);
  assert.match(output, /Disconnected \(remote\), 1 frames echoed/);
  assert.equal(existsSync(path), false, 'the Unix socket file is removed on shutdown');
});

test('examples/echo-client reports a typed error when nobody listens', async () => {
  const path = join(tmpdir(), `mai-nobody-${randomBytes(6).toString('hex')}.sock`);
  const result = await run(process.execPath, [example('echo-client'), '--path', path], {
    timeout: 10_000,
  }).catch((error: { code: number; stdout: string }) => error);
  assert.equal((result as { code?: number }).code, 1);
  assert.match((result as { stdout: string }).stdout, /Could not connect: MAI_CONNECT_REFUSED/);
});

test('examples/demo (npm start) exchanges frames over TCP and a Unix socket and leaks nothing', async () => {
  const { stdout } = await run(process.execPath, [example('demo'), '4', '2000'], {
    timeout: 30_000,
  });
  assert.match(stdout, /mai server listening on tcp 127\.0\.0\.1:\d+ and unix /);
  assert.match(stdout, /8000 frames served, 8000 replies checked, 0 mismatched/);
  assert.equal((stdout.match(/2000 sent, 2000 received/g) ?? []).length, 4);
  assert.match(stdout, /via 127\.0\.0\.1:\d+/);
  assert.match(stdout, /via \/.*\.sock/);
  assert.match(stdout, /pooled buffers still leased: server 0, client 0/);
});
