import { Value } from '../gen/google/protobuf/struct.js';
import type { EventRecord, MessageRecord } from '../gen/progressdb/storage/v1/records.js';
import { isSealedMessage, ProgressDbError, Reason, records, type ThreadLog } from '../log/index.js';
import { Family, keys, type RocksStore } from '../storage/index.js';

/** Events per exported batch. */
const EXPORT_BATCH = 512;

/** A JSON value of an exported payload. */
export type ExportJson =
  string | number | boolean | null | ExportJson[] | { [key: string]: ExportJson };

/** One event as exported for analytics (docs/backup.md lists the payload fields per kind). */
export interface ExportedEventRow {
  threadId: string;
  revision: bigint;
  position: bigint;
  /** The payload's kind in snake case, such as `message_created`. */
  kind: string;
  timeMs: bigint;
  actorId: string;
  requestId: string;
  payload: { [key: string]: ExportJson };
  /** The payload still holds sealed content (`body_sealed`, `title_sealed`). */
  sealed: boolean;
}

/** What to export. */
export interface ExportFilter {
  /** Only this thread. */
  threadId?: string | undefined;
  /** Only events with a greater position. */
  afterPosition: bigint;
  /** Open sealed content; without it, sealed content is exported as stored. */
  decrypt: boolean;
  /** The last position exported (the head when the export started). */
  headPosition: bigint;
}

const SEALED_TITLE = '\u0000';

const snake = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function bodyJson(bytes: Uint8Array): ExportJson {
  return Value.unwrap(Value.decode(bytes)) as ExportJson;
}

function titleFields(title: string): { [key: string]: ExportJson } {
  return title.startsWith(SEALED_TITLE) ? { title_sealed: title.slice(1) } : { title };
}

function messageFields(message: MessageRecord): {
  fields: { [key: string]: ExportJson };
  sealed: boolean;
} {
  const sealed = isSealedMessage(message);
  const fields: { [key: string]: ExportJson } = {
    message_id: message.id,
    seq: String(message.seq),
    version: message.version,
    author_id: message.authorId,
    role: message.role,
    metadata: { ...message.metadata },
    reply_to_id: message.replyToId,
    deleted: message.deleted,
    created_at: new Date(Number(message.createdAtMs)).toISOString(),
    updated_at: new Date(Number(message.updatedAtMs)).toISOString(),
  };
  if (sealed) fields.body_sealed = Buffer.from(message.body).toString('base64');
  else if (message.body.length > 0) fields.body = bodyJson(message.body);
  return { fields, sealed };
}

/** Maps an event (opened or as stored) to its exported form. */
export function exportedRow(event: EventRecord): ExportedEventRow {
  const payload = event.payload;
  let fields: { [key: string]: ExportJson } = {};
  let sealed = false;
  switch (payload?.$case) {
    case 'threadCreated':
      fields = {
        ...titleFields(payload.value.title),
        metadata: { ...payload.value.metadata },
        owner_id: payload.value.ownerId,
        member_ids: [...payload.value.memberIds],
      };
      sealed = 'title_sealed' in fields;
      break;
    case 'threadUpdated':
      fields = { ...titleFields(payload.value.title), metadata: { ...payload.value.metadata } };
      sealed = 'title_sealed' in fields;
      break;
    case 'threadDeleted':
      break;
    case 'membersAdded':
    case 'membersRemoved':
      fields = { user_ids: [...payload.value.userIds] };
      break;
    case 'messageCreated':
    case 'messageEdited':
    case 'messageDeleted':
      ({ fields, sealed } = messageFields(payload.value));
      break;
    case 'reactionAdded':
    case 'reactionRemoved':
      fields = {
        message_id: payload.value.messageId,
        seq: String(payload.value.seq),
        reaction: payload.value.reaction,
        user_id: payload.value.userId,
        count: payload.value.count,
      };
      break;
    case 'messagesPurged':
      fields = {
        policy: payload.value.policy,
        message_ids: [...payload.value.messageIds],
        versions_removed: payload.value.versionsRemoved,
      };
      break;
    case undefined:
      break;
  }
  return {
    threadId: event.threadId,
    revision: event.revision,
    position: event.position,
    kind: payload ? snake(payload.$case) : 'unknown',
    timeMs: event.timeMs,
    actorId: event.actorId,
    requestId: event.requestId,
    payload: fields,
    sealed,
  };
}

/**
 * Reads events for an export in position order, in batches, up to `filter.headPosition`: every
 * thread through the position index, or one thread through its log. Sealed content is opened only
 * with `filter.decrypt`. Data flow: ThreadLog reader → RocksStore → rows.
 * @throws THREAD_NOT_FOUND for an unknown thread filter; DECRYPT_FAILED, KMS_UNAVAILABLE
 */
export async function* exportEvents(
  log: ThreadLog,
  filter: ExportFilter,
): AsyncGenerator<ExportedEventRow[]> {
  const store = log.reader.store;
  let after = filter.afterPosition;
  if (filter.threadId === undefined) {
    while (after < filter.headPosition) {
      const page = await log.reader.eventsAfterPosition(after, EXPORT_BATCH, {
        open: filter.decrypt,
      });
      const rows = page.events
        .filter(({ event }) => event.position <= filter.headPosition)
        .map(({ event }) => exportedRow(event));
      if (rows.length > 0) yield rows;
      if (!page.more) return;
      after = page.scannedTo;
    }
    return;
  }
  const threadId = filter.threadId;
  const number = log.reader.threadNumber(threadId);
  if (number === undefined) {
    throw new ProgressDbError(Reason.threadNotFound, `thread ${threadId} not found`, {
      thread_id: threadId,
    });
  }
  let afterRevision = firstRevisionAfter(store, number, after) - 1n;
  for (;;) {
    // One read per page: opened by the reader with decrypt, as stored without.
    const page = filter.decrypt
      ? await log.reader.eventsAfter(number, threadId, afterRevision, EXPORT_BATCH)
      : store
          .scan(Family.events, {
            ...keys.threadRange(number, afterRevision + 1n),
            limit: EXPORT_BATCH,
          })
          .map((row) => records.event.decode(row.value));
    const last = page[page.length - 1];
    const events = page.filter((e) => e.position > after && e.position <= filter.headPosition);
    if (events.length > 0) yield events.map(exportedRow);
    if (!last || page.length < EXPORT_BATCH || last.position >= filter.headPosition) return;
    afterRevision = last.revision;
  }
}

/**
 * The first revision of thread `number` whose position is above `after` (positions grow with
 * revisions): a binary search over the log, so resuming a long thread reads a few events, not all.
 */
function firstRevisionAfter(store: RocksStore, number: bigint, after: bigint): bigint {
  if (after === 0n) return 1n;
  const range = keys.threadRange(number);
  const newest = store.scan(Family.events, { ...range, reverse: true, limit: 1 })[0];
  if (!newest) return 1n;
  let low = 1n;
  let high = keys.decodeThreadRevisionKey(newest.key).revision + 1n;
  while (low < high) {
    const middle = (low + high) / 2n;
    const row = store.scan(Family.events, {
      gte: keys.eventKey(number, middle),
      lt: range.lt,
      limit: 1,
    })[0];
    if (!row) {
      high = middle;
      continue;
    }
    const revision = keys.decodeThreadRevisionKey(row.key).revision;
    if (records.event.decode(row.value).position <= after) low = revision + 1n;
    else high = middle;
  }
  return low;
}
