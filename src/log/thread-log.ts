import {
  GroupCommitWriter,
  type GroupCommitInfo,
  type RocksStore,
  type WriteJob,
} from '../storage/index.js';
import * as commands from './commands.js';
import type {
  Actor,
  AppendResult,
  CommittedEvent,
  ExpectedRevision,
  JobKey,
  NewMessage,
} from './commands.js';
import { openThread, openView } from './message-sealing.js';
import type { MessageViewRecord, ThreadRecord } from './record-codec.js';
import { StaleKeysError, type ThreadKeys } from './thread-keys.js';
import { ThreadReader } from './thread-reader.js';

/** Options of the log. */
export interface ThreadLogOptions {
  /** fsync every group commit (`sync`) or not (`os`). */
  durability: 'sync' | 'os';
  /** The most commands per group commit. */
  maxGroupCommands: number;
}

/** Receives every committed group of events, in commit order. */
export type CommitListener = (events: readonly CommittedEvent[], info: GroupCommitInfo) => void;

/** How often a write gathers its keys again when its thread got a key meanwhile. */
const KEY_ATTEMPTS = 3;

/**
 * The domain facade: commands go through the single group-commit writer, with the data keys they
 * need gathered beforehand; reads go straight to the store. Results come back in the clear.
 * Data flow: server → ThreadLog → (ThreadKeys, writer | reader) → RocksStore.
 */
export class ThreadLog {
  readonly reader: ThreadReader;
  readonly #keys: ThreadKeys;
  readonly #writer: GroupCommitWriter<CommittedEvent>;
  readonly #listeners = new Set<CommitListener>();

  constructor(store: RocksStore, keys: ThreadKeys, options: ThreadLogOptions) {
    this.#keys = keys;
    this.reader = new ThreadReader(store, keys);
    this.#writer = new GroupCommitWriter<CommittedEvent>(store, {
      sync: options.durability === 'sync',
      maxGroupCommands: options.maxGroupCommands,
      onCommit: (events, info) => {
        for (const listener of this.#listeners) listener(events, info);
      },
    });
  }

  /** The last committed global position. */
  get position(): bigint {
    return this.#writer.position;
  }

  /** Figures of the most recent group commit. */
  get lastCommit(): GroupCommitInfo | undefined {
    return this.#writer.lastCommit;
  }

  /** Subscribes to committed events; returns the unsubscribe function. */
  onCommit(listener: CommitListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Runs a maintenance job (purges, key rotation) through the single writer, in order with the rest. */
  runJob<T>(job: WriteJob<T, CommittedEvent>): Promise<T> {
    return this.#writer.submit(job);
  }

  /** Runs a content-bearing write with its thread's keys gathered first. */
  async #withKeys<T>(threadId: string, write: (jobKey: JobKey) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const gathered = await this.#keys.forWrite(threadId);
      let committed = false;
      try {
        const jobKey = Object.assign(
          (tx: Parameters<JobKey>[0], number: bigint) => this.#keys.inJob(tx, number, gathered),
          { sealTitles: this.#keys.sealTitles },
        );
        const result = await write(jobKey);
        committed = true;
        return result;
      } catch (error) {
        if (!(error instanceof StaleKeysError) || attempt >= KEY_ATTEMPTS) throw error;
      } finally {
        gathered.release(committed);
      }
    }
  }

  /** Opens what a job returned sealed (jobs that did not need the thread's key). */
  async #opened<T>(
    threadId: string,
    value: T,
    open: (value: T, key: Parameters<typeof openThread>[1]) => T,
  ): Promise<T> {
    const number = this.reader.threadNumber(threadId);
    if (number === undefined) return value;
    const hold = await this.#keys.hold(number, threadId);
    try {
      return open(value, hold.key);
    } finally {
      hold.release();
    }
  }

  /** Creates a thread (and its data key, in the same write). @throws THREAD_EXISTS */
  createThread(
    actor: Actor,
    input: Parameters<typeof commands.createThread>[2],
  ): Promise<ThreadRecord> {
    return this.#withKeys(input.threadId, (jobKey) =>
      this.runJob((tx) => commands.createThread(tx, actor, input, jobKey)),
    );
  }

  /** Appends messages, all or nothing. @throws THREAD_NOT_FOUND, THREAD_DELETED, REVISION_CONFLICT, MESSAGE_EXISTS */
  appendMessages(
    actor: Actor,
    input: {
      threadId: string;
      messages: readonly NewMessage[];
      expected: ExpectedRevision;
      createThread: boolean;
      requestId: string;
      batch: boolean;
    },
  ): Promise<AppendResult> {
    return this.#withKeys(input.threadId, (jobKey) =>
      this.runJob((tx) => commands.appendMessages(tx, actor, input, jobKey)),
    );
  }

  /** Edits or deletes a message. @throws MESSAGE_NOT_FOUND, MESSAGE_DELETED, REVISION_CONFLICT */
  changeMessage(
    actor: Actor,
    input: Parameters<typeof commands.changeMessage>[2],
  ): Promise<MessageViewRecord> {
    return this.#withKeys(input.threadId, (jobKey) =>
      this.runJob((tx) => commands.changeMessage(tx, actor, input, jobKey)),
    );
  }

  /** Adds or removes the actor's reaction. @throws MESSAGE_NOT_FOUND, MESSAGE_DELETED */
  async react(
    actor: Actor,
    input: Parameters<typeof commands.react>[2],
  ): Promise<MessageViewRecord> {
    const view = await this.runJob((tx) => commands.react(tx, actor, input));
    return this.#opened(input.threadId, view, (value, key) => openView(input.threadId, value, key));
  }

  /** Updates, deletes, or changes the members of a thread. @throws THREAD_NOT_FOUND, THREAD_DELETED, REVISION_CONFLICT */
  async changeThread(
    actor: Actor,
    input: Parameters<typeof commands.changeThread>[2],
  ): Promise<ThreadRecord> {
    const record =
      input.change.kind === 'update'
        ? await this.#withKeys(input.threadId, (jobKey) =>
            this.runJob((tx) => commands.changeThread(tx, actor, input, jobKey)),
          )
        : await this.runJob((tx) => commands.changeThread(tx, actor, input));
    return this.#opened(input.threadId, record, openThread);
  }

  /** Stops taking commands and commits those already queued. */
  close(): Promise<void> {
    return this.#writer.close();
  }
}
