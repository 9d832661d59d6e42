import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CONFIG_SETTINGS, ConfigError, configUsage, loadConfig, type Config } from './index.js';

const cwd = mkdtempSync(join(tmpdir(), 'progressdb-config-'));
after(() => rmSync(cwd, { recursive: true, force: true }));

const adminKey = 'admin-key-0123456789';
const backendKey = 'backend-key-0123456789';

function writeConfigFile(name: string, content: unknown): string {
  const path = join(cwd, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/** Runs `loadConfig` expecting a `ConfigError` and returns it. */
function loadError(options: Parameters<typeof loadConfig>[0]): ConfigError {
  try {
    loadConfig({ cwd, argv: [], env: {}, ...options });
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected loadConfig to throw');
}

function problemPaths(err: ConfigError): string[] {
  return err.problems.map((p) => p.path).sort();
}

void test('applies every default when nothing is configured', () => {
  const config = loadConfig({ argv: [], env: {}, cwd });
  const expected: Config = {
    dataDir: join(cwd, 'data'),
    listen: { host: '127.0.0.1', port: 50051, address: '127.0.0.1:50051' },
    durability: 'sync',
    adminKeys: [],
    backendKeys: [],
    logLevel: 'info',
    shutdownGraceMs: 10_000,
    limits: {
      maxBodyBytes: 65_536,
      maxMetadataEntries: 32,
      maxMetadataEntryBytes: 1024,
      maxTitleChars: 512,
      maxReactionBytes: 64,
      maxRoleChars: 64,
      maxBatchMessages: 1000,
      maxBatchBytes: 4 * 1024 * 1024,
      maxPageSize: 1000,
      maxMembersPerCall: 1000,
      maxReceiveMessageBytes: 8 * 1024 * 1024,
    },
    writer: { maxGroupCommands: 1024 },
  };
  assert.deepEqual(config, expected);
});

void test('file < environment < flags, setting by setting', () => {
  const file = writeConfigFile('precedence.json', {
    listen: '10.0.0.1:1001',
    logLevel: 'debug',
    durability: 'os',
    limits: { maxPageSize: 10 },
    writer: { maxGroupCommands: 7 },
  });
  const config = loadConfig({
    cwd,
    env: {
      PROGRESSDB_CONFIG: file,
      PROGRESSDB_LISTEN: '10.0.0.2:1002',
      PROGRESSDB_LOG_LEVEL: 'warn',
      PROGRESSDB_WRITER_MAX_GROUP_COMMANDS: '8',
    },
    argv: ['--listen', '10.0.0.3:1003', '--writer-max-group-commands=9'],
  });
  assert.equal(config.listen.address, '10.0.0.3:1003', 'flag beats env and file');
  assert.equal(config.writer.maxGroupCommands, 9, 'flag beats env and file');
  assert.equal(config.logLevel, 'warn', 'env beats file');
  assert.equal(config.durability, 'os', 'file beats default');
  assert.equal(config.limits.maxPageSize, 10, 'file beats default');
  assert.equal(config.limits.maxBodyBytes, 65_536, 'other limits keep their defaults');
});

void test('--config beats PROGRESSDB_CONFIG, and an empty variable counts as unset', () => {
  const fromEnv = writeConfigFile('env.json', { logLevel: 'error' });
  writeConfigFile('flag.json', { logLevel: 'trace' });
  const config = loadConfig({
    cwd,
    env: { PROGRESSDB_CONFIG: fromEnv, PROGRESSDB_LOG_LEVEL: '' },
    argv: ['--config', 'flag.json'],
  });
  assert.equal(config.logLevel, 'trace');
});

void test('reports every problem of every source at once, naming the variable or flag', () => {
  const file = writeConfigFile('bad.json', {
    shutdownGraceMs: -1,
    limits: { maxTitleChars: 1.5, maxTitle: 3 },
    colour: 'blue',
  });
  const err = loadError({
    env: {
      PROGRESSDB_CONFIG: file,
      PROGRESSDB_DURABILITY: 'fast',
      PROGRESSDB_MAX_BODY_BYTES: '64k',
      PROGRESSDB_ADMIN_KEYS: 'short',
    },
    argv: ['--listen', 'nowhere', '--log-level', 'loud', '--bogus'],
  });
  assert.deepEqual(problemPaths(err), [
    'adminKeys[0]',
    'argv',
    'colour',
    'durability',
    'limits.maxBodyBytes',
    'limits.maxTitle',
    'limits.maxTitleChars',
    'listen',
    'logLevel',
    'shutdownGraceMs',
  ]);
  const sourceOf = (path: string): string | undefined =>
    err.problems.find((p) => p.path === path)?.source;
  assert.equal(sourceOf('durability'), 'PROGRESSDB_DURABILITY');
  assert.equal(sourceOf('limits.maxBodyBytes'), 'PROGRESSDB_MAX_BODY_BYTES');
  assert.equal(sourceOf('listen'), '--listen');
  assert.equal(sourceOf('logLevel'), '--log-level');
  assert.equal(sourceOf('shutdownGraceMs'), `config file ${file}`);
  for (const problem of err.problems) {
    assert.ok(err.message.includes(`${problem.path}: ${problem.message}`), problem.path);
    assert.ok(err.message.includes(problem.source), problem.source);
  }
});

void test('parses integers strictly and enforces their bounds', () => {
  for (const text of ['1e3', ' 5', '-1', '0x10', '1.0', '0', '99999999999999999999']) {
    const err = loadError({ env: { PROGRESSDB_MAX_PAGE_SIZE: text } });
    assert.deepEqual(problemPaths(err), ['limits.maxPageSize'], text);
  }
  assert.equal(
    loadConfig({ cwd, argv: ['--max-page-size', '00500'], env: {} }).limits.maxPageSize,
    500,
  );
  const fileHoldsText = writeConfigFile('text-number.json', { limits: { maxPageSize: '500' } });
  assert.deepEqual(problemPaths(loadError({ argv: ['--config', fileHoldsText] })), [
    'limits.maxPageSize',
  ]);
});

void test('checks limits against each other', () => {
  const err = loadError({ env: { PROGRESSDB_MAX_BATCH_BYTES: String(16 * 1024 * 1024) } });
  assert.deepEqual(problemPaths(err), ['limits.maxBatchBytes']);
  const small = loadError({ argv: ['--max-batch-bytes', '1000'] });
  assert.deepEqual(problemPaths(small), ['limits.maxBodyBytes']);
});

void test('accepts port 0, host names and bracketed IPv6', () => {
  const cases = {
    '127.0.0.1:0': { host: '127.0.0.1', port: 0, address: '127.0.0.1:0' },
    'localhost:8080': { host: 'localhost', port: 8080, address: 'localhost:8080' },
    '[::1]:50051': { host: '::1', port: 50051, address: '[::1]:50051' },
    '[::]:0': { host: '::', port: 0, address: '[::]:0' },
  };
  for (const [text, listen] of Object.entries(cases)) {
    assert.deepEqual(
      loadConfig({ cwd, argv: [], env: { PROGRESSDB_LISTEN: text } }).listen,
      listen,
    );
  }
});

void test('rejects malformed listen addresses', () => {
  for (const text of ['::1:50051', '127.0.0.1', '127.0.0.1:65536', ':50051', '[nope]:1', 'a b:1']) {
    const err = loadError({ argv: ['--listen', text] });
    assert.deepEqual(problemPaths(err), ['listen'], text);
  }
});

void test('rejects an unknown durability mode', () => {
  const err = loadError({ env: { PROGRESSDB_DURABILITY: 'fsync' } });
  assert.deepEqual(err.problems, [
    {
      path: 'durability',
      message: 'must be "sync" or "os"',
      source: 'PROGRESSDB_DURABILITY',
      value: '"fsync"',
    },
  ]);
});

void test('splits key lists, trims, drops empties and never echoes a key', () => {
  const config = loadConfig({
    cwd,
    argv: [],
    env: { PROGRESSDB_ADMIN_KEYS: ` ${adminKey} ,, `, PROGRESSDB_BACKEND_KEYS: backendKey },
  });
  assert.deepEqual(config.adminKeys, [adminKey]);
  assert.deepEqual(config.backendKeys, [backendKey]);

  const secret = 'tooshort-secret';
  const err = loadError({ env: { PROGRESSDB_BACKEND_KEYS: `${backendKey},${secret}` } });
  assert.deepEqual(problemPaths(err), ['backendKeys[1]']);
  assert.ok(!err.message.includes(secret));
  assert.equal(err.problems[0]?.value, undefined);
});

void test('rejects a key that is both admin and backend', () => {
  const err = loadError({
    env: { PROGRESSDB_ADMIN_KEYS: adminKey, PROGRESSDB_BACKEND_KEYS: adminKey },
    argv: ['--durability', 'never'],
  });
  assert.deepEqual(problemPaths(err), ['backendKeys', 'durability']);
  assert.ok(!err.message.includes(adminKey));
});

void test('reports unreadable, malformed and non-object config files', () => {
  assert.deepEqual(problemPaths(loadError({ argv: ['--config', 'missing.json'] })), ['config']);
  const broken = writeConfigFile('broken.json', '{ "listen": ');
  assert.deepEqual(problemPaths(loadError({ argv: ['--config', broken] })), ['config']);
  const list = writeConfigFile('list.json', []);
  assert.deepEqual(problemPaths(loadError({ argv: ['--config', list] })), ['config']);
  const nested = writeConfigFile('nested.json', { limits: 5 });
  assert.deepEqual(problemPaths(loadError({ argv: ['--config', nested] })), ['limits']);
});

void test('reads keys and arrays from the config file', () => {
  const file = writeConfigFile('keys.json', { adminKeys: [adminKey], dataDir: '/srv/pdb' });
  const config = loadConfig({ cwd, argv: ['--config', file], env: {} });
  assert.deepEqual(config.adminKeys, [adminKey]);
  assert.equal(config.dataDir, '/srv/pdb');
});

void test('reports stray arguments and a flag without its value', () => {
  assert.deepEqual(problemPaths(loadError({ argv: ['serve'] })), ['argv']);
  assert.deepEqual(problemPaths(loadError({ argv: ['--data-dir'] })), ['argv']);
});

void test('returns a deeply frozen object', () => {
  const config = loadConfig({ cwd, argv: [], env: { PROGRESSDB_ADMIN_KEYS: adminKey } });
  for (const part of [config, config.listen, config.limits, config.writer, config.adminKeys]) {
    assert.ok(Object.isFrozen(part));
  }
  assert.throws(() => {
    (config.limits as { maxBodyBytes: number }).maxBodyBytes = 1;
  }, TypeError);
  assert.throws(() => (config.adminKeys as string[]).push('x'), TypeError);
});

void test('the settings table covers every field once, with unique names', () => {
  const leaves = (value: object, prefix = ''): string[] =>
    Object.entries(value).flatMap(([key, child]) =>
      typeof child === 'object' && !Array.isArray(child) && key !== 'listen'
        ? leaves(child as object, `${prefix}${key}.`)
        : [`${prefix}${key}`],
    );
  const config = loadConfig({ cwd, argv: [], env: {} });
  assert.deepEqual(CONFIG_SETTINGS.map((s) => s.path).sort(), leaves(config).sort());
  const envs = CONFIG_SETTINGS.map((s) => s.env);
  assert.equal(new Set(envs).size, envs.length);
  assert.ok(envs.every((name) => name.startsWith('PROGRESSDB_')));
  const usage = configUsage();
  for (const setting of CONFIG_SETTINGS) assert.ok(usage.includes(setting.env), setting.env);
});
