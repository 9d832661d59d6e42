import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, TEST_KEYS, type TestServer } from '../../test/support/test-server.js';
import { createClient, NotFoundError, type Message, type ProgressDBClient } from '../src/index.js';
import { rejection } from './support/rejection.js';

let server: TestServer;
let alice: ProgressDBClient;

before(async () => {
  server = await startTestServer();
  alice = createClient({ address: server.address, apiKey: TEST_KEYS.backend, userId: 'alice' });
});

after(async () => {
  alice.close();
  await server.close();
});

/** Appends `count` messages with bodies `{ n: 1 }`, `{ n: 2 }`, … to a new thread. */
async function thread(threadId: string, count: number): Promise<Message[]> {
  const { messages } = await alice.messages.appendMany({
    threadId,
    messages: Array.from({ length: count }, (_, i) => ({ role: 'user', body: { n: i + 1 } })),
  });
  return messages;
}

const bodies = (messages: readonly Message[]) => messages.map((m) => (m.body as { n: number }).n);

test('list: the newest page, anchors, order and deleted messages', async () => {
  const messages = await thread('list-thread', 10);
  const newest = await alice.messages.list({ threadId: 'list-thread', pageSize: 3 });
  assert.deepEqual(bodies(newest.messages), [8, 9, 10]);
  assert.equal(newest.hasMoreBefore, true);
  assert.equal(newest.hasMoreAfter, false);
  assert.equal(newest.threadRevision, 11n);

  const fifth = messages[4];
  assert.ok(fifth);
  const before = await alice.messages.list({
    threadId: 'list-thread',
    pageSize: 3,
    beforeSeq: fifth.seq,
  });
  assert.deepEqual(bodies(before.messages), [2, 3, 4]);
  const afterSeq = await alice.messages.list({ threadId: 'list-thread', pageSize: 2, afterSeq: 0 });
  assert.deepEqual(bodies(afterSeq.messages), [1, 2]);
  assert.equal(afterSeq.hasMoreAfter, true);
  const around = await alice.messages.list({
    threadId: 'list-thread',
    pageSize: 3,
    aroundMessageId: fifth.id,
  });
  assert.ok(bodies(around.messages).includes(5));
  const aroundSeq = await alice.messages.list({
    threadId: 'list-thread',
    pageSize: 1,
    aroundSeq: String(fifth.seq),
  });
  assert.deepEqual(bodies(aroundSeq.messages), [5]);
  const desc = await alice.messages.list({ threadId: 'list-thread', pageSize: 3, order: 'desc' });
  assert.deepEqual(bodies(desc.messages), [10, 9, 8]);

  await alice.messages.delete({ threadId: 'list-thread', messageId: messages[9]?.id ?? '' });
  const live = await alice.messages.list({ threadId: 'list-thread', pageSize: 2 });
  assert.deepEqual(bodies(live.messages), [8, 9]);
  const all = await alice.messages.list({
    threadId: 'list-thread',
    pageSize: 2,
    includeDeleted: true,
  });
  assert.deepEqual(
    all.messages.map((m) => m.deleted),
    [false, true],
  );
  await rejection(
    alice.messages.list({ threadId: 'list-thread', beforeSeq: 3, afterSeq: 1 }),
    TypeError,
  );
});

test('pages: backward from the newest page, forward from the oldest, and from a seq', async () => {
  await thread('pages-thread', 7);
  const backward: number[][] = [];
  for await (const page of alice.messages.pages('pages-thread', { pageSize: 3 })) {
    backward.push(bodies(page.messages));
  }
  assert.deepEqual(backward, [[5, 6, 7], [2, 3, 4], [1]]);

  const forward: number[][] = [];
  for await (const page of alice.messages.pages('pages-thread', {
    direction: 'forward',
    pageSize: 3,
  })) {
    forward.push(bodies(page.messages));
  }
  assert.deepEqual(forward, [[1, 2, 3], [4, 5, 6], [7]]);

  const fromSeq: number[][] = [];
  // Message n has seq n + 1 (the thread was created at revision 1).
  for await (const page of alice.messages.pages('pages-thread', { pageSize: 2, beforeSeq: 5n })) {
    fromSeq.push(bodies(page.messages));
  }
  assert.deepEqual(fromSeq, [[2, 3], [1]]);

  let fetched = 0;
  for await (const page of alice.messages.pages('pages-thread', { pageSize: 1 })) {
    fetched += page.messages.length;
    if (fetched === 2) break;
  }
  assert.equal(fetched, 2, 'a break stops fetching');

  await alice.threads.create({ threadId: 'pages-empty' });
  const empty = [];
  for await (const page of alice.messages.pages('pages-empty', { pageSize: 3 })) empty.push(page);
  assert.deepEqual(empty, [], 'no messages: no pages');
  const absent = alice.messages.pages('pages-absent')[Symbol.asyncIterator]();
  await rejection(absent.next(), NotFoundError);
});

test('events: the raw log forward and backward, with limits', async () => {
  await thread('events-thread', 4);
  const all = await alice.messages.events({ threadId: 'events-thread' });
  assert.deepEqual(
    all.events.map((e) => [e.revision, e.payload?.$case]),
    [
      [1n, 'threadCreated'],
      [2n, 'messageCreated'],
      [3n, 'messageCreated'],
      [4n, 'messageCreated'],
      [5n, 'messageCreated'],
    ],
  );
  assert.equal(all.hasMore, false);
  assert.equal(all.headRevision, 5n);

  const after = await alice.messages.events({
    threadId: 'events-thread',
    afterRevision: 2,
    limit: 2,
  });
  assert.deepEqual(
    after.events.map((e) => e.revision),
    [3n, 4n],
  );
  assert.equal(after.hasMore, true);
  const back = await alice.messages.events({
    threadId: 'events-thread',
    direction: 'backward',
    limit: 2,
  });
  assert.deepEqual(
    back.events.map((e) => e.revision),
    [5n, 4n],
  );
  const before = await alice.messages.events({
    threadId: 'events-thread',
    direction: 'backward',
    beforeRevision: '3',
  });
  assert.deepEqual(
    before.events.map((e) => e.revision),
    [2n, 1n],
  );
});
