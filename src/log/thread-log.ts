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
  NewMessage,
} from './commands.js';
import type { MessageViewRecord, ThreadRecord } from './record-codec.js';
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

/**
 * The domain facade: commands go through the single group-commit writer; reads go straight to the
 * store. Data flow: server → ThreadLog → (writer | reader) → RocksStore.
 */
export class ThreadLog {
  readonly reader: ThreadReader;
  readonly #writer: GroupCommitWriter<CommittedEvent>;
  readonly #listeners = new Set<CommitListener>();

  constructor(store: RocksStore, options: ThreadLogOptions) {
    this.reader = new ThreadReader(store);
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

  #run<T>(job: WriteJob<T, CommittedEvent>): Promise<T> {
    return this.#writer.submit(job);
  }

  /** Creates a thread. @throws THREAD_EXISTS */
  createThread(
    actor: Actor,
    input: Parameters<typeof commands.createThread>[2],
  ): Promise<ThreadRecord> {
    return this.#run((tx) => commands.createThread(tx, actor, input));
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
    return this.#run((tx) => commands.appendMessages(tx, actor, input));
  }

  /** Edits or deletes a message. @throws MESSAGE_NOT_FOUND, MESSAGE_DELETED, REVISION_CONFLICT */
  changeMessage(
    actor: Actor,
    input: Parameters<typeof commands.changeMessage>[2],
  ): Promise<MessageViewRecord> {
    return this.#run((tx) => commands.changeMessage(tx, actor, input));
  }

  /** Adds or removes the actor's reaction. @throws MESSAGE_NOT_FOUND, MESSAGE_DELETED */
  react(actor: Actor, input: Parameters<typeof commands.react>[2]): Promise<MessageViewRecord> {
    return this.#run((tx) => commands.react(tx, actor, input));
  }

  /** Updates, deletes, or changes the members of a thread. @throws THREAD_NOT_FOUND, THREAD_DELETED, REVISION_CONFLICT */
  changeThread(
    actor: Actor,
    input: Parameters<typeof commands.changeThread>[2],
  ): Promise<ThreadRecord> {
    return this.#run((tx) => commands.changeThread(tx, actor, input));
  }

  /** Stops taking commands and commits those already queued. */
  close(): Promise<void> {
    return this.#writer.close();
  }
}
