import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LruCache } from './lru-cache.js';

const cache = (maxEntries: number, maxBytes: number) =>
  new LruCache<string>({ maxEntries, maxBytes, sizeOf: (value) => value.length });

test('the least recently used entry goes first, by count', () => {
  const lru = cache(2, 100);
  lru.set('a', 'A');
  lru.set('b', 'B');
  assert.equal(lru.get('a'), 'A', 'a is now the most recently used');
  lru.set('c', 'C');
  assert.deepEqual([lru.has('a'), lru.has('b'), lru.has('c')], [true, false, true]);
});

test('and by bytes; replacing an entry counts its new size only', () => {
  const lru = cache(100, 10);
  lru.set('a', 'xxxx');
  lru.set('b', 'yyyy');
  lru.set('a', 'zz');
  lru.set('c', 'wwww');
  assert.deepEqual([lru.has('a'), lru.has('b'), lru.has('c')], [true, true, true], '10 bytes');
  lru.set('d', 'v');
  assert.equal(lru.has('b'), false, 'b was the least recently used');
  assert.equal(lru.size, 3);
  lru.set('huge', 'x'.repeat(11));
  assert.equal(lru.size, 0, 'an entry over the whole budget is not kept either');
});

test('prefixes are counted and dropped; clear empties it and its byte count', () => {
  const lru = cache(100, 8);
  for (const id of ['1/a', '1/b', '12/a', '2/a']) lru.set(id, 'x');
  assert.equal(lru.countPrefix('1/'), 2);
  lru.deletePrefix('1/');
  assert.deepEqual([lru.countPrefix('1/'), lru.countPrefix('12/'), lru.size], [0, 1, 2]);
  lru.clear();
  assert.equal(lru.size, 0);
  for (const id of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']) lru.set(id, 'x');
  assert.equal(lru.size, 8, 'the byte count started again from zero');
});

test('an entry used at least once per half-turn of the cache is never evicted', () => {
  const lru = cache(4, 100);
  for (const id of ['a', 'b', 'c', 'd']) lru.set(id, id);
  for (let i = 0; i < 40; i++) {
    if (i % 2 === 0) assert.equal(lru.get('a'), 'a', `a survived ${i} inserts`);
    lru.set(`new-${i}`, 'x');
  }
  assert.equal(lru.size, 4);
  for (let i = 0; i < 4; i++) lru.set(`newer-${i}`, 'x');
  assert.equal(lru.has('a'), false, 'unused for a whole turn, it goes');
});
