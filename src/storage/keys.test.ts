import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as keys from './keys.js';

test('event keys sort by thread, then numerically by revision', () => {
  const ordered = [
    keys.eventKey(1n, 1n),
    keys.eventKey(1n, 2n),
    keys.eventKey(1n, 255n),
    keys.eventKey(1n, 256n),
    keys.eventKey(1n, 2n ** 40n),
    keys.eventKey(2n, 0n),
  ];
  const shuffled = [...ordered].reverse().sort((a, b) => Buffer.compare(a, b));
  assert.deepEqual(shuffled, ordered);
  assert.deepEqual(keys.decodeThreadRevisionKey(keys.eventKey(7n, 9n)), {
    thread: 7n,
    revision: 9n,
  });
});

test('a thread range holds exactly that thread’s rows', () => {
  const range = keys.threadRange(5n);
  const inside = (key: Buffer) =>
    Buffer.compare(key, range.gte) >= 0 && Buffer.compare(key, range.lt) < 0;
  assert.ok(inside(keys.eventKey(5n, 1n)));
  assert.ok(inside(keys.eventKey(5n, 2n ** 63n)));
  assert.ok(inside(keys.versionKey(5n, 3n, 2)));
  assert.ok(!inside(keys.eventKey(4n, 2n ** 63n)));
  assert.ok(!inside(keys.eventKey(6n, 0n)));
});

test('string ids are length-prefixed, so no id is a prefix-collision of another', () => {
  // With a separator, ("a", "b:c") and ("a:b", "c") could collide; length prefixes keep them apart.
  assert.notDeepEqual(keys.messageIdIndexKey(1n, 'ab'), keys.messageIdIndexKey(1n, 'a'));
  const short = keys.userThreadIndexKey('bo', 1n, 1n);
  const long = keys.userThreadIndexKey('bob', 1n, 1n);
  const bobRange = keys.userThreadRange('bob');
  assert.ok(Buffer.compare(short, bobRange.gte) < 0 || Buffer.compare(short, bobRange.lt) >= 0);
  assert.ok(Buffer.compare(long, bobRange.gte) >= 0 && Buffer.compare(long, bobRange.lt) < 0);
});

test('user thread keys order by position and decode back', () => {
  const older = keys.userThreadIndexKey('alice', 10n, 3n);
  const newer = keys.userThreadIndexKey('alice', 11n, 1n);
  assert.ok(Buffer.compare(older, newer) < 0);
  assert.deepEqual(keys.decodeUserThreadIndexKey(newer), { position: 11n, thread: 1n });
  const page = keys.userThreadRange('alice', { position: 11n, thread: 1n });
  assert.ok(Buffer.compare(older, page.lt) < 0);
  assert.ok(Buffer.compare(newer, page.lt) >= 0);
});

test('position index ranges start after the given position', () => {
  const range = keys.positionIndexRange(5n);
  assert.deepEqual(range.gte, keys.positionIndexKey(6n));
  assert.ok(Buffer.compare(keys.positionIndexKey(2n ** 64n - 1n), range.lt) < 0);
});
