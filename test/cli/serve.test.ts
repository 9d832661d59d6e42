import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { databasePath } from '../../src/data-folder.js';
import { RocksStore, schemaVersionRow, STORAGE_SCHEMA_VERSION } from '../../src/storage/index.js';
import { runCli, spawnCli } from './cli-process.js';

let dataDir: string;

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'progressdb-cli-serve-'));
});

after(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

test('serve runs the server like npm start, answers calls, and exits 0 on SIGTERM', async () => {
  const serve = spawnCli([
    'serve',
    '--listen',
    '127.0.0.1:0',
    '--data-dir',
    dataDir,
    '--metrics-listen',
    'off',
  ]);
  const output = await serve.waitFor(/"msg":"listening on [^"]+"/);
  const address = /"msg":"listening on ([^"]+)"/.exec(output)?.[1];
  assert.ok(address !== undefined);

  // The first start writes the key file; the CLI finds the admin key there through the data dir.
  const env = { PROGRESSDB_ADDRESS: address, PROGRESSDB_DATA_DIR: dataDir };
  const stats = await runCli(['stats', '--json'], { env });
  assert.equal(stats.code, 0, stats.stderr);
  assert.equal((JSON.parse(stats.stdout) as { threads: number }).threads, 0);

  serve.child.kill('SIGTERM');
  const result = await serve.exited();
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.signal, null);
  assert.match(result.stdout, /"msg":"stopped"/);
});

test('serve with an invalid setting: the server’s configuration error and exit 2', async () => {
  const result = await runCli([
    'serve',
    '--listen',
    '127.0.0.1:0',
    '--data-dir',
    dataDir,
    '--durability',
    'sometimes',
  ]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /invalid configuration, 1 problem:\n {2}durability:/);
});

test('serve on a data folder of another storage schema: the reason, the folder, and exit 1', async () => {
  const newer = join(dataDir, 'newer');
  const store = await RocksStore.open(databasePath(newer));
  store.write([schemaVersionRow(STORAGE_SCHEMA_VERSION + 1)], true);
  await store.close();
  const result = await runCli([
    'serve',
    '--listen',
    '127.0.0.1:0',
    '--data-dir',
    newer,
    '--metrics-listen',
    'off',
  ]);
  assert.equal(result.code, 1, result.stderr);
  assert.ok(
    result.stderr.includes(
      `the database at ${databasePath(newer)} has storage schema ${STORAGE_SCHEMA_VERSION + 1}`,
    ),
    result.stderr,
  );
  assert.doesNotMatch(result.stdout, /listening/);
});
