import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from './cli-process.js';

const COMMANDS = [
  'serve',
  'backup',
  'restore',
  'export',
  'import',
  'stats',
  'threads',
  'append',
  'messages',
  'tail',
  'rewrap',
];

test('--help lists every command and exits 0', async () => {
  const result = await runCli(['--help']);
  assert.equal(result.code, 0, result.stderr);
  for (const name of COMMANDS) assert.match(result.stdout, new RegExp(`^  ${name} `, 'm'));
});

test('every command has --help with an example', async () => {
  // One at a time: the backup commands load their modules only when named.
  for (const name of COMMANDS) {
    const result = await runCli([name, '--help']);
    assert.equal(result.code, 0, `${name}: ${result.stderr}`);
    assert.match(result.stdout, new RegExp(`Usage: progressdb ${name}`), name);
    assert.match(result.stdout, new RegExp(`Examples:\\n  \\$ progressdb ${name}`), name);
  }
});

test('serve --help shows the server settings', async () => {
  const result = await runCli(['serve', '--help']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /--data-dir <path>/);
  assert.match(result.stdout, /--metrics-listen/);
});

test('an unknown flag exits 2 with the command’s usage', async () => {
  const result = await runCli(['stats', '--bogus']);
  assert.equal(result.code, 2);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, /^progressdb: unknown option '--bogus'$/m);
  assert.match(result.stderr, /^usage: progressdb stats \[options\]$/m);
});

test('a missing argument or a bad value exits 2', async () => {
  const missing = await runCli(['append', 'thread-1']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /missing required argument 'text'/);
  assert.match(missing.stderr, /usage: progressdb append \[options\] <thread> <text>/);

  const bad = await runCli(['messages', 'thread-1', '--limit', 'lots']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--limit <n>.*'lots' is invalid/);

  const unknown = await runCli(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
});

test('an address nobody listens on: the plain-words message and exit 1', async () => {
  const result = await runCli(['stats', '--address', '127.0.0.1:1', '--api-key', 'k'.repeat(20)]);
  assert.equal(result.code, 1);
  assert.equal(
    result.stderr,
    'progressdb: cannot reach ProgressDB at 127.0.0.1:1 — is it running? start it with `npm start`\n',
  );
});

test('no API key anywhere: a usage error naming the ways to give one', async () => {
  const empty = await mkdtemp(join(tmpdir(), 'progressdb-cli-'));
  try {
    const result = await runCli(['stats', '--address', '127.0.0.1:1'], { cwd: empty });
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /^progressdb: no API key: pass --api-key or set PROGRESSDB_API_KEY/,
    );
  } finally {
    await rm(empty, { recursive: true, force: true });
  }
});

test('an unreadable --tls-ca file is a usage error', async () => {
  const result = await runCli([
    'stats',
    '--api-key',
    'k'.repeat(20),
    '--tls-ca',
    '/nonexistent/ca.pem',
  ]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^progressdb: cannot read --tls-ca \/nonexistent\/ca\.pem/);
});

test('a tail that cannot connect at its start fails at once instead of retrying', async () => {
  const result = await runCli([
    'tail',
    'some-thread',
    '--address',
    '127.0.0.1:1',
    '--api-key',
    'k'.repeat(20),
    '--user',
    'alice',
  ]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /cannot reach ProgressDB at 127\.0\.0\.1:1/);
});

test('a key file that is not JSON is named in plain words', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'progressdb-cli-'));
  try {
    await mkdir(join(folder, 'data'));
    await writeFile(join(folder, 'data', 'api-keys.json'), '{oops');
    const result = await runCli(['stats', '--address', '127.0.0.1:1'], { cwd: folder });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /^progressdb: .*api-keys\.json.*not valid JSON/);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});
