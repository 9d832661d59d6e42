import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { TailServiceClient } from '../../src/gen/progressdb/v1/tail_service.js';
import { TailReader } from '../support/tail-client.js';
import {
  backendMetadata as metadata,
  startTestServer,
  type TestServer,
} from '../support/test-server.js';

function subscribers(server: TestServer): number {
  const { thread, user, all } = server.app.tails.stats().subscribers;
  return thread + user + all;
}

/** Resolves once the hub has counted `count` subscribers (they register asynchronously). */
async function settle(server: TestServer, count: number): Promise<void> {
  while (subscribers(server) !== count) await new Promise((resolve) => setImmediate(resolve));
}

test('cancelled tails and expired deadlines free their subscriptions at once', async () => {
  const server = await startTestServer();
  try {
    const api = server.api();
    await api.threads.createThread({ threadId: 'busy' });
    // Spread over connections: Node's HTTP/2 server closes a session that resets thousands of
    // streams at once (its rapid-reset defence), which is not what this test is about.
    const clients = Array.from(
      { length: 20 },
      () =>
        new TailServiceClient(server.address, grpc.credentials.createInsecure(), {
          'grpc.use_local_subchannel_pool': 1,
        }),
    );
    const tails = Array.from({ length: 2000 }, (_, i) => {
      const client = clients[i % clients.length] as TailServiceClient;
      return new TailReader(
        i % 2 === 0
          ? client.tailThread({ threadId: 'busy' }, metadata())
          : client.tailUser({ userId: '' }, metadata()),
      );
    });
    await Promise.all(tails.map((tail) => tail.until(() => tail.items.length > 0)));
    assert.equal(subscribers(server), 2000);
    for (const tail of tails) tail.cancel();
    await Promise.all(tails.map((tail) => tail.ended));
    await settle(server, 0);

    const deadline = new TailReader(
      api.raw.tails.tailThread({ threadId: 'busy' }, metadata(), { deadline: Date.now() + 200 }),
    );
    assert.equal((await deadline.ended).code, grpc.status.DEADLINE_EXCEEDED);
    await settle(server, 0);
    assert.equal(server.app.tails.stats().dropped, 0);
    for (const client of clients) client.close();
  } finally {
    await server.close();
  }
});

test('shutdown ends every tail with UNAVAILABLE SHUTTING_DOWN and where to resume', async () => {
  const server = await startTestServer();
  const api = server.api();
  const appended = await api.messages.appendMessage({
    threadId: 'closing',
    role: 'user',
    body: 1,
    createThread: true,
  });
  const thread = new TailReader(
    api.raw.tails.tailThread({ threadId: 'closing', afterRevision: 0n }, metadata()),
  );
  const all = new TailReader(
    api.raw.tails.tailAll({ afterPosition: 0n, threadIdPrefix: '', eventTypes: [] }, metadata()),
  );
  await thread.until(() => thread.items.some((item) => item.kind === 'caughtUp'));
  await all.until(() => all.items.some((item) => item.kind === 'caughtUp'));
  await server.close();
  const threadEnd = await thread.ended;
  assert.deepEqual(
    [threadEnd.code, threadEnd.reason, threadEnd.metadata.last_revision],
    [grpc.status.UNAVAILABLE, 'SHUTTING_DOWN', String(appended.revision)],
  );
  const allEnd = await all.ended;
  assert.deepEqual([allEnd.code, allEnd.reason], [grpc.status.UNAVAILABLE, 'SHUTTING_DOWN']);
  assert.equal(allEnd.metadata.last_position, String(all.events.at(-1)?.position));
  api.close();
});

test('a frontend tail ends with USER_TOKEN_EXPIRED when its user token expires', async () => {
  const frontendKey = 'frontend-key-expiry-0123456789';
  const server = await startTestServer({
    env: {
      PROGRESSDB_FRONTEND_KEYS: frontendKey,
      PROGRESSDB_SIGNING_SECRETS: 'k1:a-signing-secret-of-at-least-32-characters',
    },
  });
  try {
    const api = server.api('alice');
    await api.threads.createThread({ threadId: 'expiring', memberIds: ['dana'] });
    const { token } = await api.auth.signUser({ userId: 'dana', ttlSeconds: 1 });
    const dana = server.apiWith({ authorization: `Bearer ${frontendKey}`, 'x-user-token': token });
    const tail = new TailReader(dana.raw.tails.tailThread({ threadId: 'expiring' }, dana.metadata));
    assert.equal((await tail.next()).kind, 'caughtUp');
    const end = await tail.ended;
    assert.deepEqual([end.code, end.reason], [grpc.status.UNAUTHENTICATED, 'USER_TOKEN_EXPIRED']);
    await settle(server, 0);
  } finally {
    await server.close();
  }
});
