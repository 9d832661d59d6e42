import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { Thread } from '../../src/gen/progressdb/v1/types.js';
import { failure, type Api } from '../support/api-client.js';
import { startTestServer, TEST_KEYS, type TestServer } from '../support/test-server.js';

let server: TestServer;
let alice: Api;
let counter = 0;
/** A thread (or user) id no other test uses. */
const fresh = (name: string): string => `${name}-${++counter}`;

before(async () => {
  server = await startTestServer();
  alice = server.api('alice');
});
after(() => server.close());

async function create(api: Api, threadId: string, title = ''): Promise<Thread> {
  const { thread } = await api.threads.createThread({ threadId, title });
  assert.ok(thread);
  return thread;
}

async function headOf(threadId: string): Promise<bigint> {
  const { thread } = await alice.threads.getThread({ threadId, includeDeleted: true });
  assert.ok(thread);
  return thread.revision;
}

async function listIds(api: Api, request: Parameters<Api['threads']['listThreads']>[0] = {}) {
  const page = await api.threads.listThreads(request);
  return page.threads.map((thread) => thread.id);
}

void test('CreateThread generates an id when none is given; the caller is owner and member', async () => {
  const { thread } = await alice.threads.createThread({ title: 'generated' });
  assert.ok(thread);
  assert.match(thread.id, /^[A-Za-z0-9][A-Za-z0-9._~:@-]{0,127}$/);
  assert.equal(thread.title, 'generated');
  assert.equal(thread.ownerId, 'alice');
  assert.deepEqual(thread.memberIds, ['alice']);
  assert.equal(thread.revision, 1n);
  assert.equal(thread.messageCount, 0n);
  assert.equal(thread.deleted, false);
  assert.equal(thread.lastMessage, undefined);
  assert.ok(thread.createdAt instanceof Date);
  const again = await alice.threads.createThread({ title: 'generated' });
  assert.notEqual(again.thread?.id, thread.id);
  const got = await alice.threads.getThread({ threadId: thread.id });
  assert.deepEqual(got.thread, thread);
});

void test('CreateThread with a given id, title, metadata and members (owner first, no duplicates)', async () => {
  const threadId = fresh('given');
  const { thread } = await alice.threads.createThread({
    threadId,
    title: 'Planning',
    metadata: { topic: 'q3', lang: 'en' },
    memberIds: ['bob', 'alice', 'carol', 'bob'],
  });
  assert.ok(thread);
  assert.equal(thread.id, threadId);
  assert.equal(thread.title, 'Planning');
  assert.deepEqual(thread.metadata, { topic: 'q3', lang: 'en' });
  assert.equal(thread.ownerId, 'alice');
  assert.deepEqual(thread.memberIds, ['alice', 'bob', 'carol']);
  assert.equal(thread.revision, 1n);
  const got = await alice.threads.getThread({ threadId });
  assert.deepEqual(got.thread, thread);
  // The members see the thread in their lists.
  assert.ok((await listIds(server.api('carol'))).includes(threadId));
});

void test('CreateThread on an existing id is ALREADY_EXISTS THREAD_EXISTS and changes nothing', async () => {
  const threadId = fresh('exists');
  await create(alice, threadId, 'first');
  const error = await failure(alice.threads.createThread({ threadId, title: 'second' }));
  assert.equal(error.code, status.ALREADY_EXISTS);
  assert.equal(error.reason, 'THREAD_EXISTS');
  const bob = await failure(server.api('bob').threads.createThread({ threadId }));
  assert.equal(bob.reason, 'THREAD_EXISTS');
  const { thread } = await alice.threads.getThread({ threadId });
  assert.equal(thread?.title, 'first');
  assert.equal(thread?.revision, 1n);
  assert.equal(thread?.ownerId, 'alice');
});

void test('CreateThread retried with the same request_id returns the same thread', async () => {
  const threadId = fresh('retry');
  const request = { threadId, title: 'once', memberIds: ['bob'], requestId: fresh('req') };
  const first = await alice.threads.createThread(request);
  const second = await alice.threads.createThread(request);
  assert.deepEqual(second.thread, first.thread);
  const events = await alice.messages.readEvents({ threadId });
  assert.equal(events.headRevision, 1n);
  assert.equal(events.events.length, 1);
  assert.equal(events.events[0]?.requestId, request.requestId);
  // Another request id (or none) for the same thread id is a conflict.
  const other = await failure(alice.threads.createThread({ ...request, requestId: fresh('req') }));
  assert.equal(other.reason, 'THREAD_EXISTS');
  const none = await failure(alice.threads.createThread({ threadId }));
  assert.equal(none.reason, 'THREAD_EXISTS');
});

void test('GetThread of an unknown thread is NOT_FOUND THREAD_NOT_FOUND', async () => {
  const error = await failure(alice.threads.getThread({ threadId: fresh('missing') }));
  assert.equal(error.code, status.NOT_FOUND);
  assert.equal(error.reason, 'THREAD_NOT_FOUND');
  const withDeleted = await failure(
    alice.threads.getThread({ threadId: fresh('missing'), includeDeleted: true }),
  );
  assert.equal(withDeleted.reason, 'THREAD_NOT_FOUND');
});

void test('ListThreads lists the caller’s threads, most recently active first', async () => {
  const user = fresh('lister');
  const api = server.api(user);
  const [a, b, c] = [fresh('act-a'), fresh('act-b'), fresh('act-c')];
  for (const id of [a, b, c]) await create(api, id);
  assert.deepEqual(await listIds(api), [c, b, a]);
  // Any new event moves a thread to the top: a message, an update, a member change.
  await api.messages.appendMessage({ threadId: a, role: 'user', body: 'hi' });
  assert.deepEqual(await listIds(api), [a, c, b]);
  await api.threads.updateThread({ threadId: b, title: 'renamed' });
  assert.deepEqual(await listIds(api), [b, a, c]);
  await api.threads.addMembers({ threadId: c, userIds: [fresh('someone')] });
  assert.deepEqual(await listIds(api), [c, b, a]);
  // Alice is a member of none of them.
  const aliceIds = await listIds(alice, { pageSize: 1000 });
  assert.ok(![a, b, c].some((id) => aliceIds.includes(id)));
});

async function listAll(api: Api, pageSize: number, includeDeleted = false) {
  const ids: string[] = [];
  const sizes: number[] = [];
  let pageToken = '';
  for (let pages = 0; pages < 100; pages++) {
    const page = await api.threads.listThreads({ pageSize, pageToken, includeDeleted });
    ids.push(...page.threads.map((thread) => thread.id));
    sizes.push(page.threads.length);
    if (page.nextPageToken === '') return { ids, sizes };
    pageToken = page.nextPageToken;
  }
  throw new Error('ListThreads never ended');
}

void test('ListThreads pages through many threads with page_token, without gaps or repeats', async () => {
  const api = server.api(fresh('pager'));
  const created: string[] = [];
  for (let i = 0; i < 25; i++) {
    const id = fresh('page');
    await create(api, id);
    created.push(id);
  }
  const newestFirst = [...created].reverse();
  const bySeven = await listAll(api, 7);
  assert.deepEqual(bySeven.ids, newestFirst);
  assert.deepEqual(bySeven.sizes, [7, 7, 7, 4]);
  // A page size that divides the count: the last full page has no next token.
  const byFive = await listAll(api, 5);
  assert.deepEqual(byFive.ids, newestFirst);
  assert.deepEqual(byFive.sizes, [5, 5, 5, 5, 5]);
  const byOne = await listAll(api, 1);
  assert.deepEqual(byOne.ids, newestFirst);
  const all = await api.threads.listThreads({ pageSize: 25 });
  assert.equal(all.threads.length, 25);
  assert.equal(all.nextPageToken, '');
  const byDefault = await api.threads.listThreads({});
  assert.equal(byDefault.threads.length, 25);
});

void test('ListThreads leaves deleted threads out unless include_deleted, also across pages', async () => {
  const api = server.api(fresh('deleter'));
  const ids: string[] = [];
  for (let i = 0; i < 6; i++) {
    const id = fresh('del-list');
    await create(api, id);
    ids.push(id);
  }
  // Delete the 2nd and the newest; deleting moves them to the top of the activity order.
  await api.threads.deleteThread({ threadId: ids[1] });
  await api.threads.deleteThread({ threadId: ids[5] });
  const live = [ids[4], ids[3], ids[2], ids[0]];
  assert.deepEqual(await listIds(api), live);
  assert.deepEqual((await listAll(api, 2)).ids, live);
  const withDeleted = await api.threads.listThreads({ includeDeleted: true });
  assert.deepEqual(
    withDeleted.threads.map((thread) => [thread.id, thread.deleted]),
    [
      [ids[5], true],
      [ids[1], true],
      [ids[4], false],
      [ids[3], false],
      [ids[2], false],
      [ids[0], false],
    ],
  );
  assert.deepEqual(
    (await listAll(api, 4, true)).ids,
    withDeleted.threads.map((t) => t.id),
  );
  // Deleted threads at the end of the order: the last live page has no next token.
  const page = await api.threads.listThreads({ pageSize: 4 });
  assert.deepEqual(
    page.threads.map((thread) => thread.id),
    live,
  );
});

void test('ListThreads with user_id lists another user’s threads (backend key)', async () => {
  const bob = fresh('bob');
  const mine = fresh('alice-only');
  const shared = fresh('shared');
  await create(alice, mine);
  await alice.threads.createThread({ threadId: shared, memberIds: [bob] });
  assert.deepEqual(await listIds(alice, { userId: bob }), [shared]);
  assert.deepEqual(await listIds(server.api(bob)), [shared]);
  // A backend key acting as nobody must name the user.
  const service = server.apiWith({ authorization: `Bearer ${TEST_KEYS.backend}` });
  assert.deepEqual(await listIds(service, { userId: bob }), [shared]);
  const error = await failure(service.threads.listThreads({}));
  assert.equal(error.code, status.INVALID_ARGUMENT);
  assert.equal(error.reason, 'INVALID_FIELD');
  assert.equal(error.metadata.field, 'user_id');
  // A user without threads gets an empty list.
  const empty = await alice.threads.listThreads({ userId: fresh('nobody') });
  assert.deepEqual(empty.threads, []);
  assert.equal(empty.nextPageToken, '');
});

void test('ListThreads with a page_token that no page gave is INVALID_FIELD page_token', async () => {
  const tokens = ['not a token', 'abc', Buffer.alloc(15).toString('base64url'), '****'];
  tokens.push(Buffer.alloc(16).toString('base64'), Buffer.alloc(17).toString('base64url'));
  for (const pageToken of tokens) {
    const error = await failure(alice.threads.listThreads({ pageToken }));
    assert.equal(error.code, status.INVALID_ARGUMENT, pageToken);
    assert.equal(error.reason, 'INVALID_FIELD', pageToken);
    assert.equal(error.metadata.field, 'page_token', pageToken);
  }
});

void test('UpdateThread changes the title, or replaces the metadata, and bumps the revision', async () => {
  const threadId = fresh('update');
  await alice.threads.createThread({ threadId, title: 'old', metadata: { a: '1', b: '2' } });
  const titled = await alice.threads.updateThread({ threadId, title: 'new' });
  assert.equal(titled.thread?.title, 'new');
  assert.deepEqual(titled.thread?.metadata, { a: '1', b: '2' });
  assert.equal(titled.thread?.revision, 2n);
  const replaced = await alice.threads.updateThread({
    threadId,
    metadata: { entries: { c: '3' } },
  });
  assert.equal(replaced.thread?.title, 'new');
  assert.deepEqual(replaced.thread?.metadata, { c: '3' });
  assert.equal(replaced.thread?.revision, 3n);
  const emptied = await alice.threads.updateThread({ threadId, metadata: { entries: {} } });
  assert.deepEqual(emptied.thread?.metadata, {});
  const cleared = await alice.threads.updateThread({ threadId, title: '' });
  assert.equal(cleared.thread?.title, '');
  const got = await alice.threads.getThread({ threadId });
  assert.deepEqual(got.thread, cleared.thread);
  assert.equal(got.thread?.revision, 5n);
  assert.ok(got.thread.updatedAt! >= got.thread.createdAt!);
  const events = await alice.messages.readEvents({ threadId });
  assert.deepEqual(
    events.events.map((event) => event.payload?.$case),
    ['threadCreated', 'threadUpdated', 'threadUpdated', 'threadUpdated', 'threadUpdated'],
  );
});

void test('UpdateThread with a wrong expected_revision is REVISION_CONFLICT with expected/actual', async () => {
  const threadId = fresh('update-rev');
  await create(alice, threadId, 'v1');
  await alice.threads.updateThread({ threadId, title: 'v2' });
  const stale = await failure(
    alice.threads.updateThread({
      threadId,
      title: 'lost',
      expectedRevision: { kind: { $case: 'exact', value: 1n } },
    }),
  );
  assert.equal(stale.code, status.FAILED_PRECONDITION);
  assert.equal(stale.reason, 'REVISION_CONFLICT');
  assert.deepEqual(stale.metadata, { expected: '1', actual: '2' });
  const ahead = await failure(
    alice.threads.updateThread({
      threadId,
      title: 'lost',
      expectedRevision: { kind: { $case: 'exact', value: 3n } },
    }),
  );
  assert.deepEqual(ahead.metadata, { expected: '3', actual: '2' });
  const noThread = await failure(
    alice.threads.updateThread({
      threadId,
      title: 'lost',
      expectedRevision: { kind: { $case: 'noThread', value: true } },
    }),
  );
  assert.equal(noThread.reason, 'REVISION_CONFLICT');
  assert.deepEqual(noThread.metadata, { expected: 'no_thread', actual: '2' });
  const { thread } = await alice.threads.getThread({ threadId });
  assert.equal(thread?.title, 'v2');
  assert.equal(thread?.revision, 2n);
  const ok = await alice.threads.updateThread({
    threadId,
    title: 'v3',
    expectedRevision: { kind: { $case: 'exact', value: 2n } },
  });
  assert.equal(ok.thread?.title, 'v3');
  assert.equal(ok.thread?.revision, 3n);
});

void test('UpdateThread and DeleteThread of an unknown thread are THREAD_NOT_FOUND', async () => {
  const threadId = fresh('nowhere');
  for (const call of [
    () => alice.threads.updateThread({ threadId, title: 'x' }),
    () => alice.threads.deleteThread({ threadId }),
    () => alice.threads.addMembers({ threadId, userIds: ['bob'] }),
    () => alice.threads.removeMembers({ threadId, userIds: ['bob'] }),
  ]) {
    const error = await failure(call());
    assert.equal(error.code, status.NOT_FOUND);
    assert.equal(error.reason, 'THREAD_NOT_FOUND');
  }
});

void test('DeleteThread soft-deletes: GetThread NOT_FOUND unless include_deleted, history kept', async () => {
  const threadId = fresh('delete');
  await alice.threads.createThread({ threadId, title: 'doomed', memberIds: ['bob'] });
  await alice.messages.appendMessage({ threadId, messageId: 'm1', role: 'user', body: 'hi' });
  const { thread } = await alice.threads.deleteThread({ threadId });
  assert.equal(thread?.deleted, true);
  assert.equal(thread?.revision, 3n);
  assert.equal(thread?.title, 'doomed');
  const error = await failure(alice.threads.getThread({ threadId }));
  assert.equal(error.code, status.NOT_FOUND);
  assert.equal(error.reason, 'THREAD_NOT_FOUND');
  const got = await alice.threads.getThread({ threadId, includeDeleted: true });
  assert.deepEqual(got.thread, thread);
  assert.equal(got.thread?.messageCount, 1n);
  const events = await alice.messages.readEvents({ threadId });
  assert.deepEqual(
    events.events.map((event) => event.payload?.$case),
    ['threadCreated', 'messageCreated', 'threadDeleted'],
  );
  const versions = await alice.messages.listMessageVersions({ threadId, messageId: 'm1' });
  assert.equal(versions.versions.length, 1);
});

void test('DeleteThread with a wrong expected_revision is REVISION_CONFLICT and deletes nothing', async () => {
  const threadId = fresh('delete-rev');
  await create(alice, threadId);
  const error = await failure(
    alice.threads.deleteThread({
      threadId,
      expectedRevision: { kind: { $case: 'exact', value: 7n } },
    }),
  );
  assert.equal(error.code, status.FAILED_PRECONDITION);
  assert.equal(error.reason, 'REVISION_CONFLICT');
  assert.deepEqual(error.metadata, { expected: '7', actual: '1' });
  assert.equal((await alice.threads.getThread({ threadId })).thread?.deleted, false);
  const ok = await alice.threads.deleteThread({
    threadId,
    expectedRevision: { kind: { $case: 'exact', value: 1n } },
  });
  assert.equal(ok.thread?.deleted, true);
});

void test('writes to a deleted thread are FAILED_PRECONDITION THREAD_DELETED and change nothing', async () => {
  const threadId = fresh('deleted-writes');
  await create(alice, threadId);
  await alice.messages.appendMessage({ threadId, messageId: 'm1', role: 'user', body: 'hi' });
  await alice.threads.deleteThread({ threadId });
  const head = await headOf(threadId);
  const calls: [string, () => Promise<unknown>][] = [
    ['UpdateThread', () => alice.threads.updateThread({ threadId, title: 'x' })],
    ['DeleteThread', () => alice.threads.deleteThread({ threadId })],
    ['AddMembers', () => alice.threads.addMembers({ threadId, userIds: ['bob'] })],
    ['RemoveMembers', () => alice.threads.removeMembers({ threadId, userIds: ['alice'] })],
    ['AppendMessage', () => alice.messages.appendMessage({ threadId, role: 'user', body: 'x' })],
    [
      'AppendMessage create_thread',
      () => alice.messages.appendMessage({ threadId, role: 'user', body: 'x', createThread: true }),
    ],
    [
      'AppendMessages',
      () => alice.messages.appendMessages({ threadId, messages: [{ role: 'user', body: 'x' }] }),
    ],
    ['EditMessage', () => alice.messages.editMessage({ threadId, messageId: 'm1', body: 'x' })],
    ['DeleteMessage', () => alice.messages.deleteMessage({ threadId, messageId: 'm1' })],
    [
      'AddReaction',
      () => alice.messages.addReaction({ threadId, messageId: 'm1', reaction: 'ok' }),
    ],
    [
      'RemoveReaction',
      () => alice.messages.removeReaction({ threadId, messageId: 'm1', reaction: 'ok' }),
    ],
  ];
  for (const [name, call] of calls) {
    const error = await failure(call());
    assert.equal(error.code, status.FAILED_PRECONDITION, name);
    assert.equal(error.reason, 'THREAD_DELETED', name);
  }
  assert.equal(await headOf(threadId), head);
  // CreateThread on the id of a deleted thread is still THREAD_EXISTS.
  const exists = await failure(alice.threads.createThread({ threadId }));
  assert.equal(exists.reason, 'THREAD_EXISTS');
});

void test('AddMembers and RemoveMembers are idempotent and move the thread in the users’ lists', async () => {
  const threadId = fresh('members');
  const [bob, carol] = [fresh('bob'), fresh('carol')];
  await create(alice, threadId);
  const added = await alice.threads.addMembers({ threadId, userIds: [bob, carol, bob] });
  assert.deepEqual(added.thread?.memberIds, ['alice', bob, carol]);
  assert.equal(added.thread?.revision, 2n);
  assert.deepEqual(await listIds(server.api(bob)), [threadId]);
  assert.deepEqual(await listIds(alice, { userId: carol }), [threadId]);
  // Adding members already there is a no-op: no event.
  const again = await alice.threads.addMembers({ threadId, userIds: [bob, 'alice'] });
  assert.deepEqual(again.thread?.memberIds, ['alice', bob, carol]);
  assert.equal(again.thread?.revision, 2n);
  const removed = await alice.threads.removeMembers({ threadId, userIds: [bob] });
  assert.deepEqual(removed.thread?.memberIds, ['alice', carol]);
  assert.equal(removed.thread?.revision, 3n);
  assert.deepEqual(await listIds(server.api(bob)), []);
  assert.deepEqual(await listIds(server.api(carol)), [threadId]);
  // Removing users who are not members is a no-op.
  const absent = await alice.threads.removeMembers({ threadId, userIds: [bob, fresh('zed')] });
  assert.deepEqual(absent.thread?.memberIds, ['alice', carol]);
  assert.equal(absent.thread?.revision, 3n);
  // Adding bob back puts the thread in his list again.
  await alice.threads.addMembers({ threadId, userIds: [bob] });
  assert.deepEqual(await listIds(server.api(bob)), [threadId]);
  const events = await alice.messages.readEvents({ threadId });
  assert.deepEqual(
    events.events.map((event) => event.payload),
    [
      events.events[0]?.payload,
      { $case: 'membersAdded', value: { userIds: [bob, carol] } },
      { $case: 'membersRemoved', value: { userIds: [bob] } },
      { $case: 'membersAdded', value: { userIds: [bob] } },
    ],
  );
  // The owner can leave too; the thread leaves the owner's list.
  await alice.threads.removeMembers({ threadId, userIds: ['alice'] });
  assert.ok(!(await listIds(alice, { pageSize: 1000 })).includes(threadId));
});

void test('AddMembers and RemoveMembers with no user ids are INVALID_FIELD user_ids', async () => {
  const threadId = fresh('members-empty');
  await create(alice, threadId);
  for (const call of [
    () => alice.threads.addMembers({ threadId, userIds: [] }),
    () => alice.threads.removeMembers({ threadId, userIds: [] }),
  ]) {
    const error = await failure(call());
    assert.equal(error.code, status.INVALID_ARGUMENT);
    assert.equal(error.reason, 'INVALID_FIELD');
    assert.equal(error.metadata.field, 'user_ids');
  }
  assert.equal(await headOf(threadId), 1n);
});
