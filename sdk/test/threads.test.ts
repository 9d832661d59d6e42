import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, TEST_KEYS, type TestServer } from '../../test/support/test-server.js';
import {
  AlreadyExistsError,
  createClient,
  NotFoundError,
  RevisionConflictError,
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

test('create: a generated UUID id, the caller as owner and member, defaults for the rest', async () => {
  const thread = await alice.threads.create();
  assert.match(thread.id, /^[0-9a-f-]{36}$/);
  assert.equal(thread.ownerId, 'alice');
  assert.deepEqual(thread.memberIds, ['alice']);
  assert.equal(thread.title, '');
  assert.deepEqual(thread.metadata, {});
  assert.equal(thread.revision, 1n);
  assert.equal(thread.messageCount, 0n);
  assert.ok(thread.createdAt instanceof Date);
  assert.equal(thread.deleted, false);
  assert.equal(thread.lastMessage, undefined);
});

test('create: given fields; the same request id again returns the same thread', async () => {
  const input = {
    threadId: 'threads-create',
    title: 'Planning',
    metadata: { team: 'core' },
    memberIds: ['bob', 'carol'],
    requestId: 'create-once',
  };
  const thread = await alice.threads.create(input);
  assert.equal(thread.id, 'threads-create');
  assert.equal(thread.title, 'Planning');
  assert.deepEqual(thread.metadata, { team: 'core' });
  assert.deepEqual(thread.memberIds, ['alice', 'bob', 'carol']);

  const again = await alice.threads.create(input);
  assert.deepEqual(again, thread);

  const other = await rejection(
    alice.threads.create({ threadId: 'threads-create' }),
    AlreadyExistsError,
  );
  assert.equal(other.reason, 'THREAD_EXISTS');
});

test('get: the thread, and a deleted one only with includeDeleted', async () => {
  const created = await alice.threads.create({ threadId: 'threads-get', title: 'Get me' });
  assert.deepEqual(await alice.threads.get({ threadId: 'threads-get' }), created);

  await alice.threads.delete({ threadId: 'threads-get' });
  const missing = await rejection(alice.threads.get({ threadId: 'threads-get' }), NotFoundError);
  assert.equal(missing.reason, 'THREAD_NOT_FOUND');
  const deleted = await alice.threads.get({ threadId: 'threads-get', includeDeleted: true });
  assert.equal(deleted.deleted, true);
  assert.equal(deleted.revision, 2n);
});

test('list pages with tokens, all() walks every page, and userId lists another user', async () => {
  const dana = createClient({ address: server.address, apiKey: TEST_KEYS.backend, userId: 'dana' });
  try {
    const ids = ['list-1', 'list-2', 'list-3', 'list-4', 'list-5'];
    for (const threadId of ids) await dana.threads.create({ threadId });

    const first = await dana.threads.list({ pageSize: 2 });
    assert.deepEqual(
      first.threads.map((t) => t.id),
      ['list-5', 'list-4'],
      'most recently active first',
    );
    assert.equal(typeof first.nextPageToken, 'string');
    const second = await dana.threads.list({ pageSize: 2, pageToken: first.nextPageToken });
    assert.deepEqual(
      second.threads.map((t) => t.id),
      ['list-3', 'list-2'],
    );

    const all: string[] = [];
    for await (const thread of dana.threads.all({ pageSize: 2 })) all.push(thread.id);
    assert.deepEqual(all, [...ids].reverse());

    const last = await dana.threads.list({ pageSize: 10 });
    assert.equal(last.threads.length, 5);
    assert.equal(last.nextPageToken, undefined, 'no token on the last page');

    const asService = createClient({ address: server.address, apiKey: TEST_KEYS.backend });
    try {
      const listed = await asService.threads.list({ userId: 'dana' });
      assert.equal(listed.threads.length, 5);
    } finally {
      asService.close();
    }

    await dana.threads.delete({ threadId: 'list-3' });
    const live: string[] = [];
    for await (const thread of dana.threads.all()) live.push(thread.id);
    assert.ok(!live.includes('list-3'));
    const withDeleted: string[] = [];
    for await (const thread of dana.threads.all({ includeDeleted: true })) {
      withDeleted.push(thread.id);
    }
    assert.ok(withDeleted.includes('list-3'));
  } finally {
    dana.close();
  }
});

test('update: title and metadata, expectedRevision as bigint, number or string', async () => {
  await alice.threads.create({ threadId: 'threads-update', metadata: { a: '1' } });
  const titled = await alice.threads.update({
    threadId: 'threads-update',
    title: 'Renamed',
    expectedRevision: 1n,
  });
  assert.equal(titled.title, 'Renamed');
  assert.deepEqual(titled.metadata, { a: '1' }, 'metadata left unchanged');
  assert.equal(titled.revision, 2n);

  const replaced = await alice.threads.update({
    threadId: 'threads-update',
    metadata: { b: '2' },
    expectedRevision: 2,
  });
  assert.deepEqual(replaced.metadata, { b: '2' });
  assert.equal(replaced.title, 'Renamed', 'title left unchanged');

  const cleared = await alice.threads.update({
    threadId: 'threads-update',
    metadata: {},
    expectedRevision: '3',
  });
  assert.deepEqual(cleared.metadata, {});

  const conflict = await rejection(
    alice.threads.update({ threadId: 'threads-update', title: 'x', expectedRevision: 1n }),
    RevisionConflictError,
  );
  assert.equal(conflict.expected, 1n);
  assert.equal(conflict.actual, 4n);
  await rejection(
    alice.threads.update({ threadId: 'threads-update', expectedRevision: -1 }),
    RangeError,
  );
});

test('delete: a soft delete with an expected revision; a repeat of its request id is harmless', async () => {
  await alice.threads.create({ threadId: 'threads-delete' });
  await rejection(
    alice.threads.delete({ threadId: 'threads-delete', expectedRevision: 5n }),
    RevisionConflictError,
  );
  const deleted = await alice.threads.delete({
    threadId: 'threads-delete',
    expectedRevision: 1n,
    requestId: 'delete-once',
  });
  assert.equal(deleted.deleted, true);
  const again = await alice.threads.delete({
    threadId: 'threads-delete',
    requestId: 'delete-once',
  });
  assert.equal(again.revision, deleted.revision);
});

test('addMembers and removeMembers', async () => {
  await alice.threads.create({ threadId: 'threads-members' });
  const added = await alice.threads.addMembers({
    threadId: 'threads-members',
    userIds: ['bob', 'carol', 'alice'],
  });
  assert.deepEqual(added.memberIds, ['alice', 'bob', 'carol']);
  const removed = await alice.threads.removeMembers({
    threadId: 'threads-members',
    userIds: ['bob', 'zed'],
  });
  assert.deepEqual(removed.memberIds, ['alice', 'carol']);
  assert.equal(removed.revision, 3n);
});
