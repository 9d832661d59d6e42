import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { readCounter } from '../log/index.js';
import { Counter, Family, keys, type RocksStore } from '../storage/index.js';
import { eventHead, FORMAT_VERSION, frameRecord, MAGIC, SCHEMA_VERSION } from './backup-format.js';

/** Events read from the store per page (and at most per BackupEvents record). */
const PAGE_EVENTS = 1024;

/** Progress of a backup being written. */
export interface BackupProgress {
  /** The recorded position: every event up to it is in the backup. */
  readonly position: bigint;
  /** Events written so far. */
  eventsDone: bigint;
  /** Events expected (read from the exact totals at the start). */
  readonly eventsEstimated: bigint;
}

/** What a finished backup holds (the trailer's counts). */
export interface BackupCounts {
  events: bigint;
  threads: bigint;
  messages: bigint;
  keys: bigint;
  purgeAudits: bigint;
}

/**
 * The uncompressed frames of a backup at `position`: the header, every event with a position up
 * to it (thread by thread, as stored), each thread's wrapped key read after its events (so a key
 * created by EncryptExisting meanwhile is never missing), then the trailer. Events are immutable,
 * so this is a consistent snapshot while appends go on. A thread purged while it is read (its id
 * no longer maps to its number) is marked omitted: its events were already written.
 */
function* backupFrames(
  store: RocksStore,
  progress: BackupProgress,
  counts: BackupCounts,
): Generator<Buffer> {
  const hash = createHash('sha256');
  const emit = (frame: Buffer): Buffer => {
    hash.update(frame);
    return frame;
  };
  const lastThread = store.get(Family.default, keys.MetaKey.lastThreadNumber);
  yield emit(MAGIC);
  yield emit(
    frameRecord({
      record: {
        $case: 'header',
        value: {
          formatVersion: FORMAT_VERSION,
          schemaVersion: SCHEMA_VERSION,
          position: progress.position,
          createdAtMs: BigInt(Date.now()),
          lastThreadNumber: lastThread ? keys.readU64(lastThread) : 0n,
          eventsEstimated: progress.eventsEstimated,
          threadsEstimated: readCounter(store, Counter.threads),
        },
      },
    }),
  );

  let thread:
    | { number: bigint; threadId: string; skip: boolean; events: bigint; messages: bigint }
    | undefined;
  const finishThread = function* (): Generator<Buffer> {
    if (!thread || thread.events === 0n) return;
    const keyBytes = store.get(Family.keys, keys.threadKey(thread.number));
    const mapped = store.get(Family.indexes, keys.threadIdIndexKey(thread.threadId));
    if (!mapped || keys.readU64(mapped) !== thread.number) {
      yield emit(
        frameRecord({
          record: { $case: 'threadOmitted', value: { threadNumber: thread.number } },
        }),
      );
      counts.events -= thread.events;
      counts.messages -= thread.messages;
      return;
    }
    counts.threads++;
    if (keyBytes) {
      counts.keys++;
      yield emit(
        frameRecord({
          record: { $case: 'threadKey', value: { threadNumber: thread.number, key: keyBytes } },
        }),
      );
    }
  };

  let after: Buffer | undefined;
  for (;;) {
    const rows = store.scan(Family.events, {
      gte: after ? Buffer.concat([after, Buffer.from([0])]) : Buffer.alloc(0),
      lt: Buffer.alloc(17, 0xff),
      limit: PAGE_EVENTS,
    });
    let batch: Buffer[] = [];
    const flush = function* (): Generator<Buffer> {
      if (!thread || batch.length === 0) return;
      yield emit(
        frameRecord({
          record: { $case: 'events', value: { threadNumber: thread.number, events: batch } },
        }),
      );
      batch = [];
    };
    for (const row of rows) {
      const number = keys.readU64(row.key);
      const head = eventHead(row.value);
      if (thread?.number !== number) {
        yield* flush();
        yield* finishThread();
        const { threadId } = head;
        const mapped = store.get(Family.indexes, keys.threadIdIndexKey(threadId));
        thread = {
          number,
          threadId,
          skip: !mapped || keys.readU64(mapped) !== number,
          events: 0n,
          messages: 0n,
        };
      }
      if (thread.skip) continue;
      // Positions grow with revisions: past the recorded position, the rest of the thread is too.
      if (head.position > progress.position) {
        thread.skip = true;
        continue;
      }
      batch.push(row.value);
      thread.events++;
      counts.events++;
      progress.eventsDone++;
      if (head.messageCreated) {
        thread.messages++;
        counts.messages++;
      }
    }
    yield* flush();
    const last = rows[rows.length - 1];
    if (rows.length < PAGE_EVENTS || !last) break;
    after = last.key;
  }
  yield* finishThread();
  // Whole-thread purges leave their audit beside the logs, not in them.
  for (const row of store.scan(Family.default, keys.purgeAuditRange)) {
    counts.purgeAudits++;
    yield emit(
      frameRecord({ record: { $case: 'purgeAudit', value: { key: row.key, value: row.value } } }),
    );
  }
  // The trailer's checksum covers every byte before its own frame.
  const digest = hash.digest();
  yield frameRecord({ record: { $case: 'trailer', value: { ...counts, sha256: digest } } });
}

/**
 * Streams a gzip-compressed backup of `store` holding every event with a position up to
 * `position` (the last committed one when the backup starts), in chunks of about `chunkBytes`.
 * Never holds more than a page of events in memory. `progress` is updated as it goes; `counts`
 * holds the trailer's counts once the stream ends.
 * Data flow: RocksStore → frames (+SHA-256) → gzip → chunks.
 */
export function writeBackup(
  store: RocksStore,
  position: bigint,
  chunkBytes = 512 * 1024,
): { chunks: AsyncGenerator<Buffer>; progress: BackupProgress; counts: BackupCounts } {
  const progress: BackupProgress = {
    position,
    eventsDone: 0n,
    eventsEstimated: readCounter(store, Counter.events),
  };
  const counts: BackupCounts = { events: 0n, threads: 0n, messages: 0n, keys: 0n, purgeAudits: 0n };
  async function* chunks(): AsyncGenerator<Buffer> {
    const gzip = createGzip({ level: 1, chunkSize: 64 * 1024 });
    const piping = pipeline(Readable.from(backupFrames(store, progress, counts)), gzip).then(
      () => undefined,
      (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
    );
    let pending: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of gzip as AsyncIterable<Buffer>) {
        pending.push(chunk);
        size += chunk.length;
        if (size >= chunkBytes) {
          yield Buffer.concat(pending);
          pending = [];
          size = 0;
        }
      }
      const failed = await piping;
      if (failed) throw failed;
      if (size > 0) yield Buffer.concat(pending);
    } finally {
      gzip.destroy();
    }
  }
  return { chunks: chunks(), progress, counts };
}
