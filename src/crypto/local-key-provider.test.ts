import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { inspect } from 'node:util';
import { DecryptFailedError, KeyAccessError } from './crypto-errors.js';
import { keyProviderContract, rejectsDecryptFailed } from './key-provider.contract.js';
import { LocalKeyProvider } from './local-key-provider.js';

const root = await mkdtemp(join(tmpdir(), 'progressdb-local-keys-'));
after(() => rm(root, { recursive: true, force: true }));
let dirs = 0;
/** A key file path in a folder that does not exist yet. */
const freshKeyFile = (): string => join(root, `data-${++dirs}`, 'nested', 'master-keys.json');

interface KeyFileJson {
  current: string;
  keys: Record<string, string>;
}
const readKeyFile = async (file: string): Promise<KeyFileJson> =>
  JSON.parse(await readFile(file, 'utf8')) as KeyFileJson;

keyProviderContract('LocalKeyProvider', async () => {
  const provider = await LocalKeyProvider.open({ file: freshKeyFile() });
  const otherKeyId = await provider.addMasterKey({ makeCurrent: false });
  return {
    provider,
    reportedKeyId: provider.currentKeyId(),
    otherKeyId,
    close: () => provider.close(),
  };
});

void test('the key file is created on first use: mode 0600 in a 0700 folder, one 256-bit key', async () => {
  const file = freshKeyFile();
  const provider = await LocalKeyProvider.open({ file });
  assert.equal(provider.status.generated, true);
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.equal((await stat(join(file, '..'))).mode & 0o777, 0o700);
  const json = await readKeyFile(file);
  assert.equal(json.current, provider.currentKeyId());
  assert.deepEqual(Object.keys(json.keys), [json.current]);
  assert.equal(Buffer.from(json.keys[json.current] ?? '', 'base64').length, 32);
});

void test('an existing key file is reused: keys wrapped before a restart still open', async () => {
  const file = freshKeyFile();
  const first = await LocalKeyProvider.open({ file });
  const context = { threadId: 'thread-1' };
  const generated = await first.generateDataKey(context);
  const before = await readFile(file, 'utf8');

  const second = await LocalKeyProvider.open({ file });
  assert.equal(second.status.generated, false);
  assert.equal(second.status.tightenedModeFrom, undefined);
  assert.equal(second.currentKeyId(), first.currentKeyId());
  assert.deepEqual(await second.decryptDataKey(generated.wrapped, context), generated.plaintext);
  assert.equal(await readFile(file, 'utf8'), before, 'the file is not rewritten');
});

void test('a key file readable by group or others is tightened to 0600 and reported', async () => {
  const file = freshKeyFile();
  await LocalKeyProvider.open({ file });
  await chmod(file, 0o644);
  const provider = await LocalKeyProvider.open({ file });
  assert.equal(provider.status.tightenedModeFrom, 0o644);
  assert.equal((await stat(file)).mode & 0o777, 0o600);
});

void test('with insecureFileMode "refuse", a group-readable key file is refused and left alone', async () => {
  const file = freshKeyFile();
  await LocalKeyProvider.open({ file });
  await chmod(file, 0o640);
  await assert.rejects(LocalKeyProvider.open({ file, insecureFileMode: 'refuse' }), /mode 0640/);
  assert.equal((await stat(file)).mode & 0o777, 0o640);
});

void test('a missing key file is an error when it may not be created', async () => {
  const file = freshKeyFile();
  await assert.rejects(LocalKeyProvider.open({ file, createIfMissing: false }), /does not exist/);
  await assert.rejects(stat(file), { code: 'ENOENT' });
});

void test('a malformed key file is refused with a message that shows no key', async () => {
  const file = freshKeyFile();
  await LocalKeyProvider.open({ file });
  const good = await readKeyFile(file);
  const secret = good.keys[good.current] ?? '';
  const cases: [string, RegExp][] = [
    ['{not json', /not valid JSON/],
    [JSON.stringify({ current: 'mk-1' }), /malformed at keys/],
    [JSON.stringify({ ...good, current: 'mk-9' }), /current key mk-9 is not in keys/],
    [JSON.stringify({ current: 'mk-1', keys: { 'mk-1': secret.slice(0, 20) } }), /not 32 bytes/],
    [JSON.stringify({ current: 'bad id!', keys: good.keys }), /malformed at current/],
  ];
  for (const [text, expected] of cases) {
    await writeFile(file, text, { mode: 0o600 });
    await assert.rejects(LocalKeyProvider.open({ file }), (err: Error) => {
      assert.match(err.message, expected);
      assert.ok(!err.message.includes(secret) && !err.message.includes(secret.slice(0, 20)));
      return true;
    });
  }
});

void test('rotation: a new current key, old data keys still open, rewrap, then the old key can go', async () => {
  const file = freshKeyFile();
  const provider = await LocalKeyProvider.open({ file });
  const context = { threadId: 'thread-rotate' };
  const old = await provider.generateDataKey(context);
  assert.equal(old.keyId, 'mk-1');

  const next = await provider.addMasterKey();
  assert.equal(next, 'mk-2');
  assert.equal(provider.currentKeyId(), 'mk-2');
  assert.deepEqual(provider.masterKeyIds(), ['mk-1', 'mk-2']);
  const json = await readKeyFile(file);
  assert.equal(json.current, 'mk-2');
  assert.deepEqual(Object.keys(json.keys), ['mk-1', 'mk-2']);
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.equal((await provider.generateDataKey(context)).keyId, 'mk-2');

  const reopened = await LocalKeyProvider.open({ file });
  assert.equal(reopened.currentKeyId(), 'mk-2');
  assert.deepEqual(await reopened.decryptDataKey(old.wrapped, context), old.plaintext);

  const rewrapped = await reopened.rewrap(old.wrapped, context);
  assert.equal(rewrapped.keyId, 'mk-2');
  await assert.rejects(reopened.removeMasterKey('mk-2'), /is current/);
  await assert.rejects(reopened.removeMasterKey('mk-7'), /not in the key file/);
  await reopened.removeMasterKey('mk-1');
  assert.deepEqual(Object.keys((await readKeyFile(file)).keys), ['mk-2']);
  assert.deepEqual(await reopened.decryptDataKey(rewrapped.wrapped, context), old.plaintext);
  await assert.rejects(reopened.decryptDataKey(old.wrapped, context), (err: unknown) => {
    assert.ok(err instanceof KeyAccessError);
    assert.equal(err.reason, 'KMS_UNAVAILABLE');
    assert.equal(err.keyId, 'mk-1');
    return true;
  });
});

void test('concurrent addMasterKey calls are applied one at a time', async () => {
  const file = freshKeyFile();
  const provider = await LocalKeyProvider.open({ file });
  const ids = await Promise.all([
    provider.addMasterKey(),
    provider.addMasterKey({ makeCurrent: false }),
    provider.addMasterKey(),
  ]);
  assert.deepEqual(ids, ['mk-2', 'mk-3', 'mk-4']);
  assert.equal(provider.currentKeyId(), 'mk-4');
  assert.deepEqual(await readKeyFile(file).then((json) => Object.keys(json.keys)), [
    'mk-1',
    'mk-2',
    'mk-3',
    'mk-4',
  ]);
});

void test('the wrapped format: version byte, master key id, nonce, key, tag; each part checked', async () => {
  const provider = await LocalKeyProvider.open({ file: freshKeyFile() });
  const context = { threadId: 'thread-format' };
  const { wrapped } = await provider.generateDataKey(context);
  assert.equal(wrapped.length, 1 + 1 + 4 + 12 + 32 + 16);
  assert.equal(wrapped[0], 0x01);
  assert.equal(wrapped[1], 4);
  assert.equal(wrapped.subarray(2, 6).toString('ascii'), 'mk-1');
  for (let index = 0; index < wrapped.length; index++) {
    const tampered = Buffer.from(wrapped);
    tampered[index] = (tampered[index] ?? 0) ^ 0x04;
    const outcome = provider.decryptDataKey(tampered, context);
    if (index >= 2 && index < 6) {
      // A changed key id is either invalid (DECRYPT_FAILED) or names a key the file lacks.
      await assert.rejects(
        outcome,
        (err) => err instanceof DecryptFailedError || err instanceof KeyAccessError,
      );
    } else {
      await rejectsDecryptFailed(outcome);
    }
  }
  const otherId = Buffer.from(wrapped);
  otherId.write('mk-9', 2, 'ascii');
  await assert.rejects(provider.decryptDataKey(otherId, context), KeyAccessError);
  await assert.rejects(provider.rewrap(wrapped, context, 'mk-404'), KeyAccessError);
});

void test('inspecting or serialising the provider shows key ids, never keys', async () => {
  const file = freshKeyFile();
  const provider = await LocalKeyProvider.open({ file });
  await provider.addMasterKey();
  const json = await readKeyFile(file);
  const shown = [
    inspect(provider, { depth: Infinity, showHidden: true }),
    JSON.stringify(provider),
  ];
  for (const text of shown) {
    assert.match(text, /mk-2/);
    for (const key of Object.values(json.keys)) {
      assert.ok(!text.includes(key), text);
      assert.ok(!text.includes(Buffer.from(key, 'base64').toString('hex')), text);
    }
  }
});
