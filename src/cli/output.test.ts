import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  bodyText,
  bytes,
  duration,
  formatTable,
  isoTime,
  plural,
  relativeTime,
  toJson,
  truncate,
} from './output.js';

test('formatTable aligns columns, right-aligns numbers, leaves the last column unpadded', () => {
  const lines = formatTable(
    ['ID', 'COUNT', 'NOTE'],
    [
      ['a', '5', 'short'],
      ['longer-id', '1,234', ''],
    ],
    ['left', 'right', 'left'],
  );
  assert.deepEqual(lines, [
    'ID         COUNT  NOTE',
    'a              5  short',
    'longer-id  1,234',
  ]);
});

test('toJson writes safe bigints as numbers and larger ones as strings', () => {
  assert.equal(toJson({ revision: 12n }), '{"revision":12}');
  assert.equal(toJson({ position: 2n ** 60n }), `{"position":"${2n ** 60n}"}`);
  assert.equal(toJson({ at: new Date(0) }), '{"at":"1970-01-01T00:00:00.000Z"}');
});

test('times: ISO to the second in UTC, relative in the largest unit', () => {
  const now = Date.parse('2026-11-28T12:00:00Z');
  assert.equal(isoTime(new Date(now)), '2026-11-28 12:00:00Z');
  assert.equal(isoTime(undefined), '-');
  assert.equal(relativeTime(new Date(now - 3_000), now), 'just now');
  assert.equal(relativeTime(new Date(now - 42_000), now), '42s ago');
  assert.equal(relativeTime(new Date(now - 5 * 60_000), now), '5m ago');
  assert.equal(relativeTime(new Date(now - 3 * 3_600_000), now), '3h ago');
  assert.equal(relativeTime(new Date(now - 2 * 86_400_000), now), '2d ago');
  assert.equal(relativeTime(new Date(now - 90 * 86_400_000), now), '2026-08-30');
});

test('durations, bytes and plurals read naturally', () => {
  assert.equal(duration(12), '12s');
  assert.equal(duration(264), '4m 24s');
  assert.equal(duration(2 * 3600 + 5 * 60), '2h 5m');
  assert.equal(duration(3 * 86_400 + 4 * 3600), '3d 4h');
  assert.equal(bytes(933n), '933 B');
  assert.equal(bytes(1536), '1.5 KiB');
  assert.equal(bytes(12n * 1024n * 1024n), '12.0 MiB');
  assert.equal(plural(1n, 'event'), '1 event');
  assert.equal(plural(1204, 'data key'), '1,204 data keys');
});

test('bodyText puts any body on one line', () => {
  assert.equal(bodyText('hello'), 'hello');
  assert.equal(bodyText({ text: 'hi' }), 'hi');
  assert.equal(bodyText({ text: 'hi', lang: 'en' }), '{"text":"hi","lang":"en"}');
  assert.equal(bodyText([1, 2]), '[1,2]');
  assert.equal(bodyText('two\nlines\ttabbed'), 'two lines tabbed');
  assert.equal(bodyText(null), '');
  assert.equal(truncate('abcdef', 4), 'abc…');
  assert.equal(truncate('abc', 4), 'abc');
});
