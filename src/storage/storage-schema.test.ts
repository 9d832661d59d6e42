import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Family } from './column-families.js';
import { MetaKey, u64 } from './keys.js';
import { RocksStore } from './rocks-store.js';
import {
  checkStorageSchema,
  schemaVersionRow,
  STORAGE_SCHEMA_VERSION,
  StorageSchemaError,
} from './storage-schema.js';

let root: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'progressdb-schema-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Opens `dir`, runs `use`, closes. */
async function withStore(dir: string, use: (store: RocksStore) => void): Promise<void> {
  const store = await RocksStore.open(dir);
  try {
    use(store);
  } finally {
    await store.close();
  }
}

const storedVersion = (store: RocksStore) => store.get(Family.default, MetaKey.schemaVersion);

test('a new database records its storage schema, and opens again unchanged', async () => {
  const dir = join(root, 'new');
  const expected = Buffer.from([0, 0, 0, STORAGE_SCHEMA_VERSION]);
  await withStore(dir, (store) => assert.deepEqual(storedVersion(store), expected));
  await withStore(dir, (store) => assert.deepEqual(storedVersion(store), expected));
});

test('a database from before the version was recorded is schema 1 and gets the row', async () => {
  const dir = join(root, 'unversioned');
  await withStore(dir, (store) => {
    store.write([{ type: 'del', family: Family.default, key: MetaKey.schemaVersion }], true);
    store.write(
      [
        { type: 'put', family: Family.default, key: MetaKey.lastPosition, value: u64(7n) },
        { type: 'put', family: Family.events, key: Buffer.from('k'), value: Buffer.from('v') },
      ],
      true,
    );
  });
  await withStore(dir, (store) => {
    assert.deepEqual(storedVersion(store), Buffer.from([0, 0, 0, 1]));
    assert.deepEqual(store.get(Family.events, Buffer.from('k')), Buffer.from('v'));
  });
});

test('a later version stamps only empty databases with itself; unversioned data stays schema 1', () => {
  const later = STORAGE_SCHEMA_VERSION + 1;
  assert.deepEqual(checkStorageSchema('/new', undefined, false, later), schemaVersionRow(later));
  assert.throws(
    () => checkStorageSchema('/old', undefined, true, later),
    (error: unknown) =>
      error instanceof StorageSchemaError &&
      error.found === 1 &&
      error.message.includes(`reads schema ${later} only`),
  );
  const current = schemaVersionRow(later);
  assert.equal(
    current.type === 'put' && checkStorageSchema('/x', current.value, true, later),
    undefined,
  );
});

test('a database of another schema is refused, named, and left closed and untouched', async () => {
  const dir = join(root, 'newer');
  await withStore(dir, (store) =>
    store.write([schemaVersionRow(STORAGE_SCHEMA_VERSION + 1)], true),
  );
  for (let attempt = 0; attempt < 2; attempt++) {
    // The second attempt would fail on RocksDB's lock if the first had left the database open.
    await assert.rejects(RocksStore.open(dir), (error: unknown) => {
      assert.ok(error instanceof StorageSchemaError);
      assert.equal(error.found, STORAGE_SCHEMA_VERSION + 1);
      assert.match(error.message, new RegExp(`storage schema ${STORAGE_SCHEMA_VERSION + 1};`));
      assert.ok(error.message.includes(dir));
      return true;
    });
  }
});

test('a damaged schema version is refused, not overwritten', async () => {
  const dir = join(root, 'damaged');
  await withStore(dir, (store) =>
    store.write(
      [
        {
          type: 'put',
          family: Family.default,
          key: MetaKey.schemaVersion,
          value: Buffer.from([1, 2, 3]),
        },
      ],
      true,
    ),
  );
  for (let attempt = 0; attempt < 2; attempt++) {
    // Refused again: the first attempt did not overwrite the damaged value.
    await assert.rejects(RocksStore.open(dir), (error: unknown) => {
      assert.ok(error instanceof StorageSchemaError);
      assert.equal(error.found, undefined);
      assert.match(error.message, /damaged storage schema version/);
      return true;
    });
  }
});
