import { ClientError, Status, type Metadata } from 'nice-grpc';
import { ErrorInfo } from './gen/google/rpc/error_details.js';
import { Status as RpcStatus } from './gen/google/rpc/status.js';
import { progressDBError, type ProgressDBError } from './progressdb-error.js';

/** The trailer key that carries a serialised `google.rpc.Status`. */
const STATUS_DETAILS_KEY = 'grpc-status-details-bin';

const ERROR_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.ErrorInfo';

/**
 * The `google.rpc.ErrorInfo` in a call's trailers (`grpc-status-details-bin`), or `undefined` when
 * there is none or it does not decode.
 */
export function errorInfoOf(trailer: Metadata | undefined): ErrorInfo | undefined {
  const bytes = trailer?.get(STATUS_DETAILS_KEY);
  if (!(bytes instanceof Uint8Array)) return undefined;
  try {
    const status = RpcStatus.decode(bytes);
    const detail = status.details.find((any) => any.typeUrl === ERROR_INFO_TYPE_URL);
    return detail === undefined ? undefined : ErrorInfo.decode(detail.value);
  } catch {
    return undefined;
  }
}

/**
 * The typed error for a nice-grpc `ClientError` and the trailers of its call; anything else
 * (a bug, a broken invariant) is returned unchanged.
 */
export function fromClientError(error: unknown, trailer: Metadata | undefined): unknown {
  if (!(error instanceof ClientError)) return error;
  const info = errorInfoOf(trailer);
  return progressDBError({
    code: error.code,
    details: error.details,
    reason: info?.reason === '' ? undefined : info?.reason,
    metadata: info?.metadata,
    method: error.path,
    cause: error,
  });
}

/** The error a call gets when its deadline passes first. */
export function deadlineExceeded(method: string, deadlineMs: number): ProgressDBError {
  return progressDBError({
    code: Status.DEADLINE_EXCEEDED,
    details: `no answer within ${deadlineMs} ms`,
    method,
  });
}

/** The error a call gets when its caller's signal aborts it. */
export function cancelled(method: string, reason: unknown): ProgressDBError {
  return progressDBError({
    code: Status.CANCELLED,
    details: 'cancelled by the caller',
    method,
    cause: reason,
  });
}
