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
const frontendKey = 'frontend-key-0123456789';
const secretA = 'secret-a-0123456789abcdefghijklmnopqrstuvwxyz';
const secretB = 'secret-b-0123456789abcdefghijklmnopqrstuvwxyz';

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
    frontendKeys: [],
    signingSecrets: [],
    maxTokenTtlSeconds: 30 * 24 * 3600,
    rateLimits: {
      keyPerSecond: 50_000,
      keyBurst: 100_000,
      userPerSecond: 100,
      userBurst: 200,
      applyToAdmin: false,
      maxTailsPerUser: 16,
    },
    tls: undefined,
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
    tails: { heartbeatMs: 15_000, maxBufferedEvents: 10_000, maxBufferedBytes: 16 * 1024 * 1024 },
    encryption: {
      enabled: true,
      encryptTitles: false,
      provider: 'local',
      masterKeyFile: undefined,
      awsKeyId: undefined,
      awsRegion: undefined,
      awsEndpoint: undefined,
      keyCacheSize: 10_000,
      keyCacheTtlMs: 3_600_000,
    },
    telemetry: {
      enabled: true,
      metricsListen: { host: '127.0.0.1', port: 9464, address: '127.0.0.1:9464' },
    },
    retention: {
      deletedThreadGraceSeconds: undefined,
      messageTtlSeconds: undefined,
      maxVersions: undefined,
      intervalSeconds: 3600,
      batchSize: 500,
    },
  };
  assert.deepEqual(config, expected);
});

void test('metrics endpoint can be turned off, retention policies set', () => {
  const config = loadConfig({
    argv: ['--metrics-listen', 'off', '--retention-max-versions', '3'],
    env: { PROGRESSDB_RETENTION_MESSAGE_TTL_SECONDS: '86400' },
    cwd,
  });
  assert.equal(config.telemetry.metricsListen, undefined);
  assert.equal(config.retention.maxVersions, 3);
  assert.equal(config.retention.messageTtlSeconds, 86_400);
  assert.equal(config.retention.deletedThreadGraceSeconds, undefined);
  const err = loadError({
    argv: ['--retention-max-versions', '0', '--metrics-listen', 'nowhere'],
    env: {},
    cwd,
  });
  assert.deepEqual(problemPaths(err), ['retention.maxVersions', 'telemetry.metricsListen']);
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

void test('rejects a key shared by any two roles, naming the later list', () => {
  const err = loadError({
    env: {
      PROGRESSDB_ADMIN_KEYS: adminKey,
      PROGRESSDB_BACKEND_KEYS: backendKey,
      PROGRESSDB_FRONTEND_KEYS: `${frontendKey},${backendKey}`,
    },
  });
  assert.deepEqual(problemPaths(err), ['frontendKeys']);
  assert.ok(!err.message.includes(backendKey));
  assert.deepEqual(
    loadConfig({ cwd, argv: [], env: { PROGRESSDB_FRONTEND_KEYS: ` ${frontendKey} ,` } })
      .frontendKeys,
    [frontendKey],
  );
  const short = loadError({ env: { PROGRESSDB_FRONTEND_KEYS: 'short-frontend' } });
  assert.deepEqual(problemPaths(short), ['frontendKeys[0]']);
  assert.ok(!short.message.includes('short-frontend'));
});

void test('parses signing secrets as kid:secret pairs in order, the first being current', () => {
  const config = loadConfig({
    cwd,
    argv: [],
    env: { PROGRESSDB_SIGNING_SECRETS: `new-1:${secretA}, old_0:${secretB}:with-colon` },
  });
  assert.deepEqual(config.signingSecrets, [
    { kid: 'new-1', secret: secretA },
    { kid: 'old_0', secret: `${secretB}:with-colon` },
  ]);
  const file = writeConfigFile('secrets.json', { signingSecrets: [`k1:${secretA}`] });
  assert.deepEqual(loadConfig({ cwd, argv: ['--config', file], env: {} }).signingSecrets, [
    { kid: 'k1', secret: secretA },
  ]);
});

void test('rejects malformed, short and duplicate signing secrets without echoing them', () => {
  const short = 'short-secret-value';
  const entries = [
    `good:${secretA}`,
    `no-colon-${secretB}`,
    `bad.kid:${secretB}`,
    `:${secretB}`,
    `k:${short}`,
    `k2:${secretB} with space`,
    `good:${secretB}`,
  ];
  const err = loadError({ env: { PROGRESSDB_SIGNING_SECRETS: entries.join(',') } });
  assert.deepEqual(
    problemPaths(err),
    [1, 2, 3, 4, 5, 6].map((i) => `signingSecrets[${i}]`),
  );
  for (const text of [secretA, secretB, short]) assert.ok(!err.message.includes(text));
  assert.ok(
    err.problems.every((p) => p.value === undefined && p.source === 'PROGRESSDB_SIGNING_SECRETS'),
  );

  const twice = loadError({
    env: { PROGRESSDB_SIGNING_SECRETS: `same:${secretA},same:${secretB}` },
  });
  assert.deepEqual(problemPaths(twice), ['signingSecrets[1]']);
  assert.ok(!twice.message.includes(secretA) && !twice.message.includes(secretB));

  const file = writeConfigFile('secret-object.json', { signingSecrets: [{ kid: 'a' }] });
  assert.deepEqual(problemPaths(loadError({ argv: ['--config', file] })), ['signingSecrets[0]']);
});

void test('reads the token TTL and rate limits from every source, with bounds', () => {
  const file = writeConfigFile('rates.json', {
    rateLimits: { userBurst: 50, applyToAdmin: true },
  });
  const config = loadConfig({
    cwd,
    env: {
      PROGRESSDB_CONFIG: file,
      PROGRESSDB_MAX_TOKEN_TTL_SECONDS: '3600',
      PROGRESSDB_RATE_LIMIT_KEY_PER_SECOND: '0',
      PROGRESSDB_RATE_LIMIT_KEY_BURST: '10',
      PROGRESSDB_RATE_LIMIT_USER_PER_SECOND: '5',
      PROGRESSDB_MAX_TAILS_PER_USER: '0',
    },
    argv: ['--rate-limit-user-burst', '7'],
  });
  assert.equal(config.maxTokenTtlSeconds, 3600);
  assert.deepEqual(config.rateLimits, {
    keyPerSecond: 0,
    keyBurst: 10,
    userPerSecond: 5,
    userBurst: 7,
    applyToAdmin: true,
    maxTailsPerUser: 0,
  });

  const err = loadError({
    env: {
      PROGRESSDB_MAX_TOKEN_TTL_SECONDS: '0',
      PROGRESSDB_RATE_LIMIT_KEY_PER_SECOND: '-1',
      PROGRESSDB_RATE_LIMIT_KEY_BURST: '0',
      PROGRESSDB_RATE_LIMIT_USER_PER_SECOND: '1.5',
      PROGRESSDB_RATE_LIMIT_USER_BURST: 'many',
      PROGRESSDB_MAX_TAILS_PER_USER: '100001',
      PROGRESSDB_RATE_LIMIT_ADMIN: 'maybe',
    },
  });
  assert.deepEqual(problemPaths(err), [
    'maxTokenTtlSeconds',
    'rateLimits.applyToAdmin',
    'rateLimits.keyBurst',
    'rateLimits.keyPerSecond',
    'rateLimits.maxTailsPerUser',
    'rateLimits.userBurst',
    'rateLimits.userPerSecond',
  ]);
  assert.equal(
    err.problems.find((p) => p.path === 'rateLimits.applyToAdmin')?.source,
    'PROGRESSDB_RATE_LIMIT_ADMIN',
  );
});

void test('reads the admin rate-limit switch as on/off words or JSON booleans', () => {
  const read = (text: string): boolean =>
    loadConfig({ cwd, argv: [], env: { PROGRESSDB_RATE_LIMIT_ADMIN: text } }).rateLimits
      .applyToAdmin;
  for (const text of ['on', 'ON', 'true', 'yes', '1']) assert.equal(read(text), true, text);
  for (const text of ['off', 'false', 'No', '0']) assert.equal(read(text), false, text);
  assert.equal(
    loadConfig({ cwd, argv: ['--rate-limit-admin', 'on'], env: {} }).rateLimits.applyToAdmin,
    true,
  );
  const file = writeConfigFile('switch-text.json', { rateLimits: { applyToAdmin: 'on' } });
  assert.deepEqual(problemPaths(loadError({ argv: ['--config', file] })), [
    'rateLimits.applyToAdmin',
  ]);
});

void test('TLS: cert and key together, client CA optional, paths resolved and readable', () => {
  const cert = writeConfigFile('server.crt', 'cert');
  writeConfigFile('server.key', 'key');
  writeConfigFile('ca.crt', 'ca');
  const plain = loadConfig({
    cwd,
    argv: [],
    env: { PROGRESSDB_TLS_CERT_FILE: cert, PROGRESSDB_TLS_KEY_FILE: 'server.key' },
  });
  assert.deepEqual(plain.tls, {
    certFile: cert,
    keyFile: join(cwd, 'server.key'),
    clientCaFile: undefined,
  });
  const mutual = loadConfig({
    cwd,
    env: {},
    argv: ['--tls-cert-file', 'server.crt', '--tls-key-file', 'server.key'],
  });
  assert.equal(mutual.tls?.clientCaFile, undefined);
  const withCa = loadConfig({
    cwd,
    env: { PROGRESSDB_TLS_CLIENT_CA_FILE: 'ca.crt' },
    argv: ['--tls-cert-file', 'server.crt', '--tls-key-file', 'server.key'],
  });
  assert.equal(withCa.tls?.clientCaFile, join(cwd, 'ca.crt'));
  assert.ok(Object.isFrozen(withCa.tls));

  const certOnly = loadError({
    env: { PROGRESSDB_TLS_CERT_FILE: cert },
    argv: ['--durability', 'never'],
  });
  assert.deepEqual(problemPaths(certOnly), ['durability', 'tls.keyFile']);
  const keyOnly = loadError({ argv: ['--tls-key-file', 'server.key'] });
  assert.deepEqual(keyOnly.problems, [
    { path: 'tls.certFile', message: 'must be set with tls.keyFile', source: 'default' },
  ]);
  assert.deepEqual(problemPaths(loadError({ env: { PROGRESSDB_TLS_CLIENT_CA_FILE: 'ca.crt' } })), [
    'tls.clientCaFile',
  ]);
  const emptyInFile = writeConfigFile('tls-empty.json', { tls: { certFile: '' } });
  assert.deepEqual(problemPaths(loadError({ argv: ['--config', emptyInFile] })), ['tls.certFile']);

  const missing = loadError({
    env: {
      PROGRESSDB_TLS_CERT_FILE: 'missing.crt',
      PROGRESSDB_TLS_KEY_FILE: 'server.key',
      PROGRESSDB_TLS_CLIENT_CA_FILE: 'missing-ca.crt',
    },
  });
  assert.deepEqual(problemPaths(missing), ['tls.certFile', 'tls.clientCaFile']);
  assert.equal(missing.problems[0]?.source, 'PROGRESSDB_TLS_CERT_FILE');
  assert.equal(missing.problems[0]?.value, JSON.stringify(join(cwd, 'missing.crt')));
});

void test('the settings table covers every field once, with unique names', () => {
  const leaves = (value: object, prefix = ''): string[] =>
    Object.entries(value).flatMap(([key, child]) =>
      typeof child === 'object' &&
      !Array.isArray(child) &&
      key !== 'listen' &&
      key !== 'metricsListen'
        ? leaves(child as object, `${prefix}${key}.`)
        : [`${prefix}${key}`],
    );
  writeConfigFile('leaves.crt', 'cert');
  writeConfigFile('leaves.key', 'key');
  const config = loadConfig({
    cwd,
    argv: [],
    env: {
      PROGRESSDB_TLS_CERT_FILE: 'leaves.crt',
      PROGRESSDB_TLS_KEY_FILE: 'leaves.key',
      PROGRESSDB_TLS_CLIENT_CA_FILE: 'leaves.crt',
    },
  });
  assert.deepEqual(CONFIG_SETTINGS.map((s) => s.path).sort(), leaves(config).sort());
  assert.ok(
    CONFIG_SETTINGS.filter((s) => s.secret === true).every((s) => s.flag === undefined),
    'secrets have no flag: it would show in ps output',
  );
  const envs = CONFIG_SETTINGS.map((s) => s.env);
  assert.equal(new Set(envs).size, envs.length);
  assert.ok(envs.every((name) => name.startsWith('PROGRESSDB_')));
  const usage = configUsage();
  assert.match(usage, /PROGRESSDB_RATE_LIMIT_ADMIN, default off\)/);
  assert.match(usage, /PROGRESSDB_TLS_KEY_FILE, default none\)/);
  for (const setting of CONFIG_SETTINGS) assert.ok(usage.includes(setting.env), setting.env);
});
