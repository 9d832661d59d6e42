import { randomUUID } from 'node:crypto';
import { Family, keys, type WriteTransaction } from '../storage/index.js';
import type { DataKey } from '../crypto/index.js';
import { access, type Actor } from './access-rules.js';
import {
  openMessage,
  openThread,
  openTitle,
  openView,
  sealMessage,
  sealTitle,
} from './message-sealing.js';
import {
  invalidField,
  messageDeleted,
  messageNotFound,
  ProgressDbError,
  Reason,
  revisionConflict,
  threadDeleted,
  threadNotFound,
} from './errors.js';
import {
  finishThread,
  findSeq,
  openThreadState,
  projectEvent,
  readView,
  type ThreadState,
} from './projector.js';
import {
  embedding,
  records,
  type EventRecord,
  type MessageRecord,
  type MessageViewRecord,
  type ThreadRecord,
} from './record-codec.js';

/**
 * What the writer publishes after each commit: the event, the thread's internal number, and the
 * thread's members after the event (for routing to user tails; never changed afterwards).
 */
export interface CommittedEvent {
  thread: bigint;
  event: EventRecord;
  members: readonly string[];
}

/** The writer's transaction as the log uses it. */
export type LogTransaction = WriteTransaction<CommittedEvent>;

export type { Actor } from './access-rules.js';

/** A condition on a thread's head revision. */
export type ExpectedRevision =
  { kind: 'any' } | { kind: 'no_thread' } | { kind: 'exact'; revision: bigint };

/** A message to append, validated. `body` is UTF-8 JSON. */
export interface NewMessage {
  messageId: string;
  authorId: string;
  role: string;
  body: Buffer;
  metadata: Record<string, string>;
  replyToId: string;
}

/** The result of an append. */
export interface AppendResult {
  messages: MessageViewRecord[];
  revision: bigint;
}

type EventPayload = NonNullable<EventRecord['payload']>;

/**
 * Gives a write job the data key of thread `number` (storing a fresh one in the same batch when the
 * thread gets its key now), or undefined when content is stored in the clear.
 */
export type JobKey = ((tx: LogTransaction, number: bigint) => DataKey | undefined) & {
  /** Seal thread titles too (encrypt_titles). */
  readonly sealTitles: boolean;
};

/** Resolves a thread id to its number and record, through the transaction's view. */
export function findThread(
  tx: Pick<LogTransaction, 'get'>,
  threadId: string,
): { number: bigint; record: ThreadRecord } | undefined {
  const numberBytes = tx.get(Family.indexes, keys.threadIdIndexKey(threadId));
  if (!numberBytes) return undefined;
  const number = keys.readU64(numberBytes);
  const recordBytes = tx.get(Family.threads, keys.threadKey(number));
  if (!recordBytes) return undefined;
  return { number, record: records.thread.decode(recordBytes) };
}

/**
 * Appends one event: stored (its message sealed under `key`), folded into the projections, and
 * published in the clear to the tails once the group is durable.
 */
function appendEvent(
  tx: LogTransaction,
  state: ThreadState,
  threadId: string,
  actor: Actor,
  requestId: string,
  payload: EventPayload,
  key?: DataKey,
  titleKey?: DataKey,
): EventRecord {
  const event: EventRecord = {
    threadId,
    revision: state.record.revision + 1n,
    position: tx.nextPosition(),
    timeMs: BigInt(Date.now()),
    actorId: actor.userId,
    requestId,
    payload,
  };
  let stored = event;
  let encodedMessage: Buffer | undefined;
  let encodedEvent: Buffer;
  if (
    payload.$case === 'messageCreated' ||
    payload.$case === 'messageEdited' ||
    payload.$case === 'messageDeleted'
  ) {
    const sealed = sealMessage(threadId, payload.value, key);
    stored = { ...event, payload: { $case: payload.$case, value: sealed } };
    encodedMessage = records.message.encode(sealed);
    encodedEvent = embedding.event(stored, encodedMessage);
  } else if (titleKey && (payload.$case === 'threadCreated' || payload.$case === 'threadUpdated')) {
    const title = sealTitle(threadId, payload.value.title, titleKey);
    stored = {
      ...event,
      payload: { ...payload, value: { ...payload.value, title } } as EventPayload,
    };
    encodedEvent = records.event.encode(stored);
  } else {
    encodedEvent = records.event.encode(event);
  }
  tx.put(Family.events, keys.eventKey(state.number, event.revision), encodedEvent);
  projectEvent(state, stored, tx, encodedMessage);
  tx.publish({ thread: state.number, event, members: state.record.memberIds });
  return event;
}

function checkExpected(expected: ExpectedRevision, record: ThreadRecord | undefined): void {
  if (expected.kind === 'no_thread' && record) {
    throw revisionConflict('no_thread', String(record.revision));
  }
  if (expected.kind === 'exact' && (!record || record.revision !== expected.revision)) {
    throw revisionConflict(
      String(expected.revision),
      record ? String(record.revision) : 'no_thread',
    );
  }
}

function requestResult(
  tx: LogTransaction,
  thread: bigint,
  requestId: string,
): { first: bigint; last: bigint } | undefined {
  if (!requestId) return undefined;
  const bytes = tx.get(Family.indexes, keys.requestIdIndexKey(thread, requestId));
  if (!bytes) return undefined;
  const request = records.request.decode(bytes);
  return { first: request.firstRevision, last: request.lastRevision };
}

function readEvent(tx: LogTransaction, thread: bigint, revision: bigint): EventRecord {
  const bytes = tx.get(Family.events, keys.eventKey(thread, revision));
  if (!bytes) throw new Error(`event ${revision} of thread ${thread} is missing`);
  return records.event.decode(bytes);
}

function writableThread(tx: LogTransaction, threadId: string, actor: Actor): ThreadState {
  const found = findThread(tx, threadId);
  if (!found) throw threadNotFound(threadId);
  access.member(actor, found.record);
  if (found.record.deleted) throw threadDeleted(threadId);
  return openThreadState(found.number, found.record);
}

function createThreadState(
  tx: LogTransaction,
  threadId: string,
  actor: Actor,
  requestId: string,
  input: { title: string; metadata: Record<string, string>; memberIds: readonly string[] },
  jobKey: JobKey,
): { state: ThreadState; key: DataKey | undefined } {
  const state = openThreadState(tx.nextThreadNumber(), undefined);
  const key = jobKey(tx, state.number);
  const members = actor.userId ? [actor.userId] : [];
  for (const user of input.memberIds) if (!members.includes(user)) members.push(user);
  appendEvent(
    tx,
    state,
    threadId,
    actor,
    requestId,
    {
      $case: 'threadCreated',
      value: {
        title: input.title,
        metadata: input.metadata,
        ownerId: actor.userId,
        memberIds: members,
      },
    },
    undefined,
    jobKey.sealTitles ? key : undefined,
  );
  return { state, key };
}

/** CreateThread: a new thread owned by the actor, or the same one again for a retried request id. */
export function createThread(
  tx: LogTransaction,
  actor: Actor,
  input: {
    threadId: string;
    title: string;
    metadata: Record<string, string>;
    memberIds: readonly string[];
    requestId: string;
  },
  jobKey: JobKey,
): ThreadRecord {
  const existing = findThread(tx, input.threadId);
  if (existing) {
    access.member(actor, existing.record);
    const original = requestResult(tx, existing.number, input.requestId);
    if (original?.first === 1n) return openThread(existing.record, jobKey(tx, existing.number));
    throw new ProgressDbError(Reason.threadExists, `thread ${input.threadId} already exists`, {
      thread_id: input.threadId,
    });
  }
  const { state, key } = createThreadState(
    tx,
    input.threadId,
    actor,
    input.requestId,
    input,
    jobKey,
  );
  finishThread(state, tx);
  return openThread(state.record, key);
}

function sameMessage(stored: MessageRecord, input: NewMessage): boolean {
  const a = Object.entries(stored.metadata);
  const b = Object.entries(input.metadata);
  return (
    stored.authorId === input.authorId &&
    stored.role === input.role &&
    stored.replyToId === input.replyToId &&
    stored.body.equals(input.body) &&
    a.length === b.length &&
    a.every(([key, value]) => input.metadata[key] === value)
  );
}

function originalMessage(
  tx: LogTransaction,
  thread: ThreadState | { number: bigint; record: ThreadRecord },
  seq: bigint,
  key: DataKey | undefined,
): MessageRecord {
  const bytes = tx.get(Family.versions, keys.versionKey(thread.number, seq, 1));
  if (bytes) return openMessage(thread.record.id, records.message.decode(bytes), key);
  // Retention's version cap pruned version 1: its creation event remains, without content.
  const created = readEvent(tx, thread.number, seq).payload;
  if (created?.$case !== 'messageCreated')
    throw new Error(`version 1 of message ${seq} is missing`);
  return created.value;
}

function createdView(message: MessageRecord): MessageViewRecord {
  return { message, reactions: [], replyCount: 0 };
}

/**
 * AppendMessage(s): appends at consecutive revisions, all or nothing. A retried request id returns
 * the original messages; a message id already present returns the original message when the
 * content is the same, and is MESSAGE_EXISTS otherwise.
 */
export function appendMessages(
  tx: LogTransaction,
  actor: Actor,
  input: {
    threadId: string;
    messages: readonly NewMessage[];
    expected: ExpectedRevision;
    createThread: boolean;
    requestId: string;
    /** AppendMessages names fields `messages[i].…`; AppendMessage names them bare. */
    batch: boolean;
  },
  jobKey: JobKey,
): AppendResult {
  const field = (index: number, name: string): string =>
    input.batch ? `messages[${index}].${name}` : name;
  const found = findThread(tx, input.threadId);
  let key: DataKey | undefined;
  if (found) {
    access.member(actor, found.record);
    key = jobKey(tx, found.number);
    const original = requestResult(tx, found.number, input.requestId);
    if (original) {
      const messages: MessageViewRecord[] = [];
      for (let revision = original.first; revision <= original.last; revision++) {
        const payload = readEvent(tx, found.number, revision).payload;
        if (payload?.$case === 'messageCreated') {
          messages.push(createdView(openMessage(input.threadId, payload.value, key)));
        }
      }
      return { messages, revision: original.last };
    }
    const known = input.messages.map((message, index) => {
      if (!message.messageId) return undefined;
      const seq = findSeq(tx, found.number, message.messageId);
      if (seq === undefined) return undefined;
      const stored = originalMessage(tx, found, seq, key);
      if (!sameMessage(stored, message)) {
        throw new ProgressDbError(
          Reason.messageExists,
          `message ${message.messageId} already exists with other content`,
          { message_id: message.messageId, field: field(index, 'message_id') },
        );
      }
      return stored;
    });
    if (known.every((message) => message !== undefined)) {
      return { messages: known.map(createdView), revision: found.record.revision };
    }
  }
  checkExpected(input.expected, found?.record);
  let state: ThreadState;
  if (found) {
    if (found.record.deleted) throw threadDeleted(input.threadId);
    state = openThreadState(found.number, found.record);
  } else {
    if (!input.createThread) throw threadNotFound(input.threadId);
    ({ state, key } = createThreadState(
      tx,
      input.threadId,
      actor,
      input.requestId,
      { title: '', metadata: {}, memberIds: [] },
      jobKey,
    ));
  }

  const results: MessageViewRecord[] = [];
  input.messages.forEach((message, index) => {
    if (message.messageId) {
      const seq = findSeq(tx, state.number, message.messageId);
      if (seq !== undefined) {
        results.push(createdView(originalMessage(tx, state, seq, key)));
        return;
      }
    }
    if (message.replyToId && findSeq(tx, state.number, message.replyToId) === undefined) {
      throw messageNotFound(message.replyToId, field(index, 'reply_to_id'));
    }
    const seq = state.record.revision + 1n;
    const now = BigInt(Date.now());
    const record: MessageRecord = {
      id: message.messageId || randomUUID(),
      seq,
      version: 1,
      authorId: message.authorId,
      role: message.role,
      body: message.body,
      metadata: message.metadata,
      replyToId: message.replyToId,
      deleted: false,
      pruned: false,
      createdAtMs: now,
      updatedAtMs: now,
    };
    appendEvent(
      tx,
      state,
      input.threadId,
      actor,
      input.requestId,
      { $case: 'messageCreated', value: record },
      key,
    );
    results.push(createdView(record));
  });
  finishThread(state, tx);
  return { messages: results, revision: state.record.revision };
}

function messageForChange(
  tx: LogTransaction,
  state: ThreadState,
  messageId: string,
): MessageViewRecord {
  const seq = findSeq(tx, state.number, messageId);
  const view = seq === undefined ? undefined : readView(tx, state.number, seq);
  if (!view?.message) throw messageNotFound(messageId);
  return view;
}

function repeatedRequest(
  tx: LogTransaction,
  state: ThreadState,
  requestId: string,
): EventRecord | undefined {
  const original = requestResult(tx, state.number, requestId);
  return original ? readEvent(tx, state.number, original.last) : undefined;
}

/** EditMessage and DeleteMessage: append a new version of the message. */
export function changeMessage(
  tx: LogTransaction,
  actor: Actor,
  input: {
    threadId: string;
    messageId: string;
    kind: 'edit' | 'delete';
    body?: Buffer;
    metadata?: Record<string, string>;
    expectedVersion?: number;
    requestId: string;
  },
  jobKey: JobKey,
): MessageViewRecord {
  const state = writableThread(tx, input.threadId, actor);
  const key = jobKey(tx, state.number);
  const repeated = repeatedRequest(tx, state, input.requestId);
  if (
    repeated?.payload?.$case === 'messageEdited' ||
    repeated?.payload?.$case === 'messageDeleted'
  ) {
    return openView(input.threadId, messageForChange(tx, state, repeated.payload.value.id), key);
  }
  const view = messageForChange(tx, state, input.messageId);
  const current = openMessage(input.threadId, view.message as MessageRecord, key);
  access.changeMessage(actor, state.record, current);
  if (current.deleted) throw messageDeleted(input.messageId);
  if (input.expectedVersion !== undefined && input.expectedVersion !== current.version) {
    throw revisionConflict(String(input.expectedVersion), String(current.version));
  }
  const next: MessageRecord = {
    ...current,
    version: current.version + 1,
    updatedAtMs: BigInt(Date.now()),
  };
  if (input.kind === 'delete') {
    next.deleted = true;
    next.body = Buffer.alloc(0);
  } else {
    if (input.body) next.body = input.body;
    if (input.metadata) next.metadata = input.metadata;
  }
  appendEvent(
    tx,
    state,
    input.threadId,
    actor,
    input.requestId,
    { $case: input.kind === 'delete' ? 'messageDeleted' : 'messageEdited', value: next },
    key,
  );
  finishThread(state, tx);
  return openView(input.threadId, messageForChange(tx, state, input.messageId), key);
}

/** AddReaction and RemoveReaction: one reaction per user, reaction and message; repeats are no-ops. */
export function react(
  tx: LogTransaction,
  actor: Actor,
  input: {
    threadId: string;
    messageId: string;
    reaction: string;
    add: boolean;
    requestId: string;
  },
): MessageViewRecord {
  if (!actor.userId) throw invalidField('x-user-id', 'a reaction needs a user');
  const state = writableThread(tx, input.threadId, actor);
  const view = messageForChange(tx, state, input.messageId);
  const message = view.message as MessageRecord;
  if (message.deleted) throw messageDeleted(input.messageId);
  const entry = view.reactions.find((r) => r.reaction === input.reaction);
  const present = entry?.userIds.includes(actor.userId) ?? false;
  if (present === input.add) return view;
  const count = (entry?.userIds.length ?? 0) + (input.add ? 1 : -1);
  const value = {
    messageId: message.id,
    seq: message.seq,
    reaction: input.reaction,
    userId: actor.userId,
    count,
  };
  appendEvent(
    tx,
    state,
    input.threadId,
    actor,
    input.requestId,
    input.add ? { $case: 'reactionAdded', value } : { $case: 'reactionRemoved', value },
  );
  finishThread(state, tx);
  return messageForChange(tx, state, input.messageId);
}

/** UpdateThread, DeleteThread, AddMembers, RemoveMembers: one event on the thread, if it changes. */
export function changeThread(
  tx: LogTransaction,
  actor: Actor,
  input: {
    threadId: string;
    expected: ExpectedRevision;
    requestId: string;
    change:
      | { kind: 'update'; title?: string; metadata?: Record<string, string> }
      | { kind: 'delete' }
      | { kind: 'addMembers'; userIds: readonly string[] }
      | { kind: 'removeMembers'; userIds: readonly string[] };
  },
  jobKey?: JobKey,
): ThreadRecord {
  const found = findThread(tx, input.threadId);
  if (!found) throw threadNotFound(input.threadId);
  const change = input.change;
  if (change.kind === 'removeMembers') access.removeMembers(actor, found.record, change.userIds);
  else access.owner(actor, found.record);
  if (requestResult(tx, found.number, input.requestId)) return found.record;
  checkExpected(input.expected, found.record);
  if (found.record.deleted) throw threadDeleted(input.threadId);
  const state = openThreadState(found.number, found.record);
  const record = state.record;
  let titleKey: DataKey | undefined;
  let payload: EventPayload | undefined;
  switch (change.kind) {
    case 'update': {
      const key = jobKey?.(tx, state.number);
      titleKey = jobKey?.sealTitles ? key : undefined;
      payload = {
        $case: 'threadUpdated',
        value: {
          title: change.title ?? openTitle(input.threadId, record.title, key),
          metadata: change.metadata ?? record.metadata,
        },
      };
      break;
    }
    case 'delete':
      payload = { $case: 'threadDeleted', value: {} };
      break;
    case 'addMembers': {
      const added = [...new Set(change.userIds)].filter((user) => !record.memberIds.includes(user));
      if (added.length > 0) payload = { $case: 'membersAdded', value: { userIds: added } };
      break;
    }
    case 'removeMembers': {
      const removed = [...new Set(change.userIds)].filter((user) =>
        record.memberIds.includes(user),
      );
      if (removed.length > 0) payload = { $case: 'membersRemoved', value: { userIds: removed } };
      break;
    }
  }
  if (!payload) return record;
  appendEvent(tx, state, input.threadId, actor, input.requestId, payload, undefined, titleKey);
  finishThread(state, tx);
  return state.record;
}
