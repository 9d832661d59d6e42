import {
  Counter,
  Family,
  keys,
  type CounterName,
  type FamilyName,
  type Row,
  type ScanOptions,
} from '../storage/index.js';
import {
  embedding,
  records,
  type EventRecord,
  type MessageRecord,
  type MessageViewRecord,
  type ThreadRecord,
} from './record-codec.js';

/** Where projections are read and written: a write transaction, or a rebuild's staging. */
export interface ProjectionTarget {
  get(family: FamilyName, key: Buffer): Buffer | undefined;
  scan(family: FamilyName, options: ScanOptions): Row[];
  put(family: FamilyName, key: Buffer, value: Buffer): void;
  del(family: FamilyName, key: Buffer): void;
}

/** A thread being folded: its number, its record, and what its activity index rows were before. */
export interface ThreadState {
  number: bigint;
  record: ThreadRecord;
  before: { memberIds: readonly string[]; position: bigint } | undefined;
}

/** Starts folding an existing thread (or, with `record` undefined, one about to be created). */
export function openThreadState(number: bigint, record: ThreadRecord | undefined): ThreadState {
  return {
    number,
    record: record ?? emptyThread(),
    before: record ? { memberIds: [...record.memberIds], position: record.position } : undefined,
  };
}

function emptyThread(): ThreadRecord {
  return {
    id: '',
    title: '',
    metadata: {},
    ownerId: '',
    memberIds: [],
    revision: 0n,
    position: 0n,
    messageCount: 0n,
    createdAtMs: 0n,
    updatedAtMs: 0n,
    deleted: false,
    lastMessage: undefined,
  };
}

/** Reads a message's latest view from `tails`. */
export function readView(
  target: Pick<ProjectionTarget, 'get'>,
  thread: bigint,
  seq: bigint,
): MessageViewRecord | undefined {
  const bytes = target.get(Family.tails, keys.tailKey(thread, seq));
  return bytes ? records.messageView.decode(bytes) : undefined;
}

/** Looks up a message's seq by id. */
export function findSeq(
  target: Pick<ProjectionTarget, 'get'>,
  thread: bigint,
  messageId: string,
): bigint | undefined {
  const bytes = target.get(Family.indexes, keys.messageIdIndexKey(thread, messageId));
  return bytes ? keys.readU64(bytes) : undefined;
}

/**
 * Folds one event into the projections (`versions`, `tails`, `indexes`) and into `state.record`.
 * The same function serves live writes and rebuilds, so that a rebuild reproduces the projections
 * exactly; it depends on nothing but the event and the projections already written.
 * `encodedMessage` is the event's message record already encoded, when the caller has it.
 */
export function projectEvent(
  state: ThreadState,
  event: EventRecord,
  target: ProjectionTarget,
  encodedMessage?: Buffer,
): void {
  const thread = state.number;
  const record = state.record;
  target.put(
    Family.indexes,
    keys.positionIndexKey(event.position),
    keys.threadRevisionValue(thread, event.revision),
  );
  if (event.requestId) {
    const key = keys.requestIdIndexKey(thread, event.requestId);
    const existing = target.get(Family.indexes, key);
    const first = existing ? records.request.decode(existing).firstRevision : event.revision;
    target.put(
      Family.indexes,
      key,
      records.request.encode({ firstRevision: first, lastRevision: event.revision }),
    );
  }
  record.revision = event.revision;
  record.position = event.position;
  record.updatedAtMs = event.timeMs;
  bumpCounter(target, Counter.events, 1n);

  const payload = event.payload;
  switch (payload?.$case) {
    case 'threadCreated': {
      bumpCounter(target, Counter.threads, 1n);
      const created = payload.value;
      record.id = event.threadId;
      record.title = created.title;
      record.metadata = { ...created.metadata };
      record.ownerId = created.ownerId;
      record.memberIds = [...created.memberIds];
      record.createdAtMs = event.timeMs;
      target.put(Family.indexes, keys.threadIdIndexKey(event.threadId), keys.threadKey(thread));
      break;
    }
    case 'threadUpdated':
      record.title = payload.value.title;
      record.metadata = { ...payload.value.metadata };
      break;
    case 'threadDeleted':
      record.deleted = true;
      bumpCounter(target, Counter.deletedThreads, 1n);
      break;
    case 'membersAdded': {
      // Member lists are replaced, never changed in place: published events keep theirs.
      const added = payload.value.userIds.filter((user) => !record.memberIds.includes(user));
      record.memberIds = [...record.memberIds, ...added];
      break;
    }
    case 'membersRemoved': {
      const removed = new Set(payload.value.userIds);
      record.memberIds = record.memberIds.filter((user) => !removed.has(user));
      break;
    }
    case 'messageCreated': {
      bumpCounter(target, Counter.messages, 1n);
      const message = payload.value;
      const encoded = encodedMessage ?? records.message.encode(message);
      if (!message.pruned) {
        target.put(Family.versions, keys.versionKey(thread, message.seq, message.version), encoded);
      }
      target.put(Family.tails, keys.tailKey(thread, message.seq), embedding.newView(encoded));
      target.put(Family.indexes, keys.messageIdIndexKey(thread, message.id), keys.u64(message.seq));
      record.messageCount += 1n;
      record.lastMessage = message;
      if (message.replyToId) adjustReplyCount(target, thread, message.replyToId, +1);
      break;
    }
    case 'messageEdited':
    case 'messageDeleted': {
      const message = payload.value;
      if (!message.pruned) {
        target.put(
          Family.versions,
          keys.versionKey(thread, message.seq, message.version),
          encodedMessage ?? records.message.encode(message),
        );
      }
      const view = readView(target, thread, message.seq);
      if (!view) throw new Error(`event ${event.revision} changes a message missing from tails`);
      view.message = message;
      target.put(Family.tails, keys.tailKey(thread, message.seq), records.messageView.encode(view));
      if (payload.$case === 'messageDeleted') {
        bumpCounter(target, Counter.deletedMessages, 1n);
        record.messageCount -= 1n;
        if (message.replyToId) adjustReplyCount(target, thread, message.replyToId, -1);
        if (record.lastMessage?.seq === message.seq) {
          record.lastMessage = newestLiveMessage(target, thread, message.seq);
        }
      } else if (record.lastMessage?.seq === message.seq) {
        record.lastMessage = message;
      }
      break;
    }
    case 'reactionAdded':
    case 'reactionRemoved': {
      const { seq, reaction, userId } = payload.value;
      const view = readView(target, thread, seq);
      if (!view) throw new Error(`event ${event.revision} reacts to a message missing from tails`);
      const entry = view.reactions.find((r) => r.reaction === reaction);
      if (payload.$case === 'reactionAdded') {
        if (!entry) view.reactions.push({ reaction, userIds: [userId] });
        else if (!entry.userIds.includes(userId)) entry.userIds.push(userId);
      } else if (entry) {
        entry.userIds = entry.userIds.filter((user) => user !== userId);
        if (entry.userIds.length === 0) view.reactions = view.reactions.filter((r) => r !== entry);
      }
      target.put(Family.tails, keys.tailKey(thread, seq), records.messageView.encode(view));
      break;
    }
    case 'messagesPurged':
      // The audit record of a retention purge: its removals happened beside it, in the same batch.
      break;
    case undefined:
      throw new Error(`event ${event.revision} of ${event.threadId} has no payload`);
  }
}

/**
 * Writes the folded thread record and moves its rows in the user → threads activity index: each
 * member's row is keyed by the thread's latest position, so listing a user's threads newest first is
 * one reverse range scan.
 */
export function finishThread(state: ThreadState, target: ProjectionTarget): void {
  const { number, record, before } = state;
  target.put(Family.threads, keys.threadKey(number), records.thread.encode(record));
  const moved = before === undefined || before.position !== record.position;
  const now = new Set(record.memberIds);
  if (before) {
    for (const user of before.memberIds) {
      if (moved || !now.has(user)) {
        target.del(Family.indexes, keys.userThreadIndexKey(user, before.position, number));
      }
    }
  }
  const was = new Set(before?.memberIds);
  for (const user of record.memberIds) {
    if (moved || !was.has(user)) {
      target.put(
        Family.indexes,
        keys.userThreadIndexKey(user, record.position, number),
        Buffer.alloc(0),
      );
    }
  }
  state.before = { memberIds: [...record.memberIds], position: record.position };
}

/**
 * Adds `delta` to an exact total (threads, messages, events …), in the same batch as the event
 * that changes it, so the totals survive restarts without a recount and a rebuild reproduces them.
 */
export function bumpCounter(
  target: Pick<ProjectionTarget, 'get' | 'put' | 'del'>,
  name: CounterName,
  delta: bigint,
): void {
  if (delta === 0n) return;
  const key = keys.counterKey(name);
  const current = target.get(Family.indexes, key);
  const next = (current ? keys.readU64(current) : 0n) + delta;
  // A total back at zero has no row, as in a rebuild that never counted it.
  if (next === 0n) target.del(Family.indexes, key);
  else target.put(Family.indexes, key, keys.u64(next));
}

/** Reads an exact total. */
export function readCounter(target: Pick<ProjectionTarget, 'get'>, name: CounterName): bigint {
  const current = target.get(Family.indexes, keys.counterKey(name));
  return current ? keys.readU64(current) : 0n;
}

/** Adds `delta` to the reply count of message `parentId`, if it is still there. */
export function adjustReplyCount(
  target: ProjectionTarget,
  thread: bigint,
  parentId: string,
  delta: number,
): void {
  const seq = findSeq(target, thread, parentId);
  if (seq === undefined) return;
  const view = readView(target, thread, seq);
  if (!view) return;
  view.replyCount = Math.max(0, view.replyCount + delta);
  target.put(Family.tails, keys.tailKey(thread, seq), records.messageView.encode(view));
}

/** The newest message below `beforeSeq` that is not deleted: a thread's last message. */
export function newestLiveMessage(
  target: ProjectionTarget,
  thread: bigint,
  beforeSeq: bigint,
): MessageRecord | undefined {
  let upper = beforeSeq;
  for (;;) {
    const rows = target.scan(Family.tails, {
      ...keys.threadRange(thread, 0n, upper),
      reverse: true,
      limit: 32,
    });
    for (const row of rows) {
      const view = records.messageView.decode(row.value);
      if (view.message && !view.message.deleted) return view.message;
    }
    const last = rows[rows.length - 1];
    if (rows.length < 32 || !last) return undefined;
    upper = keys.decodeThreadRevisionKey(last.key).revision;
  }
}
