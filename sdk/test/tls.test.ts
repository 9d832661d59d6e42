import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startTestServer, TEST_KEYS, type TestServer } from '../../test/support/test-server.js';
import { createClient, UnavailableError } from '../src/index.js';
import { rejection } from './support/rejection.js';

/** Whether openssl is there to make a throwaway certificate. */
function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const skip = hasOpenssl() ? false : 'openssl is not installed';
let dir: string;
let cert: string;
let server: TestServer;

before(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'progressdb-sdk-tls-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
      ...['-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=progressdb.test'],
      ...['-addext', 'subjectAltName=DNS:progressdb.test,IP:127.0.0.1'],
    ],
    { stdio: 'ignore' },
  );
  cert = await readFile(certFile, 'utf8');
  server = await startTestServer({
    env: { PROGRESSDB_TLS_CERT_FILE: certFile, PROGRESSDB_TLS_KEY_FILE: keyFile },
  });
});

after(async () => {
  if (skip) return;
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

test('tls: trusted roots, https:// addresses and a server name override', { skip }, async () => {
  const port = server.address.slice(server.address.lastIndexOf(':') + 1);
  const clients = [
    createClient({ address: server.address, apiKey: TEST_KEYS.backend, tls: { rootCerts: cert } }),
    createClient({
      address: `https://127.0.0.1:${port}`,
      apiKey: TEST_KEYS.backend,
      tls: { rootCerts: Buffer.from(cert) },
    }),
    createClient({
      address: `localhost:${port}`,
      apiKey: TEST_KEYS.backend,
      tls: { rootCerts: cert, serverName: 'progressdb.test' },
    }),
  ];
  try {
    for (const client of clients) {
      const thread = await client.threads.create();
      assert.equal(thread.revision, 1n);
    }
  } finally {
    for (const client of clients) client.close();
  }
});

test('tls: a plaintext or untrusting client cannot talk to a TLS server', { skip }, async () => {
  const plaintext = createClient({
    address: server.address,
    apiKey: TEST_KEYS.backend,
    retry: false,
  });
  const untrusting = createClient({
    address: server.address,
    apiKey: TEST_KEYS.backend,
    tls: true,
    retry: false,
  });
  try {
    await rejection(plaintext.threads.list(), UnavailableError);
    await rejection(untrusting.threads.list(), UnavailableError);
  } finally {
    plaintext.close();
    untrusting.close();
  }
  assert.throws(
    () => createClient({ address: 'https://127.0.0.1:1', apiKey: 'k', tls: false }),
    TypeError,
  );
});
