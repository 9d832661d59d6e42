import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReusableWriter } from './reusable-writer.js';

test('each encoding comes out on its own; a failed one leaves the next one clean', () => {
  const writer = new ReusableWriter();
  const first = writer.encode((w) => w.uint32(8).uint32(150));
  assert.deepEqual(first, Buffer.from([0x08, 0x96, 0x01]));
  assert.throws(() =>
    writer.encode((w) => {
      w.uint32(8).fork().uint32(1);
      throw new Error('half written');
    }),
  );
  const second = writer.encode((w) => w.uint32(18).string('hi'));
  assert.deepEqual(second, Buffer.from([0x12, 0x02, 0x68, 0x69]));
  assert.deepEqual(first, Buffer.from([0x08, 0x96, 0x01]), 'earlier output is a copy, untouched');
});

test('a message past 1 MiB is encoded whole, and the writer goes on', () => {
  const writer = new ReusableWriter();
  const big = writer.encode((w) => w.uint32(10).bytes(Buffer.alloc(2 << 20, 7)));
  assert.equal(big.length, 1 + 4 + (2 << 20), 'tag, a 4-byte length, the bytes');
  assert.deepEqual(
    writer.encode((w) => w.uint32(8).uint32(1)),
    Buffer.from([0x08, 0x01]),
  );
});
