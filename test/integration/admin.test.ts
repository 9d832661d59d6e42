import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { databasePath, MASTER_KEY_FILE_NAME } from '../../src/data-folder.js';
import { LocalKeyProvider } from '../../src/crypto/index.js';
import { PurgeAuditRecord, ThreadKeyRecord } from '../../src/gen/progressdb/storage/v1/records.js';
import { rebuildProjections } from '../../src/log/index.js';
import {
  ALL_FAMILIES,
  Family,
  keys,
  PROJECTION_FAMILIES,
  RocksStore,
} from '../../src/storage/index.js';
import { failure } from '../support/api-client.js';
import { startTestServer, TEST_KEYS, type TestServer } from '../support/test-server.js';

const admin = (server: TestServer) =>
  server.apiWith({ authorization: `Bearer ${TEST_KEYS.admin}` });

async function withStore<T>(dataDir: string, read: (store: RocksStore) => T): Promise<T> {
  const store = await RocksStore.open(databasePath(dataDir));
  try {
    return read(store);
  } finally {
    await store.close();
  }
}

function dump(store: RocksStore): Map<string, string[]> {
  const all = new Map<string, string[]>();
  for (const family of ALL_FAMILIES) {
    all.set(
      family,
      store
        .scan(family, { gte: Buffer.alloc(0), lt: Buffer.alloc(64, 0xff) })
        .map((row) => `${row.key.toString('hex')}=${row.value.toString('hex')}`),
    );
  }
  return all;
}

test('PurgeThread removes every row of the thread, its data key first, and nothing else', async () => {
  let server = await startTestServer();
  const api = server.api('alice');
  await api.threads.createThread({ threadId: 'keep', memberIds: ['bob'] });
  await api.messages.appendMessage({ threadId: 'keep', role: 'user', body: 'stays' });
  const dataDir = server.dataDir;
  await server.app.close();
  const before = await withStore(dataDir, dump);
  server = await startTestServer({ dataDir });
  try {
    const alice = server.api('alice');
    await alice.threads.createThread({ threadId: 'gone', memberIds: ['bob'], requestId: 'r1' });
    const first = await alice.messages.appendMessage({
      threadId: 'gone',
      role: 'user',
      body: { text: 'erase me' },
      messageId: 'm1',
      requestId: 'r2',
    });
    await alice.messages.appendMessage({
      threadId: 'gone',
      role: 'user',
      body: 'reply',
      replyToId: first.message?.id,
    });
    await alice.messages.editMessage({ threadId: 'gone', messageId: 'm1', body: 'edited' });
    await alice.messages.addReaction({ threadId: 'gone', messageId: 'm1', reaction: 'x' });
    await alice.threads.addMembers({ threadId: 'gone', userIds: ['carol'] });

    // Reading the thread fills the caches of opened messages; the purge must empty them.
    await alice.messages.listMessages({ threadId: 'gone' });
    await alice.messages.listMessageVersions({ threadId: 'gone', messageId: 'm1' });
    const number = server.app.log.reader.threadNumber('gone');
    assert.ok(number !== undefined && server.app.log.reader.cachedEntries(number) > 0);
    const purged = await admin(server).admin.purgeThread({ threadId: 'gone' });
    assert.deepEqual(purged, { threadId: 'gone', eventsRemoved: 6n });
    assert.equal(server.app.log.reader.cachedEntries(number), 0, 'no plaintext outlives the purge');
    const missing = await failure(
      alice.threads.getThread({ threadId: 'gone', includeDeleted: true }),
    );
    assert.deepEqual([missing.code, missing.reason], [grpc.status.NOT_FOUND, 'THREAD_NOT_FOUND']);
    const inbox = await server.api('bob').threads.listThreads({});
    assert.deepEqual(
      inbox.threads.map((thread) => thread.id),
      ['keep'],
    );
    const again = await failure(admin(server).admin.purgeThread({ threadId: 'gone' }));
    assert.equal(again.reason, 'THREAD_NOT_FOUND');
    await server.app.close();
    const after = await withStore(dataDir, dump);
    for (const family of ALL_FAMILIES) {
      if (family === Family.default) continue;
      assert.deepEqual(after.get(family), before.get(family), `family ${family}`);
    }
    // The thread's log is gone; its purge leaves an audit record.
    const audit = await withStore(dataDir, (store) =>
      store
        .scan(Family.default, keys.purgeAuditRange)
        .map((row) => PurgeAuditRecord.decode(row.value)),
    );
    assert.deepEqual(
      audit.map((record) => [record.threadId, record.reason, record.eventsRemoved]),
      [['gone', 'admin', 6n]],
    );
  } finally {
    await server.close();
  }
});

test('RewrapKeys moves every data key to a new master key without touching the data', async () => {
  let server = await startTestServer();
  const api = server.api();
  for (let i = 0; i < 5; i++) {
    await api.messages.appendMessage({
      threadId: `rotate-${i}`,
      role: 'user',
      body: { i },
      createThread: true,
    });
  }
  const dataDir = server.dataDir;
  await server.app.close();
  const file = join(dataDir, MASTER_KEY_FILE_NAME);
  const provider = await LocalKeyProvider.open({ file, createIfMissing: false });
  const [oldKey] = provider.masterKeyIds();
  const newKey = await provider.addMasterKey();
  await provider.close();
  const dataBefore = await withStore(dataDir, (store) => {
    const all = dump(store);
    all.delete(Family.keys);
    return all;
  });

  server = await startTestServer({ dataDir });
  const progress: { done: bigint; total: bigint; finished: boolean }[] = [];
  await new Promise<void>((resolve, reject) => {
    const stream = admin(server).raw.admin.rewrapKeys({ kmsKeyId: '' }, admin(server).metadata);
    stream.on('data', (message: { done: bigint; total: bigint; finished: boolean }) =>
      progress.push(message),
    );
    stream.on('error', reject);
    stream.on('end', resolve);
  });
  assert.deepEqual(progress.at(-1), { done: 5n, total: 5n, finished: true });
  await server.app.close();

  const wrappers = await withStore(dataDir, (store) =>
    store
      .scan(Family.keys, { gte: Buffer.alloc(0), lt: Buffer.alloc(9, 0xff) })
      .map((row) => ThreadKeyRecord.decode(row.value).kmsKeyId),
  );
  assert.deepEqual(
    wrappers,
    Array.from({ length: 5 }, () => newKey),
  );
  const dataAfter = await withStore(dataDir, (store) => {
    const all = dump(store);
    all.delete(Family.keys);
    return all;
  });
  assert.deepEqual(dataAfter, dataBefore, 'only the keys family changed');

  // The old master key can go now: everything still opens.
  const reopened = await LocalKeyProvider.open({ file, createIfMissing: false });
  await reopened.removeMasterKey(oldKey as string);
  await reopened.close();
  server = await startTestServer({ dataDir });
  try {
    const page = await server.api().messages.listMessages({ threadId: 'rotate-3' });
    assert.deepEqual(page.messages[0]?.body, { i: 3 });
  } finally {
    await server.close();
  }
});

test('EncryptExisting seals what was written in the clear, consistently with a rebuild, resumably', async () => {
  let server = await startTestServer({ env: { PROGRESSDB_ENCRYPTION: 'off' } });
  const api = server.api('alice');
  const first = await api.messages.appendMessage({
    threadId: 'old-1',
    role: 'user',
    body: { text: 'old plaintext' },
    metadata: { m: 'v' },
    createThread: true,
  });
  await api.messages.appendMessage({
    threadId: 'old-1',
    role: 'user',
    body: 'reply',
    replyToId: first.message?.id,
  });
  await api.messages.editMessage({ threadId: 'old-1', messageId: first.message?.id, body: 'v2' });
  await api.messages.addReaction({
    threadId: 'old-1',
    messageId: first.message?.id,
    reaction: 'x',
  });
  const doomed = await api.messages.appendMessage({
    threadId: 'old-2',
    role: 'user',
    body: 'bye',
    createThread: true,
  });
  await api.messages.deleteMessage({ threadId: 'old-2', messageId: doomed.message?.id });
  const dataDir = server.dataDir;
  const pageBefore = await api.messages.listMessages({ threadId: 'old-1', includeDeleted: true });
  await server.app.close();

  server = await startTestServer({ dataDir });
  const run = async (): Promise<{ done: bigint; total: bigint; finished: boolean }[]> => {
    const client = admin(server);
    const seen: { done: bigint; total: bigint; finished: boolean }[] = [];
    await new Promise<void>((resolve, reject) => {
      const stream = client.raw.admin.encryptExisting({}, client.metadata);
      stream.on('data', (message: { done: bigint; total: bigint; finished: boolean }) =>
        seen.push(message),
      );
      stream.on('error', reject);
      stream.on('end', resolve);
    });
    return seen;
  };
  const progress = await run();
  assert.deepEqual(progress.at(-1), { done: 5n, total: 5n, finished: true });
  assert.deepEqual((await run()).at(-1), { done: 0n, total: 0n, finished: true }, 'nothing left');
  const reader = server.api('alice');
  assert.deepEqual(
    await reader.messages.listMessages({ threadId: 'old-1', includeDeleted: true }),
    pageBefore,
  );
  await server.app.close();

  await withStore(dataDir, (store) => {
    const live = dump(store);
    for (const family of [Family.events, Family.versions, Family.tails]) {
      for (const row of store.scan(family, { gte: Buffer.alloc(0), lt: Buffer.alloc(32, 0xff) })) {
        assert.equal(row.value.includes(Buffer.from('old plaintext')), false, family);
      }
    }
    rebuildProjections(store);
    const rebuilt = dump(store);
    for (const family of PROJECTION_FAMILIES) {
      assert.deepEqual(rebuilt.get(family), live.get(family), `family ${family}`);
    }
  });
  await server.close();
});

test('GetStats: exact totals that survive a restart and follow deletes and purges', async () => {
  let server = await startTestServer();
  const api = server.api('alice');
  await api.messages.appendMessages({
    threadId: 'stats-a',
    createThread: true,
    messages: [
      { role: 'user', body: 1 },
      { role: 'user', body: 2, messageId: 'gone-msg' },
    ],
  });
  await api.messages.deleteMessage({ threadId: 'stats-a', messageId: 'gone-msg' });
  await api.messages.appendMessage({
    threadId: 'stats-b',
    role: 'user',
    body: 3,
    createThread: true,
  });
  await api.threads.deleteThread({ threadId: 'stats-b' });
  const tail = api.raw.tails.tailThread({ threadId: 'stats-a' }, api.metadata);
  tail.on('error', () => undefined);
  await new Promise((resolve) => tail.once('data', resolve));
  const stats = await admin(server).admin.getStats({});
  assert.deepEqual(
    {
      threads: stats.threads,
      deletedThreads: stats.deletedThreads,
      messages: stats.messages,
      deletedMessages: stats.deletedMessages,
      events: stats.events,
    },
    { threads: 2n, deletedThreads: 1n, messages: 3n, deletedMessages: 1n, events: 7n },
  );
  assert.deepEqual(
    stats.subscribers.find((entry) => entry.kind === 'thread'),
    { kind: 'thread', count: 1n },
  );
  assert.equal(stats.position, 7n);
  assert.ok(stats.lastGroupCommit && stats.lastGroupCommit.events >= 1);
  tail.cancel();
  server = await server.restart();
  try {
    await admin(server).admin.purgeThread({ threadId: 'stats-b' });
    const after = await admin(server).admin.getStats({});
    assert.deepEqual(
      [after.threads, after.deletedThreads, after.messages, after.deletedMessages, after.events],
      [1n, 0n, 2n, 1n, 4n],
    );
  } finally {
    await server.close();
  }
});
