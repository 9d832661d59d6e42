import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ServerError } from 'nice-grpc';
import { GetThreadResponse } from '../src/gen/progressdb/v1/thread_service.js';
import {
  AlreadyExistsError,
  CancelledError,
  createClient,
  DataLossError,
  DeadlineExceededError,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  isRetryable,
  NotFoundError,
  PayloadTooLargeError,
  PermissionDeniedError,
  ProgressDBError,
  RateLimitedError,
  ResourceExhaustedError,
  RevisionConflictError,
  Status,
  SubscriberTooSlowError,
  UnauthenticatedError,
  UnavailableError,
  UnimplementedError,
  type ErrorReason,
  type ProgressDBClient,
} from '../src/index.js';
import { progressDBError } from '../src/progressdb-error.js';
import { fail, startFakeServer, type FakeServer } from './support/fake-server.js';
import { rejection } from './support/rejection.js';

/** Every reason of errors.proto, its code, and the class the SDK must pick. */
const CATALOGUE: [ErrorReason, Status, typeof ProgressDBError][] = [
  ['INVALID_FIELD', Status.INVALID_ARGUMENT, InvalidArgumentError],
  ['PAYLOAD_TOO_LARGE', Status.INVALID_ARGUMENT, PayloadTooLargeError],
  ['THREAD_NOT_FOUND', Status.NOT_FOUND, NotFoundError],
  ['MESSAGE_NOT_FOUND', Status.NOT_FOUND, NotFoundError],
  ['THREAD_EXISTS', Status.ALREADY_EXISTS, AlreadyExistsError],
  ['MESSAGE_EXISTS', Status.ALREADY_EXISTS, AlreadyExistsError],
  ['REVISION_CONFLICT', Status.FAILED_PRECONDITION, RevisionConflictError],
  ['THREAD_DELETED', Status.FAILED_PRECONDITION, FailedPreconditionError],
  ['MESSAGE_DELETED', Status.FAILED_PRECONDITION, FailedPreconditionError],
  ['MISSING_CREDENTIALS', Status.UNAUTHENTICATED, UnauthenticatedError],
  ['INVALID_API_KEY', Status.UNAUTHENTICATED, UnauthenticatedError],
  ['INVALID_USER_TOKEN', Status.UNAUTHENTICATED, UnauthenticatedError],
  ['USER_TOKEN_EXPIRED', Status.UNAUTHENTICATED, UnauthenticatedError],
  ['ROLE_FORBIDDEN', Status.PERMISSION_DENIED, PermissionDeniedError],
  ['NOT_A_MEMBER', Status.PERMISSION_DENIED, PermissionDeniedError],
  ['RATE_LIMITED', Status.RESOURCE_EXHAUSTED, RateLimitedError],
  ['SUBSCRIBER_TOO_SLOW', Status.RESOURCE_EXHAUSTED, SubscriberTooSlowError],
  ['SHUTTING_DOWN', Status.UNAVAILABLE, UnavailableError],
  ['KMS_UNAVAILABLE', Status.UNAVAILABLE, UnavailableError],
  ['DECRYPT_FAILED', Status.DATA_LOSS, DataLossError],
  ['CORRUPT_RECORD', Status.DATA_LOSS, DataLossError],
];

/** The next status the fake's GetThread fails with. */
let next: { code: Status; reason?: string; metadata?: Record<string, string> } = {
  code: Status.OK,
};
let fake: FakeServer;
let client: ProgressDBClient;

before(async () => {
  fake = await startFakeServer({
    threads: {
      getThread: (_request, context) => {
        if (next.code === Status.OK) return GetThreadResponse.fromPartial({ thread: { id: 't' } });
        if (next.reason === undefined) throw new ServerError(next.code, 'no details');
        return fail(context, next.code, next.reason, next.metadata);
      },
    },
  });
  client = createClient({ address: fake.address, apiKey: 'k', retry: false });
});

after(async () => {
  client.close();
  await fake.close();
});

test('every reason of the catalogue, sent over the wire, becomes its class', async () => {
  for (const [reason, code, type] of CATALOGUE) {
    next = { code, reason, metadata: { some: 'detail' } };
    const error = await rejection(client.threads.get({ threadId: 't' }), ProgressDBError);
    assert.ok(error instanceof type, `${reason}: got ${error.name}`);
    assert.equal(error.code, code, reason);
    assert.equal(error.reason, reason);
    assert.equal(error.metadata.some, 'detail');
    assert.equal(error.method, '/progressdb.v1.ThreadService/GetThread');
    assert.equal(error.details, `scripted ${reason}`);
  }
});

test('typed fields: SUBSCRIBER_TOO_SLOW resume points, RATE_LIMITED retry-after', async () => {
  next = {
    code: Status.RESOURCE_EXHAUSTED,
    reason: 'SUBSCRIBER_TOO_SLOW',
    metadata: { last_revision: '41' },
  };
  const slow = await rejection(client.threads.get({ threadId: 't' }), SubscriberTooSlowError);
  assert.equal(slow.lastRevision, 41n);
  assert.equal(slow.lastPosition, undefined);
  assert.ok(slow instanceof ResourceExhaustedError);
  assert.equal(isRetryable(slow), true);

  next = { ...next, metadata: { last_position: '9007199254740993' } };
  const byPosition = await rejection(client.threads.get({ threadId: 't' }), SubscriberTooSlowError);
  assert.equal(byPosition.lastPosition, 9007199254740993n, 'no precision lost');

  next = { code: Status.RESOURCE_EXHAUSTED, reason: 'RATE_LIMITED', metadata: {} };
  const limited = await rejection(client.threads.get({ threadId: 't' }), RateLimitedError);
  assert.equal(limited.retryAfterMs, undefined, 'absent when the server did not say');
});

test('without a reason the code decides; an unknown reason keeps its code class', async () => {
  const byCode: [Status, typeof ProgressDBError][] = [
    [Status.DATA_LOSS, DataLossError],
    [Status.INTERNAL, InternalError],
    [Status.UNKNOWN, InternalError],
    [Status.UNIMPLEMENTED, UnimplementedError],
    [Status.UNAVAILABLE, UnavailableError],
    [Status.RESOURCE_EXHAUSTED, ResourceExhaustedError],
    [Status.PERMISSION_DENIED, PermissionDeniedError],
  ];
  for (const [code, type] of byCode) {
    next = { code };
    const error = await rejection(client.threads.get({ threadId: 't' }), type);
    assert.equal(error.reason, undefined);
    assert.deepEqual(error.metadata, {});
  }
  next = { code: Status.ABORTED };
  const aborted = await rejection(client.threads.get({ threadId: 't' }), ProgressDBError);
  assert.equal(aborted.constructor, ProgressDBError, 'no class for ABORTED: the base');

  next = { code: Status.NOT_FOUND, reason: 'SOMETHING_NEW' };
  const unknown = await rejection(client.threads.get({ threadId: 't' }), NotFoundError);
  assert.equal(unknown.reason, 'SOMETHING_NEW');
});

test('a reason that contradicts its code does not pick the class', () => {
  const error = progressDBError({
    code: Status.INTERNAL,
    details: 'x',
    reason: 'THREAD_NOT_FOUND',
  });
  assert.ok(error instanceof InternalError);
  assert.equal(error.reason, 'THREAD_NOT_FOUND');
  const conflict = progressDBError({
    code: Status.FAILED_PRECONDITION,
    details: 'x',
    reason: 'REVISION_CONFLICT',
    metadata: { expected: 'no_thread', actual: 'garbage' },
  });
  assert.ok(conflict instanceof RevisionConflictError);
  assert.equal(conflict.expected, 'no_thread');
  assert.equal(conflict.actual, undefined, 'unreadable metadata is left undefined');
});

test('isRetryable: unavailable, deadline, rate limit, slow tail; nothing else', () => {
  const of = (code: Status, reason?: string) => progressDBError({ code, details: '', reason });
  assert.equal(isRetryable(of(Status.UNAVAILABLE)), true);
  assert.equal(isRetryable(of(Status.UNAVAILABLE, 'SHUTTING_DOWN')), true);
  assert.equal(isRetryable(of(Status.DEADLINE_EXCEEDED)), true);
  assert.ok(of(Status.DEADLINE_EXCEEDED) instanceof DeadlineExceededError);
  assert.equal(isRetryable(of(Status.RESOURCE_EXHAUSTED, 'RATE_LIMITED')), true);
  assert.equal(isRetryable(of(Status.RESOURCE_EXHAUSTED)), false);
  assert.equal(isRetryable(of(Status.CANCELLED)), false);
  assert.ok(of(Status.CANCELLED) instanceof CancelledError);
  assert.equal(isRetryable(of(Status.FAILED_PRECONDITION, 'REVISION_CONFLICT')), false);
  assert.equal(isRetryable(of(Status.INTERNAL)), false);
  assert.equal(isRetryable(new Error('plain')), false);
  assert.equal(isRetryable(undefined), false);
});

test('the message names the method and the reason; details stay on the error', () => {
  const error = progressDBError({
    code: Status.NOT_FOUND,
    details: 'thread t not found',
    reason: 'THREAD_NOT_FOUND',
    method: '/progressdb.v1.ThreadService/GetThread',
  });
  assert.equal(
    error.message,
    '/progressdb.v1.ThreadService/GetThread THREAD_NOT_FOUND: thread t not found',
  );
  assert.equal(error.name, 'NotFoundError');
  assert.ok(Object.isFrozen(error.metadata));
});
