import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DataKeyCache, LocalKeyProvider } from '../crypto/index.js';
import { Family, keys, RocksStore, WriteOverlay } from '../storage/index.js';
import { ThreadKeys } from './thread-keys.js';

let dir: string;
let store: RocksStore;
let provider: LocalKeyProvider;
let threadKeys: ThreadKeys;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'progressdb-keys-'));
  store = await RocksStore.open(join(dir, 'db'));
  provider = await LocalKeyProvider.open({ file: join(dir, 'master-keys.json') });
  threadKeys = new ThreadKeys(store, {
    provider,
    cache: new DataKeyCache({ maxEntries: 100, ttlMs: 60_000 }),
    sealing: true,
  });
});

after(async () => {
  await store.close();
  await provider.close();
  await rm(dir, { recursive: true, force: true });
});

/** Registers thread `id` under `number` (what creating it does), without a key. */
function register(id: string, number: bigint): void {
  store.write(
    [
      {
        type: 'put',
        family: Family.indexes,
        key: keys.threadIdIndexKey(id),
        value: keys.threadKey(number),
      },
    ],
    false,
  );
}

test('a fresh key whose write did not commit is wiped, never cached as the thread key', async () => {
  register('t-failed', 1n);
  const first = await threadKeys.forWrite('t-failed');
  const overlay = new WriteOverlay(store);
  const sealedWith = threadKeys.inJob(overlay, 1n, first);
  assert.ok(sealedWith);
  const bytes = Buffer.from(sealedWith.bytes);
  first.release(false); // the group's commit failed: the key row was never stored
  assert.equal(threadKeys.record(store, 1n), undefined);
  const second = await threadKeys.forWrite('t-failed');
  assert.equal(second.existing, undefined, 'no key is taken for stored');
  assert.ok(second.fresh);
  assert.notDeepEqual(second.fresh.key.bytes, bytes);
  second.release(false);
});

test('a committed fresh key is cached for its thread number; writers share one fresh key', async () => {
  register('t-new', 2n);
  const [a, b] = await Promise.all([threadKeys.forWrite('t-new'), threadKeys.forWrite('t-new')]);
  assert.ok(a.fresh && b.fresh);
  assert.equal(a.fresh, b.fresh, 'concurrent writers of a new thread share one key');
  const overlay = new WriteOverlay(store);
  const keyA = threadKeys.inJob(overlay, 2n, a);
  const keyB = threadKeys.inJob(overlay, 2n, b);
  assert.equal(keyA, keyB);
  store.write(overlay.ops(), true);
  a.release(true);
  b.release(true);
  const next = await threadKeys.forWrite('t-new');
  assert.deepEqual(next.existing?.bytes, keyA?.bytes);
  assert.equal(next.fresh, undefined);
  next.release(true);
});

test('a key gathered for one thread number is not used for another (a purged id reused)', async () => {
  register('t-reused', 3n);
  const gathered = await threadKeys.forWrite('t-reused');
  const overlay = new WriteOverlay(store);
  threadKeys.inJob(overlay, 3n, gathered);
  store.write(overlay.ops(), true);
  gathered.release(true);
  const held = await threadKeys.forWrite('t-reused');
  assert.ok(held.existing);
  // Meanwhile the thread was purged and its id now names thread 4, which has its own key.
  const other = new WriteOverlay(store);
  other.put(
    Family.keys,
    keys.threadKey(4n),
    Buffer.from(store.get(Family.keys, keys.threadKey(3n)) ?? []),
  );
  assert.throws(() => threadKeys.inJob(other, 4n, held), /does not hold/);
  held.release(false);
});
