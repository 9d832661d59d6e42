import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { errorInfo, type Api } from '../support/api-client.js';
import { TailReader } from '../support/tail-client.js';
import { startTestServer, TEST_KEYS, type TestServer } from '../support/test-server.js';

const { status } = grpc;

/**
 * Buckets refill slowly (one token a second), so a loop spends a whole bucket long before it refills
 * much; the assertions allow for what refills meanwhile, measured, so a loaded machine cannot make
 * them flaky. Bursts are sized so that no test starves another.
 */
const PER_SECOND = 1;
const KEY_BURST = 40;
const USER_BURST = 10;
const MAX_TAILS = 2;

/** Spent by the key-limit test only. */
const LIMITED_BACKEND = 'limited-backend-key-0123456789';
/** Shared by alice and bob in the per-user test. */
const FRONTEND_USERS = 'frontend-users-key-0123456789';
/** Used by the tail-cap test. */
const FRONTEND_TAILS = 'frontend-tails-key-0123456789';

let server: TestServer;
/** The setup key: a few calls in all, far below its burst. */
let setup: Api;
const tokens: Record<string, string> = {};

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const frontend = (key: string, user: string): Api =>
  server.apiWith({ ...bearer(key), 'x-user-token': tokens[user] ?? '' });

before(async () => {
  server = await startTestServer({
    env: {
      PROGRESSDB_BACKEND_KEYS: `${TEST_KEYS.backend},${LIMITED_BACKEND}`,
      PROGRESSDB_FRONTEND_KEYS: `${FRONTEND_USERS},${FRONTEND_TAILS}`,
      PROGRESSDB_SIGNING_SECRETS: 'k1:rate-limit-signing-secret-0123456789abcdef',
      PROGRESSDB_RATE_LIMIT_KEY_PER_SECOND: String(PER_SECOND),
      PROGRESSDB_RATE_LIMIT_KEY_BURST: String(KEY_BURST),
      PROGRESSDB_RATE_LIMIT_USER_PER_SECOND: String(PER_SECOND),
      PROGRESSDB_RATE_LIMIT_USER_BURST: String(USER_BURST),
      PROGRESSDB_MAX_TAILS_PER_USER: String(MAX_TAILS),
    },
  });
  setup = server.api('alice');
  for (const user of ['alice', 'bob', 'carol', 'dave']) {
    tokens[user] = (await setup.auth.signUser({ userId: user, ttlSeconds: 600 })).token;
  }
  await setup.threads.createThread({ threadId: 'room', memberIds: ['bob', 'carol', 'dave'] });
});
after(() => server.close());

/** Asserts that `error` is a RATE_LIMITED refusal from the call buckets; returns its hint, in ms. */
function callsRefusal(error: grpc.ServiceError): number {
  const info = errorInfo(error);
  assert.deepEqual([error.code, info?.reason], [status.RESOURCE_EXHAUSTED, 'RATE_LIMITED']);
  assert.equal(info?.metadata.limit, 'calls');
  const hint = info?.metadata.retry_after_ms ?? '';
  assert.match(hint, /^[1-9]\d*$/, 'retry_after_ms is whole milliseconds');
  // One token refills in 1000 / PER_SECOND ms: the hint is never longer.
  assert.ok(Number(hint) <= 1000 / PER_SECOND, `retry_after_ms ${hint}`);
  return Number(hint);
}

/**
 * Makes calls until one is refused, which must be RATE_LIMITED. A fresh bucket serves `burst` calls,
 * plus at most what refilled while they ran.
 * @returns how many were served, and the refusal's retry hint
 */
async function spendUntilRefused(
  burst: number,
  call: (index: number) => Promise<unknown>,
): Promise<{ served: number; retryAfterMs: number }> {
  const startedMs = performance.now();
  for (let served = 0; served < burst + 1000; served++) {
    const refusal = await call(served).then(
      () => undefined,
      (error: grpc.ServiceError) => error,
    );
    if (refusal === undefined) continue;
    const retryAfterMs = callsRefusal(refusal);
    const refilled = Math.ceil(((performance.now() - startedMs) / 1000) * PER_SECOND);
    assert.ok(served >= burst, `refused after ${served} calls, short of the burst of ${burst}`);
    assert.ok(
      served <= burst + refilled,
      `${served} calls served: more than ${burst} + ${refilled}`,
    );
    return { served, retryAfterMs };
  }
  assert.fail('never refused');
}

/**
 * Waits as long as the server said, then calls again; the call must be served. The wait is the
 * server's own hint, not a guess; a retry that lands a hair early gets a fresh (tiny) hint.
 */
async function servedAfter(retryAfterMs: number, call: () => Promise<unknown>): Promise<void> {
  let wait = retryAfterMs;
  for (let attempt = 1; ; attempt++) {
    await delay(wait);
    const error = await call().then(
      () => undefined,
      (refused: grpc.ServiceError) => refused,
    );
    if (error === undefined) return;
    assert.equal(errorInfo(error)?.reason, 'RATE_LIMITED', error.message);
    assert.ok(attempt < 3, 'still refused after waiting as told, three times');
    wait = Number(errorInfo(error)?.metadata.retry_after_ms);
  }
}

void test('a burst beyond the key bucket is RATE_LIMITED with retry_after_ms, writes nothing, and is served after the hint', async () => {
  const limited = server.apiWith({ ...bearer(LIMITED_BACKEND), 'x-user-id': 'alice' });
  const append = () => limited.messages.appendMessage({ threadId: 'room', role: 'user', body: 1 });
  const position = server.app.log.position;
  const { served, retryAfterMs } = await spendUntilRefused(KEY_BURST, append);
  assert.equal(server.app.log.position, position + BigInt(served), 'the refused call wrote');
  // Another key has its own bucket.
  await setup.threads.getThread({ threadId: 'room' });

  await servedAfter(retryAfterMs, append);
  assert.equal(server.app.log.position, position + BigInt(served) + 1n);
});

void test('frontend users each have their own bucket, whatever frontend key they use; backends acting for them do not spend it', async () => {
  // A backend acting for alice spends its key's bucket only: hers stays full.
  for (let i = 0; i <= USER_BURST; i++) await setup.threads.listThreads({});
  // Alice alternates between two frontend keys: the bucket is hers, so she gets one burst, not two.
  const alice = [frontend(FRONTEND_USERS, 'alice'), frontend(FRONTEND_TAILS, 'alice')];
  const spent = await spendUntilRefused(USER_BURST, (i) =>
    (alice[i % 2] as Api).threads.listThreads({}),
  );
  assert.ok(spent.served < 2 * USER_BURST);
  // Bob, on the same key, has his whole burst.
  const bob = frontend(FRONTEND_USERS, 'bob');
  await spendUntilRefused(USER_BURST, () => bob.threads.getThread({ threadId: 'room' }));
});

void test('admin keys are not rate limited by default', async () => {
  const admin = server.apiWith(bearer(TEST_KEYS.admin));
  for (let i = 0; i < KEY_BURST * 2; i++) {
    const stats = await admin.admin.getStats({});
    assert.ok(stats.uptimeSeconds >= 0n, `call ${i + 1}`);
  }
});

/** Resolves with the first frame's kind, or the code and reason of a stream that ended first. */
async function opened(reader: TailReader): Promise<string> {
  return Promise.race([
    reader.next().then((item) => item.kind),
    reader.ended.then(({ code, reason, metadata }) =>
      [status[code], reason, metadata.limit].join(' '),
    ),
  ]);
}

void test('a user holds at most PROGRESSDB_MAX_TAILS_PER_USER tails; a cancelled one frees its slot; backends are not capped', async () => {
  const carol = frontend(FRONTEND_TAILS, 'carol');
  const tail = () =>
    new TailReader(carol.raw.tails.tailUser({ userId: '' }, carol.metadata.clone()));
  const open: TailReader[] = [];
  try {
    for (let i = 0; i < MAX_TAILS; i++) {
      const reader = tail();
      open.push(reader);
      assert.equal(await opened(reader), 'caughtUp');
    }
    const third = tail();
    assert.equal(await opened(third), 'RESOURCE_EXHAUSTED RATE_LIMITED tails');

    // Another user is not held back by carol's tails.
    const dave = frontend(FRONTEND_TAILS, 'dave');
    const daves = new TailReader(dave.raw.tails.tailThread({ threadId: 'room' }, dave.metadata));
    open.push(daves);
    assert.equal(await opened(daves), 'caughtUp');

    // Neither is a backend acting for carol.
    const backend = server.api('carol');
    for (let i = 0; i <= MAX_TAILS; i++) {
      const reader = new TailReader(
        backend.raw.tails.tailUser({ userId: '' }, backend.metadata.clone()),
      );
      open.push(reader);
      assert.equal(await opened(reader), 'caughtUp');
    }

    // Cancel one of carol's: the server frees the slot once it sees the cancellation.
    const first = open.shift();
    first?.cancel();
    assert.equal((await first?.ended)?.code, status.CANCELLED);
    let attempts = 0;
    for (;;) {
      attempts++;
      const reader = tail();
      const outcome = await opened(reader);
      if (outcome === 'caughtUp') {
        open.push(reader);
        break;
      }
      assert.equal(outcome, 'RESOURCE_EXHAUSTED RATE_LIMITED tails');
      assert.ok(attempts < 10, 'the slot was not freed after 10 tries');
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    for (const reader of open) reader.cancel();
    await Promise.all(open.map((reader) => reader.ended));
  }
});
