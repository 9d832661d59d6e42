import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { after, test } from 'node:test';
import { API_KEY_FILE_NAME } from '../data-folder.js';
import { ApiKeyRegistry, resolveApiKeys } from './api-keys.js';

const root = mkdtempSync(join(tmpdir(), 'progressdb-api-keys-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
/** A data dir path that does not exist yet. */
const freshDataDir = (): string => join(root, `data-${++dirs}`, 'nested');

const adminKey = 'admin-key-0123456789';
const backendKey = 'backend-key-0123456789';
const frontendKey = 'frontend-key-0123456789';

void test('the registry keeps hashes only: no raw key in its JSON or inspect output', () => {
  const registry = new ApiKeyRegistry({ admin: [adminKey], backend: [backendKey] });
  const shown = [
    JSON.stringify(registry),
    inspect(registry, { depth: Infinity, showHidden: true }),
  ];
  for (const text of shown) {
    assert.ok(!text.includes(adminKey) && !text.includes(backendKey), text);
  }
  assert.deepEqual(JSON.parse(JSON.stringify(registry)), { keys: registry.list() });
});

void test('lookup maps each key to its role and a stable 8-hex id', () => {
  const registry = new ApiKeyRegistry({
    admin: [adminKey],
    backend: [backendKey, `${backendKey}-2`],
  });
  const admin = registry.lookup(adminKey);
  const backend = registry.lookup(backendKey);
  assert.equal(admin?.role, 'admin');
  assert.equal(backend?.role, 'backend');
  assert.match(admin?.id ?? '', /^[0-9a-f]{8}$/);
  assert.notEqual(admin?.id, backend?.id);
  assert.equal(
    new ApiKeyRegistry({ admin: [adminKey], backend: [] }).lookup(adminKey)?.id,
    admin?.id,
  );
  assert.deepEqual(
    registry
      .list()
      .map((k) => k.role)
      .sort(),
    ['admin', 'backend', 'backend'],
  );
});

void test('lookup rejects unknown, empty and near-miss keys', () => {
  const registry = new ApiKeyRegistry({ admin: [adminKey], backend: [] });
  for (const key of ['', 'nope', `${adminKey} `, adminKey.slice(0, -1), adminKey.toUpperCase()]) {
    assert.equal(registry.lookup(key), undefined, JSON.stringify(key));
  }
});

void test('a key given for two roles is refused', () => {
  assert.throws(() => new ApiKeyRegistry({ admin: [adminKey], backend: [adminKey] }));
});

void test('frontend keys map to the frontend role', () => {
  const registry = new ApiKeyRegistry({ admin: [], backend: [], frontend: [frontendKey] });
  assert.equal(registry.lookup(frontendKey)?.role, 'frontend');
  assert.deepEqual(registry.list(), [{ id: registry.lookup(frontendKey)?.id, role: 'frontend' }]);
  assert.ok(!JSON.stringify(registry).includes(frontendKey));
});

void test('first start generates one key per role in a 0600 file; the next start reuses it', async () => {
  const dataDir = freshDataDir();
  const first = await resolveApiKeys({ dataDir, adminKeys: [], backendKeys: [] });
  const file = join(dataDir, API_KEY_FILE_NAME);
  assert.equal(first.file, file);
  assert.ok(first.generated);
  const { admin, backend, frontend } = first.generated;
  assert.equal(first.generated.file, file);
  assert.match(admin, /^pdb_admin_[A-Za-z0-9_-]{43}$/);
  assert.match(backend, /^pdb_backend_[A-Za-z0-9_-]{43}$/);
  assert.match(frontend, /^pdb_frontend_[A-Za-z0-9_-]{43}$/);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(dataDir).mode & 0o777, 0o700);
  assert.equal(first.registry.lookup(admin)?.role, 'admin');
  assert.equal(first.registry.lookup(backend)?.role, 'backend');
  assert.equal(first.registry.lookup(frontend)?.role, 'frontend');

  const second = await resolveApiKeys({
    dataDir,
    adminKeys: [],
    backendKeys: [],
    frontendKeys: [],
  });
  assert.equal(second.generated, undefined);
  assert.equal(second.file, file);
  assert.equal(second.tightenedModeFrom, undefined);
  assert.equal(second.registry.lookup(admin)?.role, 'admin');
  assert.equal(second.registry.lookup(backend)?.role, 'backend');
  assert.equal(second.registry.lookup(frontend)?.role, 'frontend');
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), {
    admin: [admin],
    backend: [backend],
    frontend: [frontend],
  });
});

void test('a key file from before frontend keys still loads, unchanged', async () => {
  const dataDir = freshDataDir();
  await resolveApiKeys({ dataDir, adminKeys: [], backendKeys: [] });
  const file = join(dataDir, API_KEY_FILE_NAME);
  const old = `${JSON.stringify({ admin: [adminKey], backend: [backendKey] })}\n`;
  writeFileSync(file, old);
  const resolved = await resolveApiKeys({ dataDir, adminKeys: [], backendKeys: [] });
  assert.equal(resolved.generated, undefined);
  assert.deepEqual(
    resolved.registry
      .list()
      .map((k) => k.role)
      .sort(),
    ['admin', 'backend'],
  );
  assert.equal(readFileSync(file, 'utf8'), old);
});

void test('configured frontend keys alone count as configured keys', async () => {
  const dataDir = freshDataDir();
  const resolved = await resolveApiKeys({
    dataDir,
    adminKeys: [],
    backendKeys: [],
    frontendKeys: [frontendKey],
  });
  assert.equal(resolved.file, undefined);
  assert.equal(resolved.registry.lookup(frontendKey)?.role, 'frontend');
  assert.throws(() => statSync(join(dataDir, API_KEY_FILE_NAME)), { code: 'ENOENT' });
});

void test('replace swaps every key at once and keeps the old keys when the new set is invalid', () => {
  const registry = new ApiKeyRegistry({ admin: [adminKey], backend: [backendKey] });
  registry.replace({ admin: [], backend: [`${backendKey}-2`], frontend: [frontendKey] });
  assert.equal(registry.lookup(adminKey), undefined);
  assert.equal(registry.lookup(backendKey), undefined);
  assert.equal(registry.lookup(`${backendKey}-2`)?.role, 'backend');
  assert.equal(registry.lookup(frontendKey)?.role, 'frontend');
  assert.throws(() => registry.replace({ admin: [adminKey], backend: [], frontend: [adminKey] }));
  assert.equal(registry.lookup(frontendKey)?.role, 'frontend');
  assert.equal(registry.lookup(adminKey), undefined);
  registry.replace(new ApiKeyRegistry({ admin: [adminKey], backend: [] }));
  assert.equal(registry.lookup(adminKey)?.role, 'admin');
  assert.equal(registry.lookup(frontendKey), undefined);
});

void test('a key file readable by others is tightened to 0600 and reported', async () => {
  const dataDir = freshDataDir();
  const { generated } = await resolveApiKeys({ dataDir, adminKeys: [], backendKeys: [] });
  const file = join(dataDir, API_KEY_FILE_NAME);
  chmodSync(file, 0o644);
  const again = await resolveApiKeys({ dataDir, adminKeys: [], backendKeys: [] });
  assert.equal(again.tightenedModeFrom, 0o644);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(again.registry.lookup(generated?.admin ?? '')?.role, 'admin');
});

void test('configured keys win and the key file is ignored', async () => {
  const dataDir = freshDataDir();
  const { generated } = await resolveApiKeys({ dataDir, adminKeys: [], backendKeys: [] });
  const configured = await resolveApiKeys({ dataDir, adminKeys: [], backendKeys: [backendKey] });
  assert.equal(configured.file, undefined);
  assert.equal(configured.generated, undefined);
  assert.equal(configured.registry.lookup(backendKey)?.role, 'backend');
  assert.equal(configured.registry.lookup(generated?.admin ?? ''), undefined);
  assert.equal(configured.registry.lookup(generated?.backend ?? ''), undefined);
  assert.equal(configured.registry.lookup(generated?.frontend ?? ''), undefined);
});

void test('configured keys never create a key file', async () => {
  const dataDir = freshDataDir();
  await resolveApiKeys({ dataDir, adminKeys: [adminKey], backendKeys: [] });
  assert.throws(() => statSync(join(dataDir, API_KEY_FILE_NAME)), { code: 'ENOENT' });
});

void test('a malformed or empty key file is an error naming the file, never a key', async () => {
  const dataDir = freshDataDir();
  await resolveApiKeys({ dataDir, adminKeys: [], backendKeys: [] });
  const file = join(dataDir, API_KEY_FILE_NAME);
  for (const content of ['{', '{"admin":"x","backend":[]}', '{"admin":[],"backend":[]}']) {
    writeFileSync(file, content);
    await assert.rejects(
      resolveApiKeys({ dataDir, adminKeys: [], backendKeys: [] }),
      (err: Error) => err.message.includes(file),
    );
  }
  writeFileSync(file, JSON.stringify({ admin: ['short-secret'], backend: [] }));
  await assert.rejects(
    resolveApiKeys({ dataDir, adminKeys: [], backendKeys: [] }),
    (err: Error) => !err.message.includes('short-secret'),
  );
});
