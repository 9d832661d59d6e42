import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Family } from './column-families.js';
import { counterKey, threadIdIndexKey, threadKey, u64, messageIdIndexKey } from './keys.js';
import { RocksStore } from './rocks-store.js';
import { isHotRow, RowCache } from './row-cache.js';

let dir: string;
let store: RocksStore;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'progressdb-rowcache-'));
  store = await RocksStore.open(dir);
});

after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

test('hot rows: thread records, data keys, thread ids and totals; nothing that grows per message', () => {
  assert.ok(isHotRow(Family.threads, threadKey(1n)));
  assert.ok(isHotRow(Family.keys, threadKey(1n)));
  assert.ok(isHotRow(Family.indexes, threadIdIndexKey('t-1')));
  assert.ok(isHotRow(Family.indexes, counterKey('messages')));
  assert.ok(!isHotRow(Family.indexes, messageIdIndexKey(1n, 'm-1')));
  for (const family of [Family.events, Family.versions, Family.tails, Family.default]) {
    assert.ok(!isHotRow(family, threadKey(1n)), family);
  }
});

test('the cache remembers reads and absences, follows written batches, and keeps the newest rows', () => {
  const cache = new RowCache(2);
  const a = threadKey(1n);
  const b = threadKey(2n);
  const c = threadKey(3n);
  assert.equal(cache.get(Family.threads, a), undefined, 'not cached yet');
  cache.remember(Family.threads, a, undefined);
  assert.equal(cache.get(Family.threads, a), null, 'known absent');
  cache.apply([{ type: 'put', family: Family.threads, key: a, value: Buffer.from('A1') }]);
  assert.deepEqual(cache.get(Family.threads, a), Buffer.from('A1'));
  // A row written but never read is not taken in.
  cache.apply([{ type: 'put', family: Family.threads, key: b, value: Buffer.from('B1') }]);
  assert.equal(cache.get(Family.threads, b), undefined);
  cache.apply([{ type: 'del', family: Family.threads, key: a }]);
  assert.equal(cache.get(Family.threads, a), null);
  // Rows that are not hot are never cached.
  cache.remember(Family.tails, a, Buffer.from('T'));
  assert.equal(cache.get(Family.tails, a), undefined);
  // Bounded: the least recently used row goes first.
  cache.remember(Family.threads, b, Buffer.from('B1'));
  cache.get(Family.threads, a);
  cache.remember(Family.threads, c, Buffer.from('C1'));
  assert.equal(cache.size, 2);
  assert.equal(cache.get(Family.threads, b), undefined, 'b was the least recently used');
  assert.equal(cache.get(Family.threads, a), null);
});

test('reads of hot rows see every committed batch, through the commit thread and directly', async () => {
  const key = threadIdIndexKey('cached-thread');
  const total = counterKey('events');
  assert.equal(store.get(Family.indexes, key), undefined);
  assert.equal(store.get(Family.indexes, total), undefined);
  await store.commit(
    [
      { type: 'put', family: Family.indexes, key, value: u64(7n) },
      { type: 'put', family: Family.indexes, key: total, value: u64(1n) },
    ],
    true,
  );
  assert.deepEqual(store.get(Family.indexes, key), u64(7n));
  assert.deepEqual(store.get(Family.indexes, total), u64(1n));
  store.write([{ type: 'put', family: Family.indexes, key: total, value: u64(2n) }], false);
  assert.deepEqual(store.get(Family.indexes, total), u64(2n));
  await store.commit([{ type: 'del', family: Family.indexes, key }], true);
  assert.equal(store.get(Family.indexes, key), undefined);
  // What the cache answers is what RocksDB holds (getMany reads it past the cache).
  assert.deepEqual(store.getMany(Family.indexes, [key, total]), [undefined, u64(2n)]);
});

test('the cache also keeps to a byte budget', () => {
  const cache = new RowCache(100, 10);
  cache.remember(Family.threads, threadKey(1n), Buffer.alloc(6));
  cache.remember(Family.threads, threadKey(2n), Buffer.alloc(6));
  assert.equal(cache.size, 1, 'two rows of 6 bytes do not fit in 10');
  assert.equal(cache.get(Family.threads, threadKey(1n)), undefined);
  cache.remember(Family.threads, threadKey(3n), undefined);
  assert.equal(cache.size, 2, 'an absence costs no bytes');
  cache.clear();
  assert.equal(cache.size, 0);
});

test('a batch that fails empties the cache: what reached RocksDB of it is unknown', async () => {
  const key = threadIdIndexKey('failing-batch');
  store.get(Family.indexes, key);
  assert.ok(store.cachedRows > 0);
  await assert.rejects(
    store.commit(
      [
        { type: 'put', family: Family.indexes, key, value: u64(9n) },
        { type: 'put', family: 'no-such-family' as typeof Family.indexes, key, value: u64(9n) },
      ],
      true,
    ),
  );
  assert.equal(store.cachedRows, 0);
  assert.equal(store.get(Family.indexes, key), undefined, 'nothing of it was written');
});
