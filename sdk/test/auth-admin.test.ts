import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, TEST_KEYS, type TestServer } from '../../test/support/test-server.js';
import {
  createClient,
  NotFoundError,
  PermissionDeniedError,
  UnimplementedError,
  type ProgressDBClient,
} from '../src/index.js';
import { follow } from './support/follow.js';
import { rejection } from './support/rejection.js';

const FRONTEND_KEY = 'frontend-key-0123456789';

let server: TestServer;
let backend: ProgressDBClient;
let admin: ProgressDBClient;

before(async () => {
  server = await startTestServer({ env: { PROGRESSDB_FRONTEND_KEYS: FRONTEND_KEY } });
  backend = createClient({ address: server.address, apiKey: TEST_KEYS.backend });
  admin = createClient({ address: server.address, apiKey: TEST_KEYS.admin });
});

after(async () => {
  backend.close();
  admin.close();
  await server.close();
});

test('signUser: the backend signs a token; the frontend calls as that user', async () => {
  const before = Date.now();
  const signed = await backend.auth.signUser({ userId: 'erin', ttlSeconds: 600 });
  assert.equal(signed.userId, 'erin');
  assert.ok(signed.token.length > 20);
  assert.ok(signed.expiresAt instanceof Date);
  const ttl = signed.expiresAt.getTime() - before;
  assert.ok(ttl > 590_000 && ttl <= 601_000, `ttl ${ttl}`);
  const defaulted = await backend.auth.signUser({ userId: 'erin' });
  assert.ok((defaulted.expiresAt?.getTime() ?? 0) - before > 3_500_000, 'default one hour');

  await backend.threads.create(
    { threadId: 'erins', memberIds: ['erin'] },
    { metadata: { 'x-user-id': 'owner' } },
  );
  const erin = createClient({
    address: server.address,
    apiKey: FRONTEND_KEY,
    userToken: signed.token,
  });
  try {
    const { message } = await erin.messages.append({ threadId: 'erins', body: 'from the browser' });
    assert.equal(message.authorId, 'erin');
    const inbox = [];
    for await (const thread of erin.threads.all()) inbox.push(thread.id);
    assert.deepEqual(inbox, ['erins']);
    const tail = follow(
      erin.tail.thread('erins', { afterRevision: 0 }),
      (items) => items.length === 2,
    );
    assert.equal(await tail.ended, undefined);

    // A frontend user cannot act for someone else: x-user-id is ignored for frontend keys.
    const asOther = await erin.messages.append(
      { threadId: 'erins', body: 'me again' },
      { metadata: { 'x-user-id': 'owner' } },
    );
    assert.equal(asOther.message.authorId, 'erin');
    await rejection(erin.threads.get({ threadId: 'not-erins' }), Error);
    await rejection(erin.admin.purgeThread({ threadId: 'erins' }), PermissionDeniedError);
  } finally {
    erin.close();
  }
});

test('admin: purgeThread hard-deletes, rewrapKeys and encryptExisting stream progress', async () => {
  await backend.messages.append({ threadId: 'to-purge', authorId: 'erin', body: 'secret' });
  await backend.messages.append({ threadId: 'to-keep', authorId: 'erin', body: 'kept' });

  const purged = await admin.admin.purgeThread({ threadId: 'to-purge' });
  assert.equal(purged.threadId, 'to-purge');
  assert.ok(purged.eventsRemoved >= 2n);
  await rejection(
    backend.threads.get({ threadId: 'to-purge', includeDeleted: true }),
    NotFoundError,
  );
  await rejection(admin.admin.purgeThread({ threadId: 'to-purge' }), NotFoundError);

  const rewrap = [];
  for await (const progress of admin.admin.rewrapKeys()) rewrap.push(progress);
  const lastRewrap = rewrap.at(-1);
  assert.equal(lastRewrap?.finished, true);
  assert.equal(lastRewrap?.done, lastRewrap?.total);

  const sealing = [];
  for await (const progress of admin.admin.encryptExisting()) sealing.push(progress);
  assert.equal(sealing.at(-1)?.finished, true);

  assert.equal((await backend.messages.list({ threadId: 'to-keep' })).messages[0]?.body, 'kept');
});

test('admin: getStats and runRetention answer, or are UNIMPLEMENTED until the server has them', async () => {
  const unimplemented = (error: unknown): undefined => {
    if (error instanceof UnimplementedError) return undefined;
    throw error;
  };
  const stats = await admin.admin.getStats().catch(unimplemented);
  if (stats !== undefined) assert.equal(typeof stats.threads, 'bigint');
  const retention = await admin.admin.runRetention({ dryRun: true }).catch(unimplemented);
  if (retention !== undefined) assert.equal(retention.dryRun, true);
});

test('admin methods refuse non-admin keys with ROLE_FORBIDDEN', async () => {
  for (const call of [
    backend.admin.getStats(),
    backend.admin.runRetention(),
    backend.admin.purgeThread({ threadId: 'to-keep' }),
    (async () => {
      for await (const progress of backend.admin.rewrapKeys()) return progress;
    })(),
    (async () => {
      for await (const progress of backend.admin.encryptExisting()) return progress;
    })(),
  ]) {
    const error = await rejection(call, PermissionDeniedError);
    assert.equal(error.reason, 'ROLE_FORBIDDEN');
  }
});
