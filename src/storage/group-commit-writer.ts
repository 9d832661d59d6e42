import { context, ROOT_CONTEXT, type Span, type SpanContext } from '@opentelemetry/api';
import { activeSpanContext, endSpanWithError } from '../telemetry/index.js';
import { Family, type FamilyName } from './column-families.js';
import { countWrites, recordGroupCommit, startGroupSpan } from './commit-telemetry.js';
import { MetaKey, readU64, u64 } from './keys.js';
import type { BatchOp, RocksStore, Row, ScanOptions } from './rocks-store.js';
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
  /** Items the group's jobs published (for the log: events appended). */
  events: number;
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
  /** The span of the request that submitted the job, if traced: the group commit's parent or link. */
  parent: SpanContext | undefined;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

interface Group<P> {
  overlay: WriteOverlay;
  /** The counters before and after the group's jobs. */
  startPosition: bigint;
  startThreadNumber: bigint;
  position: bigint;
  threadNumber: bigint;
  published: P[];
  accepted: { entry: Queued<P>; value: unknown }[];
  /** When the group left the writer for the commit thread (performance.now()). */
  sentAtMs: number;
  span: Span | undefined;
}

/**
 * One job's transaction: its writes staged over the group's, and the positions, thread numbers and
 * items it allocates, all taken into the group only when the job returns.
 */
class StagedTransaction<P> implements WriteTransaction<P> {
  readonly staged: WriteOverlay;
  position: bigint;
  threadNumber: bigint;
  readonly published: P[] = [];

  constructor(group: Group<P>) {
    this.staged = new WriteOverlay(group.overlay);
    this.position = group.position;
    this.threadNumber = group.threadNumber;
  }

  get(family: FamilyName, key: Buffer): Buffer | undefined {
    return this.staged.get(family, key);
  }

  scan(family: FamilyName, options: ScanOptions): Row[] {
    return this.staged.scan(family, options);
  }

  put(family: FamilyName, key: Buffer, value: Buffer): void {
    this.staged.put(family, key, value);
  }

  del(family: FamilyName, key: Buffer): void {
    this.staged.del(family, key);
  }

  nextPosition(): bigint {
    return ++this.position;
  }

  nextThreadNumber(): bigint {
    return ++this.threadNumber;
  }

  publish(item: P): void {
    this.published.push(item);
  }
}

/**
 * The single writer of the database. Jobs run one after another on the event loop, each staged in
 * its own overlay over the group's, so revisions and positions they allocate are gapless and
 * race-free. A group is written as one atomic batch with one fsync on the commit thread; while it
 * is on disk, the next group's jobs already run (reading the first group's writes through its
 * overlay) and are sent as soon as the first is durable. Callers are resolved, and committed items
 * published, only once their group is durable.
 * Data flow: log command → WriteJob → overlay → one RocksDB batch (commit thread) → callers, listener.
 */
export class GroupCommitWriter<P> {
  readonly #store: RocksStore;
  readonly #options: GroupCommitWriterOptions<P>;
  #queue: Queued<P>[] = [];
  #scheduled = false;
  #closed = false;
  #drained: (() => void) | undefined;
  #building: Group<P> | undefined;
  #inFlight: Group<P> | undefined;
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

  /**
   * Runs `job` in a group and resolves with its result once the group is durable.
   * @throws WriterClosedError after `close()`; whatever the job throws; the commit's error.
   */
  submit<T>(job: WriteJob<T, P>): Promise<T> {
    if (this.#closed) return Promise.reject(new WriterClosedError());
    this.#store.pollCommits();
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({
        job,
        parent: activeSpanContext(),
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      this.#schedule();
    });
  }

  /** Refuses new jobs, commits those already queued, and resolves when done. */
  close(): Promise<void> {
    this.#closed = true;
    if (this.#idle()) return Promise.resolve();
    return new Promise((resolve) => {
      this.#drained = resolve;
    });
  }

  #idle(): boolean {
    return this.#queue.length === 0 && !this.#building && !this.#inFlight;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // setImmediate runs after pending I/O callbacks: every request that arrived meanwhile joins.
    // The pump serves every request of the group, so it runs outside the caller's trace context.
    context.with(ROOT_CONTEXT, () => setImmediate(() => this.#pump()));
  }

  #pump(): void {
    this.#scheduled = false;
    this.#store.pollCommits();
    if (this.#queue.length > 0) {
      const group = (this.#building ??= this.#openGroup());
      const room = this.#options.maxGroupCommands - group.accepted.length;
      for (const entry of this.#queue.splice(0, Math.max(room, 0))) this.#runJob(group, entry);
    }
    if (!this.#inFlight && this.#building) {
      const group = this.#building;
      this.#building = undefined;
      this.#send(group);
    }
    if (this.#queue.length > 0 && !(this.#building && this.#isFull(this.#building)))
      this.#schedule();
    if (this.#closed && this.#idle()) this.#drained?.();
  }

  #isFull(group: Group<P>): boolean {
    return group.accepted.length >= this.#options.maxGroupCommands;
  }

  #openGroup(): Group<P> {
    const base = this.#inFlight;
    const position = base ? base.position : this.#position;
    const threadNumber = base ? base.threadNumber : this.#threadNumber;
    return {
      overlay: new WriteOverlay(base ? base.overlay : this.#store),
      startPosition: position,
      startThreadNumber: threadNumber,
      position,
      threadNumber,
      published: [],
      accepted: [],
      sentAtMs: 0,
      span: undefined,
    };
  }

  #runJob(group: Group<P>, entry: Queued<P>): void {
    const tx = new StagedTransaction<P>(group);
    try {
      const value = entry.job(tx);
      group.overlay.absorb(tx.staged);
      group.position = tx.position;
      group.threadNumber = tx.threadNumber;
      group.published.push(...tx.published);
      group.accepted.push({ entry, value });
    } catch (error) {
      entry.reject(error);
    }
  }

  #send(group: Group<P>): void {
    if (group.accepted.length === 0) return;
    if (group.position !== group.startPosition) {
      group.overlay.put(Family.default, MetaKey.lastPosition, u64(group.position));
    }
    if (group.threadNumber !== group.startThreadNumber) {
      group.overlay.put(Family.default, MetaKey.lastThreadNumber, u64(group.threadNumber));
    }
    const ops = group.overlay.ops();
    this.#inFlight = group;
    group.sentAtMs = performance.now();
    group.span = startGroupSpan(group.accepted, this.#options.sync);
    if (ops.length === 0) {
      // Nothing to write (idempotent retries): answer in order, after the group before it.
      queueMicrotask(() => this.#complete(group, ops, 0));
      return;
    }
    this.#store.commit(ops, this.#options.sync).then(
      (micros) => this.#complete(group, ops, micros),
      (error: unknown) => this.#fail(group, error),
    );
  }

  #complete(group: Group<P>, ops: readonly BatchOp[], durationMicros: number): void {
    this.#inFlight = undefined;
    this.#position = group.position;
    this.#threadNumber = group.threadNumber;
    // The next group read through this one's overlay; its writes are in the store now.
    this.#building?.overlay.rebase(this.#store);
    const bytes = countWrites(ops);
    const info: GroupCommitInfo = {
      commands: group.accepted.length,
      events: group.published.length,
      ops: ops.length,
      bytes,
      durationMicros,
      sync: this.#options.sync,
    };
    this.#lastCommit = info;
    recordGroupCommit(info, group.sentAtMs, group.span);
    for (const { entry, value } of group.accepted) entry.resolve(value);
    if (group.published.length > 0) this.#options.onCommit?.(group.published, info);
    this.#pump();
  }

  #fail(group: Group<P>, error: unknown): void {
    this.#inFlight = undefined;
    if (group.span) endSpanWithError(group.span, error);
    for (const { entry } of group.accepted) entry.reject(error);
    // The next group was built on this one: run its jobs again, first, on what is really stored.
    const building = this.#building;
    this.#building = undefined;
    if (building) this.#queue.unshift(...building.accepted.map(({ entry }) => entry));
    this.#pump();
  }
}
