import { createHash } from 'node:crypto';
import type { CallOptions, JsonValue, ProgressDBClient } from '../../sdk/src/index.js';
import { BackupError, BackupProblem } from './backup-format.js';
import { readExport, str, stringMap, strings, type SourceEvent } from './export-lines.js';

/** Request ids written by an import: the source revision, then a hash binding the thread. */
const IMPORT_REQUEST = /^imp\.([0-9]{1,20})\.[0-9a-f]{16}$/;
/** Consecutive messages of one thread appended in one call. */
const MAX_BATCH = 100;
/** How far back an import looks for its own last event in a thread the target changed since. */
const MARKER_SEARCH_EVENTS = 1000;

/** The kinds an import replays. */
const KINDS = new Set([
  'thread_created',
  'thread_updated',
  'thread_deleted',
  'members_added',
  'members_removed',
  'message_created',
  'message_edited',
  'message_deleted',
  'reaction_added',
  'reaction_removed',
]);

/** Progress and outcome of an import. */
export interface ImportProgress {
  /** Events in the file. */
  total: bigint;
  /** Events handled so far (applied or skipped). */
  done: bigint;
  /** Events replayed into the target by this run. */
  applied: bigint;
  /** Events the target already had (an earlier import). */
  skipped: bigint;
  /** Events of kinds an import does not replay (left out, counted). */
  ignored: bigint;
  /** Threads seen. */
  threads: number;
}

/** The import's request id of source event (thread, revision): the same on every run. */
export function importRequestId(threadId: string, revision: bigint): string {
  const hash = createHash('sha256').update(`${threadId}\n${revision}`).digest('hex').slice(0, 16);
  return `imp.${revision}.${hash}`;
}

type ImportClient = Pick<ProgressDBClient, 'threads' | 'messages'>;

function as(userId: string): CallOptions {
  return userId === '' ? {} : { metadata: { 'x-user-id': userId } };
}

/**
 * The last source revision an import applied to `threadId` in the target, read back from the
 * import request ids of its newest events; 0 for a thread the target does not have.
 * @throws BackupError INVALID_INPUT when the target has the thread but no import wrote to it.
 */
async function lastImported(client: ImportClient, threadId: string): Promise<bigint> {
  let before: bigint | undefined;
  let searched = 0;
  for (;;) {
    let page;
    try {
      page = await client.messages.events({
        threadId,
        direction: 'backward',
        limit: 100,
        ...(before === undefined ? {} : { beforeRevision: before }),
      });
    } catch (error) {
      if ((error as { reason?: unknown }).reason === 'THREAD_NOT_FOUND') return 0n;
      throw error;
    }
    for (const event of page.events) {
      const match = IMPORT_REQUEST.exec(event.requestId);
      if (match && event.requestId === importRequestId(threadId, BigInt(match[1] as string))) {
        return BigInt(match[1] as string);
      }
    }
    searched += page.events.length;
    const last = page.events[page.events.length - 1];
    if (!page.hasMore || !last || searched >= MARKER_SEARCH_EVENTS) {
      throw new BackupError(
        BackupProblem.invalidInput,
        `thread ${threadId} already exists in the target and was not written by an import of it`,
      );
    }
    before = last.revision;
  }
}

/**
 * Loads a decrypted ndjson export into a (possibly different) server through the public API,
 * replaying each thread's events as new writes: threads are created with their ids, messages
 * keep their ids, authors and replies; edits, deletions, reactions and membership changes follow
 * in order, each acting as the source event's user. Idempotent: every write carries a request id
 * derived from (thread id, source revision), and a thread resumes after the newest such id the
 * target holds, so a second run (or a run after a crash) changes nothing it already did. Times are
 * the target's, not the source's. The client needs a backend key.
 * Data flow: file → lines → ThreadService / MessageService of the target.
 * @throws BackupError INVALID_INPUT (sealed export, bad line, thread not from an import); the
 * SDK's errors.
 */
export async function importEvents(
  client: ImportClient,
  file: string,
  onProgress: (progress: ImportProgress) => void = () => undefined,
): Promise<ImportProgress> {
  const progress: ImportProgress = {
    total: 0n,
    done: 0n,
    applied: 0n,
    skipped: 0n,
    ignored: 0n,
    threads: 0,
  };
  // The whole file is checked before anything is written: a sealed or broken export writes nothing.
  for await (const event of readExport(file)) {
    void event;
    progress.total++;
  }
  const applied = new Map<string, bigint>();
  let batch: SourceEvent[] = [];
  const flushBatch = async (): Promise<void> => {
    if (batch.length === 0) return;
    const first = batch[0] as SourceEvent;
    const last = batch[batch.length - 1] as SourceEvent;
    await client.messages.appendMany(
      {
        threadId: first.threadId,
        createThread: false,
        requestId: importRequestId(last.threadId, last.revision),
        messages: batch.map((event) => newMessage(event)),
      },
      as(first.actor),
    );
    applied.set(first.threadId, last.revision);
    progress.applied += BigInt(batch.length);
    progress.done += BigInt(batch.length);
    batch = [];
    onProgress({ ...progress });
  };
  let lastReport = 0;
  for await (const event of readExport(file)) {
    let done = applied.get(event.threadId);
    if (done === undefined) {
      await flushBatch();
      done = await lastImported(client, event.threadId);
      applied.set(event.threadId, done);
      progress.threads++;
    }
    if (event.revision <= done) {
      progress.skipped++;
      progress.done++;
      continue;
    }
    if (!KINDS.has(event.kind)) {
      progress.ignored++;
      progress.done++;
      continue;
    }
    if (event.kind === 'message_created') {
      const head = batch[0];
      if (head && (head.threadId !== event.threadId || head.actor !== event.actor)) {
        await flushBatch();
      }
      batch.push(event);
      if (batch.length >= MAX_BATCH) await flushBatch();
      continue;
    }
    await flushBatch();
    await replay(client, event);
    applied.set(event.threadId, event.revision);
    progress.applied++;
    progress.done++;
    if (Date.now() - lastReport > 250) {
      lastReport = Date.now();
      onProgress({ ...progress });
    }
  }
  await flushBatch();
  onProgress({ ...progress });
  return progress;
}

function newMessage(event: SourceEvent): {
  messageId: string;
  authorId: string;
  role: string;
  body?: JsonValue;
  metadata: Record<string, string>;
  replyToId?: string;
} {
  const p = event.payload;
  const replyToId =
    p.reply_to_id === undefined ? '' : str(p.reply_to_id, event.line, 'reply_to_id');
  return {
    messageId: str(p.message_id, event.line, 'payload.message_id'),
    authorId: p.author_id === undefined ? '' : str(p.author_id, event.line, 'payload.author_id'),
    role: p.role === undefined ? '' : str(p.role, event.line, 'payload.role'),
    ...(p.body === undefined ? {} : { body: p.body as JsonValue }),
    metadata: stringMap(p.metadata, event.line, 'payload.metadata'),
    ...(replyToId === '' ? {} : { replyToId }),
  };
}

/** Replays one source event other than message_created. */
async function replay(client: ImportClient, event: SourceEvent): Promise<void> {
  const { threadId, payload: p, line } = event;
  const requestId = importRequestId(threadId, event.revision);
  const user = as(event.actor);
  switch (event.kind) {
    case 'thread_created': {
      const owner = p.owner_id === undefined ? '' : str(p.owner_id, line, 'payload.owner_id');
      const members = strings(p.member_ids ?? [], line, 'payload.member_ids');
      await client.threads.create(
        {
          threadId,
          title: p.title === undefined ? '' : str(p.title, line, 'payload.title'),
          metadata: stringMap(p.metadata, line, 'payload.metadata'),
          memberIds: members.filter((member) => member !== owner),
          requestId,
        },
        as(owner),
      );
      return;
    }
    case 'thread_updated':
      await client.threads.update(
        {
          threadId,
          title: p.title === undefined ? '' : str(p.title, line, 'payload.title'),
          metadata: stringMap(p.metadata, line, 'payload.metadata'),
          requestId,
        },
        user,
      );
      return;
    case 'thread_deleted':
      await client.threads.delete({ threadId, requestId }, user);
      return;
    case 'members_added':
    case 'members_removed': {
      const userIds = strings(p.user_ids, line, 'payload.user_ids');
      if (event.kind === 'members_added') {
        await client.threads.addMembers({ threadId, userIds, requestId }, user);
      } else {
        await client.threads.removeMembers({ threadId, userIds, requestId }, user);
      }
      return;
    }
    case 'message_edited': {
      const message = newMessage(event);
      await client.messages.edit(
        {
          threadId,
          messageId: message.messageId,
          ...(message.body === undefined ? {} : { body: message.body }),
          metadata: message.metadata,
          requestId,
        },
        user,
      );
      return;
    }
    case 'message_deleted':
      await client.messages.delete(
        { threadId, messageId: str(p.message_id, line, 'payload.message_id'), requestId },
        user,
      );
      return;
    case 'reaction_added':
    case 'reaction_removed': {
      const input = {
        threadId,
        messageId: str(p.message_id, line, 'payload.message_id'),
        reaction: str(p.reaction, line, 'payload.reaction'),
        requestId,
      };
      const reactor = as(str(p.user_id, line, 'payload.user_id'));
      if (event.kind === 'reaction_added') await client.messages.react(input, reactor);
      else await client.messages.unreact(input, reactor);
      return;
    }
  }
}
