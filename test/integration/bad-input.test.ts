import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { Value } from '../../src/gen/google/protobuf/struct.js';
import { Direction, type Order } from '../../src/gen/progressdb/v1/types.js';
import { failure, type Api } from '../support/api-client.js';
import { startTestServer, TEST_KEYS, type TestServer } from '../support/test-server.js';

let server: TestServer;
let alice: Api;
let counter = 0;
/** An id no other test uses. */
const fresh = (name: string): string => `${name}-${++counter}`;

/** The thread every bad call aims at: it must never change. */
const FIX = 'fixture';
/** A message of FIX. */
const MSG = 'msg-1';
const KiB = 1024;
const U64_MAX = 0xffff_ffff_ffff_ffffn;
/** A body's size as the limit counts it: its encoding as a google.protobuf.Value. */
const encodedSize = (body: unknown): number => Value.encode(Value.wrap(body)).finish().length;

before(async () => {
  server = await startTestServer();
  alice = server.api('alice');
  await alice.threads.createThread({ threadId: FIX, title: 'fixture', memberIds: ['bob'] });
  await alice.messages.appendMessage({ threadId: FIX, messageId: MSG, role: 'user', body: 'hi' });
  await alice.messages.addReaction({ threadId: FIX, messageId: MSG, reaction: 'ok' });
});
after(() => server.close());

/** What a bad call must leave alone: the fixture thread and the list of alice's threads. */
async function snapshot() {
  const { thread } = await alice.threads.getThread({ threadId: FIX });
  const { message } = await alice.messages.getMessage({ threadId: FIX, messageId: MSG });
  const { threads } = await alice.threads.listThreads({ pageSize: 1000, includeDeleted: true });
  return {
    revision: thread?.revision,
    updatedAt: thread?.updatedAt,
    messageCount: thread?.messageCount,
    message,
    threads: threads.map((t) => [t.id, t.revision]),
  };
}

interface Expected {
  code?: status;
  reason: string;
  field?: string;
}

type Case = [label: string, call: () => Promise<unknown>];

/** Runs each call, expecting it to fail so, and checks that nothing changed. */
async function rejects(cases: Case[], expected: Expected): Promise<void> {
  const before = await snapshot();
  for (const [label, call] of cases) {
    const error = await failure(call());
    const code =
      expected.code ??
      (expected.reason.endsWith('NOT_FOUND') ? status.NOT_FOUND : status.INVALID_ARGUMENT);
    assert.equal(error.code, code, label);
    assert.equal(error.reason, expected.reason, label);
    if (expected.field !== undefined) assert.equal(error.metadata.field, expected.field, label);
  }
  assert.deepEqual(await snapshot(), before);
}

const BAD_IDS = [
  'x'.repeat(129),
  'a b',
  ' a',
  'a/b',
  'a\\b',
  'a=b',
  'a#b',
  'a?b',
  'a%20b',
  'a,b',
  'a\nb',
  'a\u0000b',
  'é',
  'aé',
  '日本',
  'a😀',
  '-abc',
  '.abc',
  '~abc',
  ':abc',
  '@abc',
  '_abc',
];
/** Bad ids that can travel in gRPC metadata (printable ASCII). */
const BAD_HEADER_IDS = BAD_IDS.filter((id) => /^[ -~]+$/.test(id) && id.trim() === id);

void test('valid ids at the edges are accepted', async () => {
  for (const threadId of ['x'.repeat(128), 'A', '0', 'a.b~c:d@e-f_g', '9-._~:@']) {
    const { thread } = await alice.threads.createThread({
      threadId,
      requestId: threadId,
      memberIds: [threadId],
    });
    assert.equal(thread?.id, threadId);
    const { message } = await alice.messages.appendMessage({
      threadId,
      messageId: threadId,
      requestId: `${threadId.slice(0, 120)}-msg`,
      authorId: threadId,
      role: 'user',
      body: 1,
    });
    assert.equal(message?.id, threadId);
    assert.equal(message?.authorId, threadId);
  }
});

void test('invalid thread_id is INVALID_FIELD thread_id on every RPC, and nothing changes', async () => {
  for (const threadId of ['', ...BAD_IDS]) {
    const cases: Case[] = [
      ['GetThread', () => alice.threads.getThread({ threadId })],
      ['UpdateThread', () => alice.threads.updateThread({ threadId, title: 'x' })],
      ['DeleteThread', () => alice.threads.deleteThread({ threadId })],
      ['AddMembers', () => alice.threads.addMembers({ threadId, userIds: ['bob'] })],
      ['RemoveMembers', () => alice.threads.removeMembers({ threadId, userIds: ['bob'] })],
      [
        'AppendMessage',
        () => alice.messages.appendMessage({ threadId, role: 'u', body: 1, createThread: true }),
      ],
      [
        'AppendMessages',
        () =>
          alice.messages.appendMessages({
            threadId,
            messages: [{ role: 'u' }],
            createThread: true,
          }),
      ],
      ['GetMessage', () => alice.messages.getMessage({ threadId, messageId: MSG })],
      ['ListMessages', () => alice.messages.listMessages({ threadId })],
      ['EditMessage', () => alice.messages.editMessage({ threadId, messageId: MSG, body: 1 })],
      ['DeleteMessage', () => alice.messages.deleteMessage({ threadId, messageId: MSG })],
      [
        'ListMessageVersions',
        () => alice.messages.listMessageVersions({ threadId, messageId: MSG }),
      ],
      [
        'AddReaction',
        () => alice.messages.addReaction({ threadId, messageId: MSG, reaction: 'x' }),
      ],
      [
        'RemoveReaction',
        () => alice.messages.removeReaction({ threadId, messageId: MSG, reaction: 'ok' }),
      ],
      ['ReadEvents', () => alice.messages.readEvents({ threadId })],
    ];
    // An empty thread_id asks CreateThread to generate one.
    if (threadId !== '')
      cases.push(['CreateThread', () => alice.threads.createThread({ threadId })]);
    await rejects(cases, { reason: 'INVALID_FIELD', field: 'thread_id' });
  }
});

void test('invalid message ids are INVALID_FIELD naming the field, and nothing changes', async () => {
  for (const messageId of ['', ...BAD_IDS]) {
    const threadId = FIX;
    const cases: Case[] = [
      ['GetMessage', () => alice.messages.getMessage({ threadId, messageId })],
      ['EditMessage', () => alice.messages.editMessage({ threadId, messageId, body: 1 })],
      ['DeleteMessage', () => alice.messages.deleteMessage({ threadId, messageId })],
      ['ListMessageVersions', () => alice.messages.listMessageVersions({ threadId, messageId })],
      ['AddReaction', () => alice.messages.addReaction({ threadId, messageId, reaction: 'x' })],
      [
        'RemoveReaction',
        () => alice.messages.removeReaction({ threadId, messageId, reaction: 'ok' }),
      ],
    ];
    // An empty message_id on append means "generate one".
    if (messageId !== '') {
      cases.push([
        'AppendMessage',
        () => alice.messages.appendMessage({ threadId, messageId, role: 'u', body: 1 }),
      ]);
    }
    await rejects(cases, { reason: 'INVALID_FIELD', field: 'message_id' });
    if (messageId === '') continue;
    await rejects(
      [
        [
          'AppendMessages',
          () => alice.messages.appendMessages({ threadId, messages: [{ role: 'u', messageId }] }),
        ],
      ],
      { reason: 'INVALID_FIELD', field: 'messages[0].message_id' },
    );
    await rejects(
      [
        [
          'AppendMessage',
          () => alice.messages.appendMessage({ threadId, role: 'u', replyToId: messageId }),
        ],
      ],
      { reason: 'INVALID_FIELD', field: 'reply_to_id' },
    );
    await rejects(
      [
        [
          'ListMessages',
          () =>
            alice.messages.listMessages({
              threadId,
              anchor: { $case: 'aroundMessageId', value: messageId },
            }),
        ],
      ],
      { reason: 'INVALID_FIELD', field: 'around_message_id' },
    );
  }
});

void test('invalid request_id is INVALID_FIELD request_id on every write, and nothing changes', async () => {
  for (const requestId of BAD_IDS) {
    const threadId = FIX;
    const created = fresh('never');
    const cases: Case[] = [
      ['CreateThread', () => alice.threads.createThread({ threadId: created, requestId })],
      ['UpdateThread', () => alice.threads.updateThread({ threadId, title: 'x', requestId })],
      ['DeleteThread', () => alice.threads.deleteThread({ threadId, requestId })],
      ['AddMembers', () => alice.threads.addMembers({ threadId, userIds: ['z'], requestId })],
      [
        'RemoveMembers',
        () => alice.threads.removeMembers({ threadId, userIds: ['bob'], requestId }),
      ],
      [
        'AppendMessage',
        () => alice.messages.appendMessage({ threadId, role: 'u', body: 1, requestId }),
      ],
      [
        'AppendMessages',
        () => alice.messages.appendMessages({ threadId, messages: [{ role: 'u' }], requestId }),
      ],
      [
        'EditMessage',
        () => alice.messages.editMessage({ threadId, messageId: MSG, body: 2, requestId }),
      ],
      [
        'DeleteMessage',
        () => alice.messages.deleteMessage({ threadId, messageId: MSG, requestId }),
      ],
      [
        'AddReaction',
        () => alice.messages.addReaction({ threadId, messageId: MSG, reaction: 'y', requestId }),
      ],
      [
        'RemoveReaction',
        () =>
          alice.messages.removeReaction({ threadId, messageId: MSG, reaction: 'ok', requestId }),
      ],
    ];
    await rejects(cases, { reason: 'INVALID_FIELD', field: 'request_id' });
    const missing = await failure(alice.threads.getThread({ threadId: created }));
    assert.equal(missing.reason, 'THREAD_NOT_FOUND');
  }
});

void test('invalid user ids are INVALID_FIELD naming the field, and nothing changes', async () => {
  for (const userId of BAD_IDS) {
    const created = fresh('never');
    await rejects(
      [
        [
          'CreateThread',
          () => alice.threads.createThread({ threadId: created, memberIds: ['bob', userId] }),
        ],
      ],
      { reason: 'INVALID_FIELD', field: 'member_ids[1]' },
    );
    await rejects(
      [
        ['AddMembers', () => alice.threads.addMembers({ threadId: FIX, userIds: [userId] })],
        ['RemoveMembers', () => alice.threads.removeMembers({ threadId: FIX, userIds: [userId] })],
      ],
      { reason: 'INVALID_FIELD', field: 'user_ids[0]' },
    );
    await rejects([['ListThreads', () => alice.threads.listThreads({ userId })]], {
      reason: 'INVALID_FIELD',
      field: 'user_id',
    });
    await rejects(
      [
        [
          'AppendMessage',
          () => alice.messages.appendMessage({ threadId: FIX, authorId: userId, role: 'u' }),
        ],
      ],
      { reason: 'INVALID_FIELD', field: 'author_id' },
    );
    await rejects(
      [
        [
          'AppendMessages',
          () =>
            alice.messages.appendMessages({
              threadId: FIX,
              messages: [{ role: 'u' }, { role: 'u', authorId: userId }],
            }),
        ],
      ],
      { reason: 'INVALID_FIELD', field: 'messages[1].author_id' },
    );
    assert.equal(
      (await failure(alice.threads.getThread({ threadId: created }))).reason,
      'THREAD_NOT_FOUND',
    );
  }
  // An empty member id is invalid too.
  await rejects(
    [
      [
        'CreateThread',
        () => alice.threads.createThread({ threadId: fresh('never'), memberIds: [''] }),
      ],
    ],
    { reason: 'INVALID_FIELD', field: 'member_ids[0]' },
  );
  await rejects(
    [['AddMembers', () => alice.threads.addMembers({ threadId: FIX, userIds: ['bob', ''] })]],
    { reason: 'INVALID_FIELD', field: 'user_ids[1]' },
  );
});

void test('an invalid x-user-id is INVALID_FIELD x-user-id, and nothing changes', async () => {
  for (const userId of BAD_HEADER_IDS) {
    const api = server.apiWith({
      authorization: `Bearer ${TEST_KEYS.backend}`,
      'x-user-id': userId,
    });
    await rejects(
      [
        ['GetThread', () => api.threads.getThread({ threadId: FIX })],
        ['ListThreads', () => api.threads.listThreads({})],
        ['CreateThread', () => api.threads.createThread({ threadId: fresh('never') })],
        ['UpdateThread', () => api.threads.updateThread({ threadId: FIX, title: 'x' })],
        [
          'AppendMessage',
          () => api.messages.appendMessage({ threadId: FIX, role: 'u', authorId: 'bob' }),
        ],
        [
          'AddReaction',
          () => api.messages.addReaction({ threadId: FIX, messageId: MSG, reaction: 'z' }),
        ],
      ],
      { reason: 'INVALID_FIELD', field: 'x-user-id' },
    );
    api.close();
  }
});

void test('bodies over 64 KiB encoded are PAYLOAD_TOO_LARGE naming the field; 64 KiB is fine', async () => {
  const threadId = fresh('sizes');
  // A body is measured as its encoded google.protobuf.Value: a string of 65532 bytes takes a tag
  // and a 3-byte length, exactly 64 KiB.
  const fits = 'x'.repeat(64 * KiB - 4);
  const fitsWide = 'é'.repeat((64 * KiB - 4) / 2);
  const over = 'x'.repeat(64 * KiB - 3);
  const overWide = 'é'.repeat((64 * KiB - 4) / 2 + 1);
  const overObject = { a: 'x'.repeat(64 * KiB - 16) };
  assert.equal(encodedSize(fits), 64 * KiB);
  assert.equal(encodedSize(fitsWide), 64 * KiB);
  assert.equal(encodedSize(over), 64 * KiB + 1);
  assert.ok(encodedSize(overObject) > 64 * KiB);
  for (const body of [fits, fitsWide]) {
    const { message } = await alice.messages.appendMessage({
      threadId,
      role: 'u',
      body,
      createThread: true,
    });
    assert.equal(message?.body, body);
    const edited = await alice.messages.editMessage({ threadId, messageId: message?.id, body });
    assert.equal(edited.message?.version, 2);
  }
  const batch = await alice.messages.appendMessages({
    threadId,
    messages: [{ role: 'u', body: fits }],
  });
  assert.equal(batch.messages.length, 1);
  for (const body of [over, overWide, overObject]) {
    await rejects(
      [
        ['AppendMessage', () => alice.messages.appendMessage({ threadId: FIX, role: 'u', body })],
        [
          'AppendMessage create',
          () =>
            alice.messages.appendMessage({
              threadId: fresh('never'),
              role: 'u',
              body,
              createThread: true,
            }),
        ],
        ['EditMessage', () => alice.messages.editMessage({ threadId: FIX, messageId: MSG, body })],
      ],
      { reason: 'PAYLOAD_TOO_LARGE', field: 'body' },
    );
    await rejects(
      [
        [
          'AppendMessages',
          () =>
            alice.messages.appendMessages({
              threadId: FIX,
              messages: [{ role: 'u' }, { role: 'u' }, { role: 'u', body }],
            }),
        ],
      ],
      { reason: 'PAYLOAD_TOO_LARGE', field: 'messages[2].body' },
    );
  }
  const error = await failure(
    alice.messages.appendMessage({ threadId: FIX, role: 'u', body: over }),
  );
  assert.equal(error.metadata.limit, String(64 * KiB));
});

void test('non-finite numbers in a body are INVALID_FIELD body', async () => {
  for (const body of [NaN, Infinity, -Infinity, { a: [1, NaN] }]) {
    await rejects(
      [
        ['AppendMessage', () => alice.messages.appendMessage({ threadId: FIX, role: 'u', body })],
        ['EditMessage', () => alice.messages.editMessage({ threadId: FIX, messageId: MSG, body })],
      ],
      { reason: 'INVALID_FIELD', field: 'body' },
    );
  }
});

void test(
  'a deeply nested body is either refused (INVALID_FIELD body) or readable by every read RPC',
  {},
  async () => {
    let list: unknown = 1;
    for (let i = 0; i < 49; i++) list = [list];
    let object: unknown = 1;
    for (let i = 0; i < 32; i++) object = { a: object };
    const problems: string[] = [];
    for (const [name, body] of [
      ['lists nested 49 deep', list],
      ['objects nested 32 deep', object],
    ] as const) {
      // A user of its own, so that a poisoned inbox cannot break other tests.
      const user = fresh('deep-user');
      const api = server.api(user);
      const threadId = fresh('deep');
      await api.threads.createThread({ threadId });
      const call = (rpc: string, promise: Promise<unknown>) =>
        promise.then(
          () => undefined,
          (error: unknown) =>
            failure(Promise.reject(error as Error)).then(({ code, reason }) => {
              problems.push(`${name}: ${rpc} failed with code ${code} ${reason ?? ''}`);
              return { code, reason };
            }),
        );
      const appended = await call(
        'AppendMessage',
        api.messages.appendMessage({ threadId, messageId: 'deep', role: 'u', body }),
      );
      if (appended?.code === status.INVALID_ARGUMENT && appended.reason === 'INVALID_FIELD') {
        problems.pop();
      }
      await call('GetThread', api.threads.getThread({ threadId }));
      await call('ListThreads', api.threads.listThreads({}));
      await call('ListMessages', api.messages.listMessages({ threadId }));
      await call('ReadEvents', api.messages.readEvents({ threadId }));
      if (appended === undefined) {
        await call('GetMessage', api.messages.getMessage({ threadId, messageId: 'deep' }));
      }
    }
    assert.deepEqual(problems, []);
  },
);

void test('metadata over 32 entries or with an entry over 1 KiB is PAYLOAD_TOO_LARGE', async () => {
  const threadId = fresh('meta');
  const entries = (count: number) =>
    Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, 'v']));
  // At the limits: 32 entries, key + value = 1 KiB.
  const full = { ...entries(31), k: 'v'.repeat(KiB - 1) };
  await alice.threads.createThread({ threadId, metadata: full });
  await alice.threads.updateThread({ threadId, metadata: { entries: full } });
  const { message } = await alice.messages.appendMessage({
    threadId,
    role: 'u',
    metadata: full,
  });
  assert.deepEqual(message?.metadata, full);
  await alice.messages.editMessage({
    threadId,
    messageId: message?.id,
    metadata: { entries: full },
  });

  const metadataCases = (metadata: Record<string, string>): Case[] => [
    ['CreateThread', () => alice.threads.createThread({ threadId: fresh('never'), metadata })],
    [
      'UpdateThread',
      () => alice.threads.updateThread({ threadId: FIX, metadata: { entries: metadata } }),
    ],
    ['AppendMessage', () => alice.messages.appendMessage({ threadId: FIX, role: 'u', metadata })],
    [
      'EditMessage',
      () =>
        alice.messages.editMessage({
          threadId: FIX,
          messageId: MSG,
          metadata: { entries: metadata },
        }),
    ],
  ];
  await rejects(metadataCases(entries(33)), { reason: 'PAYLOAD_TOO_LARGE', field: 'metadata' });
  await rejects(metadataCases({ k: 'v'.repeat(KiB) }), {
    reason: 'PAYLOAD_TOO_LARGE',
    field: 'metadata.k',
  });
  await rejects(metadataCases({ k: 'é'.repeat(KiB / 2) }), {
    reason: 'PAYLOAD_TOO_LARGE',
    field: 'metadata.k',
  });
  await rejects(metadataCases({ '': 'v' }), { reason: 'INVALID_FIELD', field: 'metadata' });
  await rejects(
    [
      [
        'AppendMessages',
        () =>
          alice.messages.appendMessages({
            threadId: FIX,
            messages: [{ role: 'u' }, { role: 'u', metadata: entries(33) }],
          }),
      ],
    ],
    { reason: 'PAYLOAD_TOO_LARGE', field: 'messages[1].metadata' },
  );
  const limit = await failure(
    alice.messages.appendMessage({ threadId: FIX, role: 'u', metadata: entries(33) }),
  );
  assert.equal(limit.metadata.limit, '32');
});

void test('titles over 512 characters are PAYLOAD_TOO_LARGE title; control characters INVALID_FIELD', async () => {
  for (const title of [
    't'.repeat(512),
    '😀'.repeat(512),
    'tab\tfree? no: plain'.replace('\t', ' '),
  ]) {
    const { thread } = await alice.threads.createThread({ threadId: fresh('title'), title });
    assert.equal(thread?.title, title);
  }
  for (const title of ['t'.repeat(513), '😀'.repeat(513)]) {
    await rejects(
      [
        ['CreateThread', () => alice.threads.createThread({ threadId: fresh('never'), title })],
        ['UpdateThread', () => alice.threads.updateThread({ threadId: FIX, title })],
      ],
      { reason: 'PAYLOAD_TOO_LARGE', field: 'title' },
    );
  }
  for (const title of ['a\nb', 'a\u0000b', 'a\u007fb']) {
    await rejects(
      [
        ['CreateThread', () => alice.threads.createThread({ threadId: fresh('never'), title })],
        ['UpdateThread', () => alice.threads.updateThread({ threadId: FIX, title })],
      ],
      { reason: 'INVALID_FIELD', field: 'title' },
    );
  }
});

void test('reactions over 64 bytes are PAYLOAD_TOO_LARGE reaction; empty is INVALID_FIELD', async () => {
  const threadId = fresh('reaction');
  const { message } = await alice.messages.appendMessage({
    threadId,
    role: 'u',
    createThread: true,
  });
  for (const reaction of ['r'.repeat(64), '😀'.repeat(16)]) {
    const added = await alice.messages.addReaction({ threadId, messageId: message?.id, reaction });
    assert.ok(added.message?.reactions.some((r) => r.reaction === reaction));
  }
  for (const reaction of ['r'.repeat(65), '😀'.repeat(17), 'é'.repeat(33)]) {
    await rejects(
      [
        [
          'AddReaction',
          () => alice.messages.addReaction({ threadId: FIX, messageId: MSG, reaction }),
        ],
        [
          'RemoveReaction',
          () => alice.messages.removeReaction({ threadId: FIX, messageId: MSG, reaction }),
        ],
      ],
      { reason: 'PAYLOAD_TOO_LARGE', field: 'reaction' },
    );
  }
  for (const reaction of ['', 'a\nb']) {
    await rejects(
      [
        [
          'AddReaction',
          () => alice.messages.addReaction({ threadId: FIX, messageId: MSG, reaction }),
        ],
        [
          'RemoveReaction',
          () => alice.messages.removeReaction({ threadId: FIX, messageId: MSG, reaction }),
        ],
      ],
      { reason: 'INVALID_FIELD', field: 'reaction' },
    );
  }
});

void test('roles over 64 characters are PAYLOAD_TOO_LARGE role; control characters INVALID_FIELD', async () => {
  const { message } = await alice.messages.appendMessage({
    threadId: fresh('role'),
    role: 'r'.repeat(64),
    createThread: true,
  });
  assert.equal(message?.role, 'r'.repeat(64));
  await rejects(
    [
      [
        'AppendMessage',
        () => alice.messages.appendMessage({ threadId: FIX, role: 'r'.repeat(65) }),
      ],
    ],
    { reason: 'PAYLOAD_TOO_LARGE', field: 'role' },
  );
  await rejects(
    [
      [
        'AppendMessages',
        () =>
          alice.messages.appendMessages({ threadId: FIX, messages: [{ role: 'r'.repeat(65) }] }),
      ],
    ],
    { reason: 'PAYLOAD_TOO_LARGE', field: 'messages[0].role' },
  );
  await rejects(
    [['AppendMessage', () => alice.messages.appendMessage({ threadId: FIX, role: 'a\nb' })]],
    { reason: 'INVALID_FIELD', field: 'role' },
  );
});

void test('page_size 0 or 1001 and limit 0 or 1001 are INVALID_FIELD naming the field', async () => {
  for (const size of [0, 1001, 100_000]) {
    await rejects(
      [
        ['ListMessages', () => alice.messages.listMessages({ threadId: FIX, pageSize: size })],
        ['ListThreads', () => alice.threads.listThreads({ pageSize: size })],
      ],
      { reason: 'INVALID_FIELD', field: 'page_size' },
    );
    await rejects(
      [['ReadEvents', () => alice.messages.readEvents({ threadId: FIX, limit: size })]],
      {
        reason: 'INVALID_FIELD',
        field: 'limit',
      },
    );
  }
  const edge = await alice.messages.listMessages({ threadId: FIX, pageSize: 1000 });
  assert.equal(edge.messages.length, 1);
  const one = await alice.threads.listThreads({ pageSize: 1 });
  assert.equal(one.threads.length, 1);
  const events = await alice.messages.readEvents({ threadId: FIX, limit: 1000 });
  assert.equal(events.events.length, 3);
});

void test('unknown enum values (order, direction) are INVALID_FIELD naming the field', async () => {
  await rejects(
    [['ListMessages', () => alice.messages.listMessages({ threadId: FIX, order: 99 as Order })]],
    {
      reason: 'INVALID_FIELD',
      field: 'order',
    },
  );
  await rejects(
    [
      [
        'ReadEvents',
        () => alice.messages.readEvents({ threadId: FIX, direction: 99 as Direction }),
      ],
    ],
    { reason: 'INVALID_FIELD', field: 'direction' },
  );
});

void test('AppendMessages with 0 or 1001 messages, or over 4 MiB, writes nothing', async () => {
  await rejects(
    [
      ['no messages', () => alice.messages.appendMessages({ threadId: FIX, messages: [] })],
      [
        'no messages, create',
        () =>
          alice.messages.appendMessages({
            threadId: fresh('never'),
            messages: [],
            createThread: true,
          }),
      ],
    ],
    { reason: 'INVALID_FIELD', field: 'messages' },
  );
  const many = Array.from({ length: 1001 }, () => ({ role: 'u', body: 1 }));
  // 65 bodies of 64 KiB each: over 4 MiB in all.
  const big = Array.from({ length: 65 }, () => ({ role: 'u', body: 'x'.repeat(64 * KiB - 4) }));
  await rejects(
    [
      ['1001 messages', () => alice.messages.appendMessages({ threadId: FIX, messages: many })],
      [
        '1001 messages, create',
        () =>
          alice.messages.appendMessages({
            threadId: fresh('never'),
            messages: many,
            createThread: true,
          }),
      ],
      ['over 4 MiB', () => alice.messages.appendMessages({ threadId: FIX, messages: big })],
    ],
    { reason: 'PAYLOAD_TOO_LARGE', field: 'messages' },
  );
});

void test('a batch whose answer would not fit 4 MiB is refused up front; the largest that fits gets its answer', async () => {
  // The answer repeats every message, and default gRPC clients receive at most 4 MiB: the batch
  // limit counts each message's answer overhead, so 64 bodies of 64 KiB (4 MiB of bodies) are
  // refused before anything is written rather than committed and then undeliverable.
  const body = 'x'.repeat(64 * KiB - 4);
  const refused = fresh('four-mib');
  const error = await failure(
    alice.messages.appendMessages({
      threadId: refused,
      createThread: true,
      messages: Array.from({ length: 64 }, () => ({ role: 'u', body })),
    }),
  );
  assert.equal(error.reason, 'PAYLOAD_TOO_LARGE');
  assert.equal(error.metadata.field, 'messages');
  assert.equal(
    (await failure(alice.threads.getThread({ threadId: refused }))).reason,
    'THREAD_NOT_FOUND',
  );
  const accepted = fresh('four-mib');
  const result = await alice.messages.appendMessages({
    threadId: accepted,
    createThread: true,
    messages: Array.from({ length: 63 }, () => ({ role: 'u', body })),
  });
  assert.equal(result.messages.length, 63);
  assert.equal(result.messages[62]?.body, body);
});

void test('too many members in one call is PAYLOAD_TOO_LARGE naming the field', async () => {
  const users = Array.from({ length: 1001 }, (_, i) => `user-${i}`);
  await rejects(
    [
      [
        'CreateThread',
        () => alice.threads.createThread({ threadId: fresh('never'), memberIds: users }),
      ],
    ],
    { reason: 'PAYLOAD_TOO_LARGE', field: 'member_ids' },
  );
  await rejects(
    [
      ['AddMembers', () => alice.threads.addMembers({ threadId: FIX, userIds: users })],
      ['RemoveMembers', () => alice.threads.removeMembers({ threadId: FIX, userIds: users })],
    ],
    { reason: 'PAYLOAD_TOO_LARGE', field: 'user_ids' },
  );
});

void test('an unknown message is NOT_FOUND MESSAGE_NOT_FOUND on every message RPC', async () => {
  const messageId = 'no-such-message';
  await rejects(
    [
      ['GetMessage', () => alice.messages.getMessage({ threadId: FIX, messageId })],
      [
        'GetMessage include_deleted',
        () => alice.messages.getMessage({ threadId: FIX, messageId, includeDeleted: true }),
      ],
      ['EditMessage', () => alice.messages.editMessage({ threadId: FIX, messageId, body: 1 })],
      ['DeleteMessage', () => alice.messages.deleteMessage({ threadId: FIX, messageId })],
      [
        'ListMessageVersions',
        () => alice.messages.listMessageVersions({ threadId: FIX, messageId }),
      ],
      [
        'AddReaction',
        () => alice.messages.addReaction({ threadId: FIX, messageId, reaction: 'x' }),
      ],
      [
        'RemoveReaction',
        () => alice.messages.removeReaction({ threadId: FIX, messageId, reaction: 'x' }),
      ],
      [
        'ListMessages around',
        () =>
          alice.messages.listMessages({
            threadId: FIX,
            anchor: { $case: 'aroundMessageId', value: messageId },
          }),
      ],
      [
        'AppendMessage reply',
        () => alice.messages.appendMessage({ threadId: FIX, role: 'u', replyToId: messageId }),
      ],
      // A message id of another thread is unknown here.
      [
        'GetMessage other thread',
        () => alice.messages.getMessage({ threadId: FIX, messageId: 'x'.repeat(128) }),
      ],
    ],
    { reason: 'MESSAGE_NOT_FOUND' },
  );
});

void test('an unknown thread is NOT_FOUND THREAD_NOT_FOUND on every thread-scoped RPC', async () => {
  const threadId = fresh('no-such-thread');
  await rejects(
    [
      ['GetThread', () => alice.threads.getThread({ threadId })],
      ['UpdateThread', () => alice.threads.updateThread({ threadId, title: 'x' })],
      ['DeleteThread', () => alice.threads.deleteThread({ threadId })],
      ['AddMembers', () => alice.threads.addMembers({ threadId, userIds: ['bob'] })],
      ['RemoveMembers', () => alice.threads.removeMembers({ threadId, userIds: ['bob'] })],
      ['AppendMessage', () => alice.messages.appendMessage({ threadId, role: 'u' })],
      [
        'AppendMessages',
        () => alice.messages.appendMessages({ threadId, messages: [{ role: 'u' }] }),
      ],
      ['GetMessage', () => alice.messages.getMessage({ threadId, messageId: MSG })],
      ['ListMessages', () => alice.messages.listMessages({ threadId })],
      ['EditMessage', () => alice.messages.editMessage({ threadId, messageId: MSG, body: 1 })],
      ['DeleteMessage', () => alice.messages.deleteMessage({ threadId, messageId: MSG })],
      [
        'ListMessageVersions',
        () => alice.messages.listMessageVersions({ threadId, messageId: MSG }),
      ],
      [
        'AddReaction',
        () => alice.messages.addReaction({ threadId, messageId: MSG, reaction: 'x' }),
      ],
      [
        'RemoveReaction',
        () => alice.messages.removeReaction({ threadId, messageId: MSG, reaction: 'x' }),
      ],
      ['ReadEvents', () => alice.messages.readEvents({ threadId })],
    ],
    { reason: 'THREAD_NOT_FOUND' },
  );
});

void test('EditMessage with neither body nor metadata is INVALID_FIELD', async () => {
  await rejects(
    [['EditMessage', () => alice.messages.editMessage({ threadId: FIX, messageId: MSG })]],
    {
      reason: 'INVALID_FIELD',
      field: 'body',
    },
  );
});

void test('ListMessages after_seq 2^64-1 is an empty page, not INTERNAL', async () => {
  const before = await snapshot();
  const page = await alice.messages.listMessages({
    threadId: FIX,
    anchor: { $case: 'afterSeq', value: U64_MAX },
  });
  assert.deepEqual(page.messages, []);
  assert.equal(page.hasMoreBefore, true);
  assert.equal(page.hasMoreAfter, false);
  assert.deepEqual(await snapshot(), before);
});

void test('ReadEvents after_revision 2^64-1 is an empty read, not INTERNAL', {}, async () => {
  const events = await alice.messages.readEvents({ threadId: FIX, afterRevision: U64_MAX });
  assert.deepEqual(events.events, []);
  assert.equal(events.hasMore, false);
  assert.equal(events.headRevision, 3n);
});

void test('the largest uint64 values elsewhere are handled', async () => {
  const before = await snapshot();
  const older = await alice.messages.listMessages({
    threadId: FIX,
    anchor: { $case: 'beforeSeq', value: U64_MAX },
  });
  assert.equal(older.messages.length, 1);
  const around = await alice.messages.listMessages({
    threadId: FIX,
    anchor: { $case: 'aroundSeq', value: U64_MAX },
  });
  assert.equal(around.messages.length, 1);
  const backward = await alice.messages.readEvents({
    threadId: FIX,
    direction: Direction.DIRECTION_BACKWARD,
    beforeRevision: U64_MAX,
  });
  assert.equal(backward.events.length, 3);
  const conflict = await failure(
    alice.messages.appendMessage({
      threadId: FIX,
      role: 'u',
      expectedRevision: { kind: { $case: 'exact', value: U64_MAX } },
    }),
  );
  assert.equal(conflict.reason, 'REVISION_CONFLICT');
  assert.deepEqual(conflict.metadata, { expected: String(U64_MAX), actual: '3' });
  const version = await failure(
    alice.messages.editMessage({
      threadId: FIX,
      messageId: MSG,
      body: 1,
      expectedVersion: 2 ** 32 - 1,
    }),
  );
  assert.equal(version.reason, 'REVISION_CONFLICT');
  assert.deepEqual(await snapshot(), before);
});

test('bytes that are not a request message are INVALID_FIELD request, and change nothing', async () => {
  const before = await snapshot();
  const Raw = grpc.makeGenericClientConstructor({}, 'Raw');
  const raw = new Raw(server.address, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${TEST_KEYS.backend}`);
  metadata.set('x-user-id', 'alice');
  const garbage = [Buffer.from([0xff, 0xff, 0xff]), Buffer.from([0x0a, 0x7f, 0x01])];
  for (const bytes of garbage) {
    const error = await failure(
      new Promise((resolve, reject) =>
        raw.makeUnaryRequest(
          '/progressdb.v1.MessageService/AppendMessage',
          (value: Buffer) => value,
          (value: Buffer) => value,
          bytes,
          metadata,
          (err, value) => (err ? reject(err) : resolve(value)),
        ),
      ),
    );
    assert.equal(error.code, status.INVALID_ARGUMENT);
    assert.equal(error.reason, 'INVALID_FIELD');
    assert.equal(error.metadata.field, 'request');
  }
  raw.close();
  assert.deepEqual(await snapshot(), before);
});
