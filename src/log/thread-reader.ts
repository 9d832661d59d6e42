import { Counter, Family, keys, type CounterName, type RocksStore } from '../storage/index.js';
import { messageNotFound, threadNotFound } from './errors.js';
import type { DataKey } from '../crypto/index.js';
import { access, type Actor } from './access-rules.js';
import { OpenedMessages, openEvent, openThread } from './message-sealing.js';
import { OpenedViews } from './opened-views.js';
import { readCounter } from './projector.js';
import type { KeyHold, ThreadKeys } from './thread-keys.js';
import { findThread } from './commands.js';
import {
  records,
  type EventRecord,
  type MessageRecord,
  type MessageViewRecord,
  type ThreadRecord,
} from './record-codec.js';

/** Where a page of messages is. */
export type PageAnchor =
  | { kind: 'newest' }
  | { kind: 'before_seq'; seq: bigint }
  | { kind: 'after_seq'; seq: bigint }
  | { kind: 'around_seq'; seq: bigint }
  | { kind: 'around_message_id'; messageId: string };

/** A page of messages in ascending seq order. */
export interface MessagePage {
  messages: MessageViewRecord[];
  hasMoreBefore: boolean;
  hasMoreAfter: boolean;
  threadRevision: bigint;
}

/** One page of the global log (see `ThreadReader.eventsAfterPosition`). */
export interface EventsPage {
  events: { thread: bigint; event: EventRecord }[];
  /** The last position the page covered (`after` for an empty page). */
  scannedTo: bigint;
  /** Whether the position index may hold more after `scannedTo`. */
  more: boolean;
}

/** A page of a user's threads. */
export interface ThreadPage {
  threads: ThreadRecord[];
  /** Where the next page starts, or undefined on the last page. */
  next: { position: bigint; thread: bigint } | undefined;
}

const SCAN_CHUNK = 64;
const SERVICE: Actor = { userId: '' };

/**
 * The read side: point lookups and range scans straight on RocksDB, outside the writer.
 * Data flow: server → ThreadReader → RocksStore (`threads`, `tails`, `versions`, `events`, `indexes`).
 */
export class ThreadReader {
  readonly #store: RocksStore;

  readonly #keys: ThreadKeys;
  /** Opened message versions, so hot pages are decrypted once. */
  readonly #opened = new OpenedMessages(20_000);
  /** Opened views of the scroll-back index, so hot pages are neither decoded nor decrypted again. */
  readonly #views = new OpenedViews(10_000, this.#opened);

  constructor(store: RocksStore, keys: ThreadKeys) {
    this.#keys = keys;
    this.#store = store;
  }

  /** Forgets what the caches hold of thread `number`: its plaintext must not outlive a purge. */
  forgetThread(number: bigint): void {
    this.#views.forgetThread(number);
    this.#opened.forgetThread(number);
  }

  /** How many opened (plaintext) entries of thread `number` the caches hold. */
  cachedEntries(number: bigint): number {
    return this.#views.countThread(number) + this.#opened.countThread(number);
  }

  /** The exact totals (threads, messages, events …), kept in the same batches as the events. */
  counters(): Record<CounterName, bigint> {
    const totals = {} as Record<CounterName, bigint>;
    for (const name of Object.values(Counter)) totals[name] = readCounter(this.#store, name);
    return totals;
  }

  /** A thread's internal number, if the thread exists. */
  threadNumber(threadId: string): bigint | undefined {
    const bytes = this.#store.get(Family.indexes, keys.threadIdIndexKey(threadId));
    return bytes ? keys.readU64(bytes) : undefined;
  }

  /** Runs `read` with thread `number`'s data key held. */
  async #withKey<T>(
    number: bigint,
    threadId: string,
    read: (key: DataKey | undefined) => T,
  ): Promise<T> {
    const hold = await this.#keys.hold(number, threadId);
    try {
      return read(hold.key);
    } finally {
      hold.release();
    }
  }

  /** The thread in the clear, if `viewer` may read it. @throws THREAD_NOT_FOUND, NOT_A_MEMBER */
  async threadView(
    threadId: string,
    includeDeleted: boolean,
    viewer: Actor = SERVICE,
  ): Promise<ThreadRecord> {
    const { number, record } = this.thread(threadId, includeDeleted, viewer);
    return this.#withKey(number, threadId, (key) => openThread(record, key));
  }

  /**
   * The thread (its last message still sealed), with its internal number, if `viewer` may read it.
   * @throws THREAD_NOT_FOUND; NOT_A_MEMBER for a confined viewer outside the thread
   */
  thread(
    threadId: string,
    includeDeleted: boolean,
    viewer: Actor = SERVICE,
  ): { number: bigint; record: ThreadRecord } {
    const found = findThread(this.#store, threadId);
    if (!found) throw threadNotFound(threadId);
    access.member(viewer, found.record);
    if (found.record.deleted && !includeDeleted) throw threadNotFound(threadId);
    return found;
  }

  /** The user's threads, most recently active first. */
  async listThreads(
    userId: string,
    pageSize: number,
    after: { position: bigint; thread: bigint } | undefined,
    includeDeleted: boolean,
  ): Promise<ThreadPage> {
    const page = this.#listThreads(userId, pageSize, after, includeDeleted);
    const opened: ThreadRecord[] = [];
    for (const { number, record } of page.threads) {
      opened.push(await this.#withKey(number, record.id, (key) => openThread(record, key)));
    }
    return { threads: opened, next: page.next };
  }

  #listThreads(
    userId: string,
    pageSize: number,
    after: { position: bigint; thread: bigint } | undefined,
    includeDeleted: boolean,
  ): { threads: { number: bigint; record: ThreadRecord }[]; next: ThreadPage['next'] } {
    const threads: { number: bigint; record: ThreadRecord }[] = [];
    let bound = after;
    for (;;) {
      const rows = this.#store.scan(Family.indexes, {
        ...keys.userThreadRange(userId, bound),
        reverse: true,
        limit: SCAN_CHUNK,
      });
      for (const row of rows) {
        const at = keys.decodeUserThreadIndexKey(row.key);
        bound = at;
        const bytes = this.#store.get(Family.threads, keys.threadKey(at.thread));
        if (!bytes) continue;
        const record = records.thread.decode(bytes);
        if (record.deleted && !includeDeleted) continue;
        threads.push({ number: at.thread, record });
        if (threads.length === pageSize) {
          const more = this.#hasMoreThreads(userId, at, includeDeleted);
          return { threads, next: more ? at : undefined };
        }
      }
      if (rows.length < SCAN_CHUNK) return { threads, next: undefined };
    }
  }

  #hasMoreThreads(
    userId: string,
    after: { position: bigint; thread: bigint },
    includeDeleted: boolean,
  ): boolean {
    return this.#listThreads(userId, 1, after, includeDeleted).threads.length > 0;
  }

  /** The latest view of a message. @throws THREAD_NOT_FOUND, MESSAGE_NOT_FOUND */
  async message(
    threadId: string,
    messageId: string,
    includeDeleted: boolean,
    viewer: Actor = SERVICE,
  ): Promise<MessageViewRecord> {
    const { number } = this.thread(threadId, includeDeleted, viewer);
    const view = this.#view(number, messageId);
    if (!view || (view.message?.deleted && !includeDeleted)) throw messageNotFound(messageId);
    return this.#withKey(number, threadId, (key) =>
      this.#opened.openView(number, threadId, view, key),
    );
  }

  #view(thread: bigint, messageId: string): MessageViewRecord | undefined {
    const seqBytes = this.#store.get(Family.indexes, keys.messageIdIndexKey(thread, messageId));
    if (!seqBytes) return undefined;
    const bytes = this.#store.get(Family.tails, keys.tailKey(thread, keys.readU64(seqBytes)));
    return bytes ? records.messageView.decode(bytes) : undefined;
  }

  /** Every version of a message, oldest first. @throws THREAD_NOT_FOUND, MESSAGE_NOT_FOUND */
  async versions(
    threadId: string,
    messageId: string,
    viewer: Actor = SERVICE,
  ): Promise<MessageRecord[]> {
    const { number } = this.thread(threadId, true, viewer);
    const seqBytes = this.#store.get(Family.indexes, keys.messageIdIndexKey(number, messageId));
    if (!seqBytes) throw messageNotFound(messageId);
    const versions = this.#store
      .scan(Family.versions, keys.versionRange(number, keys.readU64(seqBytes)))
      .map((row) => records.message.decode(row.value));
    return this.#withKey(number, threadId, (key) =>
      versions.map((version) => this.#opened.open(number, threadId, version, key)),
    );
  }

  /** A page of messages in scroll order. @throws THREAD_NOT_FOUND, MESSAGE_NOT_FOUND */
  async listMessages(
    threadId: string,
    pageSize: number,
    anchor: PageAnchor,
    includeDeleted: boolean,
    viewer: Actor = SERVICE,
  ): Promise<MessagePage> {
    const found = this.thread(threadId, includeDeleted, viewer);
    return this.#withKey(found.number, threadId, (key) =>
      this.#listMessages(found, pageSize, anchor, includeDeleted, key),
    );
  }

  #listMessages(
    { number, record }: { number: bigint; record: ThreadRecord },
    pageSize: number,
    anchor: PageAnchor,
    includeDeleted: boolean,
    key: DataKey | undefined,
  ): MessagePage {
    // No seq lies past the head: clamping anchors there changes no page and keeps seq + 1 in u64.
    const end = record.revision + 1n;
    const clamp = (seq: bigint): bigint => (seq > end ? end : seq);
    const take = (
      from: bigint,
      to: bigint | undefined,
      reverse: boolean,
      limit: number,
      opened = limit,
    ) =>
      this.#collect(number, record.id, key, { from, to, reverse, limit, opened, includeDeleted });
    let before: MessageViewRecord[] = [];
    let after: MessageViewRecord[] = [];
    let pivot: bigint;
    // One message past the page, read with it, answers has_more on that side without a scan of its own.
    let moreBefore: boolean | undefined;
    let moreAfter: boolean | undefined;
    switch (anchor.kind) {
      case 'newest':
        pivot = end;
        before = take(0n, pivot, true, pageSize + 1, pageSize);
        moreAfter = false;
        break;
      case 'before_seq':
        pivot = clamp(anchor.seq);
        before = take(0n, pivot, true, pageSize + 1, pageSize);
        break;
      case 'after_seq':
        pivot = clamp(anchor.seq) + 1n;
        after = take(pivot, end, false, pageSize + 1, pageSize);
        break;
      case 'around_seq':
      case 'around_message_id': {
        if (anchor.kind === 'around_seq') pivot = clamp(anchor.seq);
        else {
          const seqBytes = this.#store.get(
            Family.indexes,
            keys.messageIdIndexKey(number, anchor.messageId),
          );
          if (!seqBytes) throw messageNotFound(anchor.messageId, 'around_message_id');
          pivot = keys.readU64(seqBytes);
        }
        const half = Math.floor(pageSize / 2);
        before = take(0n, pivot, true, half);
        after = take(pivot, end, false, pageSize - before.length);
        if (before.length + after.length < pageSize && before.length === half) {
          before = take(0n, pivot, true, pageSize - after.length);
        }
        break;
      }
    }
    if (before.length > pageSize) {
      before.length = pageSize;
      moreBefore = true;
    } else if (anchor.kind === 'newest' || anchor.kind === 'before_seq') moreBefore = false;
    if (after.length > pageSize) {
      after.length = pageSize;
      moreAfter = true;
    } else if (anchor.kind === 'after_seq') moreAfter = false;
    before.reverse();
    const messages = [...before, ...after];
    const first = messages[0]?.message?.seq ?? pivot;
    const last = messages[messages.length - 1]?.message?.seq ?? pivot - 1n;
    return {
      messages,
      hasMoreBefore: moreBefore ?? take(0n, first, true, 1, 0).length > 0,
      hasMoreAfter: moreAfter ?? (last + 1n < end && take(last + 1n, end, false, 1, 0).length > 0),
      threadRevision: record.revision,
    };
  }

  /**
   * Up to `limit` views from seq `from` (inclusive) to `to` (exclusive), in scan order. The first
   * `opened` (default: all) are opened; the rest are probes, only decoded (whether a message is
   * deleted is stored in the clear), which the caller counts and drops: a row that does not open
   * just outside a page does not fail the page.
   */
  #collect(
    thread: bigint,
    threadId: string,
    key: DataKey | undefined,
    range: {
      from: bigint;
      to: bigint | undefined;
      reverse: boolean;
      limit: number;
      opened?: number;
      includeDeleted: boolean;
    },
  ): MessageViewRecord[] {
    const { from, to, reverse, limit, includeDeleted } = range;
    const opened = range.opened ?? limit;
    const out: MessageViewRecord[] = [];
    let low = from;
    let high = to;
    // Read exactly what the page needs; only deleted messages make it read on, in growing chunks.
    let chunk = limit;
    while (out.length < limit && (high === undefined || low < high)) {
      const values = this.#store.scanValues(Family.tails, {
        ...keys.threadRange(thread, low, high),
        reverse,
        limit: chunk,
      });
      for (const value of values) {
        const view =
          out.length < opened
            ? this.#views.open(thread, threadId, value, key)
            : records.messageView.decode(value);
        const seq = view.message?.seq ?? 0n;
        if (reverse) high = seq;
        else low = seq + 1n;
        if (!includeDeleted && view.message?.deleted) continue;
        out.push(view);
        if (out.length === limit) return out;
      }
      if (values.length < chunk) return out;
      chunk = Math.min(Math.max((limit - out.length) * 2, 16), 1024);
    }
    return out;
  }

  /** A slice of a thread's event log. @throws THREAD_NOT_FOUND */
  async readEvents(
    threadId: string,
    options: { after?: bigint; before?: bigint; limit: number; backward: boolean },
    viewer: Actor = SERVICE,
  ): Promise<{ events: EventRecord[]; hasMore: boolean; head: bigint }> {
    const found = this.thread(threadId, true, viewer);
    const number = found.number;
    const result = this.#readEvents(found, options);
    return this.#withKey(number, threadId, (key) => ({
      ...result,
      events: result.events.map((event) => openEvent(event, key)),
    }));
  }

  #readEvents(
    { number, record }: { number: bigint; record: ThreadRecord },
    options: { after?: bigint; before?: bigint; limit: number; backward: boolean },
  ): { events: EventRecord[]; hasMore: boolean; head: bigint } {
    if (!options.backward && (options.after ?? 0n) >= record.revision) {
      return { events: [], hasMore: false, head: record.revision };
    }
    const range = options.backward
      ? keys.threadRange(number, 1n, options.before ?? record.revision + 1n)
      : keys.threadRange(number, (options.after ?? 0n) + 1n);
    if (Buffer.compare(range.gte, range.lt) >= 0) {
      return { events: [], hasMore: false, head: record.revision };
    }
    const rows = this.#store.scan(Family.events, {
      ...range,
      reverse: options.backward,
      limit: options.limit + 1,
    });
    const hasMore = rows.length > options.limit;
    return {
      events: rows.slice(0, options.limit).map((row) => records.event.decode(row.value)),
      hasMore,
      head: record.revision,
    };
  }

  /**
   * Events of every thread with position > `after`, in position order, with the internal number of
   * their thread: one page of at most `limit` rows of the position index. An event purged between
   * the index read and the event read is left out, so a page may hold fewer events than `limit`:
   * `scannedTo` (the last position the page covered) and `more` say where the next page starts.
   * Sealed content is opened unless `open` is false.
   */
  async eventsAfterPosition(
    after: bigint,
    limit: number,
    options: { open: boolean } = { open: true },
  ): Promise<EventsPage> {
    const refs = this.#store.scan(Family.indexes, { ...keys.positionIndexRange(after), limit });
    const located = refs.map((row) => keys.decodeThreadRevisionKey(row.value));
    const values = this.#store.getMany(
      Family.events,
      located.map(({ thread, revision }) => keys.eventKey(thread, revision)),
    );
    const found = located.flatMap(({ thread }, i) => {
      const bytes = values[i];
      return bytes ? [{ thread, event: records.event.decode(bytes) }] : [];
    });
    const last = refs[refs.length - 1];
    const page = {
      scannedTo: last ? keys.readU64(last.key, 1) : after,
      more: refs.length === limit,
    };
    if (!options.open) return { ...page, events: found };
    // One key hold per thread of the page, not one per event.
    const holds = new Map<bigint, KeyHold>();
    try {
      for (const { thread, event } of found) {
        if (!holds.has(thread)) holds.set(thread, await this.#keys.hold(thread, event.threadId));
      }
      const events = found.map(({ thread, event }) => ({
        thread,
        event: openEvent(event, holds.get(thread)?.key),
      }));
      return { ...page, events };
    } finally {
      for (const hold of holds.values()) hold.release();
    }
  }

  /** The internal numbers of the threads a user is a member of now. */
  userThreadNumbers(userId: string): Set<bigint> {
    const numbers = new Set<bigint>();
    let bound: { position: bigint; thread: bigint } | undefined;
    for (;;) {
      const rows = this.#store.scan(Family.indexes, {
        ...keys.userThreadRange(userId, bound),
        reverse: true,
        limit: 1024,
      });
      for (const row of rows) {
        bound = keys.decodeUserThreadIndexKey(row.key);
        numbers.add(bound.thread);
      }
      if (rows.length < 1024) return numbers;
    }
  }

  /** Events of a thread with revision > `after`, at most `limit`, oldest first. */
  async eventsAfter(
    thread: bigint,
    threadId: string,
    after: bigint,
    limit: number,
  ): Promise<EventRecord[]> {
    // Nothing comes after the largest revision (and after + 1 would not fit a key).
    if (after >= keys.U64_MAX) return [];
    const events = this.#store
      .scan(Family.events, { ...keys.threadRange(thread, after + 1n), limit })
      .map((row) => records.event.decode(row.value));
    return this.#withKey(thread, threadId, (key) => events.map((event) => openEvent(event, key)));
  }

  /** The store this reader reads (for the log's own lookups). */
  get store(): RocksStore {
    return this.#store;
  }
}
