import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { TailServiceClient } from '../../src/gen/progressdb/v1/tail_service.js';
import { EventType } from '../../src/gen/progressdb/v1/tail_service.js';
import type { Api } from '../support/api-client.js';
import { TailReader } from '../support/tail-client.js';
import {
  backendMetadata as metadata,
  startTestServer,
  type TestServer,
} from '../support/test-server.js';

let server: TestServer;
let api: Api;
let counter = 0;
const fresh = (name: string): string => `${name}-${++counter}`;

before(async () => {
  server = await startTestServer();
  api = server.api('alice');
});

after(() => server.close());

function tailThread(threadId: string, afterRevision?: bigint, client = api.raw.tails): TailReader {
  return new TailReader(client.tailThread({ threadId, afterRevision }, metadata()));
}

async function appendMany(threadId: string, count: number): Promise<bigint> {
  let revision = 0n;
  for (let i = 0; i < count; i += 100) {
    const batch = Array.from({ length: Math.min(100, count - i) }, (_, j) => ({
      role: 'user',
      body: { n: i + j },
    }));
    revision = (
      await api.messages.appendMessages({ threadId, messages: batch, createThread: true })
    ).revision;
  }
  return revision;
}

test('replay then live with appends racing the switch: every revision once, in order', async () => {
  for (let trial = 0; trial < 8; trial++) {
    const threadId = fresh('race');
    await appendMany(threadId, 300);
    const tail = tailThread(threadId, 0n);
    const racing = Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        api.messages.appendMessage({ threadId, role: 'user', body: { racing: i } }),
      ),
    );
    const head = (await racing).reduce(
      (max, result) => (result.revision > max ? result.revision : max),
      0n,
    );
    await tail.until(
      () =>
        tail.events.at(-1)?.revision === head &&
        tail.items.some((item) => item.kind === 'caughtUp'),
    );
    const revisions = tail.events.map((event) => event.revision);
    assert.deepEqual(
      revisions,
      Array.from({ length: Number(head) }, (_, i) => BigInt(i + 1)),
      `trial ${trial}`,
    );
    const caughtUp = tail.items.filter((item) => item.kind === 'caughtUp');
    assert.equal(caughtUp.length, 1, 'exactly one caught_up');
    const at = tail.items.findIndex((item) => item.kind === 'caughtUp');
    const previous = tail.items[at - 1];
    assert.equal(
      previous?.kind === 'event' ? previous.event.revision : undefined,
      (caughtUp[0] as { revision: bigint }).revision,
      'caught_up carries the last replayed revision',
    );
    tail.cancel();
  }
});

test('without after_revision: caught_up at the head at once, then only new events', async () => {
  const threadId = fresh('head');
  const head = await appendMany(threadId, 5);
  const tail = tailThread(threadId);
  assert.deepEqual(await tail.next(), { kind: 'caughtUp', revision: head, position: 0n });
  const appended = await api.messages.appendMessage({ threadId, role: 'user', body: 'live' });
  const next = await tail.next();
  assert.equal(next.kind, 'event');
  assert.equal(next.kind === 'event' && next.event.revision, appended.revision);
  assert.equal(
    next.kind === 'event' && next.event.payload?.$case === 'messageCreated'
      ? next.event.payload.value.message?.body
      : undefined,
    'live',
  );
  tail.cancel();
});

test('a client that reconnects with its last revision gets exactly the rest', async () => {
  const threadId = fresh('resume');
  await appendMany(threadId, 40);
  const first = tailThread(threadId, 0n);
  await first.until(() => first.events.length >= 17);
  first.cancel();
  const last = first.events[16]!.revision;
  const more = await appendMany(threadId, 10);
  const second = tailThread(threadId, last);
  await second.until(() => second.events.at(-1)?.revision === more);
  assert.deepEqual(
    second.events.map((event) => event.revision),
    Array.from({ length: Number(more - last) }, (_, i) => last + BigInt(i + 1)),
  );
  second.cancel();
});

test('1,000 concurrent tails on one thread all receive every event', async () => {
  const threadId = fresh('fanout');
  const head = await appendMany(threadId, 1);
  const clients = Array.from(
    { length: 10 },
    () =>
      new TailServiceClient(server.address, grpc.credentials.createInsecure(), {
        'grpc.use_local_subchannel_pool': 1,
      }),
  );
  const tails = Array.from({ length: 1000 }, (_, i) =>
    tailThread(threadId, undefined, clients[i % clients.length]),
  );
  await Promise.all(tails.map((tail) => tail.until(() => tail.items.length > 0)));
  const last = await appendMany(threadId, 20);
  await Promise.all(tails.map((tail) => tail.until(() => tail.events.at(-1)?.revision === last)));
  for (const tail of tails) {
    assert.deepEqual(
      tail.events.map((event) => event.revision),
      Array.from({ length: 20 }, (_, i) => head + BigInt(i + 1)),
    );
    tail.cancel();
  }
  await Promise.all(tails.map((tail) => tail.ended));
  for (const client of clients) client.close();
});

test('an unknown thread is NOT_FOUND THREAD_NOT_FOUND; a bad id INVALID_FIELD', async () => {
  const unknown = await tailThread('no-such-thread').ended;
  assert.deepEqual([unknown.code, unknown.reason], [grpc.status.NOT_FOUND, 'THREAD_NOT_FOUND']);
  const bad = await tailThread('bad id').ended;
  assert.deepEqual(
    [bad.code, bad.reason, bad.metadata.field],
    [grpc.status.INVALID_ARGUMENT, 'INVALID_FIELD', 'thread_id'],
  );
});

test('a thread deleted while tailed: its thread_deleted event arrives and the stream stays open', async () => {
  const threadId = fresh('deleted');
  await appendMany(threadId, 2);
  const tail = tailThread(threadId);
  await tail.next();
  await api.threads.deleteThread({ threadId });
  const next = await tail.next();
  assert.equal(next.kind === 'event' && next.event.payload?.$case, 'threadDeleted');
  const replay = tailThread(threadId, 0n);
  await replay.until(() => replay.items.some((item) => item.kind === 'caughtUp'));
  assert.equal(replay.events.at(-1)?.payload?.$case, 'threadDeleted');
  tail.cancel();
  replay.cancel();
  assert.equal((await tail.ended).code, grpc.status.CANCELLED);
});

test('TailUser follows the user’s threads, and membership changes take effect live', async () => {
  const inbox = new TailReader(api.raw.tails.tailUser({ userId: 'bob' }, metadata()));
  const mine = fresh('bob-in');
  const other = fresh('bob-out');
  await api.threads.createThread({ threadId: mine, memberIds: ['bob'] });
  await api.threads.createThread({ threadId: other });
  await api.messages.appendMessage({ threadId: other, role: 'user', body: 'not for bob' });
  await api.messages.appendMessage({ threadId: mine, role: 'user', body: 'for bob' });
  await api.threads.addMembers({ threadId: other, userIds: ['bob'] });
  await api.messages.appendMessage({ threadId: other, role: 'user', body: 'now for bob' });
  await api.threads.removeMembers({ threadId: mine, userIds: ['bob'] });
  await api.messages.appendMessage({ threadId: mine, role: 'user', body: 'not any more' });
  const marker = await api.messages.appendMessage({ threadId: other, role: 'user', body: 'end' });
  await inbox.until(() =>
    inbox.events.some((event) => event.threadId === other && event.revision === marker.revision),
  );
  const seen = inbox.events.map(
    (event) => `${event.threadId === mine ? 'mine' : 'other'}:${event.payload?.$case}`,
  );
  assert.deepEqual(seen, [
    'mine:threadCreated',
    'mine:messageCreated',
    'other:membersAdded',
    'other:messageCreated',
    'mine:membersRemoved',
    'other:messageCreated',
  ]);
  const positions = inbox.events.map((event) => event.position);
  assert.ok(positions.every((position, i) => i === 0 || position > positions[i - 1]!));
  inbox.cancel();
});

test('TailUser replays from a position: the user’s threads now, and who added or removed them', async () => {
  const threadId = fresh('carol');
  const created = await api.threads.createThread({ threadId, memberIds: ['carol'] });
  const events = await api.messages.readEvents({ threadId });
  const from = events.events[0]!.position - 1n;
  await api.messages.appendMessage({ threadId, role: 'user', body: 1 });
  await api.messages.appendMessage({
    threadId: fresh('not-carol'),
    role: 'user',
    body: 2,
    createThread: true,
  });
  const inbox = new TailReader(
    api.raw.tails.tailUser({ userId: 'carol', afterPosition: from }, metadata()),
  );
  await inbox.until(() => inbox.items.some((item) => item.kind === 'caughtUp'));
  assert.deepEqual(
    inbox.events.map((event) => [event.threadId, event.payload?.$case]),
    [
      [threadId, 'threadCreated'],
      [threadId, 'messageCreated'],
    ],
  );
  assert.equal(created.thread?.id, threadId);
  inbox.cancel();
});

test('TailAll filters by thread id prefix and event type, and resumes from a position', async () => {
  const prefix = fresh('feed');
  const before = await api.messages.appendMessage({
    threadId: `${prefix}-a`,
    role: 'user',
    body: 0,
    createThread: true,
  });
  const start =
    (await api.messages.readEvents({ threadId: `${prefix}-a` })).events[0]!.position - 1n;
  const feed = new TailReader(
    api.raw.tails.tailAll(
      {
        afterPosition: start,
        threadIdPrefix: prefix,
        eventTypes: [EventType.EVENT_TYPE_MESSAGE_CREATED],
      },
      metadata(),
    ),
  );
  await api.messages.appendMessage({
    threadId: `${prefix}-b`,
    role: 'user',
    body: 1,
    createThread: true,
  });
  await api.messages.appendMessage({
    threadId: fresh('elsewhere'),
    role: 'user',
    body: 2,
    createThread: true,
  });
  const last = await api.messages.appendMessage({ threadId: `${prefix}-a`, role: 'user', body: 3 });
  await feed.until(() =>
    feed.events.some(
      (event) => event.threadId === `${prefix}-a` && event.revision === last.revision,
    ),
  );
  assert.deepEqual(
    feed.events.map((event) => [event.threadId, event.payload?.$case]),
    [
      [`${prefix}-a`, 'messageCreated'],
      [`${prefix}-b`, 'messageCreated'],
      [`${prefix}-a`, 'messageCreated'],
    ],
  );
  assert.equal(before.revision, 2n);
  feed.cancel();
  const resumed = new TailReader(
    api.raw.tails.tailAll(
      { afterPosition: feed.events[1]!.position, threadIdPrefix: prefix, eventTypes: [] },
      metadata(),
    ),
  );
  await resumed.until(() => resumed.items.some((item) => item.kind === 'caughtUp'));
  assert.deepEqual(
    resumed.events.map((event) => event.position),
    [feed.events[2]!.position],
  );
  resumed.cancel();
});
