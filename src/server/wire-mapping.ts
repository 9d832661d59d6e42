import type { Event, Message } from '../gen/progressdb/v1/types.js';
import type { EventRecord, MessageRecord, MessageViewRecord, ThreadRecord } from '../log/index.js';
import { encodeMessage, type EventOut, type MessageOut, type ThreadOut } from './wire-encoding.js';

function date(ms: bigint): Date {
  return new Date(Number(ms));
}

/** A stored message version for the wire (no reactions, no reply count). */
export function toWireMessageVersion(threadId: string, message: MessageRecord): MessageOut {
  const wire: Message = {
    id: message.id,
    threadId,
    seq: message.seq,
    version: message.version,
    authorId: message.authorId,
    role: message.role,
    body: undefined,
    metadata: message.metadata,
    replyToId: message.replyToId,
    replyCount: 0,
    reactions: [],
    deleted: message.deleted,
    createdAt: date(message.createdAtMs),
    updatedAt: date(message.updatedAtMs),
  };
  return { message: wire, body: message.body };
}

/** A message's latest view for the wire; `me` is relative to `viewerId`. */
export function toWireMessage(
  threadId: string,
  view: MessageViewRecord,
  viewerId: string,
): MessageOut {
  const out = toWireMessageVersion(threadId, view.message as MessageRecord);
  out.message.replyCount = view.replyCount;
  out.message.reactions = view.reactions.map((reaction) => ({
    reaction: reaction.reaction,
    count: reaction.userIds.length,
    me: viewerId !== '' && reaction.userIds.includes(viewerId),
  }));
  return out;
}

/**
 * Wire encodings of views without reactions, the same for every viewer, by view identity: the
 * reader hands back the same (immutable) view object while the stored row is unchanged, so a hot
 * page is encoded once. Entries go with their views.
 */
const encodedViews = new WeakMap<MessageViewRecord, Buffer>();

/** A message's latest view for the wire, encoded once per view when no `me` depends on the viewer. */
export function toWireMessageBytes(
  threadId: string,
  view: MessageViewRecord,
  viewerId: string,
): MessageOut | Buffer {
  if (view.reactions.length > 0) return toWireMessage(threadId, view, viewerId);
  let bytes = encodedViews.get(view);
  if (!bytes) {
    bytes = encodeMessage(toWireMessage(threadId, view, viewerId));
    encodedViews.set(view, bytes);
  }
  return bytes;
}

/** A thread record for the wire. */
export function toWireThread(record: ThreadRecord): ThreadOut {
  return {
    thread: {
      id: record.id,
      title: record.title,
      metadata: record.metadata,
      ownerId: record.ownerId,
      memberIds: record.memberIds,
      revision: record.revision,
      messageCount: record.messageCount,
      createdAt: date(record.createdAtMs),
      updatedAt: date(record.updatedAtMs),
      deleted: record.deleted,
      lastMessage: undefined,
    },
    lastMessage: record.lastMessage
      ? toWireMessageVersion(record.id, record.lastMessage)
      : undefined,
  };
}

const MESSAGE_FIELDS = { messageCreated: 15, messageEdited: 16, messageDeleted: 17 } as const;

/** A stored event for the wire. */
export function toWireEvent(event: EventRecord): EventOut {
  const wire: Event = {
    threadId: event.threadId,
    revision: event.revision,
    position: event.position,
    time: date(event.timeMs),
    actorId: event.actorId,
    requestId: event.requestId,
    payload: undefined,
  };
  const payload = event.payload;
  switch (payload?.$case) {
    case 'messageCreated':
    case 'messageEdited':
    case 'messageDeleted':
      return {
        event: wire,
        message: {
          field: MESSAGE_FIELDS[payload.$case],
          out: toWireMessageVersion(event.threadId, payload.value),
        },
      };
    case 'threadCreated':
      wire.payload = { $case: 'threadCreated', value: payload.value };
      break;
    case 'threadUpdated':
      wire.payload = { $case: 'threadUpdated', value: payload.value };
      break;
    case 'threadDeleted':
      wire.payload = { $case: 'threadDeleted', value: {} };
      break;
    case 'membersAdded':
      wire.payload = { $case: 'membersAdded', value: payload.value };
      break;
    case 'membersRemoved':
      wire.payload = { $case: 'membersRemoved', value: payload.value };
      break;
    case 'reactionAdded':
      wire.payload = { $case: 'reactionAdded', value: payload.value };
      break;
    case 'reactionRemoved':
      wire.payload = { $case: 'reactionRemoved', value: payload.value };
      break;
    case 'messagesPurged':
      wire.payload = { $case: 'messagesPurged', value: payload.value };
      break;
    case undefined:
      break;
  }
  return { event: wire, message: undefined };
}
