import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, TEST_KEYS, type TestServer } from '../../test/support/test-server.js';
import {
  createClient,
  EventType,
  isCaughtUp,
  NotFoundError,
  SubscriberTooSlowError,
  UnavailableError,
  type Event,
  type ProgressDBClient,
  type TailItem,
  type TailReconnect,
} from '../src/index.js';
import { follow } from './support/follow.js';
import { rejection } from './support/rejection.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';

let server: TestServer;
let proxy: TcpProxy;
/** Writes directly to the server. */
let writer: ProgressDBClient;
/** Tails through the proxy, which the tests cut. */
let viaProxy: ProgressDBClient;

const fastRetry = { initialBackoffMs: 20, maxBackoffMs: 200 };

before(async () => {
  server = await startTestServer();
  proxy = await startTcpProxy(server.address);
  writer = createClient({ address: server.address, apiKey: TEST_KEYS.backend, userId: 'alice' });
  viaProxy = createClient({
    address: proxy.address,
    apiKey: TEST_KEYS.backend,
    userId: 'alice',
    retry: fastRetry,
  });
});

after(async () => {
  writer.close();
  viaProxy.close();
  await proxy.close();
  await server.close();
});

const events = (items: readonly TailItem[]): Event[] =>
  items.filter((item): item is Event => !isCaughtUp(item));
const revisions = (items: readonly TailItem[]): bigint[] => events(items).map((e) => e.revision);
const range = (from: number, to: number): bigint[] =>
  Array.from({ length: to - from + 1 }, (_, i) => BigInt(from + i));

async function append(threadId: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await writer.messages.append({ threadId, body: { i } });
}

test('tail.thread replays after afterRevision, marks caughtUp, then follows live', async () => {
  await append('tail-replay', 3); // revisions 1 (created) to 4
  const tail = viaProxy.tail.thread('tail-replay', { afterRevision: 1, caughtUp: true });
  const seen = follow(tail);
  await seen.until((items) => items.some(isCaughtUp));
  assert.deepEqual(
    seen.items.slice(0, 3).map((item) => !isCaughtUp(item) && item.revision),
    [2n, 3n, 4n],
  );
  const marker = seen.items[3];
  assert.ok(marker && isCaughtUp(marker));
  assert.equal(marker.revision, 4n);
  assert.equal(tail.cursor, 4n);

  await append('tail-replay', 2);
  await seen.until((items) => events(items).length === 5);
  assert.deepEqual(revisions(seen.items), range(2, 6));
  const created = events(seen.items)[4];
  assert.equal(created?.payload?.$case, 'messageCreated');
  assert.equal(tail.cursor, 6n);
  tail.close();
  assert.equal(await seen.ended, undefined, 'close() ends the loop quietly');
});

test('tail.thread without afterRevision starts at the head and yields only events', async () => {
  await append('tail-head', 2);
  const tail = viaProxy.tail.thread('tail-head');
  const seen = follow(tail, (items) => items.length === 2);
  // The cursor is set by the caught_up frame: the tail is live from then on.
  while (tail.cursor === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(tail.cursor, 3n);
  await append('tail-head', 2);
  assert.equal(await seen.ended, undefined);
  assert.deepEqual(revisions(seen.items), [4n, 5n]);
});

test('a thread tail survives dropped connections and yields every revision once', async () => {
  await writer.threads.create({ threadId: 'tail-drop' });
  const reconnects: TailReconnect[] = [];
  const tail = viaProxy.tail.thread('tail-drop', {
    afterRevision: 0,
    onReconnect: (reconnect) => reconnects.push(reconnect),
  });
  const seen = follow(tail, (items) => items.length === 31);
  await append('tail-drop', 10);
  await seen.until((items) => items.length >= 5);
  proxy.dropConnections();
  await append('tail-drop', 10);
  await seen.until((items) => items.length >= 15);
  proxy.dropConnections();
  await append('tail-drop', 10);
  assert.equal(await seen.ended, undefined);
  assert.deepEqual(revisions(seen.items), range(1, 31));
  assert.ok(reconnects.length >= 2, `reconnected ${reconnects.length} times`);
  for (const reconnect of reconnects) {
    assert.ok(reconnect.error instanceof UnavailableError, String(reconnect.error));
    assert.equal(typeof reconnect.cursor, 'bigint');
  }
});

test('tail.user follows the user’s threads by position and survives a dropped connection', async () => {
  const dana = createClient({
    address: proxy.address,
    apiKey: TEST_KEYS.backend,
    userId: 'dana',
    retry: fastRetry,
  });
  try {
    const tail = dana.tail.user({ caughtUp: true });
    const seen = follow(tail);
    await seen.until((items) => items.some(isCaughtUp));
    const asDana = { metadata: { 'x-user-id': 'dana' } };
    await writer.messages.append({ threadId: 'user-a', body: 1 }, asDana);
    await writer.messages.append({ threadId: 'not-danas', body: 1 }); // alice's thread
    await writer.messages.append({ threadId: 'user-b', body: 1 }, asDana);
    await seen.until((items) => events(items).length === 4);
    proxy.dropConnections();
    await writer.messages.append({ threadId: 'user-a', body: 2 }, asDana);
    await seen.until(
      (items) => events(items).length === 5 && items.filter(isCaughtUp).length === 2,
    );
    const got = events(seen.items);
    assert.deepEqual(
      got.map((e) => [e.threadId, e.revision]),
      [
        ['user-a', 1n],
        ['user-a', 2n],
        ['user-b', 1n],
        ['user-b', 2n],
        ['user-a', 3n],
      ],
    );
    const positions = got.map((e) => e.position);
    assert.deepEqual(
      positions,
      [...positions].sort((a, b) => (a < b ? -1 : 1)),
      'in position order',
    );
    assert.equal(tail.cursor, positions.at(-1));
    assert.equal(seen.items.filter(isCaughtUp).length, 2, 'one marker per connection');
    tail.close();
    await seen.ended;
  } finally {
    dana.close();
  }
});

test('tail.all filters by thread prefix and event kind, resumes by position', async () => {
  const tail = viaProxy.tail.all({
    threadIdPrefix: 'feed-',
    eventTypes: ['messageCreated', EventType.EVENT_TYPE_THREAD_DELETED],
    caughtUp: true,
  });
  const seen = follow(tail);
  await seen.until((items) => items.some(isCaughtUp));
  await append('feed-1', 2);
  await append('other', 1);
  await seen.until((items) => events(items).length === 2);
  proxy.dropConnections();
  await writer.threads.delete({ threadId: 'feed-1' });
  await append('feed-2', 1);
  await seen.until((items) => events(items).length === 4);
  assert.deepEqual(
    events(seen.items).map((e) => [e.threadId, e.payload?.$case]),
    [
      ['feed-1', 'messageCreated'],
      ['feed-1', 'messageCreated'],
      ['feed-1', 'threadDeleted'],
      ['feed-2', 'messageCreated'],
    ],
  );

  // From a position: the replay yields what came after it, once.
  const from = events(seen.items)[1]?.position;
  tail.close();
  const replay = follow(
    writer.tail.all({ afterPosition: from, threadIdPrefix: 'feed-' }),
    (items) => items.length === 3,
  );
  assert.equal(await replay.ended, undefined);
  assert.deepEqual(
    replay.items.map((e) => e.payload?.$case),
    ['threadDeleted', 'threadCreated', 'messageCreated'],
  );
});

test('a tail that falls behind (SUBSCRIBER_TOO_SLOW) resumes from its cursor', async () => {
  const slow = await startTestServer({ env: { PROGRESSDB_TAIL_MAX_BUFFERED_EVENTS: '5' } });
  const client = createClient({
    address: slow.address,
    apiKey: TEST_KEYS.backend,
    userId: 'alice',
    retry: fastRetry,
  });
  try {
    await client.threads.create({ threadId: 'too-slow' });
    const reconnects: TailReconnect[] = [];
    const tail = client.tail.thread('too-slow', {
      afterRevision: 0,
      caughtUp: true,
      onReconnect: (reconnect) => reconnects.push(reconnect),
    });
    const seen = follow(tail);
    await seen.until((items) => events(items).length === 1);
    // One commit of 200 events overflows the 5-event mailbox at once.
    await client.messages.appendMany({
      threadId: 'too-slow',
      messages: Array.from({ length: 200 }, (_, i) => ({ body: i })),
    });
    await seen.until((items) => events(items).length === 201);
    assert.deepEqual(revisions(seen.items), range(1, 201));
    assert.ok(reconnects.length >= 1, 'the server dropped the tail');
    const dropped = reconnects[0]?.error;
    assert.ok(dropped instanceof SubscriberTooSlowError);
    assert.equal(dropped.reason, 'SUBSCRIBER_TOO_SLOW');
    assert.equal(typeof dropped.lastRevision, 'bigint');
    tail.close();
    await seen.ended;

    // Without reconnection, the error reaches the loop.
    const strict = client.tail.thread('too-slow', { afterRevision: 201, retry: false });
    const strictSeen = follow(strict);
    await client.messages.appendMany({
      threadId: 'too-slow',
      messages: Array.from({ length: 200 }, (_, i) => ({ body: i })),
    });
    const error = await strictSeen.ended;
    assert.ok(error instanceof SubscriberTooSlowError, String(error));
    assert.ok((error.lastRevision ?? 0n) >= 201n);
  } finally {
    client.close();
    await slow.close();
  }
});

test('a tail fails at once on an error it cannot resume from', async () => {
  const tail = viaProxy.tail.thread('no-such-thread', { afterRevision: 0 });
  const error = await rejection(tail[Symbol.asyncIterator]().next(), NotFoundError);
  assert.equal(error.reason, 'THREAD_NOT_FOUND');
  assert.throws(() => tail[Symbol.asyncIterator](), /only once/);
});

test('break, close() and client.close() end the server-side subscription', async () => {
  const subscribers = (): number => server.app.tails.stats().subscribers.thread;
  const settle = async (count: number): Promise<void> => {
    while (subscribers() !== count) await new Promise((resolve) => setTimeout(resolve, 5));
  };
  await append('tail-end', 3);
  const base = subscribers();

  for await (const event of writer.tail.thread('tail-end', { afterRevision: 0 })) {
    if (event.revision === 2n) break;
  }
  await settle(base);

  const other = createClient({ address: server.address, apiKey: TEST_KEYS.backend });
  const seen = follow(other.tail.thread('tail-end', { afterRevision: 0 }));
  await seen.until((items) => items.length === 4);
  assert.equal(subscribers(), base + 1);
  other.close();
  assert.equal(await seen.ended, undefined, 'client.close() ends a tail quietly');
  await settle(base);
  await rejection(other.threads.get({ threadId: 'tail-end' }), Error);
});
