import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ServerError, Status } from 'nice-grpc';
import { startTestServer, TEST_KEYS, type TestServer } from '../../test/support/test-server.js';
import { AppendMessageResponse } from '../src/gen/progressdb/v1/message_service.js';
import { GetThreadResponse } from '../src/gen/progressdb/v1/thread_service.js';
import {
  createClient,
  DeadlineExceededError,
  isRetryable,
  NotFoundError,
  ProgressDBError,
  RateLimitedError,
  UnavailableError,
} from '../src/index.js';
import { backoffMs, retryPolicy } from '../src/retry-policy.js';
import { fail, startFakeServer } from './support/fake-server.js';
import { rejection } from './support/rejection.js';
import { startTcpProxy } from './support/tcp-proxy.js';

let server: TestServer;

before(async () => {
  server = await startTestServer();
});

after(async () => {
  await server.close();
});

const fast = { initialBackoffMs: 5, maxBackoffMs: 20 };

test('an append whose answer is lost is retried with its request id and lands once', async () => {
  const proxy = await startTcpProxy(server.address);
  const client = createClient({
    address: proxy.address,
    apiKey: TEST_KEYS.backend,
    userId: 'alice',
    retry: fast,
  });
  try {
    await client.threads.create({ threadId: 'lost-answer' });
    // The server commits the append, then the connection drops before its answer arrives.
    const dropped = proxy.dropNextAnswer();
    const { message, revision } = await client.messages.append({
      threadId: 'lost-answer',
      body: 'exactly once',
    });
    await dropped;
    assert.ok(proxy.connections >= 2, 'the retry went over a new connection');
    assert.equal(revision, 2n);
    const page = await client.messages.list({ threadId: 'lost-answer' });
    assert.deepEqual(
      page.messages.map((m) => [m.id, m.body]),
      [[message.id, 'exactly once']],
    );

    // The same for a batch, and for the other writes: a repeat returns the original result.
    const droppedBatch = proxy.dropNextAnswer();
    const batch = await client.messages.appendMany({
      threadId: 'lost-answer',
      messages: [{ body: 'a' }, { body: 'b' }],
    });
    await droppedBatch;
    assert.equal(batch.revision, 4n);
    const droppedEdit = proxy.dropNextAnswer();
    const edited = await client.messages.edit({
      threadId: 'lost-answer',
      messageId: message.id,
      body: 'edited once',
    });
    await droppedEdit;
    assert.equal(edited.version, 2);
    const droppedCreate = proxy.dropNextAnswer();
    const created = await client.threads.create({ title: 'created once' });
    await droppedCreate;
    assert.equal(created.revision, 1n);
    const head = await client.threads.get({ threadId: 'lost-answer' });
    assert.equal(head.revision, 5n, 'three writes, each applied once');
    assert.equal(head.messageCount, 3n);
  } finally {
    client.close();
    await proxy.close();
  }
});

test('with retries off, a lost answer is an UnavailableError (and the write may have landed)', async () => {
  const proxy = await startTcpProxy(server.address);
  const client = createClient({
    address: proxy.address,
    apiKey: TEST_KEYS.backend,
    userId: 'alice',
    retry: false,
  });
  try {
    await client.threads.create({ threadId: 'no-retry' });
    const dropped = proxy.dropNextAnswer();
    const error = await rejection(
      client.messages.append({ threadId: 'no-retry', body: 'x', requestId: 'mine' }),
      UnavailableError,
    );
    await dropped;
    assert.equal(isRetryable(error), true);
    // Retrying by hand with the same request id is safe: the original comes back.
    const again = await client.messages.append({
      threadId: 'no-retry',
      body: 'x',
      requestId: 'mine',
    });
    assert.equal(again.revision, 2n);
    const page = await client.messages.list({ threadId: 'no-retry' });
    assert.equal(page.messages.length, 1);
  } finally {
    client.close();
    await proxy.close();
  }
});

test('UNAVAILABLE is retried with backoff and the same request id, up to maxAttempts', async () => {
  let attempts = 0;
  const fake = await startFakeServer({
    messages: {
      appendMessage: () => {
        attempts++;
        if (attempts <= 2) throw new ServerError(Status.UNAVAILABLE, 'not yet');
        return AppendMessageResponse.fromPartial({ message: { id: 'm' }, revision: 7n });
      },
    },
  });
  const client = createClient({ address: fake.address, apiKey: 'k', retry: fast });
  try {
    const { revision } = await client.messages.append({ threadId: 't', body: 1 });
    assert.equal(revision, 7n);
    assert.equal(attempts, 3);
    const requestIds = fake.calls.map((call) => (call.request as { requestId: string }).requestId);
    assert.equal(new Set(requestIds).size, 1, 'every attempt carries the same request id');
    assert.match(requestIds[0] ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(fake.calls[0]?.metadata.get('authorization'), 'Bearer k');

    attempts = -10; // fails from now on
    fake.calls.length = 0;
    await rejection(
      client.messages.append({ threadId: 't', body: 1 }, { retry: { maxAttempts: 3 } }),
      UnavailableError,
    );
    assert.equal(fake.calls.length, 3);
    fake.calls.length = 0;
    await rejection(
      client.messages.append({ threadId: 't', body: 1 }, { retry: false }),
      UnavailableError,
    );
    assert.equal(fake.calls.length, 1);
  } finally {
    client.close();
    await fake.close();
  }
});

test('answers are not retried: errors with a reason, rate limits, and a purge', async () => {
  const fake = await startFakeServer({
    threads: {
      getThread: (_request, context) => fail(context, Status.NOT_FOUND, 'THREAD_NOT_FOUND'),
      listThreads: (_request, context) =>
        fail(context, Status.RESOURCE_EXHAUSTED, 'RATE_LIMITED', { retry_after_ms: '250' }),
    },
    admin: {
      purgeThread: () => {
        throw new ServerError(Status.UNAVAILABLE, 'down');
      },
    },
  });
  const client = createClient({ address: fake.address, apiKey: 'k', retry: fast });
  try {
    await rejection(client.threads.get({ threadId: 't' }), NotFoundError);
    const limited = await rejection(client.threads.list(), RateLimitedError);
    assert.equal(limited.retryAfterMs, 250);
    assert.equal(isRetryable(limited), true, 'the caller may retry after retryAfterMs');
    await rejection(client.admin.purgeThread({ threadId: 't' }), UnavailableError);
    assert.deepEqual(
      fake.calls.map((call) => call.method),
      ['GetThread', 'ListThreads', 'PurgeThread'],
    );
  } finally {
    client.close();
    await fake.close();
  }
});

test('attemptTimeoutMs retries a hung attempt within the call deadline', async () => {
  let attempts = 0;
  const fake = await startFakeServer({
    threads: {
      getThread: async (_request, context) => {
        attempts++;
        if (attempts === 1) {
          // Hangs until the client gives up on this attempt.
          await new Promise((resolve) => context.signal.addEventListener('abort', resolve));
          throw new ServerError(Status.CANCELLED, 'gone');
        }
        return GetThreadResponse.fromPartial({ thread: { id: 't', revision: 3n } });
      },
    },
  });
  const client = createClient({
    address: fake.address,
    apiKey: 'k',
    retry: { ...fast, attemptTimeoutMs: 100 },
  });
  try {
    const thread = await client.threads.get({ threadId: 't' });
    assert.equal(thread.revision, 3n);
    assert.equal(attempts, 2);

    // An attempt timeout longer than the call's deadline changes nothing: the deadline ends it.
    attempts = 0;
    const started = Date.now();
    await rejection(
      client.threads.get(
        { threadId: 't' },
        { deadlineMs: 200, retry: { attemptTimeoutMs: 10_000 } },
      ),
      DeadlineExceededError,
    );
    assert.ok(Date.now() - started < 5000);
    assert.equal(attempts, 1);
  } finally {
    client.close();
    await fake.close();
  }
});

test('retries stop at the deadline', async () => {
  const fake = await startFakeServer({
    threads: {
      getThread: () => {
        throw new ServerError(Status.UNAVAILABLE, 'down');
      },
    },
  });
  const client = createClient({
    address: fake.address,
    apiKey: 'k',
    retry: { maxAttempts: 1000, initialBackoffMs: 20, maxBackoffMs: 40 },
  });
  try {
    const started = Date.now();
    const error = await rejection(
      client.threads.get({ threadId: 't' }, { deadlineMs: 300 }),
      ProgressDBError,
    );
    const took = Date.now() - started;
    // The last error, or the deadline if it passed during the last attempt.
    assert.ok(
      error instanceof UnavailableError || error instanceof DeadlineExceededError,
      error.name,
    );
    assert.ok(took < 2000, `took ${took} ms`);
    assert.ok(fake.calls.length > 2 && fake.calls.length < 100, `${fake.calls.length} attempts`);
  } finally {
    client.close();
    await fake.close();
  }
});

test('backoff grows, is capped and jittered; bad settings are refused', () => {
  const policy = retryPolicy({ initialBackoffMs: 100, maxBackoffMs: 1000, backoffMultiplier: 2 });
  for (let i = 0; i < 50; i++) {
    const first = backoffMs(policy, 1);
    assert.ok(first >= 50 && first <= 100, String(first));
    const third = backoffMs(policy, 3);
    assert.ok(third >= 200 && third <= 400, String(third));
    const capped = backoffMs(policy, 20);
    assert.ok(capped >= 500 && capped <= 1000, String(capped));
  }
  assert.equal(retryPolicy(false).maxAttempts, 1);
  assert.equal(retryPolicy(undefined).maxAttempts, 5);
  assert.equal(
    retryPolicy({ maxAttempts: 2 }, retryPolicy({ initialBackoffMs: 7 })).initialBackoffMs,
    7,
  );
  assert.throws(() => retryPolicy({ maxAttempts: -1 }), RangeError);
  assert.throws(
    () => createClient({ address: '127.0.0.1:1', apiKey: 'k', retry: { maxBackoffMs: NaN } }),
    RangeError,
  );
});
