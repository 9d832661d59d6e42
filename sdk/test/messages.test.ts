import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, TEST_KEYS, type TestServer } from '../../test/support/test-server.js';
import {
  createClient,
  NotFoundError,
  RevisionConflictError,
  type Message,
  type ProgressDBClient,
} from '../src/index.js';
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

test('append creates the thread by default and returns { message, revision }', async () => {
  const { message, revision } = await alice.messages.append({
    threadId: 'append-new',
    role: 'assistant',
    body: { text: 'hello', parts: [1, true, null] },
    metadata: { model: 'x' },
  });
  assert.equal(revision, 2n, 'thread created at 1, message at 2');
  assert.equal(message.seq, 2n);
  assert.equal(message.threadId, 'append-new');
  assert.equal(message.authorId, 'alice');
  assert.equal(message.role, 'assistant');
  assert.deepEqual(message.body, { text: 'hello', parts: [1, true, null] });
  assert.deepEqual(message.metadata, { model: 'x' });
  assert.equal(message.version, 1);
  assert.match(message.id, /.+/);

  await rejection(
    alice.messages.append({ threadId: 'append-absent', body: 'x', createThread: false }),
    NotFoundError,
  );
});

test('append: authorId, replyToId, a chosen message id, and every body shape', async () => {
  const first = await alice.messages.append({ threadId: 'append-fields', body: 'a string' });
  const reply = await alice.messages.append({
    threadId: 'append-fields',
    messageId: 'chosen-id',
    authorId: 'bob',
    body: 42,
    replyToId: first.message.id,
  });
  assert.equal(reply.message.id, 'chosen-id');
  assert.equal(reply.message.authorId, 'bob');
  assert.equal(reply.message.replyToId, first.message.id);
  assert.equal(reply.message.body, 42);
  const parent = await alice.messages.get({
    threadId: 'append-fields',
    messageId: first.message.id,
  });
  assert.equal(parent.replyCount, 1);
  for (const body of [null, false, [1, 'two'], { nested: { deep: [{}] } }]) {
    const { message } = await alice.messages.append({ threadId: 'append-fields', body });
    assert.deepEqual(message.body, body);
  }
});

test('append: expectedRevision exact (bigint, number, string) and no_thread', async () => {
  const created = await alice.messages.append({
    threadId: 'append-expect',
    body: 1,
    expectedRevision: 'no_thread',
  });
  assert.equal(created.revision, 2n);
  const conflict = await rejection(
    alice.messages.append({ threadId: 'append-expect', body: 2, expectedRevision: 'no_thread' }),
    RevisionConflictError,
  );
  assert.equal(conflict.expected, 'no_thread');
  assert.equal(conflict.actual, 2n);

  const second = await alice.messages.append({
    threadId: 'append-expect',
    body: 2,
    expectedRevision: 2n,
  });
  const third = await alice.messages.append({
    threadId: 'append-expect',
    body: 3,
    expectedRevision: Number(second.revision),
  });
  const fourth = await alice.messages.append({
    threadId: 'append-expect',
    body: 4,
    expectedRevision: String(third.revision),
  });
  assert.equal(fourth.revision, 5n);

  const stale = await rejection(
    alice.messages.append({ threadId: 'append-expect', body: 5, expectedRevision: 3 }),
    RevisionConflictError,
  );
  assert.equal(stale.expected, 3n);
  assert.equal(stale.actual, 5n);
  await rejection(
    alice.messages.append({ threadId: 'append-expect', body: 5, expectedRevision: 1.5 }),
    RangeError,
  );
  await rejection(
    alice.messages.append({ threadId: 'append-expect', body: 5, expectedRevision: 'latest' }),
    RangeError,
  );
});

test('append: the same request id twice appends once and returns the original', async () => {
  const input = { threadId: 'append-idem', body: 'once', requestId: 'req-1' };
  const first = await alice.messages.append(input);
  const again = await alice.messages.append(input);
  assert.deepEqual(again, first);
  const page = await alice.messages.list({ threadId: 'append-idem' });
  assert.equal(page.messages.length, 1);
});

test('appendMany: all at consecutive revisions, with a condition, and idempotent', async () => {
  const input = {
    threadId: 'append-many',
    messages: [
      { body: 'a', role: 'user' },
      { body: 'b', role: 'assistant', messageId: 'b-id', metadata: { k: 'v' } },
    ],
    expectedRevision: 'no_thread' as const,
    requestId: 'batch-1',
  };
  const { messages, revision } = await alice.messages.appendMany(input);
  assert.equal(revision, 3n);
  assert.deepEqual(
    messages.map((m) => [m.seq, m.body, m.role]),
    [
      [2n, 'a', 'user'],
      [3n, 'b', 'assistant'],
    ],
  );
  assert.equal(messages[1]?.id, 'b-id');
  assert.deepEqual((await alice.messages.appendMany(input)).messages, messages);
  await rejection(
    alice.messages.appendMany({ ...input, requestId: 'batch-2', expectedRevision: 1n }),
    RevisionConflictError,
  );
});

test('get: the latest version; a deleted message only with includeDeleted', async () => {
  const [one] = await thread('get-thread', 1);
  assert.ok(one);
  const got = await alice.messages.get({ threadId: 'get-thread', messageId: one.id });
  assert.deepEqual(got.body, { n: 1 });
  await alice.messages.delete({ threadId: 'get-thread', messageId: one.id });
  const missing = await rejection(
    alice.messages.get({ threadId: 'get-thread', messageId: one.id }),
    NotFoundError,
  );
  assert.equal(missing.reason, 'MESSAGE_NOT_FOUND');
  const deleted = await alice.messages.get({
    threadId: 'get-thread',
    messageId: one.id,
    includeDeleted: true,
  });
  assert.equal(deleted.deleted, true);
});

test('edit and delete: new versions, expectedVersion, and versions() oldest first', async () => {
  const [one] = await thread('edit-thread', 1);
  assert.ok(one);
  const ref = { threadId: 'edit-thread', messageId: one.id };
  const edited = await alice.messages.edit({ ...ref, body: { n: 100 }, expectedVersion: 1 });
  assert.equal(edited.version, 2);
  assert.deepEqual(edited.body, { n: 100 });
  const tagged = await alice.messages.edit({ ...ref, metadata: { edited: 'yes' } });
  assert.deepEqual(tagged.metadata, { edited: 'yes' });
  assert.deepEqual(tagged.body, { n: 100 }, 'body left unchanged');

  const conflict = await rejection(
    alice.messages.edit({ ...ref, body: 'late', expectedVersion: 1 }),
    RevisionConflictError,
  );
  assert.equal(conflict.actual, 3n);
  await rejection(alice.messages.delete({ ...ref, expectedVersion: 2 }), RevisionConflictError);
  const deleted = await alice.messages.delete({ ...ref, expectedVersion: 3 });
  assert.equal(deleted.deleted, true);
  assert.equal(deleted.version, 4);

  const versions = await alice.messages.versions(ref);
  assert.deepEqual(
    versions.map((v) => v.version),
    [1, 2, 3, 4],
  );
  assert.deepEqual(versions[0]?.body, { n: 1 });
});

test('react and unreact: counted once per user, me for the caller', async () => {
  const [one] = await thread('react-thread', 1);
  assert.ok(one);
  const ref = { threadId: 'react-thread', messageId: one.id };
  await alice.messages.react({ ...ref, reaction: '👍' });
  const twice = await alice.messages.react({ ...ref, reaction: '👍' });
  assert.deepEqual(twice.reactions, [{ reaction: '👍', count: 1, me: true }]);
  const bob = await alice.messages.react(
    { ...ref, reaction: '👍' },
    { metadata: { 'x-user-id': 'bob' } },
  );
  assert.deepEqual(bob.reactions, [{ reaction: '👍', count: 2, me: true }]);
  const undone = await alice.messages.unreact({ ...ref, reaction: '👍' });
  assert.deepEqual(undone.reactions, [{ reaction: '👍', count: 1, me: false }]);
  const noop = await alice.messages.unreact({ ...ref, reaction: '🎉' });
  assert.deepEqual(noop.reactions, undone.reactions);
});
