import { Family, type FamilyName } from './column-families.js';
import { MetaKey, readU64, u64 } from './keys.js';
import type { RocksStore } from './rocks-store.js';
import { WriteOverlay, type StoreReader } from './write-overlay.js';

/** What a write job sees: committed data plus what the jobs before it in the group staged. */
export interface WriteTransaction<P> extends StoreReader {
  put(family: FamilyName, key: Buffer, value: Buffer): void;
  del(family: FamilyName, key: Buffer): void;
  /** Allocates the next global position: strictly increasing across all threads. */
  nextPosition(): bigint;
  /** Allocates the next internal thread number. */
  nextThreadNumber(): bigint;
  /** Queues an item for the commit listener, delivered only once the group is durable. */
  publish(item: P): void;
}

/** A unit of work run inside the writer; it must be synchronous. Throwing discards its writes. */
export type WriteJob<T, P> = (tx: WriteTransaction<P>) => T;

/** Figures of one group commit. */
export interface GroupCommitInfo {
  commands: number;
  ops: number;
  bytes: number;
  durationMicros: number;
  sync: boolean;
}

/** Options of the writer. */
export interface GroupCommitWriterOptions<P> {
  /** fsync every group (durability `sync`) or leave flushing to the OS (`os`). */
  sync: boolean;
  /** The most commands committed in one group. */
  maxGroupCommands: number;
  /** Called after each durable commit with what the group's jobs published. */
  onCommit?: (published: P[], info: GroupCommitInfo) => void;
}

/** Thrown by `submit` once the writer is closed. */
export class WriterClosedError extends Error {
  constructor() {
    super('the writer is closed');
    this.name = 'WriterClosedError';
  }
}

interface Queued<P> {
  job: WriteJob<unknown, P>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * The single writer of the database. Jobs submitted while a group is being prepared wait for the
 * next one; each group is run in order, staged in one overlay, and written as one atomic batch with
 * one fsync, after which every caller of the group is resolved. Because jobs run one after another
 * on one thread, revisions and positions they allocate are gapless and race-free.
 * Data flow: log command → WriteJob → overlay → one RocksDB batch → callers and commit listener.
 */
export class GroupCommitWriter<P> {
  readonly #store: RocksStore;
  readonly #options: GroupCommitWriterOptions<P>;
  #queue: Queued<P>[] = [];
  #scheduled = false;
  #closed = false;
  #drained: (() => void) | undefined;
  #position: bigint;
  #threadNumber: bigint;
  #lastCommit: GroupCommitInfo | undefined;

  constructor(store: RocksStore, options: GroupCommitWriterOptions<P>) {
    this.#store = store;
    this.#options = options;
    const position = store.get(Family.default, MetaKey.lastPosition);
    const thread = store.get(Family.default, MetaKey.lastThreadNumber);
    this.#position = position ? readU64(position) : 0n;
    this.#threadNumber = thread ? readU64(thread) : 0n;
  }

  /** The last committed global position. */
  get position(): bigint {
    return this.#position;
  }

  /** Figures of the most recent group commit, if any. */
  get lastCommit(): GroupCommitInfo | undefined {
    return this.#lastCommit;
  }

  /** How many jobs wait for the next group. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Runs `job` in the next group and resolves with its result once the group is durable.
   * @throws WriterClosedError after `close()`; whatever the job throws; the commit's error.
   */
  submit<T>(job: WriteJob<T, P>): Promise<T> {
    if (this.#closed) return Promise.reject(new WriterClosedError());
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ job, resolve: resolve as (value: unknown) => void, reject });
      this.#schedule();
    });
  }

  /** Refuses new jobs, commits those already queued, and resolves when done. */
  close(): Promise<void> {
    this.#closed = true;
    if (this.#queue.length === 0 && !this.#scheduled) return Promise.resolve();
    return new Promise((resolve) => {
      this.#drained = resolve;
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // setImmediate runs after pending I/O callbacks: every request that arrived meanwhile joins.
    setImmediate(() => this.#commitGroup());
  }

  #commitGroup(): void {
    this.#scheduled = false;
    const jobs = this.#queue.splice(0, this.#options.maxGroupCommands);
    if (jobs.length > 0) this.#runGroup(jobs);
    if (this.#queue.length > 0) this.#schedule();
    else if (this.#closed) this.#drained?.();
  }

  #runGroup(jobs: Queued<P>[]): void {
    const group = new WriteOverlay(this.#store);
    let position = this.#position;
    let threadNumber = this.#threadNumber;
    const published: P[] = [];
    const accepted: { entry: Queued<P>; value: unknown }[] = [];

    for (const entry of jobs) {
      const staged = new WriteOverlay(group);
      let jobPosition = position;
      let jobThread = threadNumber;
      const jobPublished: P[] = [];
      const tx: WriteTransaction<P> = {
        get: (family, key) => staged.get(family, key),
        scan: (family, options) => staged.scan(family, options),
        put: (family, key, value) => staged.put(family, key, value),
        del: (family, key) => staged.del(family, key),
        nextPosition: () => ++jobPosition,
        nextThreadNumber: () => ++jobThread,
        publish: (item) => jobPublished.push(item),
      };
      try {
        const value = entry.job(tx);
        group.absorb(staged);
        position = jobPosition;
        threadNumber = jobThread;
        published.push(...jobPublished);
        accepted.push({ entry, value });
      } catch (error) {
        entry.reject(error);
      }
    }
    if (accepted.length === 0) return;

    if (position !== this.#position) group.put(Family.default, MetaKey.lastPosition, u64(position));
    if (threadNumber !== this.#threadNumber)
      group.put(Family.default, MetaKey.lastThreadNumber, u64(threadNumber));
    const ops = group.ops();
    const started = process.hrtime.bigint();
    if (ops.length > 0) {
      try {
        this.#store.write(ops, this.#options.sync);
      } catch (error) {
        for (const { entry } of accepted) entry.reject(error);
        return;
      }
    }
    let bytes = 0;
    for (const op of ops) bytes += op.key.length + (op.type === 'put' ? op.value.length : 0);
    this.#position = position;
    this.#threadNumber = threadNumber;
    const info: GroupCommitInfo = {
      commands: accepted.length,
      ops: ops.length,
      bytes,
      durationMicros: Number(process.hrtime.bigint() - started) / 1000,
      sync: this.#options.sync,
    };
    this.#lastCommit = info;
    if (published.length > 0) this.#options.onCommit?.(published, info);
    for (const { entry, value } of accepted) entry.resolve(value);
  }
}
