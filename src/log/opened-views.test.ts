import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { DataKey } from '../crypto/index.js';
import { OpenedMessages, sealMessage } from './message-sealing.js';
import { OpenedViews, peekViewSeq } from './opened-views.js';
import { records, type MessageRecord, type MessageViewRecord } from './record-codec.js';

const key: DataKey = { id: 'dk-1', bytes: randomBytes(32) };

function message(seq: bigint, text: string, id = `m-${seq}`): MessageRecord {
  return {
    id,
    seq,
    version: 1,
    authorId: 'alice',
    role: 'user',
    body: Buffer.from(text),
    metadata: { k: 'v' },
    replyToId: '',
    deleted: false,
    pruned: false,
    createdAtMs: 1_700_000_000_000n,
    updatedAtMs: 1_700_000_000_000n,
  };
}

/** A stored tails row: the view with its message sealed under `key`. */
function stored(view: MessageViewRecord): Buffer {
  const sealed = view.message ? sealMessage('t-1', view.message, key) : undefined;
  return records.messageView.encode({ ...view, message: sealed });
}

test('peekViewSeq reads the seq of any view without decoding it', () => {
  const seqs = [0n, 1n, 127n, 128n, 300n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 64n - 1n];
  for (const seq of seqs) {
    for (const reactions of [[], [{ reaction: 'ok', userIds: ['bob'] }]]) {
      const view = {
        message: message(seq, 'x'.repeat(300), 'i'.repeat(200)),
        reactions,
        replyCount: 3,
      };
      const bytes = records.messageView.encode(view);
      assert.equal(peekViewSeq(bytes) ?? 0n, records.messageView.decode(bytes).message?.seq);
      assert.equal(peekViewSeq(bytes), seq === 0n ? undefined : seq, `seq ${seq}`);
    }
  }
  // Fields in any order: reactions before the message, seq before the id.
  const reordered = Buffer.concat([
    Buffer.from([0x12, 0x04, 0x0a, 0x02, 0x6f, 0x6b]),
    Buffer.from([0x0a, 0x07, 0x10, 0xac, 0x02, 0x0a, 0x02, 0x6d, 0x31]),
  ]);
  assert.equal(records.messageView.decode(reordered).message?.seq, 300n);
  assert.equal(peekViewSeq(reordered), 300n);
});

test('peekViewSeq answers undefined for malformed or truncated bytes, never throws', () => {
  const bytes = records.messageView.encode({
    message: message(300n, 'hello'),
    reactions: [],
    replyCount: 0,
  });
  for (let cut = 0; cut < 6; cut++) assert.equal(peekViewSeq(bytes.subarray(0, cut)), undefined);
  assert.equal(peekViewSeq(Buffer.from([0x0a, 0x7f, 0x10])), undefined, 'length past the end');
  assert.equal(peekViewSeq(Buffer.from([0x0f, 0x01])), undefined, 'unknown wire type');
  assert.equal(peekViewSeq(Buffer.from([0x0a, 0x02, 0x10, 0xff])), undefined, 'varint cut short');
  assert.equal(peekViewSeq(Buffer.alloc(12, 0xff)), undefined);
});

test('a view is decoded and opened once while its stored row is unchanged', () => {
  const views = new OpenedViews(100, new OpenedMessages(100));
  const row = stored({ message: message(7n, 'hello'), reactions: [], replyCount: 0 });
  const first = views.open(1n, 't-1', row, key);
  assert.equal(first.message?.body.toString(), 'hello');
  assert.deepEqual(first.message?.metadata, { k: 'v' });
  // The same bytes in another buffer (every scan returns fresh buffers): the same object.
  assert.equal(views.open(1n, 't-1', Buffer.from(row), key), first);
  // Another thread number with the same seq is another entry.
  assert.notEqual(views.open(2n, 't-1', Buffer.from(row), key), first);
});

test('a changed row (edit, reaction, reply, delete) is read afresh, never served stale', () => {
  const views = new OpenedViews(100, new OpenedMessages(100));
  const base = { message: message(7n, 'hello'), reactions: [], replyCount: 0 };
  const before = views.open(1n, 't-1', stored(base), key);
  const changes: MessageViewRecord[] = [
    { ...base, message: { ...message(7n, 'edited'), version: 2 } },
    { ...base, reactions: [{ reaction: 'ok', userIds: ['bob'] }] },
    { ...base, replyCount: 1 },
    { ...base, message: { ...message(7n, ''), version: 3, deleted: true } },
  ];
  let previous = before;
  for (const change of changes) {
    const after = views.open(1n, 't-1', stored(change), key);
    assert.notEqual(after, previous);
    assert.deepEqual(
      { ...after, message: { ...after.message, body: after.message?.body.toString() } },
      {
        ...change,
        message: { ...change.message, body: change.message?.body.toString() },
      },
    );
    previous = after;
  }
});

test('the cache is bounded, least recently used first, and a purge forgets its thread', () => {
  const views = new OpenedViews(2, new OpenedMessages(100));
  const row = (seq: bigint) =>
    stored({ message: message(seq, `m${seq}`), reactions: [], replyCount: 0 });
  const rows = [row(1n), row(2n), row(3n)];
  const one = views.open(1n, 't-1', rows[0] as Buffer, key);
  const two = views.open(1n, 't-1', rows[1] as Buffer, key);
  assert.equal(
    views.open(1n, 't-1', rows[0] as Buffer, key),
    one,
    'seq 1 used again: now the newest',
  );
  views.open(1n, 't-1', rows[2] as Buffer, key);
  assert.notEqual(views.open(1n, 't-1', rows[1] as Buffer, key), two, 'seq 2 was evicted');
  const kept = views.open(1n, 't-1', rows[1] as Buffer, key);
  views.forgetThread(1n);
  assert.notEqual(views.open(1n, 't-1', rows[1] as Buffer, key), kept, 'forgotten on purge');
});

test('a row that is not a view is refused as corrupt, not cached', () => {
  const views = new OpenedViews(10, new OpenedMessages(10));
  assert.throws(
    () => views.open(1n, 't-1', Buffer.from([0x0a, 0x7f]), key),
    /could not be decoded/,
  );
});

test('the cache also keeps to a byte budget: large rows push out old ones', () => {
  const row = (seq: bigint) =>
    stored({ message: message(seq, 'x'.repeat(1_000)), reactions: [], replyCount: 0 });
  const budget = row(1n).length * 2;
  const views = new OpenedViews(100, new OpenedMessages(100), budget);
  const one = views.open(1n, 't-1', row(1n), key);
  const two = views.open(1n, 't-1', row(2n), key);
  views.open(1n, 't-1', row(3n), key);
  assert.notEqual(views.open(1n, 't-1', row(1n), key), one, 'seq 1 went over the budget');
  assert.notEqual(views.open(1n, 't-1', row(2n), key), two, 'and seq 2 after it');
  assert.equal(views.countThread(1n), 2);
});
