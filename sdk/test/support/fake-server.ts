import { createServer, Metadata, ServerError, Status, type CallContext } from 'nice-grpc';
import { Any } from '../../src/gen/google/protobuf/any.js';
import { ErrorInfo } from '../../src/gen/google/rpc/error_details.js';
import { Status as RpcStatus } from '../../src/gen/google/rpc/status.js';
import { AdminServiceDefinition } from '../../src/gen/progressdb/v1/admin_service.js';
import { AuthServiceDefinition } from '../../src/gen/progressdb/v1/auth_service.js';
import { MessageServiceDefinition } from '../../src/gen/progressdb/v1/message_service.js';
import { TailServiceDefinition } from '../../src/gen/progressdb/v1/tail_service.js';
import { ThreadServiceDefinition } from '../../src/gen/progressdb/v1/thread_service.js';

/** A method of the fake: gets the decoded request and the call context, as nice-grpc passes them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Handler = (request: any, context: CallContext) => any;

/** The methods a fake serves, by service and nice-grpc method name; the rest are UNIMPLEMENTED. */
export interface FakeHandlers {
  threads?: Record<string, Handler>;
  messages?: Record<string, Handler>;
  tail?: Record<string, Handler>;
  auth?: Record<string, Handler>;
  admin?: Record<string, Handler>;
}

/** One call the fake received. */
export interface FakeCall {
  readonly method: string;
  readonly request: unknown;
  readonly metadata: Metadata;
}

/** A scripted stand-in for ProgressDB, for the behaviour a real server cannot be made to show. */
export interface FakeServer {
  readonly address: string;
  /** Every call received, in order. */
  readonly calls: FakeCall[];
  close(): Promise<void>;
}

/** Fails the call as ProgressDB does: `code`, and a google.rpc.Status with an ErrorInfo. */
export function fail(
  context: CallContext,
  code: Status,
  reason: string,
  metadata: Record<string, string> = {},
): never {
  const info = ErrorInfo.encode({ reason, domain: 'progressdb.v1', metadata }).finish();
  const details = RpcStatus.encode({
    code,
    message: `scripted ${reason}`,
    details: [
      Any.fromPartial({
        typeUrl: 'type.googleapis.com/google.rpc.ErrorInfo',
        value: Buffer.from(info),
      }),
    ],
  }).finish();
  context.trailer.set('grpc-status-details-bin', details);
  throw new ServerError(code, `scripted ${reason}`);
}

const SERVICES = {
  threads: ThreadServiceDefinition,
  messages: MessageServiceDefinition,
  tail: TailServiceDefinition,
  auth: AuthServiceDefinition,
  admin: AdminServiceDefinition,
} as const;

/** Starts a fake on 127.0.0.1:0 serving `handlers`. */
export async function startFakeServer(handlers: FakeHandlers): Promise<FakeServer> {
  const server = createServer();
  const calls: FakeCall[] = [];
  for (const [group, definition] of Object.entries(SERVICES)) {
    const scripted = handlers[group as keyof FakeHandlers] ?? {};
    const implementation: Record<string, Handler> = {};
    const methods = Object.entries(definition.methods) as [
      string,
      { name: string; responseStream: boolean },
    ][];
    for (const [name, method] of methods) {
      const handler = scripted[name];
      const record = (request: unknown, context: CallContext): void => {
        calls.push({ method: method.name, request, metadata: context.metadata });
      };
      implementation[name] = method.responseStream
        ? async function* (request: unknown, context: CallContext) {
            record(request, context);
            if (handler === undefined) throw new ServerError(Status.UNIMPLEMENTED, name);
            yield* handler(request, context) as AsyncIterable<unknown>;
          }
        : async (request: unknown, context: CallContext) => {
            record(request, context);
            if (handler === undefined) throw new ServerError(Status.UNIMPLEMENTED, name);
            return (await handler(request, context)) as unknown;
          };
    }
    server.add(definition, implementation as Parameters<typeof server.add>[1]);
  }
  const port = await server.listen('127.0.0.1:0');
  return {
    address: `127.0.0.1:${port}`,
    calls,
    async close() {
      server.forceShutdown();
      return Promise.resolve();
    },
  };
}
