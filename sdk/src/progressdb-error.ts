import { Status } from 'nice-grpc';

/**
 * The reasons ProgressDB puts in the `google.rpc.ErrorInfo` of its errors (the `ErrorReason` enum
 * of `errors.proto` without its `ERROR_REASON_` prefix). Clients branch on these, never on messages.
 */
export type ErrorReason =
  | 'INVALID_FIELD'
  | 'PAYLOAD_TOO_LARGE'
  | 'THREAD_NOT_FOUND'
  | 'MESSAGE_NOT_FOUND'
  | 'THREAD_EXISTS'
  | 'MESSAGE_EXISTS'
  | 'REVISION_CONFLICT'
  | 'THREAD_DELETED'
  | 'MESSAGE_DELETED'
  | 'MISSING_CREDENTIALS'
  | 'INVALID_API_KEY'
  | 'INVALID_USER_TOKEN'
  | 'USER_TOKEN_EXPIRED'
  | 'ROLE_FORBIDDEN'
  | 'NOT_A_MEMBER'
  | 'RATE_LIMITED'
  | 'SUBSCRIBER_TOO_SLOW'
  | 'SHUTTING_DOWN'
  | 'KMS_UNAVAILABLE'
  | 'DECRYPT_FAILED'
  | 'CORRUPT_RECORD';

/** What a failed call left behind, from which {@link ProgressDBError}s are built. */
export interface ErrorFields {
  /** The gRPC status code. */
  readonly code: Status;
  /** The server's (or grpc-js's) status message; for people, never for branching. */
  readonly details: string;
  /** The `ErrorInfo` reason, when the server sent one. */
  readonly reason?: string | undefined;
  /** The `ErrorInfo` metadata (such as `field`, `expected`, `actual`, `retry_after_ms`). */
  readonly metadata?: Readonly<Record<string, string>> | undefined;
  /** The RPC, as `/progressdb.v1.Service/Method`. */
  readonly method?: string | undefined;
  /** The underlying error (a nice-grpc `ClientError`, an abort reason). */
  readonly cause?: unknown;
}

/**
 * Every error a ProgressDB call fails with: the gRPC `code`, the stable `reason` from the status
 * details (`undefined` when the server sent none, e.g. for a dropped connection) and its `metadata`.
 * Subclasses are chosen by reason, then by code, so `instanceof` is the usual way to branch.
 */
export class ProgressDBError extends Error {
  /** The gRPC status code (`Status.NOT_FOUND`, …). */
  readonly code: Status;
  /** The ProgressDB reason, such as `'REVISION_CONFLICT'`; `undefined` when none was sent. */
  readonly reason: ErrorReason | (string & {}) | undefined;
  /** The `ErrorInfo` metadata; empty when none was sent. */
  readonly metadata: Readonly<Record<string, string>>;
  /** The status message as received. */
  readonly details: string;
  /** The RPC that failed, as `/progressdb.v1.Service/Method`, when known. */
  readonly method: string | undefined;

  constructor(fields: ErrorFields) {
    const label = fields.reason ?? Status[fields.code];
    super(
      `${fields.method ?? 'ProgressDB'} ${label}: ${fields.details}`,
      fields.cause === undefined ? undefined : { cause: fields.cause },
    );
    this.name = new.target.name;
    this.code = fields.code;
    this.reason = fields.reason;
    this.metadata = Object.freeze({ ...fields.metadata });
    this.details = fields.details;
    this.method = fields.method;
  }
}

/** A revision, or `'no_thread'`, from error metadata; `undefined` when absent or unreadable. */
function revisionOf(text: string | undefined): bigint | 'no_thread' | 'any' | undefined {
  if (text === 'no_thread' || text === 'any') return text;
  return text !== undefined && /^\d+$/.test(text) ? BigInt(text) : undefined;
}

/** `INVALID_ARGUMENT`: a request field is invalid (`INVALID_FIELD`); `field` names it. */
export class InvalidArgumentError extends ProgressDBError {
  /** The offending field as the server names it (e.g. `messages[3].body`), when given. */
  readonly field: string | undefined;

  constructor(fields: ErrorFields) {
    super(fields);
    this.field = this.metadata.field;
  }
}

/** `INVALID_ARGUMENT` / `PAYLOAD_TOO_LARGE`: a field or the request is over a size limit. */
export class PayloadTooLargeError extends InvalidArgumentError {
  /** The limit that was exceeded (bytes, characters or entries), when given. */
  readonly limit: number | undefined;

  constructor(fields: ErrorFields) {
    super(fields);
    const limit = Number(this.metadata.limit);
    this.limit = Number.isFinite(limit) ? limit : undefined;
  }
}

/** `NOT_FOUND`: `THREAD_NOT_FOUND` or `MESSAGE_NOT_FOUND`. */
export class NotFoundError extends ProgressDBError {}

/** `ALREADY_EXISTS`: `THREAD_EXISTS` or `MESSAGE_EXISTS` (an id reused with other content). */
export class AlreadyExistsError extends ProgressDBError {}

/** `FAILED_PRECONDITION`: the thread or message is deleted (`THREAD_DELETED`, `MESSAGE_DELETED`). */
export class FailedPreconditionError extends ProgressDBError {}

/**
 * `FAILED_PRECONDITION` / `REVISION_CONFLICT`: an `expectedRevision` (or `expectedVersion`) did not
 * hold. Re-read, decide again, and retry with the new revision.
 */
export class RevisionConflictError extends FailedPreconditionError {
  /** What the call expected: a revision (or version), or `'no_thread'`. */
  readonly expected: bigint | 'no_thread' | 'any' | undefined;
  /** What the server found: the head revision (or version), or `'no_thread'` if it does not exist. */
  readonly actual: bigint | 'no_thread' | 'any' | undefined;

  constructor(fields: ErrorFields) {
    super(fields);
    this.expected = revisionOf(this.metadata.expected);
    this.actual = revisionOf(this.metadata.actual);
  }
}

/** `UNAUTHENTICATED`: missing or unknown API key, or a bad or expired user token. */
export class UnauthenticatedError extends ProgressDBError {}

/** `PERMISSION_DENIED`: the key's role may not do this (`ROLE_FORBIDDEN`) or `NOT_A_MEMBER`. */
export class PermissionDeniedError extends ProgressDBError {}

/** `RESOURCE_EXHAUSTED` without a more specific reason (e.g. a message over grpc-js's size cap). */
export class ResourceExhaustedError extends ProgressDBError {}

/**
 * `RESOURCE_EXHAUSTED` / `RATE_LIMITED`: over a rate limit, of calls (wait `retryAfterMs`, then
 * retry) or of open tails (retry when another of the user's tails has ended).
 */
export class RateLimitedError extends ResourceExhaustedError {
  /** Which limit: `'calls'` or `'tails'`, when given. */
  readonly limit: 'calls' | 'tails' | (string & {}) | undefined;
  /** How long the server asks to wait before retrying, in milliseconds, when given. */
  readonly retryAfterMs: number | undefined;

  constructor(fields: ErrorFields) {
    super(fields);
    this.limit = this.metadata.limit;
    const after = Number(this.metadata.retry_after_ms);
    this.retryAfterMs =
      this.metadata.retry_after_ms !== undefined && after >= 0 ? after : undefined;
  }
}

/**
 * `RESOURCE_EXHAUSTED` / `SUBSCRIBER_TOO_SLOW`: a tail fell too far behind and was ended. The SDK's
 * tails resume by themselves; this surfaces only from a tail with reconnection turned off.
 */
export class SubscriberTooSlowError extends ResourceExhaustedError {
  /** TailThread: the last revision the server delivered. */
  readonly lastRevision: bigint | undefined;
  /** TailUser / TailAll: the last position the server delivered. */
  readonly lastPosition: bigint | undefined;

  constructor(fields: ErrorFields) {
    super(fields);
    const revision = revisionOf(this.metadata.last_revision);
    const position = revisionOf(this.metadata.last_position);
    this.lastRevision = typeof revision === 'bigint' ? revision : undefined;
    this.lastPosition = typeof position === 'bigint' ? position : undefined;
  }
}

/**
 * `UNAVAILABLE`: no connection, a dropped connection, `SHUTTING_DOWN` or `KMS_UNAVAILABLE`. Safe to
 * retry (the SDK already did, unless retries are off).
 */
export class UnavailableError extends ProgressDBError {}

/** `DEADLINE_EXCEEDED`: the call's deadline passed before an answer. */
export class DeadlineExceededError extends ProgressDBError {}

/** `CANCELLED`: the call was cancelled, usually through its `signal`. */
export class CancelledError extends ProgressDBError {}

/** `DATA_LOSS`: a stored record could not be opened or decoded (`DECRYPT_FAILED`, `CORRUPT_RECORD`). */
export class DataLossError extends ProgressDBError {}

/** `UNIMPLEMENTED`: the server does not serve this RPC (yet). */
export class UnimplementedError extends ProgressDBError {}

/** `INTERNAL` or `UNKNOWN`: a server fault; the details are in the server's log, not here. */
export class InternalError extends ProgressDBError {}

type ErrorClass = new (fields: ErrorFields) => ProgressDBError;

const CLASS_BY_REASON: Readonly<Record<string, ErrorClass>> = {
  INVALID_FIELD: InvalidArgumentError,
  PAYLOAD_TOO_LARGE: PayloadTooLargeError,
  THREAD_NOT_FOUND: NotFoundError,
  MESSAGE_NOT_FOUND: NotFoundError,
  THREAD_EXISTS: AlreadyExistsError,
  MESSAGE_EXISTS: AlreadyExistsError,
  REVISION_CONFLICT: RevisionConflictError,
  THREAD_DELETED: FailedPreconditionError,
  MESSAGE_DELETED: FailedPreconditionError,
  MISSING_CREDENTIALS: UnauthenticatedError,
  INVALID_API_KEY: UnauthenticatedError,
  INVALID_USER_TOKEN: UnauthenticatedError,
  USER_TOKEN_EXPIRED: UnauthenticatedError,
  ROLE_FORBIDDEN: PermissionDeniedError,
  NOT_A_MEMBER: PermissionDeniedError,
  RATE_LIMITED: RateLimitedError,
  SUBSCRIBER_TOO_SLOW: SubscriberTooSlowError,
  SHUTTING_DOWN: UnavailableError,
  KMS_UNAVAILABLE: UnavailableError,
  DECRYPT_FAILED: DataLossError,
  CORRUPT_RECORD: DataLossError,
};

const CLASS_BY_CODE: Partial<Record<Status, ErrorClass>> = {
  [Status.CANCELLED]: CancelledError,
  [Status.UNKNOWN]: InternalError,
  [Status.INVALID_ARGUMENT]: InvalidArgumentError,
  [Status.DEADLINE_EXCEEDED]: DeadlineExceededError,
  [Status.NOT_FOUND]: NotFoundError,
  [Status.ALREADY_EXISTS]: AlreadyExistsError,
  [Status.PERMISSION_DENIED]: PermissionDeniedError,
  [Status.RESOURCE_EXHAUSTED]: ResourceExhaustedError,
  [Status.FAILED_PRECONDITION]: FailedPreconditionError,
  [Status.UNIMPLEMENTED]: UnimplementedError,
  [Status.INTERNAL]: InternalError,
  [Status.UNAVAILABLE]: UnavailableError,
  [Status.DATA_LOSS]: DataLossError,
  [Status.UNAUTHENTICATED]: UnauthenticatedError,
};

/**
 * Builds the typed error for a failed call: the class of its reason when the reason is known and
 * belongs to the code, else the class of its code, else {@link ProgressDBError} itself.
 */
export function progressDBError(fields: ErrorFields): ProgressDBError {
  const byReason = fields.reason === undefined ? undefined : CLASS_BY_REASON[fields.reason];
  const byCode = CLASS_BY_CODE[fields.code];
  // A reason decides only within its own code's family, so a mismatched pair cannot mislead.
  const fits =
    byReason !== undefined &&
    (byCode === undefined || byReason === byCode || byReason.prototype instanceof byCode);
  const ErrorType = fits ? byReason : (byCode ?? ProgressDBError);
  return new ErrorType(fields);
}

/**
 * True when the same call may succeed if made again later: the server was unavailable, the
 * deadline passed, a rate limit or a slow tail. Writes are safe to repeat only with the same
 * `requestId` (the SDK's own retries always reuse it). False for every other error.
 */
export function isRetryable(error: unknown): boolean {
  return (
    error instanceof UnavailableError ||
    error instanceof DeadlineExceededError ||
    error instanceof RateLimitedError ||
    error instanceof SubscriberTooSlowError
  );
}
