import * as grpc from '@grpc/grpc-js';
import { ErrorInfo } from '../../src/gen/google/rpc/error_details.js';
import { Status } from '../../src/gen/google/rpc/status.js';
import * as admin from '../../src/gen/progressdb/v1/admin_service.js';
import * as auth from '../../src/gen/progressdb/v1/auth_service.js';
import * as messages from '../../src/gen/progressdb/v1/message_service.js';
import * as tails from '../../src/gen/progressdb/v1/tail_service.js';
import * as threads from '../../src/gen/progressdb/v1/thread_service.js';

type DeepPartial<T> = T extends Date | Buffer | bigint
  ? T
  : T extends readonly (infer U)[]
    ? DeepPartial<U>[]
    : T extends { $case: string }
      ? T
      : T extends object
        ? { [K in keyof T]?: DeepPartial<T[K]> }
        : T;

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall;

/** A generated grpc-js client with promise-returning unary methods taking partial requests. */
export type Promised<C> = {
  [K in keyof C]: C[K] extends UnaryMethod<infer Req, infer Res>
    ? (request: DeepPartial<Req>, options?: { metadata?: Record<string, string> }) => Promise<Res>
    : never;
};

/** Promise clients of every ProgressDB service, plus the raw grpc-js clients for streams. */
export interface Api {
  threads: Promised<threads.ThreadServiceClient>;
  messages: Promised<messages.MessageServiceClient>;
  auth: Promised<auth.AuthServiceClient>;
  admin: Promised<admin.AdminServiceClient>;
  raw: {
    tails: tails.TailServiceClient;
    admin: admin.AdminServiceClient;
  };
  metadata: grpc.Metadata;
  close(): void;
}

function toMetadata(values: Record<string, string>): grpc.Metadata {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(values)) metadata.set(key, value);
  return metadata;
}

function promised<C extends grpc.Client>(
  client: C,
  codecs: Record<string, unknown>,
  base: grpc.Metadata,
): Promised<C> {
  return new Proxy({} as Promised<C>, {
    get(_target, name) {
      if (typeof name !== 'string') return undefined;
      const method = (client as unknown as Record<string, UnaryMethod<unknown, unknown>>)[name];
      const codec = codecs[`${name[0]?.toUpperCase()}${name.slice(1)}Request`] as
        { fromPartial(value: unknown): unknown } | undefined;
      if (!method || !codec) return undefined;
      return (request: unknown, options?: { metadata?: Record<string, string> }) =>
        new Promise((resolve, reject) => {
          const metadata = base.clone();
          for (const [key, value] of Object.entries(options?.metadata ?? {}))
            metadata.set(key, value);
          method.call(client, codec.fromPartial(request), metadata, {}, (error, response) =>
            error ? reject(error) : resolve(response),
          );
        });
    },
  });
}

/** Connects promise clients to `address` with `metadata` on every call. */
export function connect(address: string, metadata: Record<string, string>): Api {
  const credentials = grpc.credentials.createInsecure();
  const options = { 'grpc.use_local_subchannel_pool': 1 };
  const base = toMetadata(metadata);
  const clients = {
    threads: new threads.ThreadServiceClient(address, credentials, options),
    messages: new messages.MessageServiceClient(address, credentials, options),
    auth: new auth.AuthServiceClient(address, credentials, options),
    admin: new admin.AdminServiceClient(address, credentials, options),
    tails: new tails.TailServiceClient(address, credentials, options),
  };
  return {
    threads: promised(clients.threads, threads, base),
    messages: promised(clients.messages, messages, base),
    auth: promised(clients.auth, auth, base),
    admin: promised(clients.admin, admin, base),
    raw: { tails: clients.tails, admin: clients.admin },
    metadata: base,
    close() {
      for (const client of Object.values(clients)) client.close();
    },
  };
}

/** The ErrorInfo of a gRPC error (from grpc-status-details-bin), if any. */
export function errorInfo(error: unknown): ErrorInfo | undefined {
  const metadata = (error as { metadata?: grpc.Metadata }).metadata;
  const raw = metadata?.get('grpc-status-details-bin')[0];
  if (!(raw instanceof Buffer)) return undefined;
  const status = Status.decode(raw);
  const any = status.details[0];
  return any ? ErrorInfo.decode(any.value) : undefined;
}

/** Awaits a call expected to fail and returns its code, reason and ErrorInfo metadata. */
export async function failure(
  call: Promise<unknown>,
): Promise<{ code: grpc.status; reason: string | undefined; metadata: Record<string, string> }> {
  try {
    await call;
  } catch (error) {
    const info = errorInfo(error);
    return {
      code: (error as grpc.ServiceError).code,
      reason: info?.reason,
      metadata: info?.metadata ?? {},
    };
  }
  throw new Error('the call succeeded but was expected to fail');
}
