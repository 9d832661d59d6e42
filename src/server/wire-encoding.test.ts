import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeEventFrame } from './tail-service.js';
import { toWireMessageBytes } from './wire-mapping.js';

const message = {
  id: 'm1',
  seq: 2n,
  version: 1,
  authorId: 'alice',
  role: 'user',
  body: Buffer.from('{"text":"hi"}'),
  metadata: {},
  replyToId: '',
  createdAtMs: 1n,
  updatedAtMs: 1n,
  deleted: false,
  pruned: false,
};

// Kept encodings must not be slices of Node's shared buffer pool: each would keep a whole 8 KiB
// slab alive while it waits in a tail mailbox or sits in the encoded-view cache.
test('tail frames and cached message encodings own their memory', () => {
  const { frame, bytes } = encodeEventFrame({
    threadId: 't',
    revision: 2n,
    position: 5n,
    timeMs: 1n,
    actorId: 'alice',
    requestId: '',
    payload: { $case: 'messageCreated', value: message },
  });
  assert.equal(frame.bytes.buffer.byteLength, bytes);
  const encoded = toWireMessageBytes('t', { message, reactions: [], replyCount: 0 }, 'alice');
  assert.ok(Buffer.isBuffer(encoded));
  assert.equal(encoded.buffer.byteLength, encoded.length);
});
