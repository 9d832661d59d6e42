/** The stable error reasons of API.md. Transport-neutral: the server maps them to gRPC codes. */
export const Reason = {
  invalidField: 'INVALID_FIELD',
  payloadTooLarge: 'PAYLOAD_TOO_LARGE',
  threadNotFound: 'THREAD_NOT_FOUND',
  messageNotFound: 'MESSAGE_NOT_FOUND',
  threadExists: 'THREAD_EXISTS',
  messageExists: 'MESSAGE_EXISTS',
  revisionConflict: 'REVISION_CONFLICT',
  threadDeleted: 'THREAD_DELETED',
  messageDeleted: 'MESSAGE_DELETED',
  missingCredentials: 'MISSING_CREDENTIALS',
  invalidApiKey: 'INVALID_API_KEY',
  invalidUserToken: 'INVALID_USER_TOKEN',
  userTokenExpired: 'USER_TOKEN_EXPIRED',
  roleForbidden: 'ROLE_FORBIDDEN',
  notAMember: 'NOT_A_MEMBER',
  rateLimited: 'RATE_LIMITED',
  subscriberTooSlow: 'SUBSCRIBER_TOO_SLOW',
  shuttingDown: 'SHUTTING_DOWN',
  kmsUnavailable: 'KMS_UNAVAILABLE',
  decryptFailed: 'DECRYPT_FAILED',
  corruptRecord: 'CORRUPT_RECORD',
} as const;

/** One of the reasons of API.md. */
export type ReasonCode = (typeof Reason)[keyof typeof Reason];

/**
 * An error of the catalogue: a stable reason clients branch on, string metadata (such as the
 * field, or the expected and actual revision), and a message for people that may change.
 */
export class ProgressDbError extends Error {
  readonly reason: ReasonCode;
  readonly metadata: Readonly<Record<string, string>>;

  constructor(reason: ReasonCode, message: string, metadata: Record<string, string> = {}) {
    super(message);
    this.name = 'ProgressDbError';
    this.reason = reason;
    this.metadata = metadata;
  }
}

/** A request field is invalid. */
export function invalidField(field: string, problem: string): ProgressDbError {
  return new ProgressDbError(Reason.invalidField, `${field}: ${problem}`, { field });
}

/** A field or request is over a size limit. */
export function payloadTooLarge(field: string, limit: number, unit: string): ProgressDbError {
  return new ProgressDbError(Reason.payloadTooLarge, `${field}: larger than ${limit} ${unit}`, {
    field,
    limit: String(limit),
  });
}

/** The thread does not exist (or is deleted and was not asked for). */
export function threadNotFound(threadId: string): ProgressDbError {
  return new ProgressDbError(Reason.threadNotFound, `thread ${threadId} not found`, {
    thread_id: threadId,
  });
}

/** The message does not exist (or is deleted and was not asked for). */
export function messageNotFound(messageId: string, field = 'message_id'): ProgressDbError {
  return new ProgressDbError(Reason.messageNotFound, `message ${messageId} not found`, {
    message_id: messageId,
    field,
  });
}

/** A revision (or version) condition did not hold. */
export function revisionConflict(expected: string, actual: string): ProgressDbError {
  return new ProgressDbError(
    Reason.revisionConflict,
    `expected revision ${expected}, but it is ${actual}`,
    { expected, actual },
  );
}

/** The thread is deleted and cannot be written. */
export function threadDeleted(threadId: string): ProgressDbError {
  return new ProgressDbError(Reason.threadDeleted, `thread ${threadId} is deleted`, {
    thread_id: threadId,
  });
}

/** The message is deleted and cannot be changed. */
export function messageDeleted(messageId: string): ProgressDbError {
  return new ProgressDbError(Reason.messageDeleted, `message ${messageId} is deleted`, {
    message_id: messageId,
  });
}

/** A stored record could not be decoded. */
export function corruptRecord(family: string): ProgressDbError {
  return new ProgressDbError(Reason.corruptRecord, `a record in ${family} could not be decoded`, {
    family,
  });
}

/** A sealed record failed to open: wrong key, tampered, or moved to another message. */
export function decryptFailed(threadId: string): ProgressDbError {
  return new ProgressDbError(
    Reason.decryptFailed,
    `a record of thread ${threadId} failed to open`,
    {
      thread_id: threadId,
    },
  );
}

/** The key provider could not be reached (after retries), or refused the key. */
export function kmsUnavailable(problem: string): ProgressDbError {
  return new ProgressDbError(Reason.kmsUnavailable, `the key provider is unavailable: ${problem}`);
}
