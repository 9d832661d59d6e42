import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { failure, type Api } from '../support/api-client.js';
import { startTestServer, TEST_KEYS, type TestServer } from '../support/test-server.js';

const { status } = grpc;

let server: TestServer;
let alice: Api;
let counter = 0;
/** An id no other test uses. */
const fresh = (name: string): string => `${name}-${++counter}`;

/** A thread that denied calls must not change. */
const FIX = 'fixture';

before(async () => {
  server = await startTestServer();
  alice = server.api('alice');
  await alice.messages.appendMessage({
    threadId: FIX,
    messageId: 'm',
    role: 'user',
    body: 'hi',
    createThread: true,
  });
});
after(() => server.close());

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

async function head(): Promise<bigint> {
  const { thread } = await alice.threads.getThread({ threadId: FIX });
  assert.ok(thread);
  return thread.revision;
}

/** One call of every kind a client can make with `api`, each a write or a read. */
function everyCall(api: Api): [string, () => Promise<unknown>][] {
  return [
    ['CreateThread', () => api.threads.createThread({ threadId: fresh('denied') })],
    ['GetThread', () => api.threads.getThread({ threadId: FIX })],
    ['ListThreads', () => api.threads.listThreads({ userId: 'alice' })],
    ['UpdateThread', () => api.threads.updateThread({ threadId: FIX, title: 'x' })],
    ['DeleteThread', () => api.threads.deleteThread({ threadId: FIX })],
    ['AddMembers', () => api.threads.addMembers({ threadId: FIX, userIds: ['mallory'] })],
    ['RemoveMembers', () => api.threads.removeMembers({ threadId: FIX, userIds: ['alice'] })],
    [
      'AppendMessage',
      () =>
        api.messages.appendMessage({ threadId: FIX, role: 'u', body: 'x', authorId: 'mallory' }),
    ],
    [
      'AppendMessages',
      () =>
        api.messages.appendMessages({
          threadId: FIX,
          messages: [{ role: 'u', authorId: 'mallory' }],
        }),
    ],
    ['GetMessage', () => api.messages.getMessage({ threadId: FIX, messageId: 'm' })],
    ['ListMessages', () => api.messages.listMessages({ threadId: FIX })],
    ['EditMessage', () => api.messages.editMessage({ threadId: FIX, messageId: 'm', body: 'x' })],
    ['DeleteMessage', () => api.messages.deleteMessage({ threadId: FIX, messageId: 'm' })],
    [
      'ListMessageVersions',
      () => api.messages.listMessageVersions({ threadId: FIX, messageId: 'm' }),
    ],
    [
      'AddReaction',
      () => api.messages.addReaction({ threadId: FIX, messageId: 'm', reaction: 'x' }),
    ],
    [
      'RemoveReaction',
      () => api.messages.removeReaction({ threadId: FIX, messageId: 'm', reaction: 'x' }),
    ],
    ['ReadEvents', () => api.messages.readEvents({ threadId: FIX })],
    ['SignUser', () => api.auth.signUser({ userId: 'alice', ttlSeconds: 60 })],
    ['GetStats', () => api.admin.getStats({})],
    ['PurgeThread', () => api.admin.purgeThread({ threadId: FIX })],
    ['RunRetention', () => api.admin.runRetention({ dryRun: true })],
  ];
}

async function expectAll(
  api: Api,
  expected: { code: grpc.status; reason: string },
  only?: (name: string) => boolean,
): Promise<void> {
  const revision = await head();
  const threadsBefore = await aliceThreads();
  const calls = everyCall(api).filter(([name]) => only?.(name) ?? true);
  assert.ok(calls.length > 0);
  for (const [name, call] of calls) {
    const error = await failure(call());
    assert.equal(error.code, expected.code, name);
    assert.equal(error.reason, expected.reason, name);
  }
  assert.equal(await head(), revision, 'a denied call changed the thread');
  assert.deepEqual(await aliceThreads(), threadsBefore, 'a denied call changed a thread');
}

/** Alice's threads with their revisions: a denied write must not create or change any. */
async function aliceThreads(): Promise<[string, bigint][]> {
  const { threads } = await alice.threads.listThreads({ pageSize: 1000, includeDeleted: true });
  return threads.map((thread) => [thread.id, thread.revision]);
}

/** Opens a stream and resolves with how it ended (a first frame counts as success). */
function streamOutcome(
  start: () => grpc.ClientReadableStream<unknown>,
  signal: AbortSignal,
): Promise<{ code: grpc.status; reason: string | undefined } | 'data'> {
  return new Promise((resolve) => {
    const stream = start();
    // If the server never answers, the test's timeout aborts the signal: do not leave it open.
    signal.addEventListener('abort', () => stream.cancel(), { once: true });
    stream.on('data', () => {
      stream.cancel();
      resolve('data');
    });
    stream.on('error', (error: grpc.ServiceError) => {
      void failure(Promise.reject(error)).then(({ code, reason }) => resolve({ code, reason }));
    });
  });
}

void test('no authorization is UNAUTHENTICATED MISSING_CREDENTIALS on every service', async () => {
  await expectAll(server.apiWith({}), {
    code: status.UNAUTHENTICATED,
    reason: 'MISSING_CREDENTIALS',
  });
  await expectAll(server.apiWith({ authorization: '', 'x-user-id': 'alice' }), {
    code: status.UNAUTHENTICATED,
    reason: 'MISSING_CREDENTIALS',
  });
});

void test('an unknown or malformed key is UNAUTHENTICATED INVALID_API_KEY on every service', async () => {
  for (const authorization of [
    'Bearer wrong-key-0123456789',
    `Bearer ${TEST_KEYS.backend}x`,
    `Bearer ${TEST_KEYS.backend.slice(0, -1)}`,
    `Basic ${TEST_KEYS.backend}`,
    TEST_KEYS.backend,
    'Bearer',
    `Bearer ${TEST_KEYS.backend} extra`,
  ]) {
    await expectAll(server.apiWith({ authorization, 'x-user-id': 'alice' }), {
      code: status.UNAUTHENTICATED,
      reason: 'INVALID_API_KEY',
    });
  }
});

void test('the Bearer scheme is case-insensitive', async () => {
  const api = server.apiWith({
    authorization: `bearer ${TEST_KEYS.backend}`,
    'x-user-id': 'alice',
  });
  const { thread } = await api.threads.getThread({ threadId: FIX });
  assert.equal(thread?.id, FIX);
});

void test('an admin key on Thread, Message and Auth services is PERMISSION_DENIED ROLE_FORBIDDEN', async () => {
  const admin = server.apiWith({ ...bearer(TEST_KEYS.admin), 'x-user-id': 'alice' });
  await expectAll(
    admin,
    { code: status.PERMISSION_DENIED, reason: 'ROLE_FORBIDDEN' },
    (name) => !['GetStats', 'PurgeThread', 'RunRetention'].includes(name),
  );
});

void test('a backend key on AdminService is PERMISSION_DENIED ROLE_FORBIDDEN', async () => {
  await expectAll(alice, { code: status.PERMISSION_DENIED, reason: 'ROLE_FORBIDDEN' }, (name) =>
    ['GetStats', 'PurgeThread', 'RunRetention'].includes(name),
  );
});

void test('an admin key on AdminService: GetStats and RunRetention answer', async () => {
  const admin = server.apiWith(bearer(TEST_KEYS.admin));
  const stats = await admin.admin.getStats({});
  assert.ok(stats.threads >= 1n);
  const report = await admin.admin.runRetention({ dryRun: true });
  assert.equal(report.dryRun, true);
});

void test(
  'streams check the key and role too',
  {
    timeout: 2000,
  },
  async (t) => {
    const cases = [
      [{}, 'TailThread', status.UNAUTHENTICATED, 'MISSING_CREDENTIALS'],
      [bearer('wrong-key-0123456789'), 'TailThread', status.UNAUTHENTICATED, 'INVALID_API_KEY'],
      [bearer(TEST_KEYS.admin), 'TailThread', status.PERMISSION_DENIED, 'ROLE_FORBIDDEN'],
      [bearer(TEST_KEYS.backend), 'RewrapKeys', status.PERMISSION_DENIED, 'ROLE_FORBIDDEN'],
    ] as const;
    for (const [metadata, rpc, code, reason] of cases) {
      const api = server.apiWith(metadata);
      const outcome = await streamOutcome(
        () =>
          rpc === 'TailThread'
            ? api.raw.tails.tailThread({ threadId: FIX }, api.metadata.clone())
            : api.raw.admin.rewrapKeys({ kmsKeyId: '' }, api.metadata.clone()),
        t.signal,
      );
      assert.deepEqual(outcome, { code, reason }, `${rpc} with ${JSON.stringify(metadata)}`);
    }
  },
);

void test('a backend key without x-user-id acts as the service itself', async () => {
  const service = server.apiWith(bearer(TEST_KEYS.backend));
  const threadId = fresh('service');
  const { thread } = await service.threads.createThread({ threadId, memberIds: ['alice'] });
  assert.equal(thread?.ownerId, '');
  assert.deepEqual(thread?.memberIds, ['alice']);
  const { message } = await service.messages.appendMessage({
    threadId,
    authorId: 'bot',
    role: 'assistant',
    body: 'hello',
  });
  assert.equal(message?.authorId, 'bot');
  const events = await service.messages.readEvents({ threadId });
  assert.deepEqual(
    events.events.map((event) => event.actorId),
    ['', ''],
  );
  // Alice sees the thread the service created for her.
  const { threads } = await alice.threads.listThreads({ pageSize: 1000 });
  assert.ok(threads.some((t) => t.id === threadId));
  await service.threads.deleteThread({ threadId });
});

/** The grpc.health.v1 client, built from grpc-health-check's own proto. */
function healthClient(address: string) {
  const definition = loadSync(healthProtoPath, {
    keepCase: true,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
  };
  return new loaded.grpc.health.v1.Health(address, grpc.credentials.createInsecure());
}

function check(client: grpc.Client, service: string): Promise<{ status: string }> {
  return new Promise((resolve, reject) => {
    const method = (client as unknown as Record<string, unknown>).Check as (
      request: { service: string },
      callback: (error: grpc.ServiceError | null, response: { status: string }) => void,
    ) => void;
    method.call(client, { service }, (error, response) =>
      error ? reject(error) : resolve(response),
    );
  });
}

void test('health: SERVING without credentials, for the server and each service', async () => {
  const client = healthClient(server.address);
  try {
    for (const service of [
      '',
      'progressdb.v1.ThreadService',
      'progressdb.v1.MessageService',
      'progressdb.v1.TailService',
      'progressdb.v1.AuthService',
      'progressdb.v1.AdminService',
    ]) {
      assert.deepEqual(await check(client, service), { status: 'SERVING' }, service);
    }
    const unknown = await check(client, 'no.such.Service').then(
      () => undefined,
      (error: grpc.ServiceError) => error.code,
    );
    assert.equal(unknown, status.NOT_FOUND);
  } finally {
    client.close();
  }
});
