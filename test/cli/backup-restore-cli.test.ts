import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createClient } from '../../sdk/src/index.js';
import { MASTER_KEY_FILE_NAME } from '../../src/data-folder.js';
import { writeWorkload } from '../integration/backup-workload.js';
import { startTestServer, TEST_KEYS, type TestServer } from '../support/test-server.js';
import { runCli, type CliRunOptions } from './cli-process.js';

let server: TestServer;
let admin: CliRunOptions;
let work: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'progressdb-cli-backup-'));
  server = await startTestServer();
  const client = createClient({ address: server.address, apiKey: TEST_KEYS.backend });
  await writeWorkload(client, 'cli');
  client.close();
  admin = { env: { PROGRESSDB_ADDRESS: server.address, PROGRESSDB_API_KEY: TEST_KEYS.admin } };
});

after(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

test('backup writes a verified file; restore rebuilds it into a new folder a server can serve', async () => {
  const file = join(work, 'nightly.pdbbak');
  const backup = await runCli(['backup', file], admin);
  assert.equal(backup.code, 0, backup.stderr);
  assert.match(
    backup.stdout,
    /^backup written to .*nightly\.pdbbak: \d+ events up to position \d+, .*checksum verified\n$/,
  );
  assert.match(backup.stderr, /master key/);

  const target = join(work, 'restored');
  const restore = await runCli(
    [
      'restore',
      file,
      '--data-dir',
      target,
      '--master-key-file',
      join(server.dataDir, MASTER_KEY_FILE_NAME),
      '--json',
    ],
    {},
  );
  assert.equal(restore.code, 0, restore.stderr);
  const result = JSON.parse(restore.stdout) as { events: number; threads: number };
  assert.ok(result.events > 40 && result.threads === 6, restore.stdout);
  const copy = await startTestServer({ dataDir: target });
  try {
    const client = createClient({ address: copy.address, apiKey: TEST_KEYS.backend });
    const page = await client.messages.list({ threadId: 'cli-main', pageSize: 100 });
    assert.deepEqual(page.messages[0]?.body, { text: 'hello, edited' });
    client.close();
  } finally {
    await copy.close();
  }
});

test('backup refuses an existing file and a non-admin key, in plain words', async () => {
  const file = join(work, 'exists.pdbbak');
  await writeFile(file, 'keep me');
  const exists = await runCli(['backup', file], admin);
  assert.equal(exists.code, 1);
  assert.match(exists.stderr, /^progressdb: .*exists\.pdbbak already exists: choose a new file\n$/);
  assert.equal(await readFile(file, 'utf8'), 'keep me');
  const backendKey = await runCli(['backup', join(work, 'denied.pdbbak')], {
    env: { PROGRESSDB_ADDRESS: server.address, PROGRESSDB_API_KEY: TEST_KEYS.backend },
  });
  assert.equal(backendKey.code, 1);
  assert.match(backendKey.stderr, /admin key/);
  assert.ok(!existsSync(join(work, 'denied.pdbbak')));
});

test('restore refuses a damaged file and leaves nothing; --data-dir is required', async () => {
  const file = join(work, 'to-damage.pdbbak');
  assert.equal((await runCli(['backup', file, '--no-verify'], admin)).code, 0);
  const bytes = await readFile(file);
  await writeFile(file, bytes.subarray(0, bytes.length - 100));
  const before = await readdir(work);
  const damaged = await runCli(['restore', file, '--data-dir', join(work, 'never')], {});
  assert.equal(damaged.code, 1);
  assert.match(damaged.stderr, /^progressdb: the backup file is (truncated|corrupted)/m);
  assert.deepEqual(await readdir(work), before);
  const usage = await runCli(['restore', file], {});
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--data-dir/);
});
