import {
  status as Code,
  type Metadata,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type ServerErrorResponse,
  type ServerWritableStream,
} from '@grpc/grpc-js';
import type { Attributes } from '@opentelemetry/api';
import { ProgressDbError, Reason } from '../log/index.js';
import { Attr, instruments, type Logger } from '../telemetry/index.js';
import {
  authenticate,
  MetadataKey,
  type Authenticator,
  type CallContext,
  type ServiceName,
} from './call-context.js';
import { rateLimited, tooManyTails, type CallRateLimiter } from './rate-limiter.js';
import type { CallGate } from './call-gate.js';
import { requireDecoded } from './request-decoding.js';
import type { EncodedResponse } from './wire-encoding.js';
import { mapError, NotImplementedError, shuttingDown, toServiceError } from './status-mapping.js';

/** What every adapter needs. */
export interface AdapterDeps {
  auth: Authenticator;
  limits: CallRateLimiter;
  gate: CallGate;
  logger: Logger;
}

/** Authenticates a call and charges it to its rate limits. */
function admit(deps: AdapterDeps, metadata: Metadata, service: ServiceName): CallContext {
  const context = authenticate(metadata, deps.auth, service);
  const verdict = deps.limits.take(context);
  if (!verdict.ok) throw rateLimited(verdict.retryAfterMs);
  return context;
}

/**
 * A unary handler: validated domain work; it only throws catalogue errors on bad input. It may
 * answer with the response already encoded (see wire-encoding.ts).
 */
export type UnaryHandler<Req, Res> = (
  request: Req,
  context: CallContext,
) => Res | EncodedResponse | Promise<Res | EncodedResponse>;

/** A server-streaming handler: writes through `call`; resolves when the stream should end. */
export type StreamHandler<Req, Res> = (
  request: Req,
  context: CallContext,
  call: ServerWritableStream<Req, Res>,
) => Promise<void>;

function failure(
  deps: AdapterDeps,
  method: string,
  error: unknown,
  requestId: string | undefined,
): ServerErrorResponse {
  const { response, internal } = mapError(error);
  if (internal) deps.logger.error({ err: error, method, requestId }, 'internal error');
  else if (response.code === Code.UNAUTHENTICATED || response.code === Code.PERMISSION_DENIED) {
    // Every denial is on record; the reason and method only, never credentials.
    const reason = error instanceof ProgressDbError ? error.reason : undefined;
    deps.logger.warn({ method, reason, requestId }, 'call denied');
  }
  return response;
}

/** gRPC status names by code, for metric attributes. */
const CODE_NAMES: string[] = [];
for (const [name, value] of Object.entries(Code))
  if (typeof value === 'number') CODE_NAMES[value] = name;

/** A method's metric attributes, one frozen set per status code, built once per method. */
function rpcAttributes(service: ServiceName, method: string): readonly Attributes[] {
  const base = { [Attr.rpcService]: `progressdb.v1.${service}`, [Attr.rpcMethod]: method };
  return CODE_NAMES.map((name) => Object.freeze({ ...base, [Attr.rpcCode]: name }));
}

/** Records a call's duration under its status code. */
function recordCall(attributes: readonly Attributes[], startedMs: number, code: number): void {
  instruments.rpcDuration.record(
    (performance.now() - startedMs) / 1000,
    attributes[code] ?? attributes[Code.UNKNOWN],
  );
}

function requestIdOf(metadata: { get(key: string): unknown[] }): string | undefined {
  const value = metadata.get(MetadataKey.requestId)[0];
  return typeof value === 'string' ? value.slice(0, 128) : undefined;
}

/**
 * Adapts a unary handler to grpc-js: refuses calls while draining, authenticates, runs the handler,
 * and maps whatever it throws to a status (grpc-js would not catch a rejected promise).
 */
export function unary<Req, Res>(
  deps: AdapterDeps,
  service: ServiceName,
  method: string,
  handler: UnaryHandler<NoInfer<Req>, NoInfer<Res>>,
): handleUnaryCall<Req, Res> {
  const attributes = rpcAttributes(service, method);
  return (call, callback) => {
    const started = performance.now();
    const fail = (error: unknown): void => {
      const response = failure(deps, method, error, requestId);
      recordCall(attributes, started, response.code ?? Code.UNKNOWN);
      callback(response);
    };
    if (!deps.gate.enter()) {
      recordCall(attributes, started, Code.UNAVAILABLE);
      callback(toServiceError(shuttingDown()));
      return;
    }
    const requestId = requestIdOf(call.metadata);
    let result: Res | EncodedResponse | Promise<Res | EncodedResponse>;
    try {
      const context = admit(deps, call.metadata, service);
      requireDecoded(call.request);
      result = handler(call.request, context);
    } catch (error) {
      deps.gate.leave();
      fail(error);
      return;
    }
    Promise.resolve(result).then(
      (response) => {
        deps.gate.leave();
        recordCall(attributes, started, Code.OK);
        // Encoded responses pass through the method's serializer untouched (acceptEncoded).
        callback(null, response as Res);
      },
      (error: unknown) => {
        deps.gate.leave();
        fail(error);
      },
    );
  };
}

/** Adapts a server-streaming handler, mapping errors like `unary`; streams do not hold shutdown. */
export function serverStream<Req, Res>(
  deps: AdapterDeps,
  service: ServiceName,
  method: string,
  handler: StreamHandler<Req, Res>,
): handleServerStreamingCall<Req, Res> {
  const attributes = rpcAttributes(service, method);
  return (call) => {
    const started = performance.now();
    const requestId = requestIdOf(call.metadata);
    let finished = false;
    call.once('cancelled', () => {
      if (finished) return;
      finished = true;
      recordCall(attributes, started, Code.CANCELLED);
    });
    const fail = (error: unknown): void => {
      if (finished || call.cancelled) return;
      finished = true;
      const response = failure(deps, method, error, requestId);
      recordCall(attributes, started, response.code ?? Code.UNKNOWN);
      // grpc-js sends the status of a stream that emits 'error'; destroy() would send nothing.
      call.emit('error', response);
    };
    if (deps.gate.draining) {
      fail(shuttingDown());
      return;
    }
    try {
      const context = admit(deps, call.metadata, service);
      requireDecoded(call.request);
      const release = deps.limits.acquireTail(context);
      if (!release) throw tooManyTails(deps.limits.maxTailsPerUser);
      call.once('cancelled', release);
      // A stream outlives no token: it ends when the caller's user token expires.
      const expiry = context.expiresAt
        ? atTime(context.expiresAt, () =>
            fail(new ProgressDbError(Reason.userTokenExpired, 'the user token expired')),
          )
        : undefined;
      handler(call.request, context, call)
        .finally(() => {
          release();
          if (expiry) clearTimeout(expiry.timer);
        })
        .then(() => {
          if (finished || call.cancelled) return;
          finished = true;
          recordCall(attributes, started, Code.OK);
          call.end();
        }, fail);
    } catch (error) {
      fail(error);
    }
  };
}

/** Runs `action` at `when`, in steps a timer can take (timers cap at ~24.8 days). */
function atTime(when: Date, action: () => void): { timer: NodeJS.Timeout } {
  const handle = { timer: undefined as unknown as NodeJS.Timeout };
  const arm = (): void => {
    const wait = when.getTime() - Date.now();
    if (wait <= 0) {
      action();
      return;
    }
    handle.timer = setTimeout(arm, Math.min(wait, 2 ** 31 - 1));
  };
  arm();
  return handle;
}

/** A unary RPC that a later version serves: UNIMPLEMENTED, after authentication. */
export function notYetUnary<Req, Res>(
  deps: AdapterDeps,
  service: ServiceName,
  method: string,
): handleUnaryCall<Req, Res> {
  return unary<Req, Res>(deps, service, method, () => {
    throw new NotImplementedError(`${service}.${method}`);
  });
}

/** A streaming RPC that a later version serves: UNIMPLEMENTED, after authentication. */
export function notYetStream<Req, Res>(
  deps: AdapterDeps,
  service: ServiceName,
  method: string,
): handleServerStreamingCall<Req, Res> {
  return serverStream<Req, Res>(deps, service, method, () =>
    Promise.reject(new NotImplementedError(`${service}.${method}`)),
  );
}
