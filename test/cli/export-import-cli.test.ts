import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createClient } from '../../sdk/src/index.js';
import { writeWorkload } from '../integration/backup-workload.js';
import { startTestServer, TEST_KEYS, type TestServer } from '../support/test-server.js';
import { runCli, type CliRunOptions } from './cli-process.js';

let source: TestServer;
let target: TestServer;
let admin: CliRunOptions;
let targetBackend: CliRunOptions;
let work: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'progressdb-cli-export-'));
  source = await startTestServer();
  target = await startTestServer();
  const client = createClient({ address: source.address, apiKey: TEST_KEYS.backend });
  await writeWorkload(client, 'cli');
  client.close();
  admin = { env: { PROGRESSDB_ADDRESS: source.address, PROGRESSDB_API_KEY: TEST_KEYS.admin } };
  targetBackend = {
    env: { PROGRESSDB_ADDRESS: target.address, PROGRESSDB_API_KEY: TEST_KEYS.backend },
  };
});

after(async () => {
  await source.close();
  await target.close();
  await rm(work, { recursive: true, force: true });
});

const lines = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { thread_id: string; position: string; sealed: boolean });

test('export writes ndjson (sealed unless --decrypt), filters and resumes', async () => {
  const sealed = await runCli(['export', '--format', 'ndjson'], admin);
  assert.equal(sealed.code, 0, sealed.stderr);
  const all = lines(sealed.stdout);
  assert.ok(all.some((line) => line.sealed));
  assert.ok(!sealed.stdout.includes('hello, edited'));
  assert.match(sealed.stderr, /exported \d+ events up to position \d+/);

  const oneThread = await runCli(['export', '--thread', 'cli-main', '--decrypt'], admin);
  assert.equal(oneThread.code, 0, oneThread.stderr);
  const main = lines(oneThread.stdout);
  assert.ok(main.every((line) => line.thread_id === 'cli-main' && !line.sealed));
  assert.ok(oneThread.stdout.includes('hello, edited'));

  const cut = all[9]!.position;
  const resumed = await runCli(['export', '--after-position', cut], admin);
  assert.deepEqual(
    lines(resumed.stdout).map((line) => line.position),
    all.slice(10).map((line) => line.position),
  );
});

test('export refuses bad flags and an existing --out file without --append', async () => {
  const bad = await runCli(['export', '--after-position', 'soon'], admin);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /after-position/);
  const file = join(work, 'once.ndjson');
  assert.equal((await runCli(['export', '--out', file], admin)).code, 0);
  const again = await runCli(['export', '--out', file], admin);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already exists: pass --append/);
});

test('import loads a decrypted export once, and refuses a sealed one', async () => {
  const decrypted = join(work, 'decrypted.ndjson');
  assert.equal((await runCli(['export', '--decrypt', '--out', decrypted], admin)).code, 0);
  const count = (await readFile(decrypted, 'utf8')).trim().split('\n').length;
  const first = await runCli(['import', decrypted], targetBackend);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout, `imported ${count} events into 6 threads\n`);
  const second = await runCli(['import', decrypted, '--json'], targetBackend);
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(JSON.parse(second.stdout), {
    total: count,
    done: count,
    applied: 0,
    skipped: count,
    ignored: 0,
    threads: 6,
  });

  const sealed = join(work, 'sealed.ndjson');
  assert.equal((await runCli(['export', '--out', sealed], admin)).code, 0);
  const refused = await runCli(['import', sealed], targetBackend);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /sealed content: only a decrypted export can be imported/);
});
