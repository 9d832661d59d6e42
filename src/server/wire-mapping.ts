import type { Event, Message, Thread } from '../gen/progressdb/v1/types.js';
import {
  ProgressDbError,
  Reason,
  type EventRecord,
  type MessageRecord,
  type MessageViewRecord,
  type ThreadRecord,
} from '../log/index.js';

function date(ms: bigint): Date {
  return new Date(Number(ms));
}

function body(bytes: Buffer): unknown {
  if (bytes.length === 0) return undefined;
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    throw new ProgressDbError(Reason.corruptRecord, 'a stored message body is not JSON', {
      family: 'tails',
    });
  }
}

/** A stored message version as the API's Message (no reactions, no reply count). */
export function toWireMessageVersion(threadId: string, message: MessageRecord): Message {
  return {
    id: message.id,
    threadId,
    seq: message.seq,
    version: message.version,
    authorId: message.authorId,
    role: message.role,
    body: body(message.body),
    metadata: message.metadata,
    replyToId: message.replyToId,
    replyCount: 0,
    reactions: [],
    deleted: message.deleted,
    createdAt: date(message.createdAtMs),
    updatedAt: date(message.updatedAtMs),
  };
}

/** A message's latest view as the API's Message; `me` is relative to `viewerId`. */
export function toWireMessage(
  threadId: string,
  view: MessageViewRecord,
  viewerId: string,
): Message {
  const message = toWireMessageVersion(threadId, view.message as MessageRecord);
  message.replyCount = view.replyCount;
  message.reactions = view.reactions.map((reaction) => ({
    reaction: reaction.reaction,
    count: reaction.userIds.length,
    me: viewerId !== '' && reaction.userIds.includes(viewerId),
  }));
  return message;
}

/** A thread record as the API's Thread. */
export function toWireThread(record: ThreadRecord): Thread {
  return {
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
    lastMessage: record.lastMessage
      ? toWireMessageVersion(record.id, record.lastMessage)
      : undefined,
  };
}

/** A stored event as the API's Event. */
export function toWireEvent(event: EventRecord): Event {
  const base = {
    threadId: event.threadId,
    revision: event.revision,
    position: event.position,
    time: date(event.timeMs),
    actorId: event.actorId,
    requestId: event.requestId,
  };
  const payload = event.payload;
  switch (payload?.$case) {
    case 'threadCreated':
      return { ...base, payload: { $case: 'threadCreated', value: payload.value } };
    case 'threadUpdated':
      return { ...base, payload: { $case: 'threadUpdated', value: payload.value } };
    case 'threadDeleted':
      return { ...base, payload: { $case: 'threadDeleted', value: {} } };
    case 'membersAdded':
      return { ...base, payload: { $case: 'membersAdded', value: payload.value } };
    case 'membersRemoved':
      return { ...base, payload: { $case: 'membersRemoved', value: payload.value } };
    case 'messageCreated':
    case 'messageEdited':
    case 'messageDeleted': {
      const message = toWireMessageVersion(event.threadId, payload.value);
      if (payload.$case === 'messageCreated') {
        return { ...base, payload: { $case: 'messageCreated', value: { message } } };
      }
      if (payload.$case === 'messageEdited') {
        return { ...base, payload: { $case: 'messageEdited', value: { message } } };
      }
      return { ...base, payload: { $case: 'messageDeleted', value: { message } } };
    }
    case 'reactionAdded':
      return { ...base, payload: { $case: 'reactionAdded', value: payload.value } };
    case 'reactionRemoved':
      return { ...base, payload: { $case: 'reactionRemoved', value: payload.value } };
    case undefined:
      return { ...base, payload: undefined };
  }
}
