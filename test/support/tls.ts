/**
 * A throwaway TLS identity for tests: a self-signed P-256 certificate for `localhost` and
 * 127.0.0.1, made with the machine's `openssl` (Node has no API to issue certificates).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestIdentity {
  key: Buffer;
  cert: Buffer;
}

let made: TestIdentity | undefined;

/** The test identity, made once per process. */
export function testIdentity(): TestIdentity {
  if (made !== undefined) return made;
  const dir = mkdtempSync(join(tmpdir(), 'mai-tls-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    made = { key: readFileSync(key), cert: readFileSync(cert) };
    return made;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
