import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { after, test } from 'node:test';
import { resolveSigningSecrets, SigningKeyring, type SigningSecret } from './signing-secrets.js';
import { SIGNING_SECRET_FILE_NAME } from '../data-folder.js';

const root = mkdtempSync(join(tmpdir(), 'progressdb-signing-secrets-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
/** A data dir path that does not exist yet. */
const freshDataDir = (): string => join(root, `data-${++dirs}`, 'nested');

const current: SigningSecret = { kid: 'new', secret: 'current-secret-0123456789abcdefghijkl' };
const previous: SigningSecret = { kid: 'old', secret: 'previous-secret-0123456789abcdefghijk' };

void test('the keyring signs with the first secret, knows every kid, and never shows a secret', () => {
  const keyring = new SigningKeyring([current, previous]);
  assert.equal(keyring.currentKid, 'new');
  assert.deepEqual(keyring.list(), [
    { kid: 'new', current: true },
    { kid: 'old', current: false },
  ]);
  const known = createHmac('sha256', previous.secret).update('data').digest();
  assert.deepEqual(keyring.mac('old', 'data'), known);
  assert.equal(keyring.mac('gone', 'data'), undefined);
  for (const text of [
    JSON.stringify(keyring),
    inspect(keyring, { depth: Infinity, showHidden: true }),
  ]) {
    assert.ok(!text.includes(current.secret) && !text.includes(previous.secret), text);
  }
  assert.deepEqual(JSON.parse(JSON.stringify(keyring)), { secrets: keyring.list() });
});

void test('the keyring refuses empty lists, bad or repeated kids and short secrets, quoting no secret', () => {
  const short = 'short-secret';
  const cases: SigningSecret[][] = [
    [],
    [{ kid: 'a.b', secret: current.secret }],
    [{ kid: '', secret: current.secret }],
    [current, { kid: 'new', secret: previous.secret }],
    [{ kid: 'k', secret: short }],
  ];
  for (const secrets of cases) {
    assert.throws(
      () => new SigningKeyring(secrets),
      (err: Error) => !err.message.includes(short) && !err.message.includes(current.secret),
    );
  }
});

void test('replace swaps the secrets at once and keeps the old ones when the new list is invalid', () => {
  const keyring = new SigningKeyring([previous]);
  keyring.replace([current, previous]);
  assert.equal(keyring.currentKid, 'new');
  assert.throws(() => keyring.replace([]));
  assert.equal(keyring.currentKid, 'new');
  keyring.replace([current]);
  assert.equal(keyring.mac('old', 'x'), undefined);
  keyring.replace(new SigningKeyring([previous]));
  assert.deepEqual(keyring.list(), [{ kid: 'old', current: true }]);
});

void test('configured secrets win and never create a secret file', async () => {
  const dataDir = freshDataDir();
  const resolved = await resolveSigningSecrets({ dataDir, signingSecrets: [current, previous] });
  assert.equal(resolved.file, undefined);
  assert.equal(resolved.generated, undefined);
  assert.equal(resolved.keyring.currentKid, 'new');
  assert.throws(() => statSync(join(dataDir, SIGNING_SECRET_FILE_NAME)), { code: 'ENOENT' });
});

void test('first start generates a secret in a 0600 file; the next start reuses it', async () => {
  const dataDir = freshDataDir();
  const first = await resolveSigningSecrets({ dataDir, signingSecrets: [] });
  const file = join(dataDir, SIGNING_SECRET_FILE_NAME);
  assert.equal(first.file, file);
  assert.equal(first.generated?.file, file);
  assert.match(first.generated?.kid ?? '', /^s1-[0-9a-f]{8}$/);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(dataDir).mode & 0o777, 0o700);
  const stored = JSON.parse(readFileSync(file, 'utf8')) as { secrets: SigningSecret[] };
  assert.equal(stored.secrets.length, 1);
  assert.equal(stored.secrets[0]?.kid, first.generated?.kid);
  assert.match(stored.secrets[0]?.secret ?? '', /^[A-Za-z0-9_-]{43}$/);
  assert.ok(!JSON.stringify(first).includes(stored.secrets[0]?.secret ?? '-'));

  const second = await resolveSigningSecrets({ dataDir, signingSecrets: [] });
  assert.equal(second.generated, undefined);
  assert.equal(second.tightenedModeFrom, undefined);
  assert.equal(second.keyring.currentKid, first.keyring.currentKid);
  assert.deepEqual(
    second.keyring.mac(first.keyring.currentKid, 'x'),
    first.keyring.mac(first.keyring.currentKid, 'x'),
  );
});

void test('a rotated secret file keeps its order; a file readable by others is tightened', async () => {
  const dataDir = freshDataDir();
  await resolveSigningSecrets({ dataDir, signingSecrets: [] });
  const file = join(dataDir, SIGNING_SECRET_FILE_NAME);
  writeFileSync(file, JSON.stringify({ secrets: [current, previous] }));
  chmodSync(file, 0o644);
  const resolved = await resolveSigningSecrets({ dataDir, signingSecrets: [] });
  assert.equal(resolved.tightenedModeFrom, 0o644);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(resolved.keyring.list(), [
    { kid: 'new', current: true },
    { kid: 'old', current: false },
  ]);
});

void test('a malformed secret file is an error naming the file, never a secret', async () => {
  const dataDir = freshDataDir();
  await resolveSigningSecrets({ dataDir, signingSecrets: [] });
  const file = join(dataDir, SIGNING_SECRET_FILE_NAME);
  const contents = [
    '{',
    '[]',
    JSON.stringify({ secrets: [] }),
    JSON.stringify({ secrets: [{ kid: 'a.b', secret: current.secret }] }),
    JSON.stringify({ secrets: [{ kid: 'k', secret: 'short-secret' }] }),
    JSON.stringify({ secrets: [current, { kid: 'new', secret: previous.secret }] }),
  ];
  for (const content of contents) {
    writeFileSync(file, content);
    await assert.rejects(
      resolveSigningSecrets({ dataDir, signingSecrets: [] }),
      (err: Error) =>
        err.message.includes(file) &&
        !err.message.includes('short-secret') &&
        !err.message.includes(current.secret) &&
        !err.message.includes(previous.secret),
      content,
    );
  }
});
