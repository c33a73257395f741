#!/usr/bin/env node
// Runs every compiled test file (build/test/**/*.test.js) with node:test, one file at a time.
// Node 20's `--test` neither expands globs nor limits a directory search to *.test.js under a
// folder named "test", so the file list is made here. Extra arguments go to `node --test`
// before the files (e.g. `--test-reporter=spec`); a path argument narrows the files run.
// `npm run test:long -- <filters>` runs the same files with MAI_RELIABILITY=long (the long
// column of RELIABILITY.md): `npm run test:long -- a4` is row A4 alone (docs/reliability.md).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const options = args.filter((arg) => arg.startsWith('--'));
const filters = args.filter((arg) => !arg.startsWith('--'));
const files = readdirSync('build/test', { recursive: true })
  .map((file) => join('build/test', String(file)))
  .filter((file) => file.endsWith('.test.js'))
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
  .sort();
if (files.length === 0) {
  console.error(
    `no test files found${filters.length > 0 ? ` matching ${filters.join(', ')}` : ''}`,
  );
  process.exit(1);
}
if (process.env.MAI_RELIABILITY === 'long') {
  console.error(
    `MAI_RELIABILITY=long: long figures, ${files.length} test file${files.length === 1 ? '' : 's'}`,
  );
}
const result = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=1', ...options, ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
