import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { DataKeyCache } from './data-key-cache.js';
import type { DataKey } from './key-provider.js';

const ZERO = Buffer.alloc(32);
const newKey = (id = 'dk'): DataKey => ({ id, bytes: randomBytes(32) });
const isZeroed = (key: DataKey): boolean => key.bytes.equals(ZERO);

/** A clock the test moves by hand. */
function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let time = 1_000;
  return { now: () => time, advance: (ms) => (time += ms) };
}

void test('least recently used keys are evicted first, and zeroed', () => {
  const cache = new DataKeyCache({ maxEntries: 2, ttlMs: 60_000 });
  const [a, b, c] = [newKey('a'), newKey('b'), newKey('c')];
  cache.set('thread-a', a);
  cache.set('thread-b', b);
  assert.equal(cache.get('thread-a'), a, 'a is now the most recently used');
  cache.set('thread-c', c);
  assert.equal(cache.size, 2);
  assert.equal(cache.get('thread-b'), undefined);
  assert.ok(isZeroed(b), 'the evicted key is zeroed');
  assert.equal(cache.get('thread-a'), a);
  assert.equal(cache.get('thread-c'), c);
  assert.ok(!isZeroed(a) && !isZeroed(c));
});

void test('keys expire ttlMs after they were cached, used or not, and are zeroed', () => {
  const clock = fakeClock();
  const cache = new DataKeyCache({ maxEntries: 10, ttlMs: 1_000, now: clock.now });
  const key = newKey();
  cache.set('thread-1', key);
  clock.advance(999);
  assert.equal(cache.get('thread-1'), key, 'fresh until the TTL');
  clock.advance(1);
  assert.equal(cache.get('thread-1'), undefined);
  assert.ok(isZeroed(key));
  assert.equal(cache.size, 0);
});

void test('delete zeroes a key (crypto-shredding) and clear zeroes them all', () => {
  const cache = new DataKeyCache({ maxEntries: 10, ttlMs: 60_000 });
  const keys = [newKey('1'), newKey('2'), newKey('3')];
  keys.forEach((key, i) => cache.set(`thread-${i}`, key));
  assert.equal(cache.delete('thread-0'), true);
  assert.equal(cache.delete('thread-0'), false);
  assert.ok(isZeroed(keys[0] ?? newKey()));
  assert.ok(!isZeroed(keys[1] ?? newKey()));
  cache.clear();
  assert.equal(cache.size, 0);
  assert.ok(keys.every(isZeroed));
});

void test('set replaces and zeroes a previous key, but not when given the same buffer again', () => {
  const clock = fakeClock();
  const cache = new DataKeyCache({ maxEntries: 10, ttlMs: 1_000, now: clock.now });
  const first = newKey();
  const second = newKey();
  cache.set('thread-1', first);
  cache.set('thread-1', second);
  assert.ok(isZeroed(first));
  clock.advance(600);
  cache.set('thread-1', second);
  assert.ok(!isZeroed(second));
  clock.advance(600);
  assert.equal(cache.get('thread-1'), second, 'the second set refreshed the TTL');
});

void test('acquire loads a missing key once for concurrent callers, then serves it from the cache', async () => {
  const cache = new DataKeyCache({ maxEntries: 10, ttlMs: 60_000 });
  const key = newKey();
  let loads = 0;
  const load = async (): Promise<DataKey> => {
    loads++;
    await new Promise((resolve) => setImmediate(resolve));
    return key;
  };
  const leases = await Promise.all(Array.from({ length: 5 }, () => cache.acquire('t', load)));
  assert.equal(loads, 1);
  assert.ok(leases.every((lease) => lease.key === key));
  const again = await cache.acquire('t', load);
  assert.equal(loads, 1);
  assert.equal(cache.get('t'), key);
  for (const lease of [...leases, again]) lease.release();
  assert.ok(!isZeroed(key), 'releasing does not zero a cached key');
});

void test('a leased key survives eviction until its last release, then is zeroed', async () => {
  const cache = new DataKeyCache({ maxEntries: 1, ttlMs: 60_000 });
  const key = newKey();
  cache.set('thread-1', key);
  const first = await cache.acquire('thread-1', () => Promise.reject(new Error('not called')));
  const second = await cache.acquire('thread-1', () => Promise.reject(new Error('not called')));
  cache.set('thread-2', newKey());
  assert.equal(cache.get('thread-1'), undefined, 'evicted');
  assert.ok(!isZeroed(key), 'still leased');
  first.release();
  first.release();
  assert.ok(!isZeroed(key), 'a double release counts once');
  second.release();
  assert.ok(isZeroed(key));
});

void test('keys loaded concurrently into a tiny cache are not zeroed under their callers', async () => {
  const cache = new DataKeyCache({ maxEntries: 1, ttlMs: 60_000 });
  const keys = Array.from({ length: 4 }, (_, i) => newKey(`k${i}`));
  const leases = await Promise.all(
    keys.map((key, i) => cache.acquire(`thread-${i}`, () => Promise.resolve(key))),
  );
  assert.ok(
    keys.every((key) => !isZeroed(key)),
    'every caller resumes with a live key',
  );
  leases.forEach((lease) => lease.release());
  assert.equal(keys.filter(isZeroed).length, 3, 'all but the cached one are zeroed');
});

void test('a key deleted while loading is handed out but not cached, and zeroed on release', async () => {
  const cache = new DataKeyCache({ maxEntries: 10, ttlMs: 60_000 });
  const key = newKey();
  let finish: (key: DataKey) => void = () => undefined;
  const pending = cache.acquire('thread-1', () => new Promise<DataKey>((r) => (finish = r)));
  cache.delete('thread-1');
  finish(key);
  const lease = await pending;
  assert.equal(lease.key, key);
  assert.equal(cache.get('thread-1'), undefined);
  lease.release();
  assert.ok(isZeroed(key));
});

void test('a failed load caches nothing and the next acquire loads again', async () => {
  const cache = new DataKeyCache({ maxEntries: 10, ttlMs: 60_000 });
  await assert.rejects(
    cache.acquire('thread-1', () => Promise.reject(new Error('KMS down'))),
    /KMS down/,
  );
  assert.equal(cache.size, 0);
  const key = newKey();
  const lease = await cache.acquire('thread-1', () => Promise.resolve(key));
  assert.equal(lease.key, key);
});

void test('the cache validates its options and never shows keys', () => {
  assert.throws(() => new DataKeyCache({ maxEntries: 0, ttlMs: 1 }), /maxEntries/);
  assert.throws(() => new DataKeyCache({ maxEntries: 1.5, ttlMs: 1 }), /maxEntries/);
  assert.throws(() => new DataKeyCache({ maxEntries: 1, ttlMs: 0 }), /ttlMs/);
  const cache = new DataKeyCache({ maxEntries: 4, ttlMs: 1_000 });
  const key = newKey();
  cache.set('thread-1', key);
  for (const text of [inspect(cache, { showHidden: true, depth: 10 }), JSON.stringify(cache)]) {
    assert.ok(!text.includes(key.bytes.toString('hex')), text);
    assert.ok(!text.includes(key.bytes.toString('base64')), text);
  }
});
