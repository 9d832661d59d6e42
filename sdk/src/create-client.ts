import {
  ChannelCredentials,
  createChannel,
  createClient as createServiceClient,
  type Channel,
  type ChannelOptions,
} from 'nice-grpc';
import { adminMethods, type AdminMethods } from './admin-methods.js';
import { authMethods, type AuthMethods } from './auth-methods.js';
import { CallRunner } from './call-runner.js';
import { AdminServiceDefinition } from './gen/progressdb/v1/admin_service.js';
import { AuthServiceDefinition } from './gen/progressdb/v1/auth_service.js';
import { MessageServiceDefinition } from './gen/progressdb/v1/message_service.js';
import { TailServiceDefinition } from './gen/progressdb/v1/tail_service.js';
import { ThreadServiceDefinition } from './gen/progressdb/v1/thread_service.js';
import { messageMethods } from './message-methods.js';
import type { MessageMethods } from './message-types.js';
import { retryPolicy, type RetryOptions } from './retry-policy.js';
import { tailMethods, type TailMethods } from './tail-methods.js';
import { threadMethods, type ThreadMethods } from './thread-methods.js';

/** TLS settings of a client (PEM strings or buffers). */
export interface TlsOptions {
  /** CA certificates to trust; default: the system's roots. */
  readonly rootCerts?: string | Buffer;
  /** The client's private key, for mutual TLS. */
  readonly privateKey?: string | Buffer;
  /** The client's certificate chain, for mutual TLS. */
  readonly certChain?: string | Buffer;
  /** The name to verify the server's certificate against, when it differs from the address. */
  readonly serverName?: string;
}

/** Where and as whom {@link createClient} connects, and how its calls behave. */
export interface ClientOptions {
  /** The server: `host:port` (plaintext unless `tls`), or `https://host:port` (TLS). */
  readonly address: string;
  /** The API key, sent as `authorization: Bearer <apiKey>` on every call. */
  readonly apiKey: string;
  /** With a backend key: the user calls act for (`x-user-id`). Absent: the service itself. */
  readonly userId?: string;
  /** With a frontend key: the token from `auth.signUser` (`x-user-token`); required then. */
  readonly userToken?: string;
  /** TLS: `true` for the system's roots, or settings. Default: TLS only for `https://` addresses. */
  readonly tls?: boolean | TlsOptions;
  /** The deadline of every unary call, retries included, ms; `Infinity` for none. Default 10 000. */
  readonly defaultDeadlineMs?: number;
  /** Retries and tail reconnection (see {@link RetryOptions}); `false` turns them off. */
  readonly retry?: RetryOptions | false;
  /** Low-level grpc-js channel options (`grpc.keepalive_time_ms`, …), on top of the SDK's. */
  readonly channelOptions?: ChannelOptions;
}

/** A connected ProgressDB client: one channel, methods grouped by service. */
export interface ProgressDBClient {
  /** Threads: create, get, list, update, delete, members. */
  readonly threads: ThreadMethods;
  /** Messages: append, read, page, edit, delete, react, versions, raw events. */
  readonly messages: MessageMethods;
  /** Live tails of a thread, a user's threads, or everything; they resume by themselves. */
  readonly tail: TailMethods;
  /** User tokens for frontends. */
  readonly auth: AuthMethods;
  /** Administration (admin keys only). */
  readonly admin: AdminMethods;
  /** Closes the channel; calls and tails still running fail with `CancelledError` or end. */
  close(): void;
}

/** The default deadline of unary calls, ms. */
export const DEFAULT_DEADLINE_MS = 10_000;

function credentialsOf(options: ClientOptions): ChannelCredentials | undefined {
  const { tls, address } = options;
  const https = address.startsWith('https://');
  if (tls === false && https) {
    throw new TypeError(`tls: false contradicts the https:// address ${address}`);
  }
  if (tls === undefined || tls === false) return https ? ChannelCredentials.createSsl() : undefined;
  const settings = tls === true ? {} : tls;
  const pem = (value: string | Buffer | undefined) =>
    value === undefined ? null : Buffer.from(value);
  return ChannelCredentials.createSsl(
    pem(settings.rootCerts),
    pem(settings.privateKey),
    pem(settings.certChain),
  );
}

/**
 * Connects to a ProgressDB server. Calls carry `authorization: Bearer <apiKey>` and the identity
 * headers; unary calls get `defaultDeadlineMs` and safe retries; errors are `ProgressDBError`s.
 * The channel connects lazily, on the first call.
 * Data flow: your code ⇒ client.threads/messages/… ⇒ CallRunner ⇒ nice-grpc ⇒ grpc-js ⇒ ProgressDB.
 * @throws TypeError for contradictory TLS settings, RangeError for invalid retry settings.
 */
export function createClient(options: ClientOptions): ProgressDBClient {
  const headers: Record<string, string> = { authorization: `Bearer ${options.apiKey}` };
  if (options.userId !== undefined) headers['x-user-id'] = options.userId;
  if (options.userToken !== undefined) headers['x-user-token'] = options.userToken;
  const retry = retryPolicy(options.retry);
  const tlsName = typeof options.tls === 'object' ? options.tls.serverName : undefined;
  const channel: Channel = createChannel(options.address, credentialsOf(options), {
    'grpc.primary_user_agent': 'progressdb-client',
    // Reconnect at the pace of the SDK's own backoff rather than grpc-js's 1 s first step.
    'grpc.initial_reconnect_backoff_ms': Math.max(100, retry.initialBackoffMs),
    'grpc.max_reconnect_backoff_ms': Math.max(1000, retry.maxBackoffMs),
    ...(tlsName === undefined ? {} : { 'grpc.ssl_target_name_override': tlsName }),
    ...options.channelOptions,
  });
  const deadlineMs = options.defaultDeadlineMs ?? DEFAULT_DEADLINE_MS;
  if (!(deadlineMs >= 0)) throw new RangeError(`defaultDeadlineMs must be >= 0, got ${deadlineMs}`);
  const runner = new CallRunner({
    headers,
    deadlineMs: deadlineMs === Infinity ? undefined : deadlineMs,
    retry,
  });
  return {
    threads: threadMethods(createServiceClient(ThreadServiceDefinition, channel), runner),
    messages: messageMethods(createServiceClient(MessageServiceDefinition, channel), runner),
    tail: tailMethods(createServiceClient(TailServiceDefinition, channel), runner),
    auth: authMethods(createServiceClient(AuthServiceDefinition, channel), runner),
    admin: adminMethods(createServiceClient(AdminServiceDefinition, channel), runner),
    close() {
      runner.close();
      channel.close();
    },
  };
}
