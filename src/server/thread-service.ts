import { randomUUID } from 'node:crypto';
import type { ThreadServiceServer } from '../gen/progressdb/v1/thread_service.js';
import { invalidField, type ThreadLog } from '../log/index.js';
import { unary, type AdapterDeps } from './call-adapters.js';
import { actorOf, namedUser, requireUser, type CallContext } from './call-context.js';
import {
  expectedRevision,
  optionalId,
  pageSize,
  requireId,
  requireIds,
  requireThreadMetadata,
  requireText,
  type Limits,
} from './request-validation.js';
import { threadResponse, threadsResponse } from './wire-encoding.js';
import { toWireThread } from './wire-mapping.js';

const DEFAULT_PAGE_SIZE = 50;

function encodePageToken(next: { position: bigint; thread: bigint }): string {
  const bytes = Buffer.alloc(16);
  bytes.writeBigUInt64BE(next.position, 0);
  bytes.writeBigUInt64BE(next.thread, 8);
  return bytes.toString('base64url');
}

function decodePageToken(token: string): { position: bigint; thread: bigint } | undefined {
  if (token === '') return undefined;
  const bytes = Buffer.from(token, 'base64url');
  if (bytes.length !== 16 || bytes.toString('base64url') !== token) {
    throw invalidField('page_token', 'is not a token from a previous page');
  }
  return { position: bytes.readBigUInt64BE(0), thread: bytes.readBigUInt64BE(8) };
}

function listUser(requested: string, context: CallContext): string {
  if (requested === '') return requireUser(context, 'user_id');
  return namedUser(requested, 'user_id', context);
}

/** ThreadService over the log. Data flow: gRPC → adapters → validation → ThreadLog → records → wire. */
export function threadService(
  deps: AdapterDeps,
  log: ThreadLog,
  limits: Limits,
): ThreadServiceServer {
  const service = 'ThreadService';
  const actor = actorOf;
  return {
    createThread: unary(deps, service, 'CreateThread', async (request, context) => {
      const input = {
        threadId: request.threadId === '' ? randomUUID() : requireId(request.threadId, 'thread_id'),
        title: requireText(request.title, 'title', limits.maxTitleChars),
        metadata: requireThreadMetadata(request.metadata, 'metadata', limits),
        memberIds: requireIds(request.memberIds, 'member_ids', limits.maxMembersPerCall),
        requestId: optionalId(request.requestId, 'request_id'),
      };
      return threadResponse(toWireThread(await log.createThread(actor(context), input)));
    }),

    getThread: unary(deps, service, 'GetThread', async (request, context) => {
      const threadId = requireId(request.threadId, 'thread_id');
      const viewer = actorOf(context);
      return threadResponse(
        toWireThread(await log.reader.threadView(threadId, request.includeDeleted, viewer)),
      );
    }),

    listThreads: unary(deps, service, 'ListThreads', async (request, context) => {
      const userId = listUser(request.userId, context);
      const size = pageSize(request.pageSize, 'page_size', DEFAULT_PAGE_SIZE, limits);
      const after = decodePageToken(request.pageToken);
      const page = await log.reader.listThreads(userId, size, after, request.includeDeleted);
      return threadsResponse(
        page.threads.map(toWireThread),
        page.next ? encodePageToken(page.next) : '',
      );
    }),

    updateThread: unary(deps, service, 'UpdateThread', async (request, context) => {
      const threadId = requireId(request.threadId, 'thread_id');
      const title =
        request.title === undefined
          ? undefined
          : requireText(request.title, 'title', limits.maxTitleChars);
      const metadata =
        request.metadata === undefined
          ? undefined
          : requireThreadMetadata(request.metadata.entries, 'metadata', limits);
      const record = await log.changeThread(actor(context), {
        threadId,
        expected: expectedRevision(request.expectedRevision),
        requestId: optionalId(request.requestId, 'request_id'),
        change: {
          kind: 'update',
          ...(title === undefined ? {} : { title }),
          ...(metadata === undefined ? {} : { metadata }),
        },
      });
      return threadResponse(toWireThread(record));
    }),

    deleteThread: unary(deps, service, 'DeleteThread', async (request, context) => {
      const record = await log.changeThread(actor(context), {
        threadId: requireId(request.threadId, 'thread_id'),
        expected: expectedRevision(request.expectedRevision),
        requestId: optionalId(request.requestId, 'request_id'),
        change: { kind: 'delete' },
      });
      return threadResponse(toWireThread(record));
    }),

    addMembers: unary(deps, service, 'AddMembers', async (request, context) => {
      const record = await log.changeThread(actor(context), {
        threadId: requireId(request.threadId, 'thread_id'),
        expected: { kind: 'any' },
        requestId: optionalId(request.requestId, 'request_id'),
        change: { kind: 'addMembers', userIds: memberList(request.userIds, limits) },
      });
      return threadResponse(toWireThread(record));
    }),

    removeMembers: unary(deps, service, 'RemoveMembers', async (request, context) => {
      const record = await log.changeThread(actor(context), {
        threadId: requireId(request.threadId, 'thread_id'),
        expected: { kind: 'any' },
        requestId: optionalId(request.requestId, 'request_id'),
        change: { kind: 'removeMembers', userIds: memberList(request.userIds, limits) },
      });
      return threadResponse(toWireThread(record));
    }),
  };
}

function memberList(userIds: readonly string[], limits: Limits): string[] {
  if (userIds.length === 0) throw invalidField('user_ids', 'needs at least one user');
  return requireIds(userIds, 'user_ids', limits.maxMembersPerCall);
}
