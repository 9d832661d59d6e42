import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { ListMessagesRequest } from '../../src/gen/progressdb/v1/message_service.js';
import { MessageViewRecord } from '../../src/gen/progressdb/storage/v1/records.js';
import { Order } from '../../src/gen/progressdb/v1/types.js';
import { Family, keys } from '../../src/storage/index.js';
import { failure, type Api } from '../support/api-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

let server: TestServer;
let alice: Api;
let counter = 0;
/** A thread id no other test uses. */
const fresh = (name: string): string => `${name}-${++counter}`;

/** Thread "twenty": 20 messages m1..m20 at seqs 2..21 (revision 1 is the thread's creation). */
const TWENTY = 'twenty';
const seqOf = (n: number): bigint => BigInt(n + 1);

before(async () => {
  server = await startTestServer();
  alice = server.api('alice');
  await alice.messages.appendMessages({
    threadId: TWENTY,
    createThread: true,
    messages: Array.from({ length: 20 }, (_, i) => ({
      messageId: `m${i + 1}`,
      role: 'user',
      body: { n: i + 1 },
    })),
  });
});
after(() => server.close());

type Anchor = ListMessagesRequest['anchor'];
const beforeSeq = (value: bigint): Anchor => ({ $case: 'beforeSeq', value });
const afterSeq = (value: bigint): Anchor => ({ $case: 'afterSeq', value });
const aroundSeq = (value: bigint): Anchor => ({ $case: 'aroundSeq', value });
const aroundId = (value: string): Anchor => ({ $case: 'aroundMessageId', value });

interface Page {
  seqs: number[];
  before: boolean;
  after: boolean;
}

async function page(
  threadId: string,
  anchor: Anchor,
  pageSize?: number,
  options: { includeDeleted?: boolean; order?: Order } = {},
): Promise<Page> {
  const response = await alice.messages.listMessages({
    threadId,
    anchor,
    ...(pageSize === undefined ? {} : { pageSize }),
    ...options,
  });
  return {
    seqs: response.messages.map((message) => Number(message.seq)),
    before: response.hasMoreBefore,
    after: response.hasMoreAfter,
  };
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

void test('an empty thread: every anchor gives an empty page with nothing before or after', async () => {
  const threadId = fresh('empty');
  await alice.threads.createThread({ threadId });
  const empty = { seqs: [], before: false, after: false };
  for (const anchor of [
    undefined,
    beforeSeq(0n),
    beforeSeq(1n),
    beforeSeq(100n),
    afterSeq(0n),
    afterSeq(1n),
    aroundSeq(0n),
    aroundSeq(1n),
    aroundSeq(5n),
  ]) {
    assert.deepEqual(await page(threadId, anchor), empty, JSON.stringify(anchor, String));
    assert.deepEqual(await page(threadId, anchor, 1), empty);
  }
  const response = await alice.messages.listMessages({ threadId });
  assert.equal(response.threadRevision, 1n);
  const unknown = await failure(
    alice.messages.listMessages({ threadId, anchor: aroundId('nope') }),
  );
  assert.equal(unknown.code, status.NOT_FOUND);
  assert.equal(unknown.reason, 'MESSAGE_NOT_FOUND');
  assert.equal(unknown.metadata.field, 'around_message_id');
});

void test('ListMessages of an unknown or deleted thread is NOT_FOUND THREAD_NOT_FOUND', async () => {
  const missing = await failure(alice.messages.listMessages({ threadId: fresh('missing') }));
  assert.equal(missing.code, status.NOT_FOUND);
  assert.equal(missing.reason, 'THREAD_NOT_FOUND');
  const threadId = fresh('deleted-thread');
  await alice.messages.appendMessage({ threadId, role: 'user', body: 1, createThread: true });
  await alice.threads.deleteThread({ threadId });
  const deleted = await failure(alice.messages.listMessages({ threadId }));
  assert.equal(deleted.reason, 'THREAD_NOT_FOUND');
});

void test('the newest page: all messages by default, the newest page_size otherwise', async () => {
  const all = await alice.messages.listMessages({ threadId: TWENTY });
  assert.deepEqual(
    all.messages.map((message) => message.id),
    range(1, 20).map((n) => `m${n}`),
  );
  assert.equal(all.hasMoreBefore, false);
  assert.equal(all.hasMoreAfter, false);
  assert.equal(all.threadRevision, 21n);
  assert.deepEqual(all.messages[0]?.body, { n: 1 });
  assert.deepEqual(await page(TWENTY, undefined, 5), {
    seqs: range(17, 21),
    before: true,
    after: false,
  });
  assert.deepEqual(await page(TWENTY, undefined, 20), {
    seqs: range(2, 21),
    before: false,
    after: false,
  });
  assert.deepEqual(await page(TWENTY, undefined, 19), {
    seqs: range(3, 21),
    before: true,
    after: false,
  });
});

void test('first and last pages, and anchors at both ends', async () => {
  // First page.
  assert.deepEqual(await page(TWENTY, afterSeq(0n), 5), {
    seqs: range(2, 6),
    before: false,
    after: true,
  });
  assert.deepEqual(await page(TWENTY, afterSeq(1n), 5), {
    seqs: range(2, 6),
    before: false,
    after: true,
  });
  assert.deepEqual(await page(TWENTY, beforeSeq(7n), 5), {
    seqs: range(2, 6),
    before: false,
    after: true,
  });
  // Last page.
  assert.deepEqual(await page(TWENTY, beforeSeq(22n), 5), {
    seqs: range(17, 21),
    before: true,
    after: false,
  });
  assert.deepEqual(await page(TWENTY, beforeSeq(1000n), 5), {
    seqs: range(17, 21),
    before: true,
    after: false,
  });
  assert.deepEqual(await page(TWENTY, afterSeq(16n), 5), {
    seqs: range(17, 21),
    before: true,
    after: false,
  });
  // Past either end.
  assert.deepEqual(await page(TWENTY, beforeSeq(2n), 5), { seqs: [], before: false, after: true });
  assert.deepEqual(await page(TWENTY, beforeSeq(0n), 5), { seqs: [], before: false, after: true });
  assert.deepEqual(await page(TWENTY, afterSeq(21n), 5), { seqs: [], before: true, after: false });
  assert.deepEqual(await page(TWENTY, afterSeq(500n), 5), {
    seqs: [],
    before: true,
    after: false,
  });
  // One message from either end.
  assert.deepEqual(await page(TWENTY, beforeSeq(3n), 5), { seqs: [2], before: false, after: true });
  assert.deepEqual(await page(TWENTY, afterSeq(20n), 5), {
    seqs: [21],
    before: true,
    after: false,
  });
});

void test('before_seq and after_seq in the middle are exclusive', async () => {
  assert.deepEqual(await page(TWENTY, beforeSeq(10n), 3), {
    seqs: [7, 8, 9],
    before: true,
    after: true,
  });
  assert.deepEqual(await page(TWENTY, afterSeq(10n), 3), {
    seqs: [11, 12, 13],
    before: true,
    after: true,
  });
  assert.deepEqual(await page(TWENTY, beforeSeq(10n)), {
    seqs: range(2, 9),
    before: false,
    after: true,
  });
  assert.deepEqual(await page(TWENTY, afterSeq(10n)), {
    seqs: range(11, 21),
    before: true,
    after: false,
  });
});

void test('around_seq and around_message_id centre the page on the anchor (included)', async () => {
  const middle = { seqs: [9, 10, 11, 12, 13], before: true, after: true };
  assert.deepEqual(await page(TWENTY, aroundSeq(11n), 5), middle);
  assert.deepEqual(await page(TWENTY, aroundId('m10'), 5), middle);
  // Even sizes put one more after the anchor (the anchor counts as after).
  assert.deepEqual(await page(TWENTY, aroundSeq(11n), 4), {
    seqs: [9, 10, 11, 12],
    before: true,
    after: true,
  });
  // Around the first message: the page fills up after it.
  const first = { seqs: range(2, 6), before: false, after: true };
  assert.deepEqual(await page(TWENTY, aroundSeq(2n), 5), first);
  assert.deepEqual(await page(TWENTY, aroundId('m1'), 5), first);
  assert.deepEqual(await page(TWENTY, aroundSeq(1n), 5), first);
  assert.deepEqual(await page(TWENTY, aroundSeq(0n), 5), first);
  // Around the last message: the page fills up before it.
  const last = { seqs: range(17, 21), before: true, after: false };
  assert.deepEqual(await page(TWENTY, aroundSeq(21n), 5), last);
  assert.deepEqual(await page(TWENTY, aroundId('m20'), 5), last);
  assert.deepEqual(await page(TWENTY, aroundSeq(22n), 5), last);
  assert.deepEqual(await page(TWENTY, aroundSeq(1000n), 5), last);
  // Near the ends.
  assert.deepEqual(await page(TWENTY, aroundSeq(3n), 5), first);
  assert.deepEqual(await page(TWENTY, aroundSeq(20n), 5), last);
  // A page bigger than the thread holds it all.
  const all = { seqs: range(2, 21), before: false, after: false };
  assert.deepEqual(await page(TWENTY, aroundSeq(11n), 50), all);
  assert.deepEqual(await page(TWENTY, aroundId('m1'), 20), all);
  assert.deepEqual(await page(TWENTY, aroundId('m20'), 20), all);
});

void test('page_size 1 at every kind of anchor', async () => {
  assert.deepEqual(await page(TWENTY, undefined, 1), { seqs: [21], before: true, after: false });
  assert.deepEqual(await page(TWENTY, afterSeq(0n), 1), { seqs: [2], before: false, after: true });
  assert.deepEqual(await page(TWENTY, beforeSeq(22n), 1), {
    seqs: [21],
    before: true,
    after: false,
  });
  assert.deepEqual(await page(TWENTY, aroundSeq(11n), 1), {
    seqs: [11],
    before: true,
    after: true,
  });
  assert.deepEqual(await page(TWENTY, aroundId('m1'), 1), {
    seqs: [2],
    before: false,
    after: true,
  });
  assert.deepEqual(await page(TWENTY, aroundId('m20'), 1), {
    seqs: [21],
    before: true,
    after: false,
  });
  assert.deepEqual(await page(TWENTY, aroundSeq(1000n), 1), {
    seqs: [21],
    before: true,
    after: false,
  });
});

void test('scrolling the whole thread page by page, backward and forward', async () => {
  for (const size of [1, 3, 7, 20]) {
    const backward: number[] = [];
    let anchor: Anchor = undefined;
    for (let guard = 0; guard < 30; guard++) {
      const current = await page(TWENTY, anchor, size);
      backward.unshift(...current.seqs);
      if (!current.before) break;
      anchor = beforeSeq(BigInt(current.seqs[0]!));
    }
    assert.deepEqual(backward, range(2, 21), `backward by ${size}`);
    const forward: number[] = [];
    anchor = afterSeq(0n);
    for (let guard = 0; guard < 30; guard++) {
      const current = await page(TWENTY, anchor, size);
      forward.push(...current.seqs);
      if (!current.after) break;
      anchor = afterSeq(BigInt(current.seqs[current.seqs.length - 1]!));
    }
    assert.deepEqual(forward, range(2, 21), `forward by ${size}`);
  }
});

void test('ORDER_DESC reverses the page; the flags stay the same', async () => {
  const desc = { order: Order.ORDER_DESC };
  assert.deepEqual(await page(TWENTY, undefined, 5, desc), {
    seqs: [21, 20, 19, 18, 17],
    before: true,
    after: false,
  });
  assert.deepEqual(await page(TWENTY, aroundSeq(11n), 5, desc), {
    seqs: [13, 12, 11, 10, 9],
    before: true,
    after: true,
  });
  assert.deepEqual(await page(TWENTY, afterSeq(0n), 3, desc), {
    seqs: [4, 3, 2],
    before: false,
    after: true,
  });
  assert.deepEqual(await page(TWENTY, undefined, 5, { order: Order.ORDER_ASC }), {
    seqs: [17, 18, 19, 20, 21],
    before: true,
    after: false,
  });
});

/** The reference model of a page: `live` is the ascending seqs a reader may see. */
function expectedPage(live: number[], anchor: Anchor, size: number): Page {
  let chosen: number[];
  let pivot: number;
  switch (anchor?.$case) {
    case undefined:
      pivot = Infinity;
      chosen = live.slice(-size);
      break;
    case 'beforeSeq':
      pivot = Number(anchor.value);
      chosen = live.filter((seq) => seq < pivot).slice(-size);
      break;
    case 'afterSeq':
      pivot = Number(anchor.value) + 1;
      chosen = live.filter((seq) => seq >= pivot).slice(0, size);
      break;
    case 'aroundSeq': {
      pivot = Number(anchor.value);
      const older = live.filter((seq) => seq < pivot);
      const newer = live.filter((seq) => seq >= pivot);
      let take = Math.min(Math.floor(size / 2), older.length);
      const takeNewer = Math.min(size - take, newer.length);
      take = Math.min(size - takeNewer, older.length);
      chosen = [...older.slice(older.length - take), ...newer.slice(0, takeNewer)];
      break;
    }
    default:
      throw new Error('not modelled');
  }
  const first = chosen[0] ?? pivot;
  const last = chosen[chosen.length - 1] ?? pivot - 1;
  return {
    seqs: chosen,
    before: live.some((seq) => seq < first),
    after: live.some((seq) => seq > last),
  };
}

void test('deleted messages are skipped (and shown with include_deleted), flags counting live ones', async () => {
  const threadId = fresh('holes');
  await alice.messages.appendMessages({
    threadId,
    createThread: true,
    messages: range(1, 10).map((n) => ({ messageId: `m${n}`, role: 'user', body: n })),
  });
  // Seqs 2..11; delete the first, one in the middle and the last.
  for (const id of ['m1', 'm5', 'm10']) {
    await alice.messages.deleteMessage({ threadId, messageId: id });
  }
  assert.deepEqual(await page(threadId, undefined), {
    seqs: [3, 4, 5, 7, 8, 9, 10],
    before: false,
    after: false,
  });
  assert.deepEqual(await page(threadId, undefined, 3), {
    seqs: [8, 9, 10],
    before: true,
    after: false,
  });
  assert.deepEqual(await page(threadId, afterSeq(0n), 3), {
    seqs: [3, 4, 5],
    before: false,
    after: true,
  });
  assert.deepEqual(await page(threadId, aroundSeq(6n), 3), {
    seqs: [5, 7, 8],
    before: true,
    after: true,
  });
  assert.deepEqual(await page(threadId, afterSeq(10n), 3), {
    seqs: [],
    before: true,
    after: false,
  });
  assert.deepEqual(await page(threadId, beforeSeq(3n), 3), {
    seqs: [],
    before: false,
    after: true,
  });
  const all = await alice.messages.listMessages({ threadId, includeDeleted: true });
  assert.deepEqual(
    all.messages.map((message) => [Number(message.seq), message.deleted, message.body as unknown]),
    range(2, 11).map((seq) => {
      const deleted = [2, 6, 11].includes(seq);
      return [seq, deleted, deleted ? undefined : seq - 1];
    }),
  );
  assert.deepEqual(await page(threadId, undefined, 3, { includeDeleted: true }), {
    seqs: [9, 10, 11],
    before: true,
    after: false,
  });
  assert.deepEqual(await page(threadId, afterSeq(0n), 3, { includeDeleted: true }), {
    seqs: [2, 3, 4],
    before: false,
    after: true,
  });
});

void test('has_more_before/after match a reference model for every anchor and page size', async () => {
  const threadId = fresh('model');
  await alice.messages.appendMessages({
    threadId,
    createThread: true,
    messages: range(1, 12).map((n) => ({ messageId: `m${n}`, role: 'user', body: n })),
  });
  // Seqs 2..13; holes at both ends and a run in the middle.
  const deleted = [2, 3, 7, 8, 9, 13];
  for (const seq of deleted) {
    await alice.messages.deleteMessage({ threadId, messageId: `m${seq - 1}` });
  }
  const everything = range(2, 13);
  const live = everything.filter((seq) => !deleted.includes(seq));
  const anchors: Anchor[] = [undefined];
  for (let seq = 0n; seq <= 15n; seq++) anchors.push(beforeSeq(seq), afterSeq(seq), aroundSeq(seq));
  const checks: Promise<void>[] = [];
  for (const includeDeleted of [false, true]) {
    const visible = includeDeleted ? everything : live;
    for (const anchor of anchors) {
      for (const size of [1, 2, 3, 4, 5, 12, 1000]) {
        const label = `${JSON.stringify(anchor, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))} size ${size} includeDeleted ${includeDeleted}`;
        checks.push(
          page(threadId, anchor, size, { includeDeleted }).then((actual) => {
            assert.deepEqual(actual, expectedPage(visible, anchor, size), label);
          }),
        );
      }
    }
  }
  await Promise.all(checks);
  // around_message_id agrees with around_seq of the message's seq.
  for (const n of [1, 4, 6, 10, 11]) {
    for (const size of [1, 3, 4]) {
      assert.deepEqual(
        await page(threadId, aroundId(`m${n}`), size),
        expectedPage(live, aroundSeq(seqOf(n)), size),
        `around m${n} size ${size}`,
      );
    }
  }
});

void test('long runs of deleted messages are skipped in both directions', async () => {
  const threadId = fresh('long-holes');
  await alice.messages.appendMessages({
    threadId,
    createThread: true,
    messages: range(1, 150).map((n) => ({ messageId: `m${n}`, role: 'user', body: n })),
  });
  // Seqs 2..151; delete m11..m140 (seqs 12..141): 130 in a row.
  await Promise.all(
    range(11, 140).map((n) => alice.messages.deleteMessage({ threadId, messageId: `m${n}` })),
  );
  assert.deepEqual(await page(threadId, afterSeq(8n), 5), {
    seqs: [9, 10, 11, 142, 143],
    before: true,
    after: true,
  });
  assert.deepEqual(await page(threadId, beforeSeq(145n), 5), {
    seqs: [10, 11, 142, 143, 144],
    before: true,
    after: true,
  });
  assert.deepEqual(await page(threadId, aroundSeq(80n), 4), {
    seqs: [10, 11, 142, 143],
    before: true,
    after: true,
  });
  assert.deepEqual(await page(threadId, afterSeq(11n), 3), {
    seqs: [142, 143, 144],
    before: true,
    after: true,
  });
  assert.deepEqual(await page(threadId, beforeSeq(142n), 3), {
    seqs: [9, 10, 11],
    before: true,
    after: true,
  });
  const all = await page(threadId, undefined, 1000);
  assert.deepEqual(all, {
    seqs: [...range(2, 11), ...range(142, 151)],
    before: false,
    after: false,
  });
  const withDeleted = await page(threadId, undefined, 1000, { includeDeleted: true });
  assert.deepEqual(withDeleted, { seqs: range(2, 151), before: false, after: false });
});

void test('page_size 1000 over more than 1000 messages (appended with AppendMessages)', async () => {
  const threadId = fresh('big');
  const batch = (from: number, count: number) =>
    range(from, from + count - 1).map((n) => ({ messageId: `m${n}`, role: 'user', body: n }));
  const first = await alice.messages.appendMessages({
    threadId,
    createThread: true,
    messages: batch(1, 1000),
  });
  assert.equal(first.messages.length, 1000);
  assert.equal(first.revision, 1001n);
  await alice.messages.appendMessages({ threadId, messages: batch(1001, 100) });
  // Seqs 2..1101.
  assert.deepEqual(await page(threadId, undefined, 1000), {
    seqs: range(102, 1101),
    before: true,
    after: false,
  });
  assert.deepEqual(await page(threadId, afterSeq(0n), 1000), {
    seqs: range(2, 1001),
    before: false,
    after: true,
  });
  assert.deepEqual(await page(threadId, aroundSeq(600n), 1000), {
    seqs: range(100, 1099),
    before: true,
    after: true,
  });
  assert.deepEqual(await page(threadId, aroundId('m1100'), 1000), {
    seqs: range(102, 1101),
    before: true,
    after: false,
  });
  assert.deepEqual(await page(threadId, beforeSeq(1002n), 1000), {
    seqs: range(2, 1001),
    before: false,
    after: true,
  });
  const byDefault = await alice.messages.listMessages({ threadId });
  assert.equal(byDefault.messages.length, 50);
  assert.equal(byDefault.messages[0]?.seq, 1052n);
  const thread = await alice.threads.getThread({ threadId });
  assert.equal(thread.thread?.messageCount, 1100n);
  for (const pageSize of [0, 1001]) {
    const error = await failure(alice.messages.listMessages({ threadId, pageSize }));
    assert.equal(error.code, status.INVALID_ARGUMENT);
    assert.equal(error.reason, 'INVALID_FIELD');
    assert.equal(error.metadata.field, 'page_size');
  }
});

void test('a page read again shows every change since (the read caches never serve a stale message)', async () => {
  const threadId = fresh('changes');
  const bob = server.api('bob');
  await alice.messages.appendMessages({
    threadId,
    createThread: true,
    messages: [
      { messageId: 'a', role: 'user', body: 'first' },
      { messageId: 'b', role: 'user', body: 'second' },
    ],
  });
  await alice.threads.addMembers({ threadId, userIds: ['bob'] });
  const read = async (api: Api) => {
    const response = await api.messages.listMessages({ threadId, includeDeleted: true });
    return response.messages.map((m) => ({
      id: m.id,
      body: m.body as unknown,
      version: m.version,
      deleted: m.deleted,
      replies: m.replyCount,
      reactions: m.reactions.map((r) => `${r.reaction}:${r.count}:${r.me}`),
    }));
  };
  // Warm every cache, as alice and as bob.
  assert.deepEqual(
    (await read(alice)).map((m) => m.body),
    ['first', 'second'],
  );
  assert.deepEqual(
    (await read(bob)).map((m) => m.body),
    ['first', 'second'],
  );

  await alice.messages.editMessage({ threadId, messageId: 'a', body: 'first, edited' });
  await bob.messages.addReaction({ threadId, messageId: 'b', reaction: 'ok' });
  await bob.messages.appendMessage({
    threadId,
    messageId: 'c',
    role: 'user',
    body: 'reply',
    replyToId: 'a',
  });
  const expected = (me: boolean) => [
    { id: 'a', body: 'first, edited', version: 2, deleted: false, replies: 1, reactions: [] },
    { id: 'b', body: 'second', version: 1, deleted: false, replies: 0, reactions: [`ok:1:${me}`] },
    { id: 'c', body: 'reply', version: 1, deleted: false, replies: 0, reactions: [] },
  ];
  assert.deepEqual(await read(alice), expected(false));
  assert.deepEqual(await read(bob), expected(true));

  await alice.messages.deleteMessage({ threadId, messageId: 'a' });
  await bob.messages.removeReaction({ threadId, messageId: 'b', reaction: 'ok' });
  const [a, b] = await read(alice);
  assert.equal(a?.deleted, true);
  assert.equal(a?.version, 3);
  assert.deepEqual(b?.reactions, []);
  assert.deepEqual(
    (await alice.messages.listMessages({ threadId })).messages.map((m) => m.id),
    ['b', 'c'],
  );
});

/**
 * Writes the scroll-back row of `from` again at seq `to` (changed by `change`), through a
 * maintenance job: a row the thread's record and log know nothing of.
 */
async function copyTailRow(
  threadId: string,
  from: bigint,
  to: bigint,
  change: (message: NonNullable<MessageViewRecord['message']>) => void,
): Promise<void> {
  await server.app.log.runJob((tx) => {
    const numberBytes = tx.get(Family.indexes, keys.threadIdIndexKey(threadId));
    assert.ok(numberBytes);
    const number = keys.readU64(numberBytes);
    const stored = tx.get(Family.tails, keys.tailKey(number, from));
    assert.ok(stored);
    const view = MessageViewRecord.decode(stored);
    assert.ok(view.message);
    view.message.seq = to;
    change(view.message);
    tx.put(
      Family.tails,
      keys.tailKey(number, to),
      Buffer.from(MessageViewRecord.encode(view).finish()),
    );
  });
}

test('a page never goes past the thread revision it reports, whatever tails holds beyond it', async () => {
  // A commit can reach RocksDB between the read of the thread head and the scan of its page. Here
  // that row is put there for good: a scroll-back row one seq past the head, which the thread
  // record does not count (a maintenance job writes it without an event).
  const threadId = fresh('bounded');
  await alice.messages.appendMessages({
    threadId,
    createThread: true,
    messages: ['one', 'two', 'three'].map((body, i) => ({
      messageId: `b${i}`,
      role: 'user',
      body,
    })),
  });
  const head = 4n; // the creation, then three messages at seqs 2..4
  await copyTailRow(threadId, head, head + 1n, () => undefined);

  const newest = await alice.messages.listMessages({ threadId, pageSize: 10 });
  assert.deepEqual(
    newest.messages.map((m) => Number(m.seq)),
    [2, 3, 4],
  );
  assert.equal(newest.threadRevision, head);
  assert.equal(newest.hasMoreAfter, false);
  assert.deepEqual(await page(threadId, afterSeq(2n), 10), {
    seqs: [3, 4],
    before: true,
    after: false,
  });
  assert.deepEqual(await page(threadId, afterSeq(3n), 1), {
    seqs: [4],
    before: true,
    after: false,
  });
  assert.deepEqual(await page(threadId, aroundSeq(head), 4), {
    seqs: [2, 3, 4],
    before: false,
    after: false,
  });
  assert.deepEqual(await page(threadId, beforeSeq(head + 2n), 10), {
    seqs: [2, 3, 4],
    before: false,
    after: false,
  });
});

test('a row that does not open just outside a page does not fail the page', async () => {
  // has_more is answered by one row read past the page: it is counted, never opened.
  const threadId = fresh('neighbor');
  await alice.messages.appendMessages({
    threadId,
    createThread: true,
    messages: ['one', 'two', 'three'].map((body, i) => ({
      messageId: `n${i}`,
      role: 'user',
      body,
    })),
  });
  // Seq 3 gets the sealed body of seq 2 under another message id: bound to n0, it opens as n1 no more.
  await copyTailRow(threadId, 2n, 3n, (message) => {
    message.id = 'n1';
  });

  assert.deepEqual(await page(threadId, undefined, 1), {
    seqs: [4],
    before: true,
    after: false,
  });
  assert.deepEqual(await page(threadId, afterSeq(0n), 1), {
    seqs: [2],
    before: false,
    after: true,
  });
  const inside = await failure(page(threadId, beforeSeq(4n), 1));
  assert.deepEqual([inside.code, inside.reason], [status.DATA_LOSS, 'DECRYPT_FAILED']);
});
