import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { databasePath, MASTER_KEY_FILE_NAME } from '../../src/data-folder.js';
import { MessageViewRecord } from '../../src/gen/progressdb/storage/v1/records.js';
import { Family, RocksStore } from '../../src/storage/index.js';
import { failure } from '../support/api-client.js';
import { startKmsFixture } from '../support/kms-fixture.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/** Every byte the database folder holds: SST files, WAL, manifest. */
async function everyFileHolds(dir: string, needle: string): Promise<boolean> {
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const bytes = await readFile(join(entry.parentPath, entry.name));
    if (bytes.includes(Buffer.from(needle))) return true;
  }
  return false;
}

async function writeSecrets(server: TestServer, marker: string): Promise<string> {
  const api = server.api();
  const { message } = await api.messages.appendMessage({
    threadId: 'secret-thread',
    role: 'user',
    body: { text: marker },
    metadata: { note: `${marker}-meta` },
    createThread: true,
  });
  await api.messages.editMessage({
    threadId: 'secret-thread',
    messageId: message?.id,
    body: { text: `${marker}-edited` },
  });
  await api.messages.addReaction({
    threadId: 'secret-thread',
    messageId: message?.id,
    reaction: 'x',
  });
  return message!.id;
}

test('with encryption on (the default), no body or metadata is stored in the clear', async () => {
  const marker = 'plaintext-marker-4f1d2c';
  let server = await startTestServer();
  try {
    const messageId = await writeSecrets(server, marker);
    const master = await stat(join(server.dataDir, MASTER_KEY_FILE_NAME));
    assert.equal(master.mode & 0o777, 0o600, 'the master key file is private');
    server = await server.restart();
    assert.equal(await everyFileHolds(databasePath(server.dataDir), marker), false);
    const api = server.api();
    const { message } = await api.messages.getMessage({ threadId: 'secret-thread', messageId });
    assert.deepEqual(message?.body, { text: `${marker}-edited` });
    assert.deepEqual(message?.metadata, { note: `${marker}-meta` });
    const versions = await api.messages.listMessageVersions({
      threadId: 'secret-thread',
      messageId,
    });
    assert.deepEqual(
      versions.versions.map((version): unknown => version.body),
      [{ text: marker }, { text: `${marker}-edited` }],
    );
    const events = await api.messages.readEvents({ threadId: 'secret-thread' });
    assert.equal(events.events.length, 4);
    const thread = await api.threads.getThread({ threadId: 'secret-thread' });
    assert.deepEqual(thread.thread?.lastMessage?.body, { text: `${marker}-edited` });
  } finally {
    await server.close();
  }
});

test('with PROGRESSDB_ENCRYPTION=off the same check finds the plaintext (the check can fail)', async () => {
  const marker = 'plaintext-marker-9a8b7c';
  let server = await startTestServer({ env: { PROGRESSDB_ENCRYPTION: 'off' } });
  try {
    await writeSecrets(server, marker);
    server = await server.restart();
    assert.equal(await everyFileHolds(databasePath(server.dataDir), marker), true);
  } finally {
    await server.close();
  }
});

test('records written while encryption was off stay readable once it is on; new ones are sealed', async () => {
  const marker = 'plaintext-marker-turned-on';
  const first = await startTestServer({ env: { PROGRESSDB_ENCRYPTION: 'off' } });
  const messageId = await writeSecrets(first, marker);
  const dataDir = first.dataDir;
  await first.app.close();
  const server = await startTestServer({ dataDir });
  try {
    const api = server.api();
    const { message } = await api.messages.getMessage({ threadId: 'secret-thread', messageId });
    assert.deepEqual(message?.body, { text: `${marker}-edited` });
    const later = await api.messages.appendMessage({
      threadId: 'secret-thread',
      role: 'user',
      body: 'sealed now',
    });
    const read = await api.messages.getMessage({
      threadId: 'secret-thread',
      messageId: later.message?.id,
    });
    assert.equal(read.message?.body, 'sealed now');
  } finally {
    await server.close();
  }
});

/** Opens the stopped server's store and rewrites one tails row through `change`. */
async function tamper(
  dataDir: string,
  change: (rows: { key: Buffer; value: Buffer }[]) => { key: Buffer; value: Buffer }[],
): Promise<void> {
  const store = await RocksStore.open(databasePath(dataDir));
  try {
    const rows = store.scan(Family.tails, { gte: Buffer.alloc(0), lt: Buffer.alloc(32, 0xff) });
    store.write(
      change(rows).map((row) => ({
        type: 'put',
        family: Family.tails,
        key: row.key,
        value: row.value,
      })),
      true,
    );
  } finally {
    await store.close();
  }
}

test('a flipped byte in a sealed record is DATA_LOSS DECRYPT_FAILED, never garbage', async () => {
  let server = await startTestServer();
  const api = server.api();
  const { message } = await api.messages.appendMessage({
    threadId: 'tampered',
    role: 'user',
    body: { text: 'original' },
    createThread: true,
  });
  await server.app.close();
  await tamper(server.dataDir, (rows) =>
    rows.map((row) => {
      const value = Buffer.from(row.value);
      value[value.length - 20] = (value[value.length - 20] as number) ^ 0x01;
      return { key: row.key, value };
    }),
  );
  server = await startTestServer({ dataDir: server.dataDir });
  try {
    const error = await failure(
      server.api().messages.getMessage({ threadId: 'tampered', messageId: message?.id }),
    );
    assert.deepEqual([error.code, error.reason], [grpc.status.DATA_LOSS, 'DECRYPT_FAILED']);
  } finally {
    await server.close();
  }
});

test('a sealed record moved to another message fails to open', async () => {
  let server = await startTestServer();
  const api = server.api();
  const a = await api.messages.appendMessage({
    threadId: 'swapped',
    role: 'user',
    body: 'a',
    createThread: true,
  });
  const b = await api.messages.appendMessage({ threadId: 'swapped', role: 'user', body: 'b' });
  await server.app.close();
  // Swap the sealed contents of the two messages, keeping each record's own id and version.
  await tamper(server.dataDir, (rows) => {
    const [first, second] = rows.slice(-2).map((row) => ({
      key: row.key,
      view: MessageViewRecord.decode(row.value),
    }));
    assert.ok(first?.view.message && second?.view.message);
    const body = first.view.message.body;
    first.view.message.body = second.view.message.body;
    second.view.message.body = body;
    return [first, second].map(({ key, view }) => ({
      key,
      value: Buffer.from(MessageViewRecord.encode(view).finish()),
    }));
  });
  server = await startTestServer({ dataDir: server.dataDir });
  try {
    for (const id of [a.message?.id, b.message?.id]) {
      const error = await failure(
        server.api().messages.getMessage({ threadId: 'swapped', messageId: id }),
      );
      assert.deepEqual([error.code, error.reason], [grpc.status.DATA_LOSS, 'DECRYPT_FAILED']);
    }
  } finally {
    await server.close();
  }
});

test('AWS KMS: one GenerateDataKey per new thread, then no KMS call in steady state; outage is KMS_UNAVAILABLE', async () => {
  const kms = await startKmsFixture();
  const keyId = kms.createKey({ alias: 'alias/progressdb' });
  const saved = { ...process.env };
  process.env.AWS_ACCESS_KEY_ID = kms.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = kms.credentials.secretAccessKey;
  const server = await startTestServer({
    env: {
      PROGRESSDB_KMS: 'aws',
      PROGRESSDB_AWS_KMS_KEY_ID: keyId,
      PROGRESSDB_AWS_REGION: kms.region,
      PROGRESSDB_AWS_KMS_ENDPOINT: kms.endpoint,
    },
  });
  try {
    const api = server.api();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        api.messages.appendMessage({ threadId: 'kms', role: 'user', body: i, createThread: true }),
      ),
    );
    for (let i = 0; i < 20; i++) {
      await api.messages.appendMessage({ threadId: 'kms', role: 'user', body: i });
    }
    const page = await api.messages.listMessages({ threadId: 'kms', pageSize: 100 });
    assert.equal(page.messages.length, 40);
    assert.equal(kms.calls('GenerateDataKey'), 1, 'one data key for the thread');
    assert.equal(kms.calls('Decrypt'), 0, 'the unwrapped key stays cached');
    assert.ok(kms.requests.every((request) => request.signed));
    kms.failNext(100);
    const error = await failure(
      api.messages.appendMessage({
        threadId: 'kms-down',
        role: 'user',
        body: 1,
        createThread: true,
      }),
    );
    assert.deepEqual([error.code, error.reason], [grpc.status.UNAVAILABLE, 'KMS_UNAVAILABLE']);
    const missing = await failure(api.threads.getThread({ threadId: 'kms-down' }));
    assert.equal(missing.reason, 'THREAD_NOT_FOUND', 'nothing was written');
  } finally {
    await server.close();
    await kms.close();
    process.env = saved;
  }
});

test('with encrypt_titles on, thread titles are sealed at rest and read back in the clear', async () => {
  const title = 'Quarterly layoffs planning 7f3e';
  let server = await startTestServer({ env: { PROGRESSDB_ENCRYPT_TITLES: 'on' } });
  try {
    const api = server.api('alice');
    const created = await api.threads.createThread({
      threadId: 'titled',
      title,
      memberIds: ['bob'],
    });
    assert.equal(created.thread?.title, title);
    await api.threads.updateThread({ threadId: 'titled', metadata: { entries: { k: 'v' } } });
    const renamed = await api.threads.updateThread({
      threadId: 'titled',
      title: `${title} (renamed)`,
    });
    assert.equal(renamed.thread?.title, `${title} (renamed)`);
    server = await server.restart();
    assert.equal(await everyFileHolds(databasePath(server.dataDir), 'Quarterly layoffs'), false);
    const reader = server.api('bob');
    assert.equal(
      (await reader.threads.getThread({ threadId: 'titled' })).thread?.title,
      `${title} (renamed)`,
    );
    const inbox = await reader.threads.listThreads({});
    assert.equal(inbox.threads[0]?.title, `${title} (renamed)`);
    const events = await reader.messages.readEvents({ threadId: 'titled' });
    assert.deepEqual(
      events.events.map((event) =>
        event.payload?.$case === 'threadCreated' || event.payload?.$case === 'threadUpdated'
          ? event.payload.value.title
          : undefined,
      ),
      [title, title, `${title} (renamed)`],
    );
  } finally {
    await server.close();
  }
});
