import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DeadlineExceededError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitedError,
  RevisionConflictError,
  Status,
  UnauthenticatedError,
  UnavailableError,
} from '../../sdk/src/index.js';
import { CliError, describeError } from './cli-error.js';

const address = '127.0.0.1:50051';
const describe = (error: unknown) => describeError(error, { address });

test('a refused connection names the address and how to start the server', () => {
  const error = new UnavailableError({
    code: Status.UNAVAILABLE,
    details: 'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:50051',
  });
  assert.deepEqual(describe(error), {
    message:
      'cannot reach ProgressDB at 127.0.0.1:50051 — is it running? start it with `npm start`',
    exitCode: 1,
  });
});

test('the server’s reasons become plain words ending with the reason', () => {
  const cases: [Error, RegExp][] = [
    [
      new NotFoundError({
        code: Status.NOT_FOUND,
        reason: 'THREAD_NOT_FOUND',
        details: 'thread t1 not found',
      }),
      /^thread t1 not found \(THREAD_NOT_FOUND\)$/,
    ],
    [
      new UnauthenticatedError({
        code: Status.UNAUTHENTICATED,
        reason: 'INVALID_API_KEY',
        details: 'unknown API key',
      }),
      /refused the API key.*\(INVALID_API_KEY\)$/,
    ],
    [
      new PermissionDeniedError({
        code: Status.PERMISSION_DENIED,
        reason: 'ROLE_FORBIDDEN',
        details: 'admin only',
      }),
      /admin commands need an admin key.*\(ROLE_FORBIDDEN\)$/,
    ],
    [
      new RevisionConflictError({
        code: Status.FAILED_PRECONDITION,
        reason: 'REVISION_CONFLICT',
        details: 'conflict',
        metadata: { expected: '3', actual: '5' },
      }),
      /^the thread moved on: expected revision 3, it is at 5 \(REVISION_CONFLICT\)$/,
    ],
    [
      new InvalidArgumentError({
        code: Status.INVALID_ARGUMENT,
        reason: 'INVALID_FIELD',
        details: 'thread_id must be 1-128 characters',
        metadata: { field: 'thread_id' },
      }),
      /^invalid request \(thread_id\): thread_id must be 1-128 characters \(INVALID_FIELD\)$/,
    ],
    [
      new RateLimitedError({
        code: Status.RESOURCE_EXHAUSTED,
        reason: 'RATE_LIMITED',
        details: 'too many calls',
        metadata: { retry_after_ms: '250' },
      }),
      /retry in 250 ms/,
    ],
    [
      new UnavailableError({ code: Status.UNAVAILABLE, reason: 'SHUTTING_DOWN', details: 'bye' }),
      /is shutting down/,
    ],
    [
      new DeadlineExceededError({ code: Status.DEADLINE_EXCEEDED, details: 'deadline' }),
      /did not answer in time/,
    ],
    [
      new InternalError({ code: Status.INTERNAL, details: 'secret internals' }),
      /^ProgressDB failed with an internal error; its log has the details$/,
    ],
  ];
  for (const [error, expected] of cases) {
    const { message, exitCode } = describe(error);
    assert.match(message, expected);
    assert.equal(exitCode, 1);
  }
});

test('CLI errors keep their exit code; file errors and bad values read plainly', () => {
  assert.deepEqual(describe(new CliError('no API key', 2)), { message: 'no API key', exitCode: 2 });
  const missing = Object.assign(new Error('ENOENT: no such file'), {
    code: 'ENOENT',
    path: '/tmp/x',
  });
  assert.deepEqual(describe(missing), { message: 'no such file or folder: /tmp/x', exitCode: 1 });
  assert.equal(describe(new RangeError('afterRevision must be >= 0')).exitCode, 2);
  assert.deepEqual(describe('boom'), { message: 'unexpected error: boom', exitCode: 1 });
});
