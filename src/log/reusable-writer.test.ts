import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
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

test('encodings bypass finish() with the pinned @bufbuild/protobuf, byte for byte the same', () => {
  assert.equal(
    ReusableWriter.copiesOut,
    true,
    'BinaryWriter internals changed: see reusable-writer.ts',
  );
  const write = (w: BinaryWriter): void => {
    w.uint32(8).uint64(2n ** 63n);
    w.uint32(18).fork().uint32(10).string('é'.repeat(100)).join();
    w.uint32(26).bytes(Buffer.alloc(300, 1));
  };
  const expected = (() => {
    const fresh = new BinaryWriter();
    write(fresh);
    return Buffer.from(fresh.finish());
  })();
  for (const pooled of [true, false]) {
    const writer = new ReusableWriter({ pooled });
    const first = writer.encode(write);
    const second = writer.encode(write);
    assert.deepEqual(first, expected);
    assert.deepEqual(second, expected, 'the writer was reset');
  }
});

test('an unpooled encoding owns its memory; a pooled one is a slice of the shared pool', () => {
  const small = (w: BinaryWriter): void => void w.uint32(8).uint32(1);
  const owned = new ReusableWriter({ pooled: false }).encode(small);
  assert.equal(owned.buffer.byteLength, owned.byteLength);
  const pooled = new ReusableWriter().encode(small);
  assert.ok(pooled.buffer.byteLength > pooled.byteLength);
});

test('an unjoined fork is reset, as finish() resets it', () => {
  const writer = new ReusableWriter();
  writer.encode((w) => void w.uint32(10).fork().uint32(1));
  assert.deepEqual(
    writer.encode((w) => void w.uint32(8).uint32(2)),
    Buffer.from([0x08, 0x02]),
  );
});
