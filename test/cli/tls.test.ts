import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startTestServer, TEST_KEYS, type TestServer } from '../support/test-server.js';
import { runCli } from './cli-process.js';

const SKIP = spawnSync('openssl', ['version']).status === 0 ? false : 'openssl is not on PATH';

let folder: string;
let server: TestServer;
let ca: string;

before(async () => {
  if (SKIP !== false) return;
  folder = await mkdtemp(join(tmpdir(), 'progressdb-cli-tls-'));
  ca = join(folder, 'server.crt');
  const key = join(folder, 'server.key');
  // A self-signed certificate for 127.0.0.1, trusted as its own CA.
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
      ...['-keyout', key, '-out', ca, '-days', '1', '-subj', '/CN=127.0.0.1'],
      ...['-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
    ],
    { stdio: 'pipe' },
  );
  server = await startTestServer({
    env: { PROGRESSDB_TLS_CERT_FILE: ca, PROGRESSDB_TLS_KEY_FILE: key },
  });
});

after(async () => {
  if (SKIP !== false) return;
  await server.close();
  await rm(folder, { recursive: true, force: true });
});

test('--tls-ca connects over TLS to a server with that certificate', { skip: SKIP }, async () => {
  const env = { PROGRESSDB_ADDRESS: server.address, PROGRESSDB_API_KEY: TEST_KEYS.admin };
  const result = await runCli(['stats', '--json', '--tls-ca', ca], { env });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(typeof (JSON.parse(result.stdout) as { threads: number }).threads, 'number');
});

test('TLS without trusting the certificate: plain words and exit 1', { skip: SKIP }, async () => {
  const env = {
    PROGRESSDB_ADDRESS: `https://${server.address}`,
    PROGRESSDB_API_KEY: TEST_KEYS.admin,
  };
  const result = await runCli(['stats'], { env });
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /^progressdb: cannot open a TLS connection to ProgressDB at https:\/\/127\.0\.0\.1:\d+: .*self-signed certificate/,
  );
});
