import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ServerError, Status, type CallContext } from 'nice-grpc';
import { startTestServer, TEST_KEYS, type TestServer } from '../../test/support/test-server.js';
import { GetThreadResponse } from '../src/gen/progressdb/v1/thread_service.js';
import {
  CancelledError,
  createClient,
  DeadlineExceededError,
  isRetryable,
  type ProgressDBClient,
} from '../src/index.js';
import { follow } from './support/follow.js';
import { startFakeServer, type FakeServer } from './support/fake-server.js';
import { rejection } from './support/rejection.js';

let fake: FakeServer;
let server: TestServer;
/** Server-side cancellations the fake saw. */
let cancellations = 0;

/** Waits until the client cancels the call, then fails it. */
async function hang(context: CallContext): Promise<never> {
  await new Promise((resolve) => context.signal.addEventListener('abort', resolve));
  cancellations++;
  throw new ServerError(Status.CANCELLED, 'cancelled');
}

before(async () => {
  fake = await startFakeServer({
    threads: {
      getThread: (_request, context) => hang(context),
      listThreads: () => {
        throw new ServerError(Status.UNAVAILABLE, 'down');
      },
      createThread: () => GetThreadResponse.fromPartial({ thread: { id: 'fast' } }),
    },
    tail: {
      tailThread: async function* () {
        await Promise.resolve();
        yield* [];
        throw new ServerError(Status.UNAVAILABLE, 'down');
      },
    },
  });
  server = await startTestServer();
});

after(async () => {
  await fake.close();
  await server.close();
});

async function settled(count: number): Promise<void> {
  while (cancellations < count) await new Promise((resolve) => setTimeout(resolve, 5));
}

test('a unary call gets the default deadline, and the server sees it cancelled', async () => {
  const client = createClient({ address: fake.address, apiKey: 'k', defaultDeadlineMs: 100 });
  try {
    const before = cancellations;
    const started = Date.now();
    const error = await rejection(client.threads.get({ threadId: 't' }), DeadlineExceededError);
    const took = Date.now() - started;
    assert.ok(took >= 90 && took < 2000, `took ${took} ms`);
    assert.equal(error.code, Status.DEADLINE_EXCEEDED);
    assert.equal(error.method, '/progressdb.v1.ThreadService/GetThread');
    assert.equal(isRetryable(error), true);
    await settled(before + 1);
    assert.equal((await client.threads.create()).id, 'fast', 'fast calls are unaffected');
  } finally {
    client.close();
  }
});

test('deadlineMs per call wins over the default; Infinity means none', async () => {
  const client = createClient({ address: fake.address, apiKey: 'k', defaultDeadlineMs: 60_000 });
  try {
    const started = Date.now();
    await rejection(
      client.threads.get({ threadId: 't' }, { deadlineMs: 50 }),
      DeadlineExceededError,
    );
    assert.ok(Date.now() - started < 2000);

    const controller = new AbortController();
    const pending = client.threads.get(
      { threadId: 't' },
      { deadlineMs: Infinity, signal: controller.signal },
    );
    const outcome = await Promise.race([
      pending.then(
        () => 'answered',
        () => 'failed',
      ),
      new Promise((resolve) => setTimeout(resolve, 200, 'still waiting')),
    ]);
    assert.equal(outcome, 'still waiting');
    controller.abort();
    await rejection(pending, CancelledError);
    await rejection(client.threads.get({ threadId: 't' }, { deadlineMs: -1 }), RangeError);
  } finally {
    client.close();
  }
  const none = createClient({ address: fake.address, apiKey: 'k', defaultDeadlineMs: Infinity });
  try {
    const pending = none.threads.get({ threadId: 't' }, { signal: AbortSignal.timeout(150) });
    await rejection(pending, CancelledError);
  } finally {
    none.close();
  }
});

test('an aborted signal cancels a unary call: before it starts, in flight, or while backing off', async () => {
  const client = createClient({
    address: fake.address,
    apiKey: 'k',
    retry: { initialBackoffMs: 10_000, maxBackoffMs: 10_000 },
  });
  try {
    const calls = fake.calls.length;
    const aborted = await rejection(
      client.threads.get({ threadId: 't' }, { signal: AbortSignal.abort('changed my mind') }),
      CancelledError,
    );
    assert.equal(aborted.code, Status.CANCELLED);
    assert.equal(aborted.cause, 'changed my mind');
    assert.equal(fake.calls.length, calls, 'nothing was sent');

    const before = cancellations;
    const controller = new AbortController();
    const inFlight = client.threads.get({ threadId: 't' }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await rejection(inFlight, CancelledError);
    await settled(before + 1);

    // listThreads is always UNAVAILABLE: the call sleeps 5-10 s before its retry.
    const backingOff = new AbortController();
    const started = Date.now();
    const retrying = client.threads.list({}, { signal: backingOff.signal });
    setTimeout(() => backingOff.abort(), 100);
    await rejection(retrying, CancelledError);
    assert.ok(Date.now() - started < 3000);
    assert.equal(isRetryable(aborted), false);
  } finally {
    client.close();
  }
});

test('close() cancels calls in flight and refuses new ones', async () => {
  const client = createClient({ address: fake.address, apiKey: 'k' });
  const inFlight = client.threads.get({ threadId: 't' });
  await new Promise((resolve) => setTimeout(resolve, 50));
  client.close();
  await rejection(inFlight, CancelledError);
  await rejection(client.threads.create(), CancelledError);
});

let client: ProgressDBClient;

test('tails have no deadline by default; deadlineMs ends one with DeadlineExceededError', async () => {
  client = createClient({
    address: server.address,
    apiKey: TEST_KEYS.backend,
    userId: 'alice',
    defaultDeadlineMs: 50,
  });
  try {
    const slowly = { deadlineMs: 10_000 };
    await client.threads.create({ threadId: 'tail-deadline' }, slowly);
    const tail = follow(client.tail.thread('tail-deadline', { afterRevision: 0 }));
    await tail.until((items) => items.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 200)); // four default deadlines
    await client.messages.append({ threadId: 'tail-deadline', body: 'still there' }, slowly);
    await tail.until((items) => items.length === 2);

    const bounded = follow(
      client.tail.thread('tail-deadline', { afterRevision: 0, deadlineMs: 150 }),
    );
    const error = await bounded.ended;
    assert.ok(error instanceof DeadlineExceededError, String(error));
    assert.equal(bounded.items.length, 2, 'it delivered the replay before the deadline');
  } finally {
    client.close();
  }
});

test('an aborted signal ends a tail quietly, also while it waits to reconnect', async () => {
  client = createClient({ address: server.address, apiKey: TEST_KEYS.backend, userId: 'alice' });
  try {
    await client.threads.create({ threadId: 'tail-abort' });
    const subscribers = (): number => server.app.tails.stats().subscribers.thread;
    const base = subscribers();
    const controller = new AbortController();
    const tail = follow(
      client.tail.thread('tail-abort', { afterRevision: 0, signal: controller.signal }),
    );
    await tail.until((items) => items.length === 1);
    assert.equal(subscribers(), base + 1);
    controller.abort();
    assert.equal(await tail.ended, undefined);
    while (subscribers() !== base) await new Promise((resolve) => setTimeout(resolve, 5));

    const already = follow(client.tail.thread('tail-abort', { signal: AbortSignal.abort() }));
    assert.equal(await already.ended, undefined);
    assert.equal(already.items.length, 0);
  } finally {
    client.close();
  }

  const flaky = createClient({
    address: fake.address,
    apiKey: 'k',
    retry: { initialBackoffMs: 10_000, maxBackoffMs: 10_000 },
  });
  try {
    const controller = new AbortController();
    let reconnects = 0;
    const tail = follow(
      flaky.tail.thread('t', {
        signal: controller.signal,
        onReconnect: () => {
          reconnects++;
          setTimeout(() => controller.abort(), 20);
        },
      }),
    );
    const started = Date.now();
    assert.equal(await tail.ended, undefined);
    assert.ok(Date.now() - started < 3000);
    assert.equal(reconnects, 1);
  } finally {
    flaky.close();
  }
});
