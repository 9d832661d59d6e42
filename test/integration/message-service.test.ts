import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { Direction, type Message, type Thread } from '../../src/gen/progressdb/v1/types.js';
import { failure, type Api } from '../support/api-client.js';
import { startTestServer, TEST_KEYS, type TestServer } from '../support/test-server.js';

let server: TestServer;
let alice: Api;
let bob: Api;
let carol: Api;
let counter = 0;
/** A thread id no other test uses. */
const fresh = (name: string): string => `${name}-${++counter}`;

before(async () => {
  server = await startTestServer();
  alice = server.api('alice');
  bob = server.api('bob');
  carol = server.api('carol');
});
after(() => server.close());

const exact = (value: bigint) => ({ kind: { $case: 'exact' as const, value } });
const noThread = { kind: { $case: 'noThread' as const, value: true } };
const anyRevision = { kind: { $case: 'any' as const, value: true } };

async function threadOf(threadId: string): Promise<Thread> {
  const { thread } = await alice.threads.getThread({ threadId, includeDeleted: true });
  assert.ok(thread);
  return thread;
}

async function append(threadId: string, body: unknown, messageId = ''): Promise<Message> {
  const { message } = await alice.messages.appendMessage({
    threadId,
    messageId,
    role: 'user',
    body,
    createThread: true,
  });
  assert.ok(message);
  return message;
}

async function getMessage(api: Api, threadId: string, messageId: string): Promise<Message> {
  const { message } = await api.messages.getMessage({ threadId, messageId });
  assert.ok(message);
  return message;
}

void test('AppendMessage with create_thread creates the thread owned by the caller in the same write', async () => {
  const threadId = fresh('create');
  const body = { text: 'hello', n: 1.5, ok: true, none: null, list: [1, 'two', { three: 3 }] };
  const response = await alice.messages.appendMessage({
    threadId,
    role: 'user',
    body,
    metadata: { lang: 'en' },
    createThread: true,
  });
  assert.equal(response.revision, 2n);
  const message = response.message;
  assert.ok(message);
  assert.ok(message.id.length > 0);
  assert.equal(message.threadId, threadId);
  assert.equal(message.seq, 2n);
  assert.equal(message.version, 1);
  assert.equal(message.authorId, 'alice');
  assert.equal(message.role, 'user');
  assert.deepEqual(message.body, body);
  assert.deepEqual(message.metadata, { lang: 'en' });
  assert.equal(message.replyToId, '');
  assert.equal(message.replyCount, 0);
  assert.deepEqual(message.reactions, []);
  assert.equal(message.deleted, false);
  assert.deepEqual(await getMessage(alice, threadId, message.id), message);
  const thread = await threadOf(threadId);
  assert.equal(thread.ownerId, 'alice');
  assert.deepEqual(thread.memberIds, ['alice']);
  assert.equal(thread.revision, 2n);
  assert.equal(thread.messageCount, 1n);
  assert.equal(thread.lastMessage?.id, message.id);
  const events = await alice.messages.readEvents({ threadId });
  assert.deepEqual(
    events.events.map((event) => [event.revision, event.payload?.$case]),
    [
      [1n, 'threadCreated'],
      [2n, 'messageCreated'],
    ],
  );
});

void test('AppendMessage keeps any JSON body: string, number, boolean, null, list, none', async () => {
  const threadId = fresh('bodies');
  for (const body of ['text', 42, -0.25, false, null, [], [null, 'x'], {}, { a: { b: [] } }]) {
    const message = await append(threadId, body);
    assert.deepEqual(message.body, body);
    assert.deepEqual((await getMessage(alice, threadId, message.id)).body, body);
  }
  const none = await alice.messages.appendMessage({ threadId, role: 'system' });
  assert.equal(none.message?.body, undefined);
});

void test('AppendMessage sets author_id when given (backend key), else the calling user', async () => {
  const threadId = fresh('author');
  const { message } = await alice.messages.appendMessage({
    threadId,
    authorId: 'assistant-bot',
    role: 'assistant',
    body: 'hi',
    createThread: true,
  });
  assert.equal(message?.authorId, 'assistant-bot');
  const service = server.apiWith({ authorization: `Bearer ${TEST_KEYS.backend}` });
  const byService = await service.messages.appendMessage({
    threadId,
    authorId: 'indexer',
    role: 'system',
    body: 'x',
  });
  assert.equal(byService.message?.authorId, 'indexer');
  const events = await alice.messages.readEvents({ threadId });
  assert.deepEqual(
    events.events.map((event) => event.actorId),
    ['alice', 'alice', ''],
  );
  const anonymous = await failure(
    service.messages.appendMessage({ threadId, role: 'system', body: 'x' }),
  );
  assert.equal(anonymous.code, status.INVALID_ARGUMENT);
  assert.equal(anonymous.reason, 'INVALID_FIELD');
  assert.equal(anonymous.metadata.field, 'author_id');
  assert.equal((await threadOf(threadId)).revision, 3n);
});

void test('AppendMessage without create_thread on a missing thread is NOT_FOUND THREAD_NOT_FOUND', async () => {
  const threadId = fresh('missing');
  const error = await failure(alice.messages.appendMessage({ threadId, role: 'user', body: 'x' }));
  assert.equal(error.code, status.NOT_FOUND);
  assert.equal(error.reason, 'THREAD_NOT_FOUND');
  const still = await failure(alice.threads.getThread({ threadId, includeDeleted: true }));
  assert.equal(still.reason, 'THREAD_NOT_FOUND');
  const batch = await failure(
    alice.messages.appendMessages({ threadId, messages: [{ role: 'user', body: 'x' }] }),
  );
  assert.equal(batch.code, status.NOT_FOUND);
  assert.equal(batch.reason, 'THREAD_NOT_FOUND');
});

void test('AppendMessage expected_revision any, no_thread and exact; conflicts carry the actual revision', async () => {
  const threadId = fresh('expected');
  const first = await alice.messages.appendMessage({
    threadId,
    role: 'user',
    body: 1,
    createThread: true,
    expectedRevision: noThread,
  });
  assert.equal(first.revision, 2n);
  const again = await failure(
    alice.messages.appendMessage({
      threadId,
      role: 'user',
      body: 2,
      createThread: true,
      expectedRevision: noThread,
    }),
  );
  assert.equal(again.code, status.FAILED_PRECONDITION);
  assert.equal(again.reason, 'REVISION_CONFLICT');
  assert.deepEqual(again.metadata, { expected: 'no_thread', actual: '2' });
  const ok = await alice.messages.appendMessage({
    threadId,
    role: 'user',
    body: 3,
    expectedRevision: exact(2n),
  });
  assert.equal(ok.revision, 3n);
  const stale = await failure(
    alice.messages.appendMessage({ threadId, role: 'user', body: 4, expectedRevision: exact(2n) }),
  );
  assert.equal(stale.code, status.FAILED_PRECONDITION);
  assert.equal(stale.reason, 'REVISION_CONFLICT');
  assert.deepEqual(stale.metadata, { expected: '2', actual: '3' });
  const ahead = await failure(
    alice.messages.appendMessage({ threadId, role: 'user', body: 4, expectedRevision: exact(9n) }),
  );
  assert.deepEqual(ahead.metadata, { expected: '9', actual: '3' });
  const any = await alice.messages.appendMessage({
    threadId,
    role: 'user',
    body: 5,
    expectedRevision: anyRevision,
  });
  assert.equal(any.revision, 4n);
  const thread = await threadOf(threadId);
  assert.equal(thread.revision, 4n);
  assert.equal(thread.messageCount, 3n);
  // exact on a missing thread: actual is "no_thread", and nothing is created.
  const missing = fresh('expected-missing');
  const none = await failure(
    alice.messages.appendMessage({
      threadId: missing,
      role: 'user',
      body: 1,
      createThread: true,
      expectedRevision: exact(1n),
    }),
  );
  assert.equal(none.reason, 'REVISION_CONFLICT');
  assert.deepEqual(none.metadata, { expected: '1', actual: 'no_thread' });
  assert.equal(
    (await failure(alice.threads.getThread({ threadId: missing }))).reason,
    'THREAD_NOT_FOUND',
  );
  // exact 0 on a missing thread is a conflict too (a thread's revisions start at 1).
  const zero = await failure(
    alice.messages.appendMessage({
      threadId: missing,
      role: 'user',
      body: 1,
      createThread: true,
      expectedRevision: exact(0n),
    }),
  );
  assert.equal(zero.reason, 'REVISION_CONFLICT');
});

void test('AppendMessage retried with the same message_id returns the original and appends nothing', async () => {
  const threadId = fresh('msgid');
  const request = {
    threadId,
    messageId: 'client-1',
    role: 'user',
    body: { text: 'once' },
    metadata: { k: 'v' },
    createThread: true,
  };
  const first = await alice.messages.appendMessage(request);
  const head = (await threadOf(threadId)).revision;
  const second = await alice.messages.appendMessage(request);
  assert.deepEqual(second.message, first.message);
  assert.equal(second.revision, first.revision);
  const third = await alice.messages.appendMessage({ ...request, expectedRevision: exact(2n) });
  assert.deepEqual(third.message, first.message);
  const thread = await threadOf(threadId);
  assert.equal(thread.revision, head);
  assert.equal(thread.messageCount, 1n);
  // Same id, other content → MESSAGE_EXISTS, still nothing appended.
  for (const change of [
    { body: { text: 'other' } },
    { role: 'assistant' },
    { metadata: { k: 'other' } },
    { metadata: {} },
    { authorId: 'someone-else' },
  ]) {
    const error = await failure(alice.messages.appendMessage({ ...request, ...change }));
    assert.equal(error.code, status.ALREADY_EXISTS, JSON.stringify(change));
    assert.equal(error.reason, 'MESSAGE_EXISTS', JSON.stringify(change));
  }
  const other = await failure(bob.messages.appendMessage({ ...request, createThread: false }));
  assert.equal(other.reason, 'MESSAGE_EXISTS');
  assert.equal((await threadOf(threadId)).revision, head);
  assert.deepEqual((await getMessage(alice, threadId, 'client-1')).body, { text: 'once' });
  // The same message id in another thread is another message.
  const elsewhere = await alice.messages.appendMessage({ ...request, threadId: fresh('msgid') });
  assert.equal(elsewhere.message?.id, 'client-1');
  assert.equal(elsewhere.revision, 2n);
});

void test('AppendMessage retried with the same request_id returns the original result', async () => {
  const threadId = fresh('reqid');
  const request = {
    threadId,
    requestId: 'req-1',
    role: 'user',
    body: 'first',
    createThread: true,
  };
  // The first call creates the thread too: the retry still returns just the message.
  const first = await alice.messages.appendMessage(request);
  const retry = await alice.messages.appendMessage(request);
  assert.deepEqual(retry.message, first.message);
  assert.equal(retry.revision, first.revision);
  // The request id wins even if the retry's content differs (it is the same request).
  const changed = await alice.messages.appendMessage({ ...request, body: 'changed' });
  assert.equal(changed.message?.id, first.message?.id);
  assert.deepEqual(changed.message?.body, 'first');
  const thread = await threadOf(threadId);
  assert.equal(thread.revision, 2n);
  assert.equal(thread.messageCount, 1n);
  const events = await alice.messages.readEvents({ threadId });
  assert.deepEqual(
    events.events.map((event) => event.requestId),
    ['req-1', 'req-1'],
  );
  // A later request id appends again; retrying it returns its own message.
  const next = await alice.messages.appendMessage({ ...request, requestId: 'req-2', body: 'b' });
  assert.equal(next.revision, 3n);
  const nextRetry = await alice.messages.appendMessage({
    ...request,
    requestId: 'req-2',
    body: 'b',
  });
  assert.deepEqual(nextRetry.message, next.message);
  assert.equal(nextRetry.revision, 3n);
  assert.equal((await threadOf(threadId)).revision, 3n);
});

void test('AppendMessages retried with the same request_id returns the original batch', async () => {
  const threadId = fresh('batch-req');
  const request = {
    threadId,
    requestId: 'batch-1',
    createThread: true,
    messages: [
      { role: 'user', body: 'a' },
      { role: 'user', body: 'b' },
    ],
  };
  const first = await alice.messages.appendMessages(request);
  const retry = await alice.messages.appendMessages(request);
  assert.deepEqual(retry, first);
  assert.equal((await threadOf(threadId)).revision, 3n);
});

void test('reply_to_id counts replies on the parent; an unknown parent is MESSAGE_NOT_FOUND', async () => {
  const threadId = fresh('replies');
  const parent = await append(threadId, 'parent', 'parent');
  const reply = await alice.messages.appendMessage({
    threadId,
    role: 'user',
    body: 'reply 1',
    replyToId: 'parent',
  });
  assert.equal(reply.message?.replyToId, 'parent');
  await bob.messages.appendMessage({
    threadId,
    role: 'user',
    body: 'reply 2',
    replyToId: 'parent',
  });
  assert.equal((await getMessage(alice, threadId, 'parent')).replyCount, 2);
  assert.equal(parent.replyCount, 0);
  const head = (await threadOf(threadId)).revision;
  const error = await failure(
    alice.messages.appendMessage({ threadId, role: 'user', body: 'x', replyToId: 'nope' }),
  );
  assert.equal(error.code, status.NOT_FOUND);
  assert.equal(error.reason, 'MESSAGE_NOT_FOUND');
  assert.equal((await threadOf(threadId)).revision, head);
  // Deleting a reply takes it off the parent's count.
  await alice.messages.deleteMessage({ threadId, messageId: reply.message?.id });
  assert.equal((await getMessage(alice, threadId, 'parent')).replyCount, 1);
  // A missing parent on a thread about to be created: the thread is not created either.
  const missing = fresh('replies-missing');
  const none = await failure(
    alice.messages.appendMessage({
      threadId: missing,
      role: 'user',
      body: 'x',
      replyToId: 'nope',
      createThread: true,
    }),
  );
  assert.equal(none.reason, 'MESSAGE_NOT_FOUND');
  assert.equal(
    (await failure(alice.threads.getThread({ threadId: missing }))).reason,
    'THREAD_NOT_FOUND',
  );
});

void test(
  'AppendMessage errors name its own fields (reply_to_id, message_id), not messages[0].*',
  {},
  async () => {
    const threadId = fresh('fields');
    await append(threadId, 'x', 'known');
    const reply = await failure(
      alice.messages.appendMessage({ threadId, role: 'user', body: 'x', replyToId: 'nope' }),
    );
    assert.equal(reply.reason, 'MESSAGE_NOT_FOUND');
    assert.equal(reply.metadata.field, 'reply_to_id');
    const exists = await failure(
      alice.messages.appendMessage({ threadId, messageId: 'known', role: 'user', body: 'other' }),
    );
    assert.equal(exists.reason, 'MESSAGE_EXISTS');
    assert.equal(exists.metadata.field, 'message_id');
  },
);

void test('AppendMessages appends at consecutive revisions and returns the messages in order', async () => {
  const threadId = fresh('batch');
  await append(threadId, 'before');
  const response = await alice.messages.appendMessages({
    threadId,
    messages: [
      { role: 'user', body: 'a', messageId: 'a' },
      { role: 'assistant', body: 'b', authorId: 'bot' },
      { role: 'user', body: 'c', replyToId: 'a' },
    ],
  });
  assert.equal(response.revision, 5n);
  assert.deepEqual(
    response.messages.map((message) => [message.seq, message.body as unknown, message.authorId]),
    [
      [3n, 'a', 'alice'],
      [4n, 'b', 'bot'],
      [5n, 'c', 'alice'],
    ],
  );
  // A reply to a message earlier in the same batch.
  assert.equal((await getMessage(alice, threadId, 'a')).replyCount, 1);
  const thread = await threadOf(threadId);
  assert.equal(thread.revision, 5n);
  assert.equal(thread.messageCount, 4n);
  assert.equal(thread.lastMessage?.seq, 5n);
  const created = await alice.messages.appendMessages({
    threadId: fresh('batch'),
    createThread: true,
    expectedRevision: noThread,
    messages: [
      { role: 'user', body: 1 },
      { role: 'user', body: 2 },
    ],
  });
  assert.deepEqual(
    created.messages.map((message) => message.seq),
    [2n, 3n],
  );
  assert.equal(created.revision, 3n);
});

void test('AppendMessages with expected_revision exact checks the head before the batch', async () => {
  const threadId = fresh('batch-rev');
  await append(threadId, 'x');
  const error = await failure(
    alice.messages.appendMessages({
      threadId,
      expectedRevision: exact(1n),
      messages: [{ role: 'user', body: 'a' }],
    }),
  );
  assert.equal(error.reason, 'REVISION_CONFLICT');
  assert.deepEqual(error.metadata, { expected: '1', actual: '2' });
  const ok = await alice.messages.appendMessages({
    threadId,
    expectedRevision: exact(2n),
    messages: [
      { role: 'user', body: 'a' },
      { role: 'user', body: 'b' },
    ],
  });
  assert.equal(ok.revision, 4n);
});

void test('AppendMessages with one bad message writes nothing, naming messages[i]', async () => {
  const threadId = fresh('batch-bad');
  await append(threadId, 'x');
  const head = (await threadOf(threadId)).revision;
  const good = { role: 'user', body: 'ok' };
  const cases = [
    { bad: { ...good, messageId: 'bad id' }, field: 'messages[1].message_id' },
    { bad: { ...good, authorId: '-bad' }, field: 'messages[1].author_id' },
    { bad: { ...good, replyToId: 'a/b' }, field: 'messages[1].reply_to_id' },
    { bad: { ...good, role: 'x'.repeat(65) }, field: 'messages[1].role' },
    { bad: { ...good, body: 'x'.repeat(64 * 1024) }, field: 'messages[1].body' },
    { bad: { ...good, metadata: { '': 'v' } }, field: 'messages[1].metadata' },
  ];
  for (const { bad, field } of cases) {
    const error = await failure(
      alice.messages.appendMessages({ threadId, messages: [good, bad, good] }),
    );
    assert.equal(error.code, status.INVALID_ARGUMENT, field);
    assert.ok(['INVALID_FIELD', 'PAYLOAD_TOO_LARGE'].includes(error.reason ?? ''), field);
    assert.equal(error.metadata.field, field);
  }
  // The same message id twice in one batch.
  const twice = await failure(
    alice.messages.appendMessages({
      threadId,
      messages: [
        { ...good, messageId: 'dup' },
        { ...good, messageId: 'dup' },
      ],
    }),
  );
  assert.equal(twice.reason, 'INVALID_FIELD');
  assert.equal(twice.metadata.field, 'messages[1].message_id');
  assert.equal((await threadOf(threadId)).revision, head);
  assert.equal((await threadOf(threadId)).messageCount, 1n);
});

void test('AppendMessages failing inside the write (unknown reply_to_id) writes nothing of the batch', async () => {
  const threadId = fresh('batch-atomic');
  await append(threadId, 'x');
  const error = await failure(
    alice.messages.appendMessages({
      threadId,
      messages: [
        { role: 'user', body: 'a', messageId: 'first' },
        { role: 'user', body: 'b', messageId: 'second' },
        { role: 'user', body: 'c', replyToId: 'nope' },
      ],
    }),
  );
  assert.equal(error.code, status.NOT_FOUND);
  assert.equal(error.reason, 'MESSAGE_NOT_FOUND');
  assert.equal(error.metadata.field, 'messages[2].reply_to_id');
  const thread = await threadOf(threadId);
  assert.equal(thread.revision, 2n);
  assert.equal(thread.messageCount, 1n);
  for (const messageId of ['first', 'second']) {
    const missing = await failure(alice.messages.getMessage({ threadId, messageId }));
    assert.equal(missing.reason, 'MESSAGE_NOT_FOUND');
  }
  // With create_thread on a missing thread: the thread is not created either.
  const missing = fresh('batch-atomic-missing');
  const none = await failure(
    alice.messages.appendMessages({
      threadId: missing,
      createThread: true,
      messages: [
        { role: 'user', body: 'a' },
        { role: 'user', body: 'bad', replyToId: 'nope' },
      ],
    }),
  );
  assert.equal(none.reason, 'MESSAGE_NOT_FOUND');
  assert.equal(
    (await failure(alice.threads.getThread({ threadId: missing, includeDeleted: true }))).reason,
    'THREAD_NOT_FOUND',
  );
  const bad = await failure(
    alice.messages.appendMessages({
      threadId: missing,
      createThread: true,
      messages: [
        { role: 'user', body: 'a' },
        { role: 'user', messageId: '.bad' },
      ],
    }),
  );
  assert.equal(bad.metadata.field, 'messages[1].message_id');
  assert.equal(
    (await failure(alice.threads.getThread({ threadId: missing }))).reason,
    'THREAD_NOT_FOUND',
  );
  // A retried message id with other content in the batch: MESSAGE_EXISTS, nothing written.
  await alice.messages.appendMessage({ threadId, messageId: 'known', role: 'user', body: 'k' });
  const exists = await failure(
    alice.messages.appendMessages({
      threadId,
      messages: [
        { role: 'user', body: 'new', messageId: 'new-one' },
        { role: 'user', body: 'changed', messageId: 'known' },
      ],
    }),
  );
  assert.equal(exists.code, status.ALREADY_EXISTS);
  assert.equal(exists.reason, 'MESSAGE_EXISTS');
  assert.equal((await threadOf(threadId)).revision, 3n);
  assert.equal(
    (await failure(alice.messages.getMessage({ threadId, messageId: 'new-one' }))).reason,
    'MESSAGE_NOT_FOUND',
  );
});

void test('AppendMessages with message ids already appended returns those, appending only new ones', async () => {
  const threadId = fresh('batch-ids');
  const first = await alice.messages.appendMessages({
    threadId,
    createThread: true,
    messages: [
      { role: 'user', body: 'a', messageId: 'a' },
      { role: 'user', body: 'b', messageId: 'b' },
    ],
  });
  const retry = await alice.messages.appendMessages({
    threadId,
    messages: [
      { role: 'user', body: 'a', messageId: 'a' },
      { role: 'user', body: 'b', messageId: 'b' },
    ],
  });
  assert.deepEqual(retry.messages, first.messages);
  assert.equal((await threadOf(threadId)).revision, 3n);
  const mixed = await alice.messages.appendMessages({
    threadId,
    messages: [
      { role: 'user', body: 'b', messageId: 'b' },
      { role: 'user', body: 'c', messageId: 'c' },
    ],
  });
  assert.deepEqual(
    mixed.messages.map((message) => [message.id, message.seq]),
    [
      ['b', 3n],
      ['c', 4n],
    ],
  );
  assert.equal(mixed.revision, 4n);
  assert.equal((await threadOf(threadId)).messageCount, 3n);
});

void test('GetMessage: unknown message or thread is NOT_FOUND; deleted only with include_deleted', async () => {
  const threadId = fresh('get');
  await append(threadId, 'x', 'm1');
  const unknown = await failure(alice.messages.getMessage({ threadId, messageId: 'nope' }));
  assert.equal(unknown.code, status.NOT_FOUND);
  assert.equal(unknown.reason, 'MESSAGE_NOT_FOUND');
  const noThreadError = await failure(
    alice.messages.getMessage({ threadId: fresh('get-missing'), messageId: 'm1' }),
  );
  assert.equal(noThreadError.code, status.NOT_FOUND);
  assert.equal(noThreadError.reason, 'THREAD_NOT_FOUND');
  const deleted = await alice.messages.deleteMessage({ threadId, messageId: 'm1' });
  const gone = await failure(alice.messages.getMessage({ threadId, messageId: 'm1' }));
  assert.equal(gone.code, status.NOT_FOUND);
  assert.equal(gone.reason, 'MESSAGE_NOT_FOUND');
  const { message } = await alice.messages.getMessage({
    threadId,
    messageId: 'm1',
    includeDeleted: true,
  });
  assert.equal(message?.deleted, true);
  assert.equal(message?.body, undefined);
  assert.equal(message?.version, 2);
  assert.deepEqual(message, deleted.message);
});

void test('EditMessage appends versions; ListMessageVersions keeps them all, oldest first', async () => {
  const threadId = fresh('edit');
  const original = await alice.messages.appendMessage({
    threadId,
    messageId: 'm',
    role: 'user',
    body: 'v1',
    metadata: { a: '1' },
    createThread: true,
  });
  const edited = await alice.messages.editMessage({ threadId, messageId: 'm', body: 'v2' });
  assert.equal(edited.message?.version, 2);
  assert.equal(edited.message?.body, 'v2');
  assert.deepEqual(edited.message?.metadata, { a: '1' });
  assert.equal(edited.message?.seq, original.message?.seq);
  assert.deepEqual(edited.message?.createdAt, original.message?.createdAt);
  const meta = await alice.messages.editMessage({
    threadId,
    messageId: 'm',
    metadata: { entries: { b: '2' } },
    expectedVersion: 2,
  });
  assert.equal(meta.message?.version, 3);
  assert.equal(meta.message?.body, 'v2');
  assert.deepEqual(meta.message?.metadata, { b: '2' });
  assert.deepEqual(await getMessage(alice, threadId, 'm'), meta.message);
  const { versions } = await alice.messages.listMessageVersions({ threadId, messageId: 'm' });
  assert.deepEqual(
    versions.map((version) => [
      version.version,
      version.body as unknown,
      version.metadata,
      version.deleted,
    ]),
    [
      [1, 'v1', { a: '1' }, false],
      [2, 'v2', { a: '1' }, false],
      [3, 'v2', { b: '2' }, false],
    ],
  );
  const conflict = await failure(
    alice.messages.editMessage({ threadId, messageId: 'm', body: 'lost', expectedVersion: 1 }),
  );
  assert.equal(conflict.code, status.FAILED_PRECONDITION);
  assert.equal(conflict.reason, 'REVISION_CONFLICT');
  assert.deepEqual(conflict.metadata, { expected: '1', actual: '3' });
  const empty = await failure(alice.messages.editMessage({ threadId, messageId: 'm' }));
  assert.equal(empty.code, status.INVALID_ARGUMENT);
  assert.equal(empty.reason, 'INVALID_FIELD');
  const unknown = await failure(alice.messages.editMessage({ threadId, messageId: 'x', body: 1 }));
  assert.equal(unknown.code, status.NOT_FOUND);
  assert.equal(unknown.reason, 'MESSAGE_NOT_FOUND');
  const unknownVersions = await failure(
    alice.messages.listMessageVersions({ threadId, messageId: 'x' }),
  );
  assert.equal(unknownVersions.reason, 'MESSAGE_NOT_FOUND');
  assert.equal((await threadOf(threadId)).revision, 4n);
});

void test('DeleteMessage appends a deleted version; later edits, deletes and reactions are MESSAGE_DELETED', async () => {
  const threadId = fresh('delete');
  await append(threadId, 'v1', 'm');
  await alice.messages.editMessage({ threadId, messageId: 'm', body: 'v2' });
  const conflict = await failure(
    alice.messages.deleteMessage({ threadId, messageId: 'm', expectedVersion: 1 }),
  );
  assert.equal(conflict.reason, 'REVISION_CONFLICT');
  assert.deepEqual(conflict.metadata, { expected: '1', actual: '2' });
  const { message } = await alice.messages.deleteMessage({
    threadId,
    messageId: 'm',
    expectedVersion: 2,
  });
  assert.equal(message?.deleted, true);
  assert.equal(message?.version, 3);
  assert.equal(message?.body, undefined);
  const head = (await threadOf(threadId)).revision;
  for (const call of [
    () => alice.messages.editMessage({ threadId, messageId: 'm', body: 'v3' }),
    () => alice.messages.deleteMessage({ threadId, messageId: 'm' }),
    () => alice.messages.addReaction({ threadId, messageId: 'm', reaction: 'ok' }),
    () => alice.messages.removeReaction({ threadId, messageId: 'm', reaction: 'ok' }),
  ]) {
    const error = await failure(call());
    assert.equal(error.code, status.FAILED_PRECONDITION);
    assert.equal(error.reason, 'MESSAGE_DELETED');
  }
  assert.equal((await threadOf(threadId)).revision, head);
  const { versions } = await alice.messages.listMessageVersions({ threadId, messageId: 'm' });
  assert.deepEqual(
    versions.map((version) => [version.version, version.body as unknown, version.deleted]),
    [
      [1, 'v1', false],
      [2, 'v2', false],
      [3, undefined, true],
    ],
  );
  const unknown = await failure(alice.messages.deleteMessage({ threadId, messageId: 'nope' }));
  assert.equal(unknown.code, status.NOT_FOUND);
  assert.equal(unknown.reason, 'MESSAGE_NOT_FOUND');
});

void test('reactions: one per user and reaction, counted across users, me relative to the reader', async () => {
  const threadId = fresh('react');
  await append(threadId, 'x', 'm');
  const added = await alice.messages.addReaction({ threadId, messageId: 'm', reaction: '👍' });
  assert.deepEqual(added.message?.reactions, [{ reaction: '👍', count: 1, me: true }]);
  const head = (await threadOf(threadId)).revision;
  const twice = await alice.messages.addReaction({ threadId, messageId: 'm', reaction: '👍' });
  assert.deepEqual(twice.message?.reactions, [{ reaction: '👍', count: 1, me: true }]);
  assert.equal((await threadOf(threadId)).revision, head);
  const byBob = await bob.messages.addReaction({ threadId, messageId: 'm', reaction: '👍' });
  assert.deepEqual(byBob.message?.reactions, [{ reaction: '👍', count: 2, me: true }]);
  await bob.messages.addReaction({ threadId, messageId: 'm', reaction: 'heart' });
  assert.deepEqual((await getMessage(alice, threadId, 'm')).reactions, [
    { reaction: '👍', count: 2, me: true },
    { reaction: 'heart', count: 1, me: false },
  ]);
  assert.deepEqual((await getMessage(bob, threadId, 'm')).reactions, [
    { reaction: '👍', count: 2, me: true },
    { reaction: 'heart', count: 1, me: true },
  ]);
  assert.deepEqual((await getMessage(carol, threadId, 'm')).reactions, [
    { reaction: '👍', count: 2, me: false },
    { reaction: 'heart', count: 1, me: false },
  ]);
  const service = server.apiWith({ authorization: `Bearer ${TEST_KEYS.backend}` });
  assert.deepEqual((await getMessage(service, threadId, 'm')).reactions, [
    { reaction: '👍', count: 2, me: false },
    { reaction: 'heart', count: 1, me: false },
  ]);
  // ListMessages carries the same counts.
  const page = await carol.messages.listMessages({ threadId });
  assert.deepEqual(page.messages[0]?.reactions, [
    { reaction: '👍', count: 2, me: false },
    { reaction: 'heart', count: 1, me: false },
  ]);
  // Removing.
  const removed = await alice.messages.removeReaction({ threadId, messageId: 'm', reaction: '👍' });
  assert.deepEqual(removed.message?.reactions, [
    { reaction: '👍', count: 1, me: false },
    { reaction: 'heart', count: 1, me: false },
  ]);
  const afterRemove = (await threadOf(threadId)).revision;
  await alice.messages.removeReaction({ threadId, messageId: 'm', reaction: '👍' });
  await alice.messages.removeReaction({ threadId, messageId: 'm', reaction: 'heart' });
  await alice.messages.removeReaction({ threadId, messageId: 'm', reaction: 'never' });
  assert.equal((await threadOf(threadId)).revision, afterRemove);
  await bob.messages.removeReaction({ threadId, messageId: 'm', reaction: 'heart' });
  assert.deepEqual((await getMessage(bob, threadId, 'm')).reactions, [
    { reaction: '👍', count: 1, me: true },
  ]);
  // Reactions are not versions.
  const { versions } = await alice.messages.listMessageVersions({ threadId, messageId: 'm' });
  assert.equal(versions.length, 1);
  // A reaction needs a user, and a message.
  const anonymous = await failure(
    service.messages.addReaction({ threadId, messageId: 'm', reaction: 'x' }),
  );
  assert.equal(anonymous.code, status.INVALID_ARGUMENT);
  assert.equal(anonymous.reason, 'INVALID_FIELD');
  assert.equal(anonymous.metadata.field, 'x-user-id');
  const unknown = await failure(
    alice.messages.addReaction({ threadId, messageId: 'nope', reaction: 'x' }),
  );
  assert.equal(unknown.code, status.NOT_FOUND);
  assert.equal(unknown.reason, 'MESSAGE_NOT_FOUND');
  const events = await alice.messages.readEvents({ threadId, afterRevision: 2n });
  assert.deepEqual(
    events.events.map((event) => event.payload),
    [
      {
        $case: 'reactionAdded',
        value: { messageId: 'm', seq: 2n, reaction: '👍', userId: 'alice', count: 1 },
      },
      {
        $case: 'reactionAdded',
        value: { messageId: 'm', seq: 2n, reaction: '👍', userId: 'bob', count: 2 },
      },
      {
        $case: 'reactionAdded',
        value: { messageId: 'm', seq: 2n, reaction: 'heart', userId: 'bob', count: 1 },
      },
      {
        $case: 'reactionRemoved',
        value: { messageId: 'm', seq: 2n, reaction: '👍', userId: 'alice', count: 1 },
      },
      {
        $case: 'reactionRemoved',
        value: { messageId: 'm', seq: 2n, reaction: 'heart', userId: 'bob', count: 0 },
      },
    ],
  );
});

void test('ReadEvents reads the log forward and backward with limits, has_more and head_revision', async () => {
  const threadId = fresh('events');
  await alice.threads.createThread({ threadId, title: 't', requestId: 'create-req' });
  await append(threadId, 'a', 'a'); // 2
  await append(threadId, 'b', 'b'); // 3
  await alice.messages.editMessage({ threadId, messageId: 'a', body: 'a2' }); // 4
  await bob.messages.addReaction({ threadId, messageId: 'a', reaction: 'ok' }); // 5
  await bob.messages.removeReaction({ threadId, messageId: 'a', reaction: 'ok' }); // 6
  await alice.messages.deleteMessage({ threadId, messageId: 'b' }); // 7
  await alice.threads.updateThread({ threadId, title: 't2' }); // 8
  await alice.threads.addMembers({ threadId, userIds: ['bob'] }); // 9
  await alice.threads.removeMembers({ threadId, userIds: ['bob'] }); // 10
  await alice.threads.deleteThread({ threadId }); // 11
  const all = await alice.messages.readEvents({ threadId });
  assert.equal(all.headRevision, 11n);
  assert.equal(all.hasMore, false);
  assert.deepEqual(
    all.events.map((event) => event.payload?.$case),
    [
      'threadCreated',
      'messageCreated',
      'messageCreated',
      'messageEdited',
      'reactionAdded',
      'reactionRemoved',
      'messageDeleted',
      'threadUpdated',
      'membersAdded',
      'membersRemoved',
      'threadDeleted',
    ],
  );
  assert.deepEqual(
    all.events.map((event) => event.revision),
    Array.from({ length: 11 }, (_, i) => BigInt(i + 1)),
  );
  for (let i = 1; i < all.events.length; i++) {
    assert.ok(all.events[i]!.position > all.events[i - 1]!.position, `position at ${i}`);
  }
  assert.ok(all.events.every((event) => event.threadId === threadId && event.time instanceof Date));
  assert.deepEqual(
    all.events.map((event) => event.actorId),
    ['alice', 'alice', 'alice', 'alice', 'bob', 'bob', 'alice', 'alice', 'alice', 'alice', 'alice'],
  );
  assert.equal(all.events[0]?.requestId, 'create-req');
  assert.deepEqual(all.events[0]?.payload, {
    $case: 'threadCreated',
    value: { title: 't', metadata: {}, ownerId: 'alice', memberIds: ['alice'] },
  });
  const payloadMessage = (index: number) => {
    const payload = all.events[index]?.payload;
    assert.ok(
      payload?.$case === 'messageCreated' ||
        payload?.$case === 'messageEdited' ||
        payload?.$case === 'messageDeleted',
    );
    return payload.value.message;
  };
  assert.deepEqual(
    [1, 2, 3, 6].map((index) => {
      const message = payloadMessage(index);
      return [message?.id, message?.version, message?.body as unknown, message?.deleted];
    }),
    [
      ['a', 1, 'a', false],
      ['b', 1, 'b', false],
      ['a', 2, 'a2', false],
      ['b', 2, undefined, true],
    ],
  );
  assert.deepEqual(all.events[7]?.payload, {
    $case: 'threadUpdated',
    value: { title: 't2', metadata: {} },
  });

  const first = await alice.messages.readEvents({ threadId, limit: 3 });
  assert.deepEqual(
    first.events.map((event) => event.revision),
    [1n, 2n, 3n],
  );
  assert.equal(first.hasMore, true);
  assert.equal(first.headRevision, 11n);
  const next = await alice.messages.readEvents({ threadId, afterRevision: 3n, limit: 3 });
  assert.deepEqual(
    next.events.map((event) => event.revision),
    [4n, 5n, 6n],
  );
  assert.equal(next.hasMore, true);
  const tail = await alice.messages.readEvents({ threadId, afterRevision: 8n, limit: 3 });
  assert.deepEqual(
    tail.events.map((event) => event.revision),
    [9n, 10n, 11n],
  );
  assert.equal(tail.hasMore, false);
  const end = await alice.messages.readEvents({ threadId, afterRevision: 11n });
  assert.deepEqual(end.events, []);
  assert.equal(end.hasMore, false);
  assert.equal(end.headRevision, 11n);
  const beyond = await alice.messages.readEvents({ threadId, afterRevision: 50n });
  assert.deepEqual(beyond.events, []);
  assert.equal(beyond.hasMore, false);

  const backward = { direction: Direction.DIRECTION_BACKWARD };
  const newest = await alice.messages.readEvents({ threadId, ...backward, limit: 3 });
  assert.deepEqual(
    newest.events.map((event) => event.revision),
    [11n, 10n, 9n],
  );
  assert.equal(newest.hasMore, true);
  const older = await alice.messages.readEvents({
    threadId,
    ...backward,
    beforeRevision: 3n,
    limit: 3,
  });
  assert.deepEqual(
    older.events.map((event) => event.revision),
    [2n, 1n],
  );
  assert.equal(older.hasMore, false);
  const exactlyAll = await alice.messages.readEvents({ threadId, ...backward, limit: 11 });
  assert.equal(exactlyAll.events.length, 11);
  assert.equal(exactlyAll.hasMore, false);
  const none = await alice.messages.readEvents({ threadId, ...backward, beforeRevision: 1n });
  assert.deepEqual(none.events, []);
  assert.equal(none.hasMore, false);
  const forwardExplicit = await alice.messages.readEvents({
    threadId,
    direction: Direction.DIRECTION_FORWARD,
    limit: 11,
  });
  assert.equal(forwardExplicit.hasMore, false);
  assert.deepEqual(forwardExplicit.events, all.events);

  const wrongSide = await failure(
    alice.messages.readEvents({ threadId, ...backward, afterRevision: 2n }),
  );
  assert.equal(wrongSide.code, status.INVALID_ARGUMENT);
  assert.equal(wrongSide.metadata.field, 'after_revision');
  const wrongSide2 = await failure(alice.messages.readEvents({ threadId, beforeRevision: 2n }));
  assert.equal(wrongSide2.metadata.field, 'before_revision');
  const unknown = await failure(alice.messages.readEvents({ threadId: fresh('events-none') }));
  assert.equal(unknown.code, status.NOT_FOUND);
  assert.equal(unknown.reason, 'THREAD_NOT_FOUND');
});

void test('ReadEvents positions increase across threads in commit order', async () => {
  const [a, b] = [fresh('pos-a'), fresh('pos-b')];
  await append(a, 1);
  await append(b, 1);
  await append(a, 2);
  const [ea, eb] = await Promise.all([
    alice.messages.readEvents({ threadId: a }),
    alice.messages.readEvents({ threadId: b }),
  ]);
  const positions = [ea.events[0], ea.events[1], eb.events[0], eb.events[1], ea.events[2]].map(
    (event) => event?.position ?? 0n,
  );
  for (let i = 1; i < positions.length; i++) assert.ok(positions[i]! > positions[i - 1]!);
});

void test('thread message_count and last_message follow appends, edits and deletes', async () => {
  const threadId = fresh('last');
  await append(threadId, 'one', 'm1');
  await append(threadId, 'two', 'm2');
  await append(threadId, 'three', 'm3');
  let thread = await threadOf(threadId);
  assert.equal(thread.messageCount, 3n);
  assert.equal(thread.lastMessage?.id, 'm3');
  assert.equal(thread.lastMessage?.body, 'three');
  await alice.messages.editMessage({ threadId, messageId: 'm3', body: 'three!' });
  thread = await threadOf(threadId);
  assert.equal(thread.lastMessage?.body, 'three!');
  assert.equal(thread.lastMessage?.version, 2);
  assert.equal(thread.messageCount, 3n);
  await alice.messages.editMessage({ threadId, messageId: 'm1', body: 'one!' });
  thread = await threadOf(threadId);
  assert.equal(thread.lastMessage?.id, 'm3');
  assert.equal(thread.lastMessage?.body, 'three!');
  // A reaction does not change the preview.
  await alice.messages.addReaction({ threadId, messageId: 'm3', reaction: 'ok' });
  assert.equal((await threadOf(threadId)).lastMessage?.id, 'm3');
  // Deleting the last message: the previous live one becomes last_message.
  await alice.messages.deleteMessage({ threadId, messageId: 'm3' });
  thread = await threadOf(threadId);
  assert.equal(thread.messageCount, 2n);
  assert.equal(thread.lastMessage?.id, 'm2');
  assert.equal(thread.lastMessage?.body, 'two');
  // Deleting an older message leaves last_message alone.
  await alice.messages.deleteMessage({ threadId, messageId: 'm1' });
  thread = await threadOf(threadId);
  assert.equal(thread.messageCount, 1n);
  assert.equal(thread.lastMessage?.id, 'm2');
  await alice.messages.deleteMessage({ threadId, messageId: 'm2' });
  thread = await threadOf(threadId);
  assert.equal(thread.messageCount, 0n);
  assert.equal(thread.lastMessage, undefined);
  await append(threadId, 'four', 'm4');
  thread = await threadOf(threadId);
  assert.equal(thread.messageCount, 1n);
  assert.equal(thread.lastMessage?.id, 'm4');
});

void test('last_message skips over many deleted messages to the newest live one', async () => {
  const threadId = fresh('last-many');
  await append(threadId, 'keep', 'keep');
  const { messages } = await alice.messages.appendMessages({
    threadId,
    messages: Array.from({ length: 80 }, (_, i) => ({ role: 'user', body: i, messageId: `d${i}` })),
  });
  await Promise.all(
    messages
      .slice(0, -1)
      .map((message) => alice.messages.deleteMessage({ threadId, messageId: message.id })),
  );
  assert.equal((await threadOf(threadId)).lastMessage?.id, 'd79');
  await alice.messages.deleteMessage({ threadId, messageId: 'd79' });
  const thread = await threadOf(threadId);
  assert.equal(thread.lastMessage?.id, 'keep');
  assert.equal(thread.messageCount, 1n);
});
