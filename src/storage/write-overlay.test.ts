import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FamilyName } from './column-families.js';
import type { Row, ScanOptions } from './rocks-store.js';
import { WriteOverlay, type StoreReader } from './write-overlay.js';

function memoryReader(entries: Record<string, string>): StoreReader {
  const rows = Object.entries(entries)
    .map(([key, value]) => ({ key: Buffer.from(key), value: Buffer.from(value) }))
    .sort((a, b) => Buffer.compare(a.key, b.key));
  return {
    get: (_family: FamilyName, key: Buffer) => rows.find((row) => row.key.equals(key))?.value,
    scan: (_family: FamilyName, options: ScanOptions): Row[] => {
      const inRange = rows.filter(
        (row) =>
          Buffer.compare(row.key, options.gte) >= 0 && Buffer.compare(row.key, options.lt) < 0,
      );
      if (options.reverse) inRange.reverse();
      return inRange.slice(0, options.limit ?? Infinity);
    },
  };
}

const text = (rows: Row[]) => rows.map((row) => `${row.key.toString()}=${row.value.toString()}`);
const range = { gte: Buffer.from('a'), lt: Buffer.from('z') };

test('staged puts and deletes shadow the base in gets and scans', () => {
  const overlay = new WriteOverlay(memoryReader({ b: '1', d: '2', f: '3' }));
  overlay.put('tails', Buffer.from('c'), Buffer.from('new'));
  overlay.put('tails', Buffer.from('d'), Buffer.from('changed'));
  overlay.del('tails', Buffer.from('f'));
  assert.equal(overlay.get('tails', Buffer.from('f')), undefined);
  assert.equal(overlay.get('tails', Buffer.from('d'))?.toString(), 'changed');
  assert.deepEqual(text(overlay.scan('tails', range)), ['b=1', 'c=new', 'd=changed']);
  assert.deepEqual(text(overlay.scan('tails', { ...range, reverse: true, limit: 2 })), [
    'd=changed',
    'c=new',
  ]);
});

test('a limited scan still fills its page when staged deletes hide base rows', () => {
  const overlay = new WriteOverlay(memoryReader({ a: '1', b: '2', c: '3', d: '4' }));
  overlay.del('tails', Buffer.from('c'));
  overlay.del('tails', Buffer.from('d'));
  assert.deepEqual(text(overlay.scan('tails', { ...range, reverse: true, limit: 2 })), [
    'b=2',
    'a=1',
  ]);
});

test('absorb moves a child’s writes into its parent, later writes winning', () => {
  const parent = new WriteOverlay(memoryReader({}));
  parent.put('events', Buffer.from('k'), Buffer.from('old'));
  const child = new WriteOverlay(parent);
  assert.equal(child.get('events', Buffer.from('k'))?.toString(), 'old');
  child.put('events', Buffer.from('k'), Buffer.from('new'));
  child.del('events', Buffer.from('gone'));
  parent.absorb(child);
  assert.equal(parent.size, 2);
  assert.deepEqual(
    parent.ops().map((op) => [op.type, op.key.toString()]),
    [
      ['put', 'k'],
      ['del', 'gone'],
    ],
  );
});
