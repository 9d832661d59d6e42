import { ClientError, type CallOptions, type ClientMiddlewareCall, type Metadata } from 'nice-grpc';
import { ErrorInfo } from './gen/google/rpc/error_details.js';
import { Status as RpcStatus } from './gen/google/rpc/status.js';

/** The trailer key that carries a serialised `google.rpc.Status`. */
const STATUS_DETAILS_KEY = 'grpc-status-details-bin';

const ERROR_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.ErrorInfo';

/** The trailers of failed calls, keyed by the error the call threw; nice-grpc's `ClientError` drops them. */
const trailersByError = new WeakMap<object, Metadata>();

/**
 * A nice-grpc client middleware that remembers the trailers of every failed call, so that
 * {@link errorInfo} can read the `google.rpc.Status` details of the error it threw.
 * Data flow: server trailer ⇒ `onTrailer` ⇒ WeakMap keyed by the thrown `ClientError`.
 */
export async function* captureErrorTrailers<Request, Response>(
  call: ClientMiddlewareCall<Request, Response>,
  options: CallOptions,
): AsyncGenerator<Response, Response | void, undefined> {
  let trailer: Metadata | undefined;
  try {
    return yield* call.next(call.request, {
      ...options,
      onTrailer(received) {
        trailer = received;
        options.onTrailer?.(received);
      },
    });
  } catch (error) {
    // grpc-js reports the trailer before the rejection reaches this frame.
    if (error instanceof ClientError && trailer !== undefined) trailersByError.set(error, trailer);
    throw error;
  }
}

/**
 * The `google.rpc.ErrorInfo` of an error thrown by a client from {@link createClients}: its `reason`
 * (e.g. `REVISION_CONFLICT`), `domain` (`progressdb.v1`) and `metadata` (e.g. `actual`).
 * Returns `undefined` for anything else: other errors, or errors that carry no details.
 */
export function errorInfo(error: unknown): ErrorInfo | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const bytes = trailersByError.get(error)?.get(STATUS_DETAILS_KEY);
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
 * The ProgressDB error reason of an error thrown by a client from {@link createClients}, such as
 * `THREAD_NOT_FOUND` or `REVISION_CONFLICT` (the catalogue is in the API reference). Branch on this,
 * never on the message text. Returns `undefined` when the error carries no reason.
 */
export function errorReason(error: unknown): string | undefined {
  return errorInfo(error)?.reason;
}
