import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageRecord as MessageRecordCodec } from '../gen/progressdb/storage/v1/records.js';
import { embedding, records, type EventRecord, type MessageRecord } from './record-codec.js';

const message: MessageRecord = {
  id: 'm-1',
  seq: 300n,
  version: 2,
  authorId: 'alice',
  role: 'user',
  body: Buffer.from([0x1a, 0x02, 0x68, 0x69]),
  metadata: { k: 'v' },
  replyToId: '',
  deleted: false,
  pruned: false,
  createdAtMs: 1_700_000_000_000n,
  updatedAtMs: 1_700_000_000_001n,
};

test('events embedding a pre-encoded message are byte for byte what the encoder writes', () => {
  for (const $case of ['messageCreated', 'messageEdited', 'messageDeleted'] as const) {
    const event: EventRecord = {
      threadId: 't-1',
      revision: 300n,
      position: 2n ** 40n,
      timeMs: 1_700_000_000_001n,
      actorId: 'alice',
      requestId: 'r-1',
      payload: { $case, value: message },
    };
    const embedded = embedding.event(event, records.message.encode(message));
    assert.deepEqual(embedded, records.event.encode(event));
    assert.deepEqual(records.event.decode(embedded), event);
  }
});

test('a new message view embedding the encoded message is what the encoder writes', () => {
  const view = { message, reactions: [], replyCount: 0 };
  assert.deepEqual(
    embedding.newView(records.message.encode(message)),
    records.messageView.encode(view),
  );
});

test('a record that does not decode is CORRUPT_RECORD', () => {
  assert.throws(
    () => records.thread.decode(Buffer.from([0xff, 0xff, 0xff])),
    (error: { reason?: string }) => error.reason === 'CORRUPT_RECORD',
  );
});

test('the shared writer encodes each record alone: after a big one, and after a failed one', () => {
  const fresh = (record: MessageRecord) => Buffer.from(MessageRecordCodec.encode(record).finish());
  const big = { ...message, body: Buffer.alloc(200_000, 7) };
  assert.deepEqual(records.message.encode(big), fresh(big));
  assert.deepEqual(records.message.encode(message), fresh(message));
  const broken = { ...message, seq: 'not a number' as unknown as bigint };
  assert.throws(() => records.message.encode(broken));
  assert.deepEqual(records.message.encode(message), fresh(message));
  const huge = { ...message, body: Buffer.alloc(2 << 20, 1) };
  assert.deepEqual(records.message.encode(huge), fresh(huge));
  assert.deepEqual(records.message.encode(message), fresh(message));
});
