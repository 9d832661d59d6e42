import { PurgeAuditRecord, ThreadKeyRecord } from '../gen/progressdb/storage/v1/records.js';
import type { DataKey } from '../crypto/index.js';
import {
  Counter,
  Family,
  IndexPrefixes,
  keys,
  type FamilyName,
  type RocksStore,
  type WriteTransaction,
} from '../storage/index.js';
import { isSealedMessage, sealMessage } from './message-sealing.js';
import { bumpCounter } from './projector.js';
import { threadNotFound } from './errors.js';
import { embedding, records, type EventRecord, type MessageRecord } from './record-codec.js';
import type { ThreadKeys } from './thread-keys.js';
import type { ThreadLog } from './thread-log.js';

/** How many keys one purge job deletes. */
const PURGE_CHUNK = 2048;

/** Progress of a key rotation, or of sealing old records. */
export interface RewrapProgress {
  done: bigint;
  total: bigint;
}

/** Why a whole thread was purged, as its audit record says. */
export type PurgeReason = 'admin' | 'deleted_thread_grace';

/** How many events one sealing job handles. */
const SEAL_CHUNK = 256;

/**
 * Operations on whole threads and keys that the admin service runs: purging a thread (its data key
 * first: crypto-shredding) and re-wrapping every data key under another master or KMS key. Both
 * go through the writer in bounded jobs, so appends keep flowing.
 * Data flow: AdminService → ThreadAdmin → (ThreadKeys, ThreadLog writer) → RocksStore.
 */
export class ThreadAdmin {
  readonly #store: RocksStore;
  readonly #log: ThreadLog;
  readonly #keys: ThreadKeys;

  constructor(store: RocksStore, log: ThreadLog, threadKeys: ThreadKeys) {
    this.#store = store;
    this.#log = log;
    this.#keys = threadKeys;
  }

  /**
   * Hard-deletes a thread. The first, durable step deletes its data key and its id (so nothing
   * new reaches it): from then on its content cannot be read by anyone, whatever copies of the
   * log exist. Then every row of the thread goes, in bounded jobs.
   * The last job leaves a small PurgeAuditRecord in `default` (keys.purgeAuditRange).
   * @returns how many events were removed. @throws THREAD_NOT_FOUND
   */
  async purge(threadId: string, reason: PurgeReason = 'admin'): Promise<bigint> {
    const number = this.#log.reader.threadNumber(threadId);
    if (number === undefined) throw threadNotFound(threadId);
    return this.purgeNumber(number, threadId, reason);
  }

  /**
   * Purges thread `number`. Every step can run again, so a purge cut short by a crash (its id
   * already gone, some rows left) is finished by calling this again with the thread's number.
   */
  async purgeNumber(number: bigint, threadId: string, reason: PurgeReason): Promise<bigint> {
    await this.#log.runJob((tx) => {
      tx.del(Family.keys, keys.threadKey(number));
      tx.del(Family.indexes, keys.threadIdIndexKey(threadId));
    });
    this.#keys.forget(number);
    this.#log.reader.forgetThread(number);

    let events = 0n;
    const removed = { threads: 0n, deletedThreads: 0n, messages: 0n, deletedMessages: 0n };
    const recordBytes = this.#store.get(Family.threads, keys.threadKey(number));
    const thread = recordBytes ? records.thread.decode(recordBytes) : undefined;
    // Rows found through the events: their positions.
    for (;;) {
      const rows = this.#store.scan(Family.events, {
        ...keys.threadRange(number),
        limit: PURGE_CHUNK,
      });
      if (rows.length === 0) break;
      const positions = rows.map((row) => {
        const event = records.event.decode(row.value);
        const kind = event.payload?.$case;
        if (kind === 'threadCreated') removed.threads++;
        else if (kind === 'threadDeleted') removed.deletedThreads++;
        else if (kind === 'messageCreated') removed.messages++;
        else if (kind === 'messageDeleted') removed.deletedMessages++;
        return keys.positionIndexKey(event.position);
      });
      await this.#log.runJob((tx) => {
        for (const row of rows) tx.del(Family.events, row.key);
        for (const key of positions) tx.del(Family.indexes, key);
      });
      events += BigInt(rows.length);
    }
    await this.#deleteRange(Family.versions, keys.threadRange(number));
    await this.#deleteRange(Family.tails, keys.threadRange(number));
    // A read that held the key from before the purge may have opened rows since: now that they
    // are gone, nothing can put them back.
    this.#log.reader.forgetThread(number);
    await this.#deleteRange(Family.indexes, IndexPrefixes.messageIds(number));
    await this.#deleteRange(Family.indexes, IndexPrefixes.requestIds(number));
    await this.#log.runJob((tx) => {
      if (thread) {
        for (const user of thread.memberIds) {
          tx.del(Family.indexes, keys.userThreadIndexKey(user, thread.position, number));
        }
      }
      tx.del(Family.threads, keys.threadKey(number));
      const timeMs = BigInt(Date.now());
      tx.put(
        Family.default,
        keys.purgeAuditKey(timeMs, number),
        Buffer.from(
          PurgeAuditRecord.encode({ threadId, timeMs, reason, eventsRemoved: events }).finish(),
        ),
      );
      // The exact totals lose what the thread contributed.
      bumpCounter(tx, Counter.events, -events);
      bumpCounter(tx, Counter.threads, -removed.threads);
      bumpCounter(tx, Counter.deletedThreads, -removed.deletedThreads);
      bumpCounter(tx, Counter.messages, -removed.messages);
      bumpCounter(tx, Counter.deletedMessages, -removed.deletedMessages);
    });
    return events;
  }

  async #deleteRange(family: FamilyName, range: { gte: Buffer; lt: Buffer }): Promise<void> {
    for (;;) {
      const rows = this.#store.scan(family, { ...range, limit: PURGE_CHUNK });
      if (rows.length === 0) return;
      await this.#log.runJob((tx) => {
        for (const row of rows) tx.del(family, row.key);
      });
    }
  }

  /**
   * Re-wraps every thread's data key under `toKeyId` (default: the provider's current key);
   * the data itself is not rewritten. Each key is replaced only if it did not change meanwhile,
   * so the job can be stopped and run again.
   */
  /**
   * Seals the message content written while encryption was off, thread by thread in bounded jobs
   * (appends go on meanwhile). Each event's message is sealed once and the same sealed record
   * replaces the plaintext one in `versions`, in `tails` (if it is the latest version) and as the
   * thread's last message, exactly as the projections would hold it. Sealed records are skipped,
   * so the job can be stopped and run again.
   */
  async *encryptExisting(): AsyncGenerator<RewrapProgress> {
    const targets: { number: bigint; threadId: string; revisions: bigint[] }[] = [];
    let total = 0n;
    for (const row of this.#store.scan(Family.threads, {
      gte: Buffer.alloc(0),
      lt: Buffer.alloc(9, 0xff),
    })) {
      const number = keys.readU64(row.key);
      const revisions = this.#store
        .scan(Family.events, keys.threadRange(number))
        .flatMap((event) => {
          const record = records.event.decode(event.value);
          const message = messageOf(record);
          return message && !isSealedMessage(message) ? [record.revision] : [];
        });
      if (revisions.length === 0) continue;
      targets.push({ number, threadId: records.thread.decode(row.value).id, revisions });
      total += BigInt(revisions.length);
    }
    let done = 0n;
    yield { done, total };
    for (const { number, threadId, revisions } of targets) {
      const hold = await this.#keys.holdOrCreate(number, threadId, (record) =>
        this.#log.runJob((tx) => {
          if (tx.get(Family.keys, keys.threadKey(number))) return false;
          tx.put(
            Family.keys,
            keys.threadKey(number),
            Buffer.from(ThreadKeyRecord.encode(record).finish()),
          );
          return true;
        }),
      );
      try {
        const key = hold.key;
        if (!key) continue;
        for (let i = 0; i < revisions.length; i += SEAL_CHUNK) {
          const chunk = revisions.slice(i, i + SEAL_CHUNK);
          await this.#log.runJob((tx) => {
            for (const revision of chunk) sealStoredEvent(tx, number, threadId, revision, key);
          });
          done += BigInt(chunk.length);
          yield { done, total };
        }
      } finally {
        hold.release();
      }
    }
  }

  async *rewrapAll(toKeyId?: string): AsyncGenerator<RewrapProgress> {
    const all = this.#store.scan(Family.keys, { gte: Buffer.alloc(0), lt: Buffer.alloc(9, 0xff) });
    const total = BigInt(all.length);
    let done = 0n;
    yield { done, total };
    for (const row of all) {
      const number = keys.readU64(row.key);
      const threadBytes = this.#store.get(Family.threads, row.key);
      if (threadBytes) {
        const threadId = records.thread.decode(threadBytes).id;
        const record = ThreadKeyRecord.decode(row.value);
        const rewrapped = await this.#keys.rewrap(record, threadId, toKeyId);
        await this.#log.runJob((tx) => {
          const current = tx.get(Family.keys, keys.threadKey(number));
          if (!current || !current.equals(row.value)) return;
          tx.put(Family.keys, keys.threadKey(number), rewrapped);
        });
      }
      done++;
      if (done % 64n === 0n || done === total) yield { done, total };
    }
  }
}

function messageOf(event: EventRecord): MessageRecord | undefined {
  const payload = event.payload;
  return payload?.$case === 'messageCreated' ||
    payload?.$case === 'messageEdited' ||
    payload?.$case === 'messageDeleted'
    ? payload.value
    : undefined;
}

/** Seals one stored event's message in place, and the projections that hold the same version. */
function sealStoredEvent(
  tx: WriteTransaction<unknown>,
  number: bigint,
  threadId: string,
  revision: bigint,
  key: DataKey,
): void {
  const eventKey = keys.eventKey(number, revision);
  const bytes = tx.get(Family.events, eventKey);
  if (!bytes) return;
  const event = records.event.decode(bytes);
  const message = messageOf(event);
  const payload = event.payload;
  if (!message || !payload || isSealedMessage(message)) return;
  const sealed = sealMessage(threadId, message, key);
  const encoded = records.message.encode(sealed);
  tx.put(
    Family.events,
    eventKey,
    embedding.event(
      { ...event, payload: { ...payload, value: sealed } as typeof payload },
      encoded,
    ),
  );
  tx.put(Family.versions, keys.versionKey(number, sealed.seq, sealed.version), encoded);
  const tailKey = keys.tailKey(number, sealed.seq);
  const viewBytes = tx.get(Family.tails, tailKey);
  if (viewBytes) {
    const view = records.messageView.decode(viewBytes);
    if (view.message?.version === sealed.version) {
      tx.put(Family.tails, tailKey, records.messageView.encode({ ...view, message: sealed }));
    }
  }
  const threadBytes = tx.get(Family.threads, keys.threadKey(number));
  if (threadBytes) {
    const thread = records.thread.decode(threadBytes);
    const last = thread.lastMessage;
    if (last && last.seq === sealed.seq && last.version === sealed.version) {
      tx.put(
        Family.threads,
        keys.threadKey(number),
        records.thread.encode({ ...thread, lastMessage: sealed }),
      );
    }
  }
}
