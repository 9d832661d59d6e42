import type * as admin from './gen/progressdb/v1/admin_service.js';
import type * as gen from './gen/progressdb/v1/types.js';
import type { JsonValue } from './request-values.js';

/**
 * `T` with every `google.protobuf.Value` field (a message body, typed `any` by the generator) as a
 * {@link JsonValue}, so that reading a body is type-checked.
 */
export type WithJsonBodies<T> = 0 extends 1 & T
  ? JsonValue | undefined
  : T extends Date | bigint | string | number | boolean | null | undefined
    ? T
    : T extends readonly (infer U)[]
      ? WithJsonBodies<U>[]
      : { [K in keyof T]: WithJsonBodies<T[K]> };

/** A conversation: an append-only log of events with a folded view of its state. */
export type Thread = WithJsonBodies<gen.Thread>;
/** One message of a thread, in its latest (or a given) version; `body` is any JSON value. */
export type Message = WithJsonBodies<gen.Message>;
/** The count of one reaction on a message; `me` when the calling user is one of them. */
export type ReactionSummary = gen.ReactionSummary;
/** One entry of a thread's log: `revision` in its thread, `position` globally, and a `payload`. */
export type Event = WithJsonBodies<gen.Event>;
/** The payload of the event that created a thread. */
export type ThreadCreated = gen.ThreadCreated;
/** The payload of an update of a thread's title or metadata. */
export type ThreadUpdated = gen.ThreadUpdated;
/** The payload of a thread's soft deletion. */
export type ThreadDeleted = gen.ThreadDeleted;
/** The payload of users joining a thread. */
export type MembersAdded = gen.MembersAdded;
/** The payload of users leaving a thread. */
export type MembersRemoved = gen.MembersRemoved;
/** The payload of an appended message. */
export type MessageCreated = WithJsonBodies<gen.MessageCreated>;
/** The payload of an edit. */
export type MessageEdited = WithJsonBodies<gen.MessageEdited>;
/** The payload of a deletion. */
export type MessageDeleted = WithJsonBodies<gen.MessageDeleted>;
/** The payload of a reaction. */
export type ReactionAdded = gen.ReactionAdded;
/** The payload of a removed reaction. */
export type ReactionRemoved = gen.ReactionRemoved;

/** `admin.getStats`: counts, storage per column family, live subscribers, uptime. */
export type Stats = admin.GetStatsResponse;
/** Storage figures of one column family. */
export type ColumnFamilyStats = admin.ColumnFamilyStats;
/** The number of live tail subscribers of one kind. */
export type SubscriberStats = admin.SubscriberStats;
/** The figures of one group commit. */
export type GroupCommitStats = admin.GroupCommitStats;
/** `admin.purgeThread`: the purged thread and how many events were removed. */
export type PurgeResult = admin.PurgeThreadResponse;
/** `admin.runRetention`: what the retention policies removed (or would remove). */
export type RetentionResult = admin.RunRetentionResponse;
/** Progress of `admin.rewrapKeys`. */
export type RewrapProgress = admin.RewrapKeysResponse;
/** Progress of `admin.encryptExisting`. */
export type EncryptProgress = admin.EncryptExistingResponse;
/** One chunk of `admin.backup`: the next bytes of the backup file, with progress. */
export type BackupChunk = admin.BackupResponse;
/** One event of `admin.exportEvents`; `payload` is a JSON object (sealed content as base64). */
export type ExportedEvent = admin.ExportedEvent;
/** One batch of `admin.exportEvents`, with the position the export runs up to. */
export type ExportBatch = admin.ExportEventsResponse;
