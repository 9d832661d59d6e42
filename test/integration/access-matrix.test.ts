import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { errorInfo, failure, type Api } from '../support/api-client.js';
import { TailReader } from '../support/tail-client.js';
import { startTestServer, TEST_KEYS, type TestServer } from '../support/test-server.js';

const { status } = grpc;

const FRONTEND_KEY = 'matrix-frontend-key-0123456789';
const KID = 'k1';
const SECRET = 'matrix-signing-secret-0123456789abcdef';

/**
 * The role x RPC matrix of API.md with every kind of caller, and the per-thread rules of
 * log/access-rules.ts. Each denial is checked to change nothing.
 */

type ServiceName =
  'ThreadService' | 'MessageService' | 'TailService' | 'AuthService' | 'AdminService';

/** `ok`, or the code and reason the call must fail with. */
type Outcome = 'ok' | readonly [grpc.status, string | undefined];

const OK: Outcome = 'ok';
const MISSING: Outcome = [status.UNAUTHENTICATED, 'MISSING_CREDENTIALS'];
const BAD_KEY: Outcome = [status.UNAUTHENTICATED, 'INVALID_API_KEY'];
const BAD_TOKEN: Outcome = [status.UNAUTHENTICATED, 'INVALID_USER_TOKEN'];
const EXPIRED: Outcome = [status.UNAUTHENTICATED, 'USER_TOKEN_EXPIRED'];
const FORBIDDEN: Outcome = [status.PERMISSION_DENIED, 'ROLE_FORBIDDEN'];
const NOT_MEMBER: Outcome = [status.PERMISSION_DENIED, 'NOT_A_MEMBER'];
const EXISTS: Outcome = [status.ALREADY_EXISTS, 'THREAD_EXISTS'];

/** The thread of one matrix row: owned by olga, with members mia and zed, and one message each. */
interface Fixture {
  threadId: string;
  /** A second thread of olga's, for PurgeThread. */
  victim: string;
  /** A thread id that does not exist yet. */
  newThreadId: string;
  /** Written by the owner, olga. */
  byOwner: string;
  /** Written by the member, mia. */
  byMember: string;
}

type AnyStream = grpc.ClientReadableStream<unknown>;

/**
 * One RPC of the matrix, and what each frontend caller gets (backend: `ok` unless said; admin:
 * `ok` on AdminService, ROLE_FORBIDDEN elsewhere, unless said).
 */
interface Cell {
  service: ServiceName;
  rpc: string;
  unary?: (api: Api, fx: Fixture) => Promise<unknown>;
  stream?: (api: Api, fx: Fixture) => AnyStream;
  admin?: Outcome;
  backend?: Outcome;
  owner: Outcome;
  member: Outcome;
  outsider: Outcome;
}

const body = { text: 'hello' };

/** Frontends may not call these services at all. */
const notForFrontends = { owner: FORBIDDEN, member: FORBIDDEN, outsider: FORBIDDEN } as const;

/**
 * Every RPC, in the order a row runs them: reads and reversible writes first, then the writes that
 * take things away (deleting messages, removing a member, deleting the thread).
 */
const CELLS: readonly Cell[] = [
  {
    service: 'ThreadService',
    rpc: 'CreateThread (a new id)',
    unary: (api, fx) => api.threads.createThread({ threadId: fx.newThreadId, title: 'new' }),
    owner: OK,
    member: OK,
    outsider: OK,
  },
  {
    service: 'ThreadService',
    rpc: 'CreateThread (an existing id)',
    unary: (api, fx) => api.threads.createThread({ threadId: fx.threadId, title: 'taken' }),
    backend: EXISTS,
    owner: EXISTS,
    member: EXISTS,
    outsider: NOT_MEMBER,
  },
  {
    service: 'ThreadService',
    rpc: 'GetThread',
    unary: (api, fx) => api.threads.getThread({ threadId: fx.threadId }),
    owner: OK,
    member: OK,
    outsider: NOT_MEMBER,
  },
  {
    service: 'ThreadService',
    rpc: 'ListThreads (own)',
    unary: (api) => api.threads.listThreads({}),
    owner: OK,
    member: OK,
    outsider: OK,
  },
  {
    service: 'ThreadService',
    rpc: 'ListThreads (user_id of someone else)',
    unary: (api) => api.threads.listThreads({ userId: 'olga' }),
    owner: OK,
    member: FORBIDDEN,
    outsider: FORBIDDEN,
  },
  {
    service: 'ThreadService',
    rpc: 'UpdateThread',
    unary: (api, fx) => api.threads.updateThread({ threadId: fx.threadId, title: 'renamed' }),
    owner: OK,
    member: FORBIDDEN,
    outsider: NOT_MEMBER,
  },
  {
    service: 'ThreadService',
    rpc: 'AddMembers',
    unary: (api, fx) => api.threads.addMembers({ threadId: fx.threadId, userIds: ['zoe'] }),
    owner: OK,
    member: FORBIDDEN,
    outsider: NOT_MEMBER,
  },
  {
    service: 'MessageService',
    rpc: 'AppendMessage',
    unary: (api, fx) => api.messages.appendMessage({ threadId: fx.threadId, role: 'user', body }),
    owner: OK,
    member: OK,
    outsider: NOT_MEMBER,
  },
  {
    service: 'MessageService',
    rpc: 'AppendMessage (author_id of someone else)',
    unary: (api, fx) =>
      api.messages.appendMessage({ threadId: fx.threadId, authorId: 'zed', role: 'user', body }),
    owner: FORBIDDEN,
    member: FORBIDDEN,
    outsider: FORBIDDEN,
  },
  {
    service: 'MessageService',
    rpc: 'AppendMessages',
    unary: (api, fx) =>
      api.messages.appendMessages({ threadId: fx.threadId, messages: [{ role: 'user', body }] }),
    owner: OK,
    member: OK,
    outsider: NOT_MEMBER,
  },
  {
    service: 'MessageService',
    rpc: 'AppendMessages (author_id of someone else)',
    unary: (api, fx) =>
      api.messages.appendMessages({
        threadId: fx.threadId,
        messages: [
          { role: 'user', body },
          { authorId: 'zed', role: 'user', body },
        ],
      }),
    owner: FORBIDDEN,
    member: FORBIDDEN,
    outsider: FORBIDDEN,
  },
  {
    service: 'MessageService',
    rpc: 'GetMessage',
    unary: (api, fx) => api.messages.getMessage({ threadId: fx.threadId, messageId: fx.byOwner }),
    owner: OK,
    member: OK,
    outsider: NOT_MEMBER,
  },
  {
    service: 'MessageService',
    rpc: 'ListMessages',
    unary: (api, fx) => api.messages.listMessages({ threadId: fx.threadId }),
    owner: OK,
    member: OK,
    outsider: NOT_MEMBER,
  },
  {
    service: 'MessageService',
    rpc: 'ListMessageVersions',
    unary: (api, fx) =>
      api.messages.listMessageVersions({ threadId: fx.threadId, messageId: fx.byOwner }),
    owner: OK,
    member: OK,
    outsider: NOT_MEMBER,
  },
  {
    service: 'MessageService',
    rpc: 'ReadEvents',
    unary: (api, fx) => api.messages.readEvents({ threadId: fx.threadId }),
    owner: OK,
    member: OK,
    outsider: NOT_MEMBER,
  },
  {
    service: 'MessageService',
    rpc: 'AddReaction',
    unary: (api, fx) =>
      api.messages.addReaction({ threadId: fx.threadId, messageId: fx.byOwner, reaction: '+1' }),
    owner: OK,
    member: OK,
    outsider: NOT_MEMBER,
  },
  {
    service: 'MessageService',
    rpc: 'RemoveReaction',
    unary: (api, fx) =>
      api.messages.removeReaction({ threadId: fx.threadId, messageId: fx.byOwner, reaction: '+1' }),
    owner: OK,
    member: OK,
    outsider: NOT_MEMBER,
  },
  {
    service: 'MessageService',
    rpc: "EditMessage (the owner's message)",
    unary: (api, fx) =>
      api.messages.editMessage({ threadId: fx.threadId, messageId: fx.byOwner, body: 'edited' }),
    owner: OK,
    member: FORBIDDEN,
    outsider: NOT_MEMBER,
  },
  {
    service: 'MessageService',
    rpc: "EditMessage (the member's message)",
    unary: (api, fx) =>
      api.messages.editMessage({ threadId: fx.threadId, messageId: fx.byMember, body: 'edited' }),
    owner: OK,
    member: OK,
    outsider: NOT_MEMBER,
  },
  {
    service: 'TailService',
    rpc: 'TailThread',
    stream: (api, fx) => api.raw.tails.tailThread({ threadId: fx.threadId }, api.metadata.clone()),
    owner: OK,
    member: OK,
    outsider: NOT_MEMBER,
  },
  {
    service: 'TailService',
    rpc: 'TailUser (own)',
    stream: (api) => api.raw.tails.tailUser({ userId: '' }, api.metadata.clone()),
    owner: OK,
    member: OK,
    outsider: OK,
  },
  {
    service: 'TailService',
    rpc: 'TailUser (user_id of someone else)',
    stream: (api) => api.raw.tails.tailUser({ userId: 'olga' }, api.metadata.clone()),
    owner: OK,
    member: FORBIDDEN,
    outsider: FORBIDDEN,
  },
  {
    service: 'TailService',
    rpc: 'TailAll',
    stream: (api) =>
      api.raw.tails.tailAll({ threadIdPrefix: '', eventTypes: [] }, api.metadata.clone()),
    ...notForFrontends,
  },
  {
    service: 'AuthService',
    rpc: 'SignUser',
    unary: (api) => api.auth.signUser({ userId: 'mia', ttlSeconds: 60 }),
    ...notForFrontends,
  },
  {
    service: 'AdminService',
    rpc: 'GetStats',
    unary: (api) => api.admin.getStats({}),
    admin: OK,
    ...notForFrontends,
  },
  {
    service: 'AdminService',
    rpc: 'PurgeThread',
    unary: (api, fx) => api.admin.purgeThread({ threadId: fx.victim }),
    admin: OK,
    ...notForFrontends,
  },
  {
    service: 'AdminService',
    rpc: 'RunRetention',
    unary: (api) => api.admin.runRetention({ dryRun: false }),
    ...notForFrontends,
  },
  {
    service: 'AdminService',
    rpc: 'RewrapKeys',
    stream: (api) => api.raw.admin.rewrapKeys({ kmsKeyId: '' }, api.metadata.clone()),
    admin: OK,
    ...notForFrontends,
  },
  {
    service: 'AdminService',
    rpc: 'EncryptExisting',
    stream: (api) => api.raw.admin.encryptExisting({}, api.metadata.clone()),
    admin: OK,
    ...notForFrontends,
  },
  {
    service: 'MessageService',
    rpc: "DeleteMessage (the owner's message)",
    unary: (api, fx) =>
      api.messages.deleteMessage({ threadId: fx.threadId, messageId: fx.byOwner }),
    owner: OK,
    member: FORBIDDEN,
    outsider: NOT_MEMBER,
  },
  {
    service: 'MessageService',
    rpc: "DeleteMessage (the member's message)",
    unary: (api, fx) =>
      api.messages.deleteMessage({ threadId: fx.threadId, messageId: fx.byMember }),
    owner: OK,
    member: OK,
    outsider: NOT_MEMBER,
  },
  {
    service: 'ThreadService',
    rpc: 'RemoveMembers (another member)',
    unary: (api, fx) => api.threads.removeMembers({ threadId: fx.threadId, userIds: ['zed'] }),
    owner: OK,
    member: FORBIDDEN,
    outsider: NOT_MEMBER,
  },
  {
    service: 'ThreadService',
    rpc: 'DeleteThread',
    unary: (api, fx) => api.threads.deleteThread({ threadId: fx.threadId }),
    owner: OK,
    member: FORBIDDEN,
    outsider: NOT_MEMBER,
  },
];

/** How the callers of the rows fare, apart from the frontend users the cells name. */
type Caller =
  | { kind: 'denied'; outcome: Outcome }
  | { kind: 'admin' }
  | { kind: 'backend' }
  | { kind: 'frontend'; as: 'owner' | 'member' | 'outsider' };

interface Row {
  name: string;
  caller: Caller;
  metadata: () => Record<string, string>;
}

let server: TestServer;
let observer: Api;
const tokens = { olga: '', mia: '', nick: '' };

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const frontend = (token: string) => ({ ...bearer(FRONTEND_KEY), 'x-user-token': token });

/** A user token as user-tokens.ts writes it, with any claims, under any secret. */
function craftToken(claims: object, secret = SECRET, kid = KID): string {
  const payload = Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url');
  const signed = `v1.${kid}.${payload}`;
  return `${signed}.${createHmac('sha256', secret).update(signed, 'utf8').digest('base64url')}`;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Mia's real token with olga as the subject: the MAC no longer matches. */
function forgedToken(): string {
  const [version, kid, payload, mac] = tokens.mia.split('.');
  const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as object;
  const swapped = Buffer.from(JSON.stringify({ ...claims, sub: 'olga' })).toString('base64url');
  return [version, kid, swapped, mac].join('.');
}

const ROWS: readonly Row[] = [
  { name: 'no credentials', caller: { kind: 'denied', outcome: MISSING }, metadata: () => ({}) },
  {
    name: 'an unknown API key',
    caller: { kind: 'denied', outcome: BAD_KEY },
    metadata: () => ({ ...bearer('not-a-key-0123456789'), 'x-user-id': 'olga' }),
  },
  {
    name: 'an admin key',
    caller: { kind: 'admin' },
    metadata: () => ({ ...bearer(TEST_KEYS.admin), 'x-user-id': 'olga' }),
  },
  {
    name: 'a backend key acting for a non-member',
    caller: { kind: 'backend' },
    metadata: () => ({ ...bearer(TEST_KEYS.backend), 'x-user-id': 'bea' }),
  },
  {
    name: 'a frontend owner',
    caller: { kind: 'frontend', as: 'owner' },
    metadata: () => frontend(tokens.olga),
  },
  {
    name: 'a frontend member',
    caller: { kind: 'frontend', as: 'member' },
    metadata: () => frontend(tokens.mia),
  },
  {
    name: 'a frontend non-member',
    caller: { kind: 'frontend', as: 'outsider' },
    metadata: () => frontend(tokens.nick),
  },
  {
    name: 'a frontend with an expired token',
    caller: { kind: 'denied', outcome: EXPIRED },
    metadata: () => frontend(craftToken({ sub: 'olga', exp: nowSeconds() - 60 })),
  },
  {
    name: 'a frontend with a forged token',
    caller: { kind: 'denied', outcome: BAD_TOKEN },
    metadata: () => frontend(forgedToken()),
  },
  {
    name: 'a frontend with a token under an unknown secret',
    caller: { kind: 'denied', outcome: BAD_TOKEN },
    metadata: () =>
      frontend(craftToken({ sub: 'olga', exp: nowSeconds() + 600 }, `${SECRET}!`, 'k9')),
  },
  {
    name: 'a frontend without a token',
    caller: { kind: 'denied', outcome: MISSING },
    metadata: () => ({ ...bearer(FRONTEND_KEY), 'x-user-id': 'olga' }),
  },
];

function expected(caller: Caller, cell: Cell): Outcome {
  switch (caller.kind) {
    case 'denied':
      return caller.outcome;
    case 'admin':
      return cell.admin ?? (cell.service === 'AdminService' ? OK : FORBIDDEN);
    case 'backend':
      return cell.service === 'AdminService' ? FORBIDDEN : (cell.backend ?? OK);
    case 'frontend':
      return cell[caller.as];
  }
}

const label = (outcome: Outcome): string =>
  outcome === 'ok' ? 'OK' : `${status[outcome[0]]} ${outcome[1] ?? '(no reason)'}`;

before(async () => {
  server = await startTestServer({
    env: {
      PROGRESSDB_FRONTEND_KEYS: FRONTEND_KEY,
      PROGRESSDB_SIGNING_SECRETS: `${KID}:${SECRET}`,
      // This file is about access; rate-limits.test.ts covers the limits.
      PROGRESSDB_RATE_LIMIT_KEY_PER_SECOND: '0',
      PROGRESSDB_RATE_LIMIT_USER_PER_SECOND: '0',
      PROGRESSDB_MAX_TAILS_PER_USER: '0',
    },
  });
  observer = server.apiWith(bearer(TEST_KEYS.backend));
  for (const user of ['olga', 'mia', 'nick'] as const) {
    tokens[user] = (await observer.auth.signUser({ userId: user, ttlSeconds: 600 })).token;
  }
});
after(() => server.close());

/** Creates a row's thread as olga with mia and zed, and one message by olga and one by mia. */
async function fixture(name: string): Promise<Fixture> {
  const olga = server.api('olga');
  await olga.threads.createThread({ threadId: name, title: name, memberIds: ['mia', 'zed'] });
  await olga.threads.createThread({ threadId: `${name}-victim`, memberIds: ['mia'] });
  const byOwner = await olga.messages.appendMessage({ threadId: name, role: 'user', body });
  const byMember = await olga.messages.appendMessage({
    threadId: name,
    authorId: 'mia',
    role: 'user',
    body,
  });
  return {
    threadId: name,
    victim: `${name}-victim`,
    newThreadId: `${name}-new`,
    byOwner: byOwner.message?.id ?? '',
    byMember: byMember.message?.id ?? '',
  };
}

const USERS = ['olga', 'mia', 'zed', 'zoe', 'nick', 'bea'];

/** Everything a denied call could have changed: the log's head, the thread, its messages, the inboxes. */
async function snapshot(fx: Fixture): Promise<unknown> {
  const position = server.app.log.position;
  const [victim, thread, messages, ...inboxes] = await Promise.all([
    observer.threads.getThread({ threadId: fx.victim, includeDeleted: true }).then(
      ({ thread }) => thread,
      (error: grpc.ServiceError) => status[error.code],
    ),
    observer.threads.getThread({ threadId: fx.threadId, includeDeleted: true }),
    observer.messages.listMessages({ threadId: fx.threadId, includeDeleted: true }),
    ...USERS.map((userId) =>
      observer.threads.listThreads({ userId, includeDeleted: true, pageSize: 1000 }),
    ),
  ]);
  assert.equal(server.app.log.position, position, 'the log moved while taking a snapshot');
  return { position, victim, thread, messages, inboxes };
}

/** Resolves with a stream's first message, or with how it ended before sending one; then cancels it. */
async function firstMessage(stream: AnyStream): Promise<{ message: unknown } | Outcome> {
  // grpc-js emits 'status' exactly once, however the stream ends (a cancel included).
  const finished = new Promise((resolve) => stream.once('status', resolve));
  const first = await new Promise<{ message: unknown } | Outcome>((resolve) => {
    stream.once('data', (message: unknown) => resolve({ message }));
    stream.on('error', (error: grpc.ServiceError) =>
      resolve([error.code, errorInfo(error)?.reason]),
    );
    stream.once('end', () => resolve(OK));
  });
  stream.cancel();
  await finished;
  return first;
}

async function outcomeOf(cell: Cell, api: Api, fx: Fixture): Promise<Outcome> {
  if (cell.stream) {
    const first = await firstMessage(cell.stream(api, fx));
    if (typeof first !== 'object' || !('message' in first)) return first;
    if (cell.service === 'TailService') {
      const frame = (first.message as { frame?: { $case: string } }).frame;
      assert.equal(frame?.$case, 'caughtUp', 'a tail starts with caught_up');
    }
    return OK;
  }
  assert.ok(cell.unary);
  return cell.unary(api, fx).then(
    (): Outcome => OK,
    (error: grpc.ServiceError): Outcome => [error.code, errorInfo(error)?.reason],
  );
}

ROWS.forEach((row, index) => {
  void test(`access matrix: ${row.name}`, async (t) => {
    const fx = await fixture(`matrix-${index}`);
    const api = server.apiWith(row.metadata());
    let before = await snapshot(fx);
    for (const cell of CELLS) {
      const want = expected(row.caller, cell);
      await t.test(`${cell.service}.${cell.rpc} -> ${label(want)}`, async () => {
        const got = await outcomeOf(cell, api, fx);
        if (want === 'ok') {
          assert.equal(label(got), 'OK');
          before = await snapshot(fx);
          return;
        }
        assert.deepEqual(got, want);
        assert.deepEqual(await snapshot(fx), before, 'a denied call changed something');
      });
    }
  });
});

void test('a token crafted like the server signs them is accepted, so the expired one fails only on its expiry', async () => {
  const api = server.apiWith(frontend(craftToken({ sub: 'nick', exp: nowSeconds() + 600 })));
  const { thread } = await api.threads.createThread({ threadId: 'crafted', title: 'by nick' });
  assert.equal(thread?.ownerId, 'nick');
});

void test('x-user-id does not change who a frontend caller is', async () => {
  const fx = await fixture('impersonation');
  const mia = server.apiWith({ ...frontend(tokens.mia), 'x-user-id': 'olga' });
  const before = await snapshot(fx);
  const denied = await failure(mia.threads.updateThread({ threadId: fx.threadId, title: 'x' }));
  assert.deepEqual([denied.code, denied.reason], FORBIDDEN);
  assert.deepEqual(await snapshot(fx), before, 'a denied call changed something');
  const { message } = await mia.messages.appendMessage({ threadId: fx.threadId, role: 'u', body });
  assert.equal(message?.authorId, 'mia');
});

void test('ownership: a member leaves but removes no one else; members change only their own messages; the owner changes any', async () => {
  const fx = await fixture('ownership');
  const olga = server.apiWith(frontend(tokens.olga));
  const mia = server.apiWith(frontend(tokens.mia));
  const zedToken = (await observer.auth.signUser({ userId: 'zed', ttlSeconds: 600 })).token;
  const zed = server.apiWith(frontend(zedToken));
  const threadId = fx.threadId;

  const denied = async (call: () => Promise<unknown>, outcome: Outcome): Promise<void> => {
    const before = await snapshot(fx);
    const { code, reason } = await failure(call());
    assert.deepEqual([code, reason], outcome);
    assert.deepEqual(await snapshot(fx), before, 'a denied call changed something');
  };

  // A member may not touch another member's message, nor the owner's.
  await denied(
    () => zed.messages.editMessage({ threadId, messageId: fx.byMember, body: 'x' }),
    FORBIDDEN,
  );
  await denied(() => zed.messages.deleteMessage({ threadId, messageId: fx.byMember }), FORBIDDEN);
  await denied(() => mia.messages.deleteMessage({ threadId, messageId: fx.byOwner }), FORBIDDEN);
  // The owner may.
  const edited = await olga.messages.editMessage({ threadId, messageId: fx.byMember, body: 'mod' });
  assert.equal(edited.message?.version, 2);
  assert.equal(edited.message?.authorId, 'mia');
  const deleted = await olga.messages.deleteMessage({ threadId, messageId: fx.byMember });
  assert.equal(deleted.message?.deleted, true);

  // Removing: others (alone or along with oneself) is the owner's right; leaving is anyone's.
  await denied(() => mia.threads.removeMembers({ threadId, userIds: ['zed'] }), FORBIDDEN);
  await denied(() => mia.threads.removeMembers({ threadId, userIds: ['mia', 'zed'] }), FORBIDDEN);
  await denied(() => mia.threads.removeMembers({ threadId, userIds: ['olga'] }), FORBIDDEN);
  await denied(() => mia.threads.addMembers({ threadId, userIds: ['mia2'] }), FORBIDDEN);
  const left = await mia.threads.removeMembers({ threadId, userIds: ['mia'] });
  assert.deepEqual(left.thread?.memberIds, ['olga', 'zed']);
  await denied(() => mia.messages.listMessages({ threadId }), NOT_MEMBER);
  await denied(() => mia.threads.removeMembers({ threadId, userIds: ['mia'] }), NOT_MEMBER);
  const removed = await olga.threads.removeMembers({ threadId, userIds: ['zed'] });
  assert.deepEqual(removed.thread?.memberIds, ['olga']);
  await denied(() => zed.messages.getMessage({ threadId, messageId: fx.byOwner }), NOT_MEMBER);
  // mia no longer lists the thread among hers.
  const { threads } = await mia.threads.listThreads({ pageSize: 1000 });
  assert.ok(!threads.some((thread) => thread.id === threadId));
});

void test('a removed member: their TailThread gets the removal then ends NOT_A_MEMBER, their TailUser hears no more of the thread, their next call is denied', async () => {
  const olga = server.apiWith(frontend(tokens.olga));
  const mia = server.apiWith(frontend(tokens.mia));
  await olga.threads.createThread({ threadId: 'leaving', memberIds: ['mia'] });
  await olga.threads.createThread({ threadId: 'staying', memberIds: ['mia'] });
  const threadTail = new TailReader(
    mia.raw.tails.tailThread({ threadId: 'leaving' }, mia.metadata.clone()),
  );
  const userTail = new TailReader(mia.raw.tails.tailUser({ userId: '' }, mia.metadata.clone()));
  try {
    assert.equal((await threadTail.next()).kind, 'caughtUp');
    assert.equal((await userTail.next()).kind, 'caughtUp');

    const { thread } = await olga.threads.removeMembers({ threadId: 'leaving', userIds: ['mia'] });
    const removal = await threadTail.next();
    assert.equal(removal.kind, 'event');
    assert.equal(removal.kind === 'event' && removal.event.payload?.$case, 'membersRemoved');
    assert.equal(removal.kind === 'event' && removal.event.revision, thread?.revision);
    const end = await threadTail.ended;
    assert.deepEqual([end.code, end.reason], NOT_MEMBER);
    assert.equal(end.metadata.last_revision, String(thread?.revision));

    // The removal reaches her inbox feed; later events of the thread do not.
    await userTail.until(() => userTail.events.length >= 1);
    assert.deepEqual(
      userTail.events.map((event) => [event.threadId, event.payload?.$case]),
      [['leaving', 'membersRemoved']],
    );
    await olga.messages.appendMessage({ threadId: 'leaving', role: 'user', body });
    await olga.messages.appendMessage({ threadId: 'staying', role: 'user', body });
    await userTail.until(() => userTail.events.some((event) => event.threadId === 'staying'));
    assert.deepEqual(
      userTail.events.map((event) => [event.threadId, event.payload?.$case]),
      [
        ['leaving', 'membersRemoved'],
        ['staying', 'messageCreated'],
      ],
    );

    for (const call of [
      () => mia.threads.getThread({ threadId: 'leaving' }),
      () => mia.messages.readEvents({ threadId: 'leaving' }),
      () => mia.messages.listMessages({ threadId: 'leaving' }),
      () => mia.messages.appendMessage({ threadId: 'leaving', role: 'user', body }),
    ]) {
      const { code, reason } = await failure(call());
      assert.deepEqual([code, reason], NOT_MEMBER);
    }
    const again = new TailReader(
      mia.raw.tails.tailThread({ threadId: 'leaving' }, mia.metadata.clone()),
    );
    const refused = await again.ended;
    assert.deepEqual([refused.code, refused.reason], NOT_MEMBER);
  } finally {
    userTail.cancel();
    await userTail.ended;
  }
});
