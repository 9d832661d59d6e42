import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import {
  ThreadServiceClient,
  type CreateThreadResponse,
  type GetThreadResponse,
} from '../../src/gen/progressdb/v1/thread_service.js';
import { failure } from '../support/api-client.js';
import { startTestServer, TEST_KEYS, type TestServer } from '../support/test-server.js';

const { status } = grpc;

const OPENSSL = spawnSync('openssl', ['version']).status === 0;
const SKIP = OPENSSL
  ? false
  : 'openssl is not on PATH: the certificates are made with the openssl CLI';

/** PEM files of one certificate: its key and certificate. */
interface Issued {
  key: string;
  cert: string;
}

/** Makes certificates with the openssl CLI (EC P-256: fast), valid for a day. */
class Pki {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  #openssl(args: string[]): void {
    execFileSync('openssl', args, { cwd: this.#dir, stdio: 'pipe' });
  }

  /** A self-signed CA. */
  ca(name: string): Issued {
    const files = { key: join(this.#dir, `${name}.key`), cert: join(this.#dir, `${name}.crt`) };
    this.#openssl([
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      files.key,
      '-out',
      files.cert,
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    return files;
  }

  /** A leaf certificate signed by `ca`, with the given extensions (one per line). */
  async leaf(name: string, ca: Issued, extensions: string[]): Promise<Issued> {
    const files = { key: join(this.#dir, `${name}.key`), cert: join(this.#dir, `${name}.crt`) };
    const csr = join(this.#dir, `${name}.csr`);
    const ext = join(this.#dir, `${name}.ext`);
    await writeFile(ext, `${['basicConstraints=CA:FALSE', ...extensions].join('\n')}\n`);
    this.#openssl([
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      files.key,
      '-out',
      csr,
      '-subj',
      `/CN=${name}`,
    ]);
    this.#openssl([
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca.cert,
      '-CAkey',
      ca.key,
      '-set_serial',
      `0x${randomBytes(8).toString('hex')}`,
      '-days',
      '1',
      '-out',
      files.cert,
      '-extfile',
      ext,
    ]);
    return files;
  }
}

const SERVER_EXTENSIONS = [
  'subjectAltName=DNS:localhost,IP:127.0.0.1',
  'extendedKeyUsage=serverAuth',
];
const CLIENT_EXTENSIONS = ['extendedKeyUsage=clientAuth'];

/** What the clients need: PEM bytes. */
interface ClientPems {
  ca: Buffer;
  rogueCa: Buffer;
  client: { key: Buffer; cert: Buffer };
  rogueClient: { key: Buffer; cert: Buffer };
}

function backendMetadata(): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${TEST_KEYS.backend}`);
  metadata.set('x-user-id', 'alice');
  return metadata;
}

/** A ThreadService client over `credentials`, with the two calls the tests make. */
function threads(address: string, credentials: grpc.ChannelCredentials) {
  const client = new ThreadServiceClient(address, credentials, {
    'grpc.use_local_subchannel_pool': 1,
  });
  // A refused handshake fails at once; the deadline only bounds a hang, even on a loaded machine.
  const options = () => ({ deadline: Date.now() + 20_000 });
  return {
    createThread: (threadId: string) =>
      new Promise<CreateThreadResponse>((resolve, reject) => {
        client.createThread(
          { threadId, title: 'over TLS', metadata: {}, memberIds: [], requestId: '' },
          backendMetadata(),
          options(),
          (error, response) => (error ? reject(error) : resolve(response)),
        );
      }),
    getThread: (threadId: string) =>
      new Promise<GetThreadResponse>((resolve, reject) => {
        client.getThread(
          { threadId, includeDeleted: false },
          backendMetadata(),
          options(),
          (error, response) => (error ? reject(error) : resolve(response)),
        );
      }),
    close: () => client.close(),
  };
}

/** Asserts that a client gets nowhere, and that the server holds no thread `threadId`. */
async function refused(
  server: TestServer,
  credentials: grpc.ChannelCredentials,
  threadId: string,
): Promise<void> {
  const client = threads(server.address, credentials);
  try {
    const { code } = await failure(client.createThread(threadId));
    assert.equal(code, status.UNAVAILABLE);
  } finally {
    client.close();
  }
  assert.throws(() => server.app.log.reader.thread(threadId, true), { reason: 'THREAD_NOT_FOUND' });
}

/** Round-trips a write and a read over `credentials`. */
async function roundTrip(
  server: TestServer,
  credentials: grpc.ChannelCredentials,
  threadId: string,
): Promise<void> {
  const client = threads(server.address, credentials);
  try {
    const created = await client.createThread(threadId);
    assert.equal(created.thread?.ownerId, 'alice');
    const { thread } = await client.getThread(threadId);
    assert.equal(thread?.id, threadId);
  } finally {
    client.close();
  }
}

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
/** Logged right after the plaintext check at start (main.ts), when no signing secret is configured. */
const AFTER_THE_CHECK = 'no signing secrets configured';

/** The JSON log lines `src/main.ts` writes at start, up to {@link AFTER_THE_CHECK}; then stops it. */
async function startupLog(env: Record<string, string>): Promise<Record<string, unknown>[]> {
  const dataDir = await mkdtemp(join(tmpdir(), 'progressdb-listen-'));
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: {
      ...process.env,
      PROGRESSDB_DATA_DIR: dataDir,
      PROGRESSDB_ADMIN_KEYS: TEST_KEYS.admin,
      PROGRESSDB_BACKEND_KEYS: TEST_KEYS.backend,
      PROGRESSDB_SIGNING_SECRETS: '',
      PROGRESSDB_LOG_LEVEL: 'info',
      PROGRESSDB_METRICS_LISTEN: 'off',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit');
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines: Record<string, unknown>[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return;
        }
        lines.push(entry);
        if (String(entry.msg).includes(AFTER_THE_CHECK)) resolve();
      });
      exited.then(() => reject(new Error(`the server exited at start: ${stderr}`)), reject);
    });
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dataDir, { recursive: true, force: true });
  }
  return lines;
}

const plaintextWarning = (lines: Record<string, unknown>[]) =>
  lines.filter((line) => String(line.msg).includes('non-loopback address without TLS'));

void describe('TLS and mutual TLS', { skip: SKIP }, () => {
  let dir: string;
  let pems: ClientPems;
  let tls: TestServer;
  let mtls: TestServer;
  let serverFiles: Record<string, string>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'progressdb-tls-'));
    const pki = new Pki(dir);
    const ca = pki.ca('test-ca');
    const rogueCa = pki.ca('rogue-ca');
    const serverCert = await pki.leaf('localhost', ca, SERVER_EXTENSIONS);
    const client = await pki.leaf('client', ca, CLIENT_EXTENSIONS);
    const rogueClient = await pki.leaf('rogue-client', rogueCa, CLIENT_EXTENSIONS);
    const read = async (files: Issued) => ({
      key: await readFile(files.key),
      cert: await readFile(files.cert),
    });
    pems = {
      ca: await readFile(ca.cert),
      rogueCa: await readFile(rogueCa.cert),
      client: await read(client),
      rogueClient: await read(rogueClient),
    };
    serverFiles = {
      PROGRESSDB_TLS_CERT_FILE: serverCert.cert,
      PROGRESSDB_TLS_KEY_FILE: serverCert.key,
    };
    // Two servers: TLS alone, and TLS that requires a client certificate from the CA.
    tls = await startTestServer({ env: serverFiles });
    mtls = await startTestServer({
      env: { ...serverFiles, PROGRESSDB_TLS_CLIENT_CA_FILE: ca.cert },
    });
  });

  after(async () => {
    await Promise.all([tls?.close(), mtls?.close()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  void test('TLS: a client that trusts the CA round-trips', async () => {
    await roundTrip(tls, grpc.credentials.createSsl(pems.ca), 'tls-ok');
  });

  void test('TLS: a client certificate is not needed, and does no harm', async () => {
    const { key, cert } = pems.client;
    await roundTrip(tls, grpc.credentials.createSsl(pems.ca, key, cert), 'tls-with-cert');
  });

  void test('TLS: a plaintext client is UNAVAILABLE', async () => {
    await refused(tls, grpc.credentials.createInsecure(), 'tls-plaintext');
  });

  void test('TLS: a client that does not trust the server certificate is UNAVAILABLE', async () => {
    await refused(tls, grpc.credentials.createSsl(pems.rogueCa), 'tls-untrusted');
  });

  void test('mTLS: a client with a certificate from the CA round-trips', async () => {
    const { key, cert } = pems.client;
    await roundTrip(mtls, grpc.credentials.createSsl(pems.ca, key, cert), 'mtls-ok');
  });

  void test('mTLS: a client without a certificate is UNAVAILABLE', async () => {
    await refused(mtls, grpc.credentials.createSsl(pems.ca), 'mtls-no-cert');
  });

  void test('mTLS: a client with a certificate from another CA is UNAVAILABLE', async () => {
    const { key, cert } = pems.rogueClient;
    await refused(mtls, grpc.credentials.createSsl(pems.ca, key, cert), 'mtls-rogue-cert');
  });

  void test('mTLS: a plaintext client is UNAVAILABLE', async () => {
    await refused(mtls, grpc.credentials.createInsecure(), 'mtls-plaintext');
  });

  void test('the server warns at start when it listens on a non-loopback address without TLS, and not with TLS', async () => {
    const [plaintext, encrypted, loopback] = await Promise.all([
      startupLog({ PROGRESSDB_LISTEN: '0.0.0.0:0' }),
      startupLog({ PROGRESSDB_LISTEN: '0.0.0.0:0', ...serverFiles }),
      startupLog({ PROGRESSDB_LISTEN: '127.0.0.1:0' }),
    ]);
    const [warning, ...more] = plaintextWarning(plaintext);
    assert.equal(more.length, 0);
    assert.equal(warning?.level, 'warn');
    assert.equal(warning?.host, '0.0.0.0');
    assert.deepEqual(plaintextWarning(encrypted), []);
    assert.ok(encrypted.some((line) => line.tls === 'server'));
    assert.deepEqual(plaintextWarning(loopback), []);
  });
});
