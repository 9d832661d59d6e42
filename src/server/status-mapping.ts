import { Metadata, status as Code, type ServerErrorResponse } from '@grpc/grpc-js';
import { Any } from '../gen/google/protobuf/any.js';
import { ErrorInfo } from '../gen/google/rpc/error_details.js';
import { Status } from '../gen/google/rpc/status.js';
import { ProgressDbError, Reason, type ReasonCode } from '../log/index.js';
import { WriterClosedError } from '../storage/index.js';

/** The ErrorInfo domain of every ProgressDB error. */
export const ERROR_DOMAIN = 'progressdb.v1';

const ERROR_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.ErrorInfo';

/** The gRPC status code of each reason (API.md, Errors). */
export const REASON_CODES: Readonly<Record<ReasonCode, Code>> = {
  [Reason.invalidField]: Code.INVALID_ARGUMENT,
  [Reason.payloadTooLarge]: Code.INVALID_ARGUMENT,
  [Reason.threadNotFound]: Code.NOT_FOUND,
  [Reason.messageNotFound]: Code.NOT_FOUND,
  [Reason.threadExists]: Code.ALREADY_EXISTS,
  [Reason.messageExists]: Code.ALREADY_EXISTS,
  [Reason.revisionConflict]: Code.FAILED_PRECONDITION,
  [Reason.threadDeleted]: Code.FAILED_PRECONDITION,
  [Reason.messageDeleted]: Code.FAILED_PRECONDITION,
  [Reason.missingCredentials]: Code.UNAUTHENTICATED,
  [Reason.invalidApiKey]: Code.UNAUTHENTICATED,
  [Reason.invalidUserToken]: Code.UNAUTHENTICATED,
  [Reason.userTokenExpired]: Code.UNAUTHENTICATED,
  [Reason.roleForbidden]: Code.PERMISSION_DENIED,
  [Reason.notAMember]: Code.PERMISSION_DENIED,
  [Reason.rateLimited]: Code.RESOURCE_EXHAUSTED,
  [Reason.subscriberTooSlow]: Code.RESOURCE_EXHAUSTED,
  [Reason.shuttingDown]: Code.UNAVAILABLE,
  [Reason.kmsUnavailable]: Code.UNAVAILABLE,
  [Reason.decryptFailed]: Code.DATA_LOSS,
  [Reason.corruptRecord]: Code.DATA_LOSS,
};

/** The error a call gets while the server shuts down. */
export function shuttingDown(): ProgressDbError {
  return new ProgressDbError(Reason.shuttingDown, 'the server is shutting down');
}

/** A domain error as a gRPC error, with google.rpc.Status + ErrorInfo in grpc-status-details-bin. */
export function toServiceError(error: ProgressDbError): ServerErrorResponse {
  const code = REASON_CODES[error.reason];
  const info = ErrorInfo.encode({
    reason: error.reason,
    domain: ERROR_DOMAIN,
    metadata: { ...error.metadata },
  }).finish();
  const details = Status.encode({
    code,
    message: error.message,
    details: [Any.fromPartial({ typeUrl: ERROR_INFO_TYPE_URL, value: Buffer.from(info) })],
  }).finish();
  const metadata = new Metadata();
  metadata.set('grpc-status-details-bin', Buffer.from(details));
  return Object.assign(new Error(error.message), { code, details: error.message, metadata });
}

/** The fixed answer to any error that is not in the catalogue: no detail leaks to the caller. */
export function internalError(): ServerErrorResponse {
  return Object.assign(new Error('internal error'), {
    code: Code.INTERNAL,
    details: 'internal error',
  });
}

/** An RPC that this version declares but does not serve yet. */
export class NotImplementedError extends Error {
  constructor(method: string) {
    super(`${method} is not implemented yet`);
    this.name = 'NotImplementedError';
  }
}

/**
 * Maps anything a handler threw to what the caller gets: catalogue errors with their reason,
 * a closed writer as SHUTTING_DOWN, and everything else as a fixed INTERNAL (the caller logs it).
 */
export function mapError(error: unknown): { response: ServerErrorResponse; internal: boolean } {
  if (error instanceof ProgressDbError) return { response: toServiceError(error), internal: false };
  if (error instanceof WriterClosedError) {
    return { response: toServiceError(shuttingDown()), internal: false };
  }
  if (error instanceof NotImplementedError) {
    const response = Object.assign(new Error(error.message), {
      code: Code.UNIMPLEMENTED,
      details: error.message,
    });
    return { response, internal: false };
  }
  return { response: internalError(), internal: true };
}
