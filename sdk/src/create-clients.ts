import {
  createChannel,
  createClientFactory,
  Metadata,
  type CallOptions,
  type Channel,
  type ChannelCredentials,
  type Client,
  type ClientMiddlewareCall,
} from 'nice-grpc';
import { captureErrorTrailers } from './error-details.js';
import { AdminServiceDefinition } from './gen/progressdb/v1/admin_service.js';
import { AuthServiceDefinition } from './gen/progressdb/v1/auth_service.js';
import { MessageServiceDefinition } from './gen/progressdb/v1/message_service.js';
import { TailServiceDefinition } from './gen/progressdb/v1/tail_service.js';
import { ThreadServiceDefinition } from './gen/progressdb/v1/thread_service.js';

/** Where and as whom {@link createClients} connects. */
export interface CreateClientsOptions {
  /**
   * The server, as `host:port` (plaintext, e.g. `127.0.0.1:50051`) or `https://host:port` (TLS).
   */
  readonly address: string;
  /** The API key, sent as `authorization: Bearer <apiKey>` on every call. */
  readonly apiKey: string;
  /** With a backend key: the user every call acts for, sent as `x-user-id`. Absent: the service itself. */
  readonly userId?: string;
  /** Channel credentials; default: inferred from `address` (TLS for `https://`, else plaintext). */
  readonly credentials?: ChannelCredentials;
}

/** Typed nice-grpc clients of the five ProgressDB services, sharing one channel. */
export interface ProgressDbClients {
  /** ThreadService: create, read, list, update, delete threads and manage members. */
  readonly threads: Client<ThreadServiceDefinition>;
  /** MessageService: append, read, page, edit, delete, react, versions, raw events. */
  readonly messages: Client<MessageServiceDefinition>;
  /** TailService: live event streams of a thread, a user's threads, or everything. */
  readonly tail: Client<TailServiceDefinition>;
  /** AuthService: sign user tokens for frontend keys. */
  readonly auth: Client<AuthServiceDefinition>;
  /** AdminService: stats, purge, retention, key rewrap (admin keys only). */
  readonly admin: Client<AdminServiceDefinition>;
  /** The underlying grpc-js channel. */
  readonly channel: Channel;
  /** Closes the channel; calls still running fail with `CANCELLED`. */
  close(): void;
}

/** Adds the identity headers to every call, keeping any the caller set itself for that call. */
function identityMiddleware(headers: Readonly<Record<string, string>>) {
  return async function* <Request, Response>(
    call: ClientMiddlewareCall<Request, Response>,
    options: CallOptions,
  ): AsyncGenerator<Response, Response | void, undefined> {
    const metadata = Metadata(options.metadata);
    for (const [key, value] of Object.entries(headers)) {
      if (!metadata.has(key)) metadata.set(key, value);
    }
    return yield* call.next(call.request, { ...options, metadata });
  };
}

/**
 * Connects to a ProgressDB server: one channel, a typed client per service, and on every call the
 * `authorization: Bearer <apiKey>` and (when `userId` is given) `x-user-id` metadata. Requests are
 * partial objects (`{ threadId, role, body }`); errors are nice-grpc `ClientError`s whose reason
 * `errorReason` reads. Data flow: caller ⇒ identity headers ⇒ trailer capture ⇒ grpc-js.
 */
export function createClients(options: CreateClientsOptions): ProgressDbClients {
  const headers: Record<string, string> = { authorization: `Bearer ${options.apiKey}` };
  if (options.userId !== undefined) headers['x-user-id'] = options.userId;
  const channel = createChannel(options.address, options.credentials);
  // The middleware attached first runs last, next to the transport.
  const factory = createClientFactory().use(captureErrorTrailers).use(identityMiddleware(headers));
  return {
    threads: factory.create(ThreadServiceDefinition, channel),
    messages: factory.create(MessageServiceDefinition, channel),
    tail: factory.create(TailServiceDefinition, channel),
    auth: factory.create(AuthServiceDefinition, channel),
    admin: factory.create(AdminServiceDefinition, channel),
    channel,
    close() {
      channel.close();
    },
  };
}
