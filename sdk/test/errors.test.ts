import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, TEST_KEYS, type TestServer } from '../../test/support/test-server.js';
import {
  AlreadyExistsError,
  createClient,
  FailedPreconditionError,
  InvalidArgumentError,
  isRetryable,
  NotFoundError,
  PayloadTooLargeError,
  PermissionDeniedError,
  ProgressDBError,
  RateLimitedError,
  RevisionConflictError,
  Status,
  UnauthenticatedError,
  UnavailableError,
  type ProgressDBClient,
} from '../src/index.js';
import { rejection } from './support/rejection.js';
import { freePort } from './support/tcp-proxy.js';

// Every error class a real server can be made to answer with. SubscriberTooSlowError is provoked
// in tails.test.ts, SHUTTING_DOWN in restarts.test.ts, DeadlineExceededError and CancelledError in
// deadlines.test.ts; DataLossError and InternalError need a crafted status (error-mapping.test.ts).

const FRONTEND_KEY = 'frontend-key-0123456789';

let server: TestServer;
let alice: ProgressDBClient;

before(async () => {
  server = await startTestServer({ env: { PROGRESSDB_FRONTEND_KEYS: FRONTEND_KEY } });
  alice = createClient({ address: server.address, apiKey: TEST_KEYS.backend, userId: 'alice' });
  await alice.messages.append({ threadId: 'errors', messageId: 'm1', body: 'first' });
});

after(async () => {
  alice.close();
  await server.close();
});

/** Asserts what every ProgressDB error carries. */
function assertCatalogue(error: ProgressDBError, code: Status, reason: string): void {
  assert.equal(error.code, code);
  assert.equal(error.reason, reason);
  assert.equal(error.name, error.constructor.name);
  assert.match(error.method ?? '', /^\/progressdb\.v1\.\w+Service\/\w+$/);
  assert.ok(error.cause !== undefined, 'the nice-grpc error is kept as the cause');
}

test('INVALID_FIELD is an InvalidArgumentError naming the field', async () => {
  const error = await rejection(
    alice.messages.append({ threadId: 'not a valid id!', body: 1 }),
    InvalidArgumentError,
  );
  assertCatalogue(error, Status.INVALID_ARGUMENT, 'INVALID_FIELD');
  assert.equal(error.field, 'thread_id');
  assert.equal(isRetryable(error), false);
});

test('PAYLOAD_TOO_LARGE is a PayloadTooLargeError (an InvalidArgumentError) with the limit', async () => {
  const error = await rejection(
    alice.messages.append({ threadId: 'errors', body: 'x'.repeat(70_000) }),
    PayloadTooLargeError,
  );
  assert.ok(error instanceof InvalidArgumentError);
  assertCatalogue(error, Status.INVALID_ARGUMENT, 'PAYLOAD_TOO_LARGE');
  assert.equal(error.field, 'body');
  assert.equal(error.limit, 65_536);
});

test('THREAD_NOT_FOUND and MESSAGE_NOT_FOUND are NotFoundErrors', async () => {
  const thread = await rejection(alice.threads.get({ threadId: 'nowhere' }), NotFoundError);
  assertCatalogue(thread, Status.NOT_FOUND, 'THREAD_NOT_FOUND');
  assert.equal(thread.metadata.thread_id, 'nowhere');
  const message = await rejection(
    alice.messages.get({ threadId: 'errors', messageId: 'nothing' }),
    NotFoundError,
  );
  assertCatalogue(message, Status.NOT_FOUND, 'MESSAGE_NOT_FOUND');
});

test('THREAD_EXISTS and MESSAGE_EXISTS are AlreadyExistsErrors', async () => {
  const thread = await rejection(alice.threads.create({ threadId: 'errors' }), AlreadyExistsError);
  assertCatalogue(thread, Status.ALREADY_EXISTS, 'THREAD_EXISTS');
  const message = await rejection(
    alice.messages.append({ threadId: 'errors', messageId: 'm1', body: 'other content' }),
    AlreadyExistsError,
  );
  assertCatalogue(message, Status.ALREADY_EXISTS, 'MESSAGE_EXISTS');
});

test('REVISION_CONFLICT is a RevisionConflictError with expected and actual', async () => {
  const error = await rejection(
    alice.messages.append({ threadId: 'errors', body: 'late', expectedRevision: 1n }),
    RevisionConflictError,
  );
  assert.ok(error instanceof FailedPreconditionError);
  assertCatalogue(error, Status.FAILED_PRECONDITION, 'REVISION_CONFLICT');
  assert.equal(error.expected, 1n);
  assert.equal(error.actual, 2n);
  assert.deepEqual(error.metadata, { expected: '1', actual: '2' });

  const missing = await rejection(
    alice.messages.append({
      threadId: 'errors-absent',
      body: 1,
      expectedRevision: 3n,
    }),
    RevisionConflictError,
  );
  assert.equal(missing.actual, 'no_thread');
});

test('THREAD_DELETED and MESSAGE_DELETED are FailedPreconditionErrors', async () => {
  await alice.messages.append({ threadId: 'errors-deleted', messageId: 'gone', body: 1 });
  await alice.messages.delete({ threadId: 'errors-deleted', messageId: 'gone' });
  const message = await rejection(
    alice.messages.edit({ threadId: 'errors-deleted', messageId: 'gone', body: 2 }),
    FailedPreconditionError,
  );
  assertCatalogue(message, Status.FAILED_PRECONDITION, 'MESSAGE_DELETED');
  assert.ok(!(message instanceof RevisionConflictError));

  await alice.threads.delete({ threadId: 'errors-deleted' });
  const thread = await rejection(
    alice.messages.append({ threadId: 'errors-deleted', body: 3 }),
    FailedPreconditionError,
  );
  assertCatalogue(thread, Status.FAILED_PRECONDITION, 'THREAD_DELETED');
});

test('bad credentials are UnauthenticatedErrors with their reason', async () => {
  const stranger = createClient({ address: server.address, apiKey: 'not-a-key-0123456789' });
  const frontend = createClient({
    address: server.address,
    apiKey: FRONTEND_KEY,
    userToken: 'forged.token',
  });
  const anonymous = createClient({ address: server.address, apiKey: '' });
  try {
    const invalidKey = await rejection(stranger.threads.list(), UnauthenticatedError);
    assertCatalogue(invalidKey, Status.UNAUTHENTICATED, 'INVALID_API_KEY');
    const invalidToken = await rejection(
      frontend.threads.get({ threadId: 'errors' }),
      UnauthenticatedError,
    );
    assertCatalogue(invalidToken, Status.UNAUTHENTICATED, 'INVALID_USER_TOKEN');
    const missing = await rejection(anonymous.threads.list(), UnauthenticatedError);
    assertCatalogue(missing, Status.UNAUTHENTICATED, 'MISSING_CREDENTIALS');
  } finally {
    stranger.close();
    frontend.close();
    anonymous.close();
  }
});

test('ROLE_FORBIDDEN and NOT_A_MEMBER are PermissionDeniedErrors', async () => {
  const forbidden = await rejection(alice.admin.getStats(), PermissionDeniedError);
  assertCatalogue(forbidden, Status.PERMISSION_DENIED, 'ROLE_FORBIDDEN');

  const { token } = await alice.auth.signUser({ userId: 'mallory', ttlSeconds: 60 });
  const mallory = createClient({ address: server.address, apiKey: FRONTEND_KEY, userToken: token });
  try {
    const outsider = await rejection(
      mallory.messages.list({ threadId: 'errors' }),
      PermissionDeniedError,
    );
    assertCatalogue(outsider, Status.PERMISSION_DENIED, 'NOT_A_MEMBER');
    const frontendSigns = await rejection(
      mallory.auth.signUser({ userId: 'mallory' }),
      PermissionDeniedError,
    );
    assert.equal(frontendSigns.reason, 'ROLE_FORBIDDEN');
  } finally {
    mallory.close();
  }
});

test('RATE_LIMITED is a RateLimitedError with retryAfterMs', async () => {
  const limited = await startTestServer({
    env: { PROGRESSDB_RATE_LIMIT_KEY_PER_SECOND: '1', PROGRESSDB_RATE_LIMIT_KEY_BURST: '1' },
  });
  const client = createClient({ address: limited.address, apiKey: TEST_KEYS.backend });
  try {
    await client.threads.create({ threadId: 'rate' });
    const error = await rejection(client.threads.get({ threadId: 'rate' }), RateLimitedError);
    assertCatalogue(error, Status.RESOURCE_EXHAUSTED, 'RATE_LIMITED');
    assert.ok(error.retryAfterMs !== undefined && error.retryAfterMs > 0, `${error.retryAfterMs}`);
    assert.equal(error.limit, 'calls');
    assert.equal(isRetryable(error), true);
  } finally {
    client.close();
    await limited.close();
  }
});

test('no server is an UnavailableError without a reason, and retryable', async () => {
  const address = `127.0.0.1:${await freePort()}`;
  const client = createClient({ address, apiKey: TEST_KEYS.backend, retry: false });
  try {
    const error = await rejection(client.threads.list(), UnavailableError);
    assert.equal(error.code, Status.UNAVAILABLE);
    assert.equal(error.reason, undefined);
    assert.deepEqual(error.metadata, {});
    assert.equal(isRetryable(error), true);
  } finally {
    client.close();
  }
});
