import type {
  AppendMessagesRequest,
  MessageServiceServer,
  NewMessage as WireNewMessage,
} from '../gen/progressdb/v1/message_service.js';
import { Direction, Order } from '../gen/progressdb/v1/types.js';
import {
  invalidField,
  payloadTooLarge,
  type NewMessage,
  type PageAnchor,
  type ThreadLog,
} from '../log/index.js';
import { unary, type AdapterDeps } from './call-adapters.js';
import { actorOf, namedUser, requireUser, type CallContext } from './call-context.js';
import { rawBody } from './request-bodies.js';
import {
  requireBody,
  expectedRevision,
  optionalId,
  pageSize,
  requireId,
  requireMetadata,
  requireReaction,
  requireText,
  type Limits,
} from './request-validation.js';
import {
  appendResponse,
  eventsResponse,
  messageResponse,
  pageResponse,
  versionsResponse,
} from './wire-encoding.js';
import {
  toWireEvent,
  toWireMessage,
  toWireMessageBytes,
  toWireMessageVersion,
} from './wire-mapping.js';

const DEFAULT_PAGE_SIZE = 50;
const DEFAULT_EVENT_LIMIT = 100;
/** An upper bound of what a Message carries besides body and metadata (ids, role, times, tags). */
const RESPONSE_BYTES_PER_MESSAGE = 640;

function newMessage(
  input: Omit<WireNewMessage, 'messageId'> & { messageId: string },
  raw: Buffer,
  prefix: string,
  context: CallContext,
  limits: Limits,
): NewMessage {
  const authorId = namedUser(input.authorId, `${prefix}author_id`, context);
  if (authorId === '') {
    throw invalidField(
      `${prefix}author_id`,
      'a message needs an author: set author_id or x-user-id',
    );
  }
  return {
    messageId: optionalId(input.messageId, `${prefix}message_id`),
    authorId,
    role: requireText(input.role, `${prefix}role`, limits.maxRoleChars),
    body: requireBody(input.body, raw, `${prefix}body`, limits),
    metadata: requireMetadata(input.metadata, `${prefix}metadata`, limits),
    replyToId: optionalId(input.replyToId, `${prefix}reply_to_id`),
  };
}

function batch(request: AppendMessagesRequest, context: CallContext, limits: Limits): NewMessage[] {
  const messages = request.messages;
  if (messages.length === 0) throw invalidField('messages', 'needs at least one message');
  if (messages.length > limits.maxBatchMessages) {
    throw payloadTooLarge('messages', limits.maxBatchMessages, 'messages');
  }
  const seen = new Set<string>();
  let bytes = 0;
  return messages.map((message, index) => {
    const prefix = `messages[${index}].`;
    const parsed = newMessage(message, rawBody(request, index), prefix, context, limits);
    if (parsed.messageId) {
      if (seen.has(parsed.messageId)) {
        throw invalidField(`${prefix}message_id`, 'appears twice in the batch');
      }
      seen.add(parsed.messageId);
    }
    // The response repeats every message: count what it will carry, so that it fits the same limit.
    bytes += RESPONSE_BYTES_PER_MESSAGE + parsed.body.length;
    for (const [key, value] of Object.entries(parsed.metadata)) {
      bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
    }
    if (bytes > limits.maxBatchBytes)
      throw payloadTooLarge('messages', limits.maxBatchBytes, 'bytes');
    return parsed;
  });
}

function anchorOf(
  anchor: Parameters<MessageServiceServer['listMessages']>[0]['request']['anchor'],
): PageAnchor {
  switch (anchor?.$case) {
    case 'beforeSeq':
      return { kind: 'before_seq', seq: anchor.value };
    case 'afterSeq':
      return { kind: 'after_seq', seq: anchor.value };
    case 'aroundSeq':
      return { kind: 'around_seq', seq: anchor.value };
    case 'aroundMessageId':
      return {
        kind: 'around_message_id',
        messageId: requireId(anchor.value, 'around_message_id'),
      };
    default:
      return { kind: 'newest' };
  }
}

function orderOf(order: Order): 'asc' | 'desc' {
  if (order === Order.ORDER_DESC) return 'desc';
  if (order === Order.ORDER_UNSPECIFIED || order === Order.ORDER_ASC) return 'asc';
  throw invalidField('order', 'is not a known order');
}

/** MessageService over the log. Data flow: gRPC → adapters → validation → ThreadLog → records → wire. */
export function messageService(
  deps: AdapterDeps,
  log: ThreadLog,
  limits: Limits,
): MessageServiceServer {
  const service = 'MessageService';
  const actor = actorOf;
  return {
    appendMessage: unary(deps, service, 'AppendMessage', async (request, context) => {
      const threadId = requireId(request.threadId, 'thread_id');
      const message = newMessage(request, rawBody(request), '', context, limits);
      const result = await log.appendMessages(actor(context), {
        threadId,
        messages: [message],
        expected: expectedRevision(request.expectedRevision),
        createThread: request.createThread,
        requestId: optionalId(request.requestId, 'request_id'),
        batch: false,
      });
      return appendResponse(
        result.messages.map((view) => toWireMessage(threadId, view, context.userId)),
        result.revision,
      );
    }),

    appendMessages: unary(deps, service, 'AppendMessages', async (request, context) => {
      const threadId = requireId(request.threadId, 'thread_id');
      const messages = batch(request, context, limits);
      const result = await log.appendMessages(actor(context), {
        threadId,
        messages,
        expected: expectedRevision(request.expectedRevision),
        createThread: request.createThread,
        requestId: optionalId(request.requestId, 'request_id'),
        batch: true,
      });
      return appendResponse(
        result.messages.map((view) => toWireMessage(threadId, view, context.userId)),
        result.revision,
      );
    }),

    getMessage: unary(deps, service, 'GetMessage', async (request, context) => {
      const threadId = requireId(request.threadId, 'thread_id');
      const messageId = requireId(request.messageId, 'message_id');
      const view = await log.reader.message(
        threadId,
        messageId,
        request.includeDeleted,
        actor(context),
      );
      return messageResponse(toWireMessage(threadId, view, context.userId));
    }),

    listMessages: unary(deps, service, 'ListMessages', async (request, context) => {
      const threadId = requireId(request.threadId, 'thread_id');
      const size = pageSize(request.pageSize, 'page_size', DEFAULT_PAGE_SIZE, limits);
      const order = orderOf(request.order);
      const page = await log.reader.listMessages(
        threadId,
        size,
        anchorOf(request.anchor),
        request.includeDeleted,
        actor(context),
      );
      const messages = page.messages.map((view) =>
        toWireMessageBytes(threadId, view, context.userId),
      );
      if (order === 'desc') messages.reverse();
      return pageResponse(messages, page);
    }),

    editMessage: unary(deps, service, 'EditMessage', async (request, context) => {
      const threadId = requireId(request.threadId, 'thread_id');
      const messageId = requireId(request.messageId, 'message_id');
      if (request.body === undefined && request.metadata === undefined) {
        throw invalidField('body', 'an edit needs a body or metadata');
      }
      const view = await log.changeMessage(actor(context), {
        threadId,
        messageId,
        kind: 'edit',
        ...(request.body === undefined
          ? {}
          : { body: requireBody(request.body, rawBody(request), 'body', limits) }),
        ...(request.metadata === undefined
          ? {}
          : { metadata: requireMetadata(request.metadata.entries, 'metadata', limits) }),
        ...(request.expectedVersion === undefined
          ? {}
          : { expectedVersion: request.expectedVersion }),
        requestId: optionalId(request.requestId, 'request_id'),
      });
      return messageResponse(toWireMessage(threadId, view, context.userId));
    }),

    deleteMessage: unary(deps, service, 'DeleteMessage', async (request, context) => {
      const threadId = requireId(request.threadId, 'thread_id');
      const view = await log.changeMessage(actor(context), {
        threadId,
        messageId: requireId(request.messageId, 'message_id'),
        kind: 'delete',
        ...(request.expectedVersion === undefined
          ? {}
          : { expectedVersion: request.expectedVersion }),
        requestId: optionalId(request.requestId, 'request_id'),
      });
      return messageResponse(toWireMessage(threadId, view, context.userId));
    }),

    listMessageVersions: unary(deps, service, 'ListMessageVersions', async (request, context) => {
      const threadId = requireId(request.threadId, 'thread_id');
      const messageId = requireId(request.messageId, 'message_id');
      const versions = await log.reader.versions(threadId, messageId, actor(context));
      return versionsResponse(versions.map((version) => toWireMessageVersion(threadId, version)));
    }),

    addReaction: unary(deps, service, 'AddReaction', async (request, context) => {
      const threadId = requireId(request.threadId, 'thread_id');
      const view = await log.react(
        { ...actor(context), userId: requireUser(context) },
        {
          threadId,
          messageId: requireId(request.messageId, 'message_id'),
          reaction: requireReaction(request.reaction, limits),
          add: true,
          requestId: optionalId(request.requestId, 'request_id'),
        },
      );
      return messageResponse(toWireMessage(threadId, view, context.userId));
    }),

    removeReaction: unary(deps, service, 'RemoveReaction', async (request, context) => {
      const threadId = requireId(request.threadId, 'thread_id');
      const view = await log.react(
        { ...actor(context), userId: requireUser(context) },
        {
          threadId,
          messageId: requireId(request.messageId, 'message_id'),
          reaction: requireReaction(request.reaction, limits),
          add: false,
          requestId: optionalId(request.requestId, 'request_id'),
        },
      );
      return messageResponse(toWireMessage(threadId, view, context.userId));
    }),

    readEvents: unary(deps, service, 'ReadEvents', async (request, context) => {
      const threadId = requireId(request.threadId, 'thread_id');
      const limit = pageSize(request.limit, 'limit', DEFAULT_EVENT_LIMIT, limits);
      const backward = request.direction === Direction.DIRECTION_BACKWARD;
      if (
        !backward &&
        request.direction !== Direction.DIRECTION_UNSPECIFIED &&
        request.direction !== Direction.DIRECTION_FORWARD
      ) {
        throw invalidField('direction', 'is not a known direction');
      }
      if (backward && request.afterRevision !== undefined) {
        throw invalidField('after_revision', 'reading backward starts from before_revision');
      }
      if (!backward && request.beforeRevision !== undefined) {
        throw invalidField('before_revision', 'reading forward starts from after_revision');
      }
      const result = await log.reader.readEvents(
        threadId,
        {
          ...(request.afterRevision === undefined ? {} : { after: request.afterRevision }),
          ...(request.beforeRevision === undefined ? {} : { before: request.beforeRevision }),
          limit,
          backward,
        },
        actor(context),
      );
      return eventsResponse(result.events.map(toWireEvent), result.hasMore, result.head);
    }),
  };
}
