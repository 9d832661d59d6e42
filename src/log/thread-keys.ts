import {
  CryptoError,
  DecryptFailedError,
  KeyAccessError,
  type DataKey,
  type DataKeyCache,
  type DataKeyLease,
  type KeyProvider,
} from '../crypto/index.js';
import { ThreadKeyRecord } from '../gen/progressdb/storage/v1/records.js';
import { Family, keys, type RocksStore, type StoreReader } from '../storage/index.js';
import { decryptFailed, kmsUnavailable } from './errors.js';

/** The id sealed records give their thread's data key (one data key per thread). */
const DATA_KEY_ID = 'dk1';
const ALGORITHM = 'AES-256-GCM';

/** A thread's data key held for the length of an operation. */
export interface KeyHold {
  readonly key: DataKey | undefined;
  release(): void;
}

/** The keys a write to one thread may need, gathered before the write job runs. */
export interface WriteKeys {
  /** The thread's stored key, unwrapped, when it has one. */
  readonly existing: DataKey | undefined;
  /** The internal number of the thread `existing` belongs to. */
  readonly number: bigint | undefined;
  /** A fresh key for a thread about to be created (or first sealed), with its record. */
  readonly fresh: { key: DataKey; record: ThreadKeyRecord } | undefined;
  /** Set by the job when it stored (or found stored) `fresh`: the thread number it belongs to. */
  freshNumber: bigint | undefined;
  /** Lets the keys go; `committed` says whether the write that used them is durable. */
  release(committed: boolean): void;
}

/** The cache holds keys by thread number: a purged thread's id may name a new thread later. */
function cacheId(number: bigint): string {
  return number.toString();
}

/** The thread has no stored data key (yet). */
class NoStoredKey extends Error {}

interface SharedFresh {
  key: Promise<{ key: DataKey; record: ThreadKeyRecord }>;
  holders: number;
  used: boolean;
  /** The thread number the key was stored for. */
  number: bigint | undefined;
}

/** Thrown in a write job whose thread got a key after the job's keys were gathered: gather again. */
export class StaleKeysError extends Error {
  constructor() {
    super('the thread has a data key this job does not hold');
    this.name = 'StaleKeysError';
  }
}

/**
 * Envelope encryption's data keys: one per thread, wrapped by the key provider and stored in
 * `keys` beside the thread; unwrapped keys live in a bounded cache, so steady-state reads and
 * writes make no KMS call. Jobs get their key synchronously from what was gathered before them.
 * Data flow: ThreadLog/ThreadReader → ThreadKeys → DataKeyCache → KeyProvider (local file | KMS).
 */
export class ThreadKeys {
  readonly #store: RocksStore;
  readonly #provider: KeyProvider;
  readonly #cache: DataKeyCache;
  readonly #onConfigurationError: ((error: Error) => void) | undefined;
  /** Fresh keys being handed out for threads that have none yet: concurrent writers share one. */
  readonly #fresh = new Map<string, SharedFresh>();
  /** Seal new content (off: new content is stored in the clear; sealed content still opens). */
  readonly sealing: boolean;
  /** Seal thread titles too. */
  readonly sealTitles: boolean;

  constructor(
    store: RocksStore,
    options: {
      provider: KeyProvider;
      cache: DataKeyCache;
      sealing: boolean;
      sealTitles?: boolean;
      /** Told of key-provider refusals (access denied, unknown key): configuration problems. */
      onConfigurationError?: (error: Error) => void;
    },
  ) {
    this.#onConfigurationError = options.onConfigurationError;
    this.#store = store;
    this.#provider = options.provider;
    this.#cache = options.cache;
    this.sealing = options.sealing;
    this.sealTitles = options.sealing && (options.sealTitles ?? false);
  }

  /** The key record of thread `number`, if it has one. */
  record(reader: StoreReader, number: bigint): ThreadKeyRecord | undefined {
    const bytes = reader.get(Family.keys, keys.threadKey(number));
    return bytes ? ThreadKeyRecord.decode(bytes) : undefined;
  }

  /** Holds thread `number`'s data key (undefined when it has none). @throws KMS_UNAVAILABLE, DECRYPT_FAILED */
  async hold(number: bigint, threadId: string): Promise<KeyHold> {
    const record = this.record(this.#store, number);
    if (!record) return { key: undefined, release: () => undefined };
    const lease = await this.#cache.acquire(cacheId(number), () => this.#unwrap(threadId, record));
    return { key: lease.key, release: () => lease.release() };
  }

  /** Gathers what a write to `threadId` needs. @throws KMS_UNAVAILABLE, DECRYPT_FAILED */
  async forWrite(threadId: string): Promise<WriteKeys> {
    const numberBytes = this.#store.get(Family.indexes, keys.threadIdIndexKey(threadId));
    const number = numberBytes ? keys.readU64(numberBytes) : undefined;
    let lease: DataKeyLease | undefined;
    let shared: SharedFresh | undefined;
    if (number !== undefined) {
      try {
        // Keys are cached by thread number: a cached key needs no further read.
        lease = await this.#cache.acquire(cacheId(number), () =>
          this.#loadStored(number, threadId),
        );
      } catch (error) {
        if (!(error instanceof NoStoredKey)) throw error;
      }
    }
    if (!lease && this.sealing) shared = this.#shareFresh(threadId);
    const fresh = shared ? await shared.key : undefined;
    const write: WriteKeys = {
      existing: lease?.key,
      number: lease ? number : undefined,
      fresh,
      freshNumber: undefined,
      release: (committed) => {
        lease?.release();
        if (!shared) return;
        // Only a durable write makes the fresh key the thread's: a failed commit stored nothing.
        if (committed && write.freshNumber !== undefined) {
          shared.used = true;
          shared.number = write.freshNumber;
        }
        if (--shared.holders > 0) return;
        this.#fresh.delete(threadId);
        if (!fresh) return;
        // A stored fresh key joins the cache (which owns it from then on) under the number it was
        // stored for; an unused one is wiped.
        if (shared.used && shared.number !== undefined) {
          this.#cache.set(cacheId(shared.number), fresh.key);
        } else {
          fresh.key.bytes.fill(0);
        }
      },
    };
    return write;
  }

  async #loadStored(number: bigint, threadId: string): Promise<DataKey> {
    const record = this.record(this.#store, number);
    if (!record) throw new NoStoredKey();
    return this.#unwrap(threadId, record);
  }

  #shareFresh(threadId: string): SharedFresh {
    let shared = this.#fresh.get(threadId);
    if (!shared) {
      const key = this.#generate(threadId);
      shared = { key, holders: 0, used: false, number: undefined };
      this.#fresh.set(threadId, shared);
      // A failed generation is reported to every holder; the next writer tries again.
      key.catch(() => this.#fresh.delete(threadId));
    }
    shared.holders++;
    return shared;
  }

  /**
   * Inside a write job: the key to seal (and open) thread `number`'s records with, storing the fresh
   * key in the same batch when the thread gets its key now.
   * @throws StaleKeysError when the thread has a key the job does not hold
   */
  inJob(
    tx: StoreReader & { put(family: 'keys', key: Buffer, value: Buffer): void },
    number: bigint,
    write: WriteKeys,
  ): DataKey | undefined {
    // The key gathered for this very thread number: a thread's key is never replaced.
    if (write.existing && write.number === number) return write.existing;
    const stored = this.record(tx, number);
    if (stored) {
      // Stored by a concurrent writer of the same new thread, with the fresh key this job shares.
      if (
        write.fresh &&
        Buffer.from(stored.wrapped).equals(Buffer.from(write.fresh.record.wrapped))
      ) {
        this.#markFresh(write, number);
        return write.fresh.key;
      }
      throw new StaleKeysError();
    }
    if (!this.sealing) return undefined;
    if (!write.fresh) throw new StaleKeysError();
    tx.put(
      Family.keys,
      keys.threadKey(number),
      Buffer.from(ThreadKeyRecord.encode(write.fresh.record).finish()),
    );
    this.#markFresh(write, number);
    return write.fresh.key;
  }

  #markFresh(write: WriteKeys, number: bigint): void {
    write.freshNumber = number;
  }

  async #generate(threadId: string): Promise<{ key: DataKey; record: ThreadKeyRecord }> {
    const generated = await this.#kms(() => this.#provider.generateDataKey({ threadId }), threadId);
    return {
      key: { id: DATA_KEY_ID, bytes: generated.plaintext },
      record: {
        wrapped: generated.wrapped,
        kmsKeyId: generated.keyId,
        provider: this.#provider.kind,
        algorithm: ALGORITHM,
        dataKeyId: DATA_KEY_ID,
      },
    };
  }

  async #unwrap(threadId: string, record: ThreadKeyRecord): Promise<DataKey> {
    return {
      id: record.dataKeyId,
      bytes: await this.#kms(
        () => this.#provider.decryptDataKey(Buffer.from(record.wrapped), { threadId }),
        threadId,
      ),
    };
  }

  async #kms<T>(call: () => Promise<T>, threadId: string): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof DecryptFailedError) throw decryptFailed(threadId);
      if (error instanceof KeyAccessError) {
        this.#onConfigurationError?.(error);
        throw kmsUnavailable('the key provider refused access to the key; see the server log');
      }
      if (error instanceof CryptoError) throw kmsUnavailable('it did not answer in time');
      throw error;
    }
  }

  /**
   * Holds thread `number`'s data key, giving the thread one first if it has none (for sealing what
   * was written while encryption was off).
   */
  async holdOrCreate(
    number: bigint,
    threadId: string,
    store: (record: ThreadKeyRecord) => Promise<boolean>,
  ): Promise<KeyHold> {
    const existing = await this.hold(number, threadId);
    if (existing.key) return existing;
    const fresh = await this.#generate(threadId);
    if (await store(fresh.record)) {
      this.#cache.set(cacheId(number), fresh.key);
    } else {
      fresh.key.bytes.fill(0);
    }
    return this.hold(number, threadId);
  }

  /** A thread's key record re-wrapped under `toKeyId` (default: the current key), encoded. */
  async rewrap(record: ThreadKeyRecord, threadId: string, toKeyId?: string): Promise<Buffer> {
    const rewrapped = await this.#kms(
      () => this.#provider.rewrap(Buffer.from(record.wrapped), { threadId }, toKeyId),
      threadId,
    );
    return Buffer.from(
      ThreadKeyRecord.encode({
        ...record,
        wrapped: rewrapped.wrapped,
        kmsKeyId: rewrapped.keyId,
      }).finish(),
    );
  }

  /** Forgets thread `number`'s unwrapped key (crypto-shredding, purges). */
  forget(number: bigint): void {
    this.#cache.delete(cacheId(number));
  }
}
