import { Worker } from 'node:worker_threads';
import { packBatch } from './batch-packing.js';
import type { BatchOp } from './rocks-store.js';

/** What the commit thread gets at start: the database's native handle and the shared signal. */
export interface CommitThreadData {
  handle: bigint;
  /** BigInt64Array over shared memory: [id of the last successful write + 1, its µs]. */
  signal: SharedArrayBuffer;
}

/** A batch for the commit thread. */
export interface CommitRequest {
  id: number;
  sync: boolean;
  packed: ArrayBuffer;
}

/** The commit thread's answer: how long the write took, or why it failed (`id` -1: ready). */
export type CommitReply =
  { id: number; writeMicros: number; error?: undefined } | { id: number; error: string };

interface Pending {
  resolve: (micros: number) => void;
  reject: (error: Error) => void;
}

/**
 * Starts the commit thread. Run from TypeScript sources (tsx), a worker does not inherit the
 * main thread's loader on Node 20, so a one-line bootstrap registers tsx before importing it.
 */
function startCommitThread(workerData: CommitThreadData): Worker {
  if (!import.meta.url.endsWith('.ts')) {
    return new Worker(new URL('./commit-thread.js', import.meta.url), { workerData });
  }
  const loader = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const entry = JSON.stringify(new URL('./commit-thread.ts', import.meta.url).href);
  const bootstrap = `import(${loader}).then(({ register }) => { register(); return import(${entry}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}

/**
 * Writes batches on a worker thread that shares the database, in submission order, so the event
 * loop keeps serving calls while a group is written and fsynced. Completion is signalled twice:
 * through shared memory, which `poll()` reads without waiting for the event loop to get round to
 * the worker's message (under load that wait costs milliseconds), and by that message, for idle
 * times and errors.
 * Data flow: group-commit writer → CommitWorker → (packed batch) → commit thread → RocksDB WAL.
 */
export class CommitWorker {
  readonly #worker: Worker;
  readonly #ready: Promise<void>;
  readonly #signal = new BigInt64Array(new SharedArrayBuffer(16));
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;

  constructor(handle: bigint) {
    this.#worker = startCommitThread({ handle, signal: this.#signal.buffer });
    this.#ready = new Promise((resolve, reject) => {
      this.#worker.on('message', (reply: CommitReply) => {
        if (reply.id === -1) {
          this.#worker.unref();
          resolve();
        } else if (reply.error !== undefined) {
          this.#settle(reply.id)?.reject(new Error(`commit failed: ${reply.error}`));
        } else {
          this.poll();
        }
      });
      const fail = (error: Error): void => {
        reject(error);
        for (const pending of this.#pending.values()) pending.reject(error);
        this.#pending.clear();
      };
      this.#worker.once('error', fail);
      this.#worker.once('exit', (code) => fail(new Error(`the commit thread exited (${code})`)));
    });
  }

  /** Resolves once the commit thread has the database open. */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** Writes `ops` as one atomic batch (fsynced with `sync`); resolves with the write's duration in µs. */
  async write(ops: readonly BatchOp[], sync: boolean): Promise<number> {
    await this.#ready;
    const id = this.#nextId++;
    const packed = packBatch(ops);
    return new Promise<number>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.ref();
      this.#worker.postMessage({ id, sync, packed } satisfies CommitRequest, [packed]);
    });
  }

  /** Resolves the writes the commit thread has finished, without waiting for its message. */
  poll(): void {
    if (this.#pending.size === 0) return;
    const done = Number(Atomics.load(this.#signal, 0)) - 1;
    const micros = Number(Atomics.load(this.#signal, 1));
    for (const id of this.#pending.keys()) {
      if (id > done) break;
      this.#settle(id)?.resolve(micros);
    }
  }

  #settle(id: number): Pending | undefined {
    const pending = this.#pending.get(id);
    this.#pending.delete(id);
    // Only writes in flight keep the process alive, not an idle commit thread.
    if (this.#pending.size === 0) this.#worker.unref();
    return pending;
  }

  /** Stops the thread; call once every write has been answered. */
  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}
