/**
 * `@progressdb/client`: the TypeScript client of ProgressDB, the database for chat threads.
 *
 * {@link createClient} connects and returns methods grouped by service (`threads`, `messages`,
 * `tail`, `auth`, `admin`) that take and return plain objects. Failed calls throw
 * {@link ProgressDBError} subclasses chosen by the server's reason; unary calls have deadlines and
 * safe retries; tails are async iterables that resume by themselves. The message types generated
 * from the proto are re-exported here; the generated modules themselves are not an import path.
 * Data flow: your code ⇒ grouped methods ⇒ CallRunner ⇒ nice-grpc ⇒ grpc-js ⇒ ProgressDB.
 * @packageDocumentation
 */
export {
  createClient,
  DEFAULT_DEADLINE_MS,
  type ClientOptions,
  type ProgressDBClient,
  type TlsOptions,
} from './create-client.js';
export type { CallOptions } from './call-runner.js';
export type { RetryOptions } from './retry-policy.js';
export type { ExpectedRevisionInput, JsonValue, RevisionInput } from './request-values.js';

export type {
  CreateThreadInput,
  DeleteThreadInput,
  GetThreadInput,
  ListThreadsInput,
  MembersInput,
  ThreadMethods,
  ThreadPage,
  UpdateThreadInput,
} from './thread-methods.js';
export type {
  AppendManyResult,
  AppendMessageInput,
  AppendMessagesInput,
  AppendResult,
  DeleteMessageInput,
  EditMessageInput,
  EventsPage,
  GetMessageInput,
  ListMessagesInput,
  MessageMethods,
  MessagePage,
  MessagePagesOptions,
  MessageRef,
  NewMessageInput,
  ReactionInput,
  ReadEventsInput,
} from './message-types.js';
export type {
  EventKind,
  TailAllOptions,
  TailMethods,
  TailThreadOptions,
  TailUserOptions,
} from './tail-methods.js';
export {
  isCaughtUp,
  type Tail,
  type TailCaughtUp,
  type TailItem,
  type TailOptions,
  type TailReconnect,
} from './resumable-tail.js';
export type { AuthMethods, SignUserInput, UserToken } from './auth-methods.js';
export type { AdminMethods, ExportEventsInput } from './admin-methods.js';

export {
  AlreadyExistsError,
  CancelledError,
  DataLossError,
  DeadlineExceededError,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  isRetryable,
  NotFoundError,
  PayloadTooLargeError,
  PermissionDeniedError,
  ProgressDBError,
  RateLimitedError,
  ResourceExhaustedError,
  RevisionConflictError,
  SubscriberTooSlowError,
  UnauthenticatedError,
  UnavailableError,
  UnimplementedError,
  type ErrorReason,
} from './progressdb-error.js';

// gRPC status codes and call metadata, from nice-grpc.
export { Metadata, Status, type MetadataInit } from 'nice-grpc';

// The data model, generated from the proto; message bodies typed as JSON values.
export type {
  BackupChunk,
  ColumnFamilyStats,
  EncryptProgress,
  Event,
  ExportBatch,
  ExportedEvent,
  GroupCommitStats,
  MembersAdded,
  MembersRemoved,
  Message,
  MessageCreated,
  MessageDeleted,
  MessageEdited,
  PurgeResult,
  ReactionAdded,
  ReactionRemoved,
  ReactionSummary,
  RetentionResult,
  RewrapProgress,
  Stats,
  SubscriberStats,
  Thread,
  ThreadCreated,
  ThreadDeleted,
  ThreadUpdated,
  WithJsonBodies,
} from './model-types.js';
export { EventType } from './gen/progressdb/v1/tail_service.js';

// For building your own nice-grpc (or nice-grpc-web) clients: the generated service definitions.
export { AdminServiceDefinition } from './gen/progressdb/v1/admin_service.js';
export { AuthServiceDefinition } from './gen/progressdb/v1/auth_service.js';
export { MessageServiceDefinition } from './gen/progressdb/v1/message_service.js';
export { TailServiceDefinition } from './gen/progressdb/v1/tail_service.js';
export { ThreadServiceDefinition } from './gen/progressdb/v1/thread_service.js';
