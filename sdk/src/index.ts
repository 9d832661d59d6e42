/**
 * `@progressdb/client`: typed gRPC clients for ProgressDB, the database for chat threads.
 *
 * This is the minimal client: {@link createClients} gives one typed nice-grpc client per service
 * with the credentials on every call, and {@link errorReason} reads the reason of a failed call.
 * The service definitions and message types generated from the proto are re-exported here under
 * their proto names; the generated modules themselves are not a public import path.
 * Data flow: your code ⇒ typed clients ⇒ nice-grpc ⇒ grpc-js ⇒ ProgressDB.
 * @packageDocumentation
 */
export {
  createClients,
  type CreateClientsOptions,
  type ProgressDbClients,
} from './create-clients.js';
export { captureErrorTrailers, errorInfo, errorReason } from './error-details.js';

// gRPC status codes, call metadata, and the error class every failed call throws.
export { ClientError, Metadata, Status } from 'nice-grpc';

// The google.rpc error model: the Status in `grpc-status-details-bin` and its ErrorInfo.
export { ErrorInfo } from './gen/google/rpc/error_details.js';
export { Status as RpcStatus } from './gen/google/rpc/status.js';

// Shared types: threads, messages, the events of the log.
export {
  Direction,
  Event,
  ExpectedRevision,
  MembersAdded,
  MembersRemoved,
  Message,
  MessageCreated,
  MessageDeleted,
  MessageEdited,
  MetadataValue,
  Order,
  ReactionAdded,
  ReactionRemoved,
  ReactionSummary,
  Thread,
  ThreadCreated,
  ThreadDeleted,
  ThreadUpdated,
} from './gen/progressdb/v1/types.js';

export {
  AddMembersRequest,
  AddMembersResponse,
  CreateThreadRequest,
  CreateThreadResponse,
  DeleteThreadRequest,
  DeleteThreadResponse,
  GetThreadRequest,
  GetThreadResponse,
  ListThreadsRequest,
  ListThreadsResponse,
  RemoveMembersRequest,
  RemoveMembersResponse,
  ThreadServiceDefinition,
  UpdateThreadRequest,
  UpdateThreadResponse,
} from './gen/progressdb/v1/thread_service.js';

export {
  AddReactionRequest,
  AddReactionResponse,
  AppendMessageRequest,
  AppendMessageResponse,
  AppendMessagesRequest,
  AppendMessagesResponse,
  DeleteMessageRequest,
  DeleteMessageResponse,
  EditMessageRequest,
  EditMessageResponse,
  GetMessageRequest,
  GetMessageResponse,
  ListMessagesRequest,
  ListMessagesResponse,
  ListMessageVersionsRequest,
  ListMessageVersionsResponse,
  MessageServiceDefinition,
  NewMessage,
  ReadEventsRequest,
  ReadEventsResponse,
  RemoveReactionRequest,
  RemoveReactionResponse,
} from './gen/progressdb/v1/message_service.js';

export {
  CaughtUp,
  EventType,
  Heartbeat,
  TailAllRequest,
  TailAllResponse,
  TailServiceDefinition,
  TailThreadRequest,
  TailThreadResponse,
  TailUserRequest,
  TailUserResponse,
} from './gen/progressdb/v1/tail_service.js';

export {
  AuthServiceDefinition,
  SignUserRequest,
  SignUserResponse,
} from './gen/progressdb/v1/auth_service.js';

export {
  AdminServiceDefinition,
  ColumnFamilyStats,
  EncryptExistingRequest,
  EncryptExistingResponse,
  GetStatsRequest,
  GetStatsResponse,
  GroupCommitStats,
  PurgeThreadRequest,
  PurgeThreadResponse,
  RewrapKeysRequest,
  RewrapKeysResponse,
  RunRetentionRequest,
  RunRetentionResponse,
  SubscriberStats,
} from './gen/progressdb/v1/admin_service.js';
