export { ThreadLog, type CommitListener, type ThreadLogOptions } from './thread-log.js';
export { ThreadKeys, type KeyHold } from './thread-keys.js';
export { ThreadAdmin, type PurgeReason, type RewrapProgress } from './thread-admin.js';
export {
  isMessageTtlOverride,
  MESSAGE_TTL_METADATA_KEY,
  Retention,
  type RetentionPolicies,
  type RetentionReport,
} from './retention.js';
export { RetentionScheduler, type RetentionRunListener } from './retention-scheduler.js';
export { isSealedMessage } from './message-sealing.js';
export { readCounter } from './projector.js';
export { records } from './record-codec.js';
export { ReusableWriter } from './reusable-writer.js';
export {
  ThreadReader,
  type EventsPage,
  type MessagePage,
  type PageAnchor,
  type ThreadPage,
} from './thread-reader.js';
export type {
  Actor,
  AppendResult,
  CommittedEvent,
  ExpectedRevision,
  NewMessage,
} from './commands.js';
export { rebuildProjections } from './rebuild.js';
export { access, notAMember, roleForbidden } from './access-rules.js';
export {
  ProgressDbError,
  Reason,
  invalidField,
  payloadTooLarge,
  type ReasonCode,
} from './errors.js';
export type {
  EventRecord,
  MessageRecord,
  MessageViewRecord,
  ReactionUsersRecord,
  ThreadRecord,
} from './record-codec.js';
