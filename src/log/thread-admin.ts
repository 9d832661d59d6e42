import { ThreadKeyRecord } from '../gen/progressdb/storage/v1/records.js';
import { Family, IndexPrefixes, keys, type FamilyName, type RocksStore } from '../storage/index.js';
import { threadNotFound } from './errors.js';
import { records } from './record-codec.js';
import type { ThreadKeys } from './thread-keys.js';
import type { ThreadLog } from './thread-log.js';

/** How many keys one purge job deletes. */
const PURGE_CHUNK = 2048;

/** Progress of a key rotation. */
export interface RewrapProgress {
  done: bigint;
  total: bigint;
}

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
   * @returns how many events were removed. @throws THREAD_NOT_FOUND
   */
  async purge(threadId: string): Promise<bigint> {
    const number = this.#log.reader.threadNumber(threadId);
    if (number === undefined) throw threadNotFound(threadId);
    await this.#log.runJob((tx) => {
      tx.del(Family.keys, keys.threadKey(number));
      tx.del(Family.indexes, keys.threadIdIndexKey(threadId));
    });
    this.#keys.forget(threadId);

    let events = 0n;
    const recordBytes = this.#store.get(Family.threads, keys.threadKey(number));
    const thread = recordBytes ? records.thread.decode(recordBytes) : undefined;
    // Rows found through the events: their positions.
    for (;;) {
      const rows = this.#store.scan(Family.events, {
        ...keys.threadRange(number),
        limit: PURGE_CHUNK,
      });
      if (rows.length === 0) break;
      const positions = rows.map((row) =>
        keys.positionIndexKey(records.event.decode(row.value).position),
      );
      await this.#log.runJob((tx) => {
        for (const row of rows) tx.del(Family.events, row.key);
        for (const key of positions) tx.del(Family.indexes, key);
      });
      events += BigInt(rows.length);
    }
    await this.#deleteRange(Family.versions, keys.threadRange(number));
    await this.#deleteRange(Family.tails, keys.threadRange(number));
    await this.#deleteRange(Family.indexes, IndexPrefixes.messageIds(number));
    await this.#deleteRange(Family.indexes, IndexPrefixes.requestIds(number));
    await this.#log.runJob((tx) => {
      if (thread) {
        for (const user of thread.memberIds) {
          tx.del(Family.indexes, keys.userThreadIndexKey(user, thread.position, number));
        }
      }
      tx.del(Family.threads, keys.threadKey(number));
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
