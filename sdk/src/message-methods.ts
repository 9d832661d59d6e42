import type { Client } from 'nice-grpc';
import { rpcPath, type CallRunner } from './call-runner.js';
import {
  MessageServiceDefinition,
  type ListMessagesRequest,
  type NewMessage,
} from './gen/progressdb/v1/message_service.js';
import { Direction, Order } from './gen/progressdb/v1/types.js';
import type { Event, Message } from './model-types.js';
import type { ListMessagesInput, MessageMethods, NewMessageInput } from './message-types.js';
import {
  expectedRevision,
  optionalRevision,
  requestIdOr,
  required,
  toRevision,
} from './request-values.js';

/** The ListMessages anchor of a `list` input, which names at most one. */
function anchorOf(input: ListMessagesInput): ListMessagesRequest['anchor'] {
  const anchors: NonNullable<ListMessagesRequest['anchor']>[] = [];
  if (input.beforeSeq !== undefined) {
    anchors.push({ $case: 'beforeSeq', value: toRevision(input.beforeSeq, 'beforeSeq') });
  }
  if (input.afterSeq !== undefined) {
    anchors.push({ $case: 'afterSeq', value: toRevision(input.afterSeq, 'afterSeq') });
  }
  if (input.aroundSeq !== undefined) {
    anchors.push({ $case: 'aroundSeq', value: toRevision(input.aroundSeq, 'aroundSeq') });
  }
  if (input.aroundMessageId !== undefined) {
    anchors.push({ $case: 'aroundMessageId', value: input.aroundMessageId });
  }
  if (anchors.length > 1) {
    throw new TypeError(
      'messages.list takes at most one of beforeSeq, afterSeq, aroundSeq, aroundMessageId',
    );
  }
  return anchors[0];
}

function newMessage(input: NewMessageInput): NewMessage {
  return {
    messageId: input.messageId ?? '',
    authorId: input.authorId ?? '',
    role: input.role ?? '',
    body: input.body,
    metadata: { ...input.metadata },
    replyToId: input.replyToId ?? '',
  };
}

/** Builds `client.messages` over a MessageService client. */
export function messageMethods(
  client: Client<MessageServiceDefinition>,
  runner: CallRunner,
): MessageMethods {
  const path = (method: keyof MessageServiceDefinition['methods']): string =>
    rpcPath(MessageServiceDefinition, method);
  const message = async (answer: Promise<{ message: Message | undefined }>, method: string) =>
    required((await answer).message, 'a message', method);

  const list: MessageMethods['list'] = async (input, options) => {
    const method = path('listMessages');
    const request = {
      threadId: input.threadId,
      pageSize: input.pageSize,
      anchor: anchorOf(input),
      includeDeleted: input.includeDeleted ?? false,
      order: input.order === 'desc' ? Order.ORDER_DESC : Order.ORDER_ASC,
    };
    const page = await runner.unary(
      method,
      (o) => client.listMessages(request, o),
      options,
      'retry',
    );
    return {
      messages: page.messages,
      hasMoreBefore: page.hasMoreBefore,
      hasMoreAfter: page.hasMoreAfter,
      threadRevision: page.threadRevision,
    };
  };

  return {
    async append(input, options) {
      const method = path('appendMessage');
      const request = {
        threadId: input.threadId,
        ...newMessage(input),
        requestId: requestIdOr(input.requestId),
        expectedRevision: expectedRevision(input.expectedRevision),
        createThread: input.createThread ?? true,
      };
      const answer = await runner.unary(
        method,
        (o) => client.appendMessage(request, o),
        options,
        'retry',
      );
      return {
        message: required(answer.message, 'a message', method),
        revision: answer.revision,
      };
    },

    async appendMany(input, options) {
      const method = path('appendMessages');
      const request = {
        threadId: input.threadId,
        messages: input.messages.map(newMessage),
        expectedRevision: expectedRevision(input.expectedRevision),
        createThread: input.createThread ?? true,
        requestId: requestIdOr(input.requestId),
      };
      const answer = await runner.unary(
        method,
        (o) => client.appendMessages(request, o),
        options,
        'retry',
      );
      return { messages: answer.messages, revision: answer.revision };
    },

    async get(input, options) {
      const method = path('getMessage');
      const request = {
        threadId: input.threadId,
        messageId: input.messageId,
        includeDeleted: input.includeDeleted ?? false,
      };
      return message(
        runner.unary(method, (o) => client.getMessage(request, o), options, 'retry'),
        method,
      );
    },

    list,

    async *pages(threadId, options = {}) {
      const { direction = 'backward', pageSize, includeDeleted, beforeSeq, afterSeq } = options;
      if (direction === 'backward' && afterSeq !== undefined) {
        throw new TypeError('messages.pages: afterSeq goes with direction "forward"');
      }
      if (direction === 'forward' && beforeSeq !== undefined) {
        throw new TypeError('messages.pages: beforeSeq goes with direction "backward"');
      }
      // Forward starts after seq 0 (the oldest page); backward without a start is the newest page.
      let anchor: Pick<ListMessagesInput, 'beforeSeq' | 'afterSeq'> =
        direction === 'forward' ? { afterSeq: afterSeq ?? 0n } : { beforeSeq };
      for (;;) {
        const page = await list({ threadId, pageSize, includeDeleted, ...anchor }, options);
        if (page.messages.length === 0) return;
        yield page;
        const first = page.messages[0];
        const last = page.messages[page.messages.length - 1];
        if (direction === 'forward') {
          if (!page.hasMoreAfter || last === undefined) return;
          anchor = { afterSeq: last.seq };
        } else {
          if (!page.hasMoreBefore || first === undefined) return;
          anchor = { beforeSeq: first.seq };
        }
      }
    },

    async edit(input, options) {
      const method = path('editMessage');
      const request = {
        threadId: input.threadId,
        messageId: input.messageId,
        body: input.body,
        metadata: input.metadata === undefined ? undefined : { entries: { ...input.metadata } },
        expectedVersion: input.expectedVersion,
        requestId: requestIdOr(input.requestId),
      };
      return message(
        runner.unary(method, (o) => client.editMessage(request, o), options, 'retry'),
        method,
      );
    },

    async delete(input, options) {
      const method = path('deleteMessage');
      const request = {
        threadId: input.threadId,
        messageId: input.messageId,
        expectedVersion: input.expectedVersion,
        requestId: requestIdOr(input.requestId),
      };
      return message(
        runner.unary(method, (o) => client.deleteMessage(request, o), options, 'retry'),
        method,
      );
    },

    async versions(input, options) {
      const method = path('listMessageVersions');
      const request = { threadId: input.threadId, messageId: input.messageId };
      const answer = await runner.unary(
        method,
        (o) => client.listMessageVersions(request, o),
        options,
        'retry',
      );
      return answer.versions;
    },

    async react(input, options) {
      const method = path('addReaction');
      const request = { ...input, requestId: requestIdOr(input.requestId) };
      return message(
        runner.unary(method, (o) => client.addReaction(request, o), options, 'retry'),
        method,
      );
    },

    async unreact(input, options) {
      const method = path('removeReaction');
      const request = { ...input, requestId: requestIdOr(input.requestId) };
      return message(
        runner.unary(method, (o) => client.removeReaction(request, o), options, 'retry'),
        method,
      );
    },

    async events(input, options) {
      const method = path('readEvents');
      const request = {
        threadId: input.threadId,
        afterRevision: optionalRevision(input.afterRevision, 'afterRevision'),
        beforeRevision: optionalRevision(input.beforeRevision, 'beforeRevision'),
        limit: input.limit,
        direction:
          input.direction === 'backward'
            ? Direction.DIRECTION_BACKWARD
            : Direction.DIRECTION_FORWARD,
      };
      const answer = await runner.unary(
        method,
        (o) => client.readEvents(request, o),
        options,
        'retry',
      );
      const events: Event[] = answer.events;
      return { events, hasMore: answer.hasMore, headRevision: answer.headRevision };
    },
  };
}
