import { randomUUID } from 'node:crypto';
import type { Client } from 'nice-grpc';
import { rpcPath, type CallOptions, type CallRunner } from './call-runner.js';
import { ThreadServiceDefinition } from './gen/progressdb/v1/thread_service.js';
import type { Thread } from './model-types.js';
import {
  expectedRevision,
  requestIdOr,
  required,
  type ExpectedRevisionInput,
} from './request-values.js';

/** The request of `threads.create`; every field is optional. */
export interface CreateThreadInput {
  /** The thread id; default: a fresh UUID (chosen by the SDK, so that a retry cannot create two). */
  readonly threadId?: string;
  /** The title (at most 512 characters). Default: empty. */
  readonly title?: string;
  /** String metadata (at most 32 entries). Default: none. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Members besides the caller, who becomes owner and member. */
  readonly memberIds?: readonly string[];
  /** An idempotency key; default: a fresh one per call, reused by its retries. */
  readonly requestId?: string;
}

/** The request of `threads.get`. */
export interface GetThreadInput {
  readonly threadId: string;
  /** Return the thread even if it is deleted. Default false. */
  readonly includeDeleted?: boolean;
}

/** The request of `threads.list` and `threads.all`. */
export interface ListThreadsInput {
  /** Whose threads (backend keys only); default: the calling user. */
  readonly userId?: string;
  /** Threads per page, 1 to 1000; default 50. */
  readonly pageSize?: number;
  /** The `nextPageToken` of the previous page; absent for the first page. */
  readonly pageToken?: string;
  /** Include deleted threads. Default false. */
  readonly includeDeleted?: boolean;
}

/** One page of `threads.list`. */
export interface ThreadPage {
  /** The threads, most recently active first. */
  readonly threads: Thread[];
  /** The token of the next page; `undefined` on the last page. */
  readonly nextPageToken: string | undefined;
}

/** The request of `threads.update`: absent fields are left unchanged. */
export interface UpdateThreadInput {
  readonly threadId: string;
  /** The new title. */
  readonly title?: string;
  /** The new metadata, replacing the old entirely (`{}` clears it). */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Update only if the thread's head is exactly this revision (or it does not exist). */
  readonly expectedRevision?: ExpectedRevisionInput;
  /** An idempotency key; default: a fresh one per call, reused by its retries. */
  readonly requestId?: string;
}

/** The request of `threads.delete`. */
export interface DeleteThreadInput {
  readonly threadId: string;
  /** Delete only if the thread's head is exactly this revision. */
  readonly expectedRevision?: ExpectedRevisionInput;
  /** An idempotency key; default: a fresh one per call, reused by its retries. */
  readonly requestId?: string;
}

/** The request of `threads.addMembers` and `threads.removeMembers`. */
export interface MembersInput {
  readonly threadId: string;
  /** The users to add or remove (at most 1000). */
  readonly userIds: readonly string[];
  /** An idempotency key; default: a fresh one per call, reused by its retries. */
  readonly requestId?: string;
}

/** `client.threads`: ThreadService as plain promise-returning methods. */
export interface ThreadMethods {
  /** Creates a thread; the caller becomes owner and member. @throws AlreadyExistsError */
  create(input?: CreateThreadInput, options?: CallOptions): Promise<Thread>;
  /** Reads a thread. @throws NotFoundError (also for a deleted thread, unless `includeDeleted`) */
  get(input: GetThreadInput, options?: CallOptions): Promise<Thread>;
  /** Reads one page of a user's threads, most recently active first. */
  list(input?: ListThreadsInput, options?: CallOptions): Promise<ThreadPage>;
  /**
   * Every thread of a user, most recently active first, fetched page by page as the loop asks.
   * `options` apply to each page's call.
   */
  all(input?: Omit<ListThreadsInput, 'pageToken'>, options?: CallOptions): AsyncIterable<Thread>;
  /** Changes the title or metadata. @throws RevisionConflictError, NotFoundError */
  update(input: UpdateThreadInput, options?: CallOptions): Promise<Thread>;
  /** Soft-deletes a thread (its history is kept). @throws RevisionConflictError, NotFoundError */
  delete(input: DeleteThreadInput, options?: CallOptions): Promise<Thread>;
  /** Adds members; users already members are ignored. */
  addMembers(input: MembersInput, options?: CallOptions): Promise<Thread>;
  /** Removes members; users not members are ignored. */
  removeMembers(input: MembersInput, options?: CallOptions): Promise<Thread>;
}

/** Builds `client.threads` over a ThreadService client. */
export function threadMethods(
  client: Client<ThreadServiceDefinition>,
  runner: CallRunner,
): ThreadMethods {
  const path = (method: keyof ThreadServiceDefinition['methods']): string =>
    rpcPath(ThreadServiceDefinition, method);
  const thread = async (answer: Promise<{ thread: Thread | undefined }>, method: string) =>
    required((await answer).thread, 'a thread', method);

  const list = async (input: ListThreadsInput = {}, options?: CallOptions): Promise<ThreadPage> => {
    const method = path('listThreads');
    const page = await runner.unary(
      method,
      (o) =>
        client.listThreads(
          {
            userId: input.userId ?? '',
            pageSize: input.pageSize,
            pageToken: input.pageToken ?? '',
            includeDeleted: input.includeDeleted ?? false,
          },
          o,
        ),
      options,
      'retry',
    );
    return {
      threads: page.threads,
      nextPageToken: page.nextPageToken === '' ? undefined : page.nextPageToken,
    };
  };

  return {
    async create(input = {}, options) {
      const method = path('createThread');
      const request = {
        threadId: input.threadId ?? randomUUID(),
        title: input.title ?? '',
        metadata: { ...input.metadata },
        memberIds: [...(input.memberIds ?? [])],
        requestId: requestIdOr(input.requestId),
      };
      return thread(
        runner.unary(method, (o) => client.createThread(request, o), options, 'retry'),
        method,
      );
    },

    async get(input, options) {
      const method = path('getThread');
      const request = { threadId: input.threadId, includeDeleted: input.includeDeleted ?? false };
      return thread(
        runner.unary(method, (o) => client.getThread(request, o), options, 'retry'),
        method,
      );
    },

    list,

    async *all(input = {}, options) {
      let pageToken: string | undefined;
      do {
        const page = await list({ ...input, pageToken }, options);
        yield* page.threads;
        pageToken = page.nextPageToken;
      } while (pageToken !== undefined);
    },

    async update(input, options) {
      const method = path('updateThread');
      const request = {
        threadId: input.threadId,
        title: input.title,
        metadata: input.metadata === undefined ? undefined : { entries: { ...input.metadata } },
        expectedRevision: expectedRevision(input.expectedRevision),
        requestId: requestIdOr(input.requestId),
      };
      return thread(
        runner.unary(method, (o) => client.updateThread(request, o), options, 'retry'),
        method,
      );
    },

    async delete(input, options) {
      const method = path('deleteThread');
      const request = {
        threadId: input.threadId,
        expectedRevision: expectedRevision(input.expectedRevision),
        requestId: requestIdOr(input.requestId),
      };
      return thread(
        runner.unary(method, (o) => client.deleteThread(request, o), options, 'retry'),
        method,
      );
    },

    async addMembers(input, options) {
      const method = path('addMembers');
      const request = {
        threadId: input.threadId,
        userIds: [...input.userIds],
        requestId: requestIdOr(input.requestId),
      };
      return thread(
        runner.unary(method, (o) => client.addMembers(request, o), options, 'retry'),
        method,
      );
    },

    async removeMembers(input, options) {
      const method = path('removeMembers');
      const request = {
        threadId: input.threadId,
        userIds: [...input.userIds],
        requestId: requestIdOr(input.requestId),
      };
      return thread(
        runner.unary(method, (o) => client.removeMembers(request, o), options, 'retry'),
        method,
      );
    },
  };
}
