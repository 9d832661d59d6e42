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
  /** A fresh key for a thread about to be created (or first sealed), with its record. */
  readonly fresh: { key: DataKey; record: ThreadKeyRecord } | undefined;
  /** Set by the job when it stored `fresh`. */
  usedFresh: boolean;
  release(): void;
}

/** The thread has no stored data key (yet). */
class NoStoredKey extends Error {}

interface SharedFresh {
  key: Promise<{ key: DataKey; record: ThreadKeyRecord }>;
  holders: number;
  used: boolean;
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
    const lease = await this.#lease(threadId, record);
    return { key: lease.key, release: () => lease.release() };
  }

  /** Gathers what a write to `threadId` needs. @throws KMS_UNAVAILABLE, DECRYPT_FAILED */
  async forWrite(threadId: string): Promise<WriteKeys> {
    let lease: DataKeyLease | undefined;
    let shared: SharedFresh | undefined;
    try {
      // A cached key needs no read at all; a miss reads the thread's key record and unwraps it.
      lease = await this.#cache.acquire(threadId, () => this.#loadStored(threadId));
    } catch (error) {
      if (!(error instanceof NoStoredKey)) throw error;
      if (this.sealing) shared = this.#shareFresh(threadId);
    }
    const fresh = shared ? await shared.key : undefined;
    const write: WriteKeys = {
      existing: lease?.key,
      fresh,
      usedFresh: false,
      release: () => {
        lease?.release();
        if (!shared) return;
        shared.used ||= write.usedFresh;
        if (--shared.holders > 0) return;
        this.#fresh.delete(threadId);
        // A stored fresh key joins the cache, which owns it from then on; an unused one is wiped.
        if (!fresh) return;
        if (shared.used) this.#cache.set(threadId, fresh.key);
        else fresh.key.bytes.fill(0);
      },
    };
    return write;
  }

  async #loadStored(threadId: string): Promise<DataKey> {
    const numberBytes = this.#store.get(Family.indexes, keys.threadIdIndexKey(threadId));
    const record = numberBytes ? this.record(this.#store, keys.readU64(numberBytes)) : undefined;
    if (!record) throw new NoStoredKey();
    return this.#unwrap(threadId, record);
  }

  #shareFresh(threadId: string): SharedFresh {
    let shared = this.#fresh.get(threadId);
    if (!shared) {
      const key = this.#generate(threadId);
      shared = { key, holders: 0, used: false };
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
    // A thread's key is never replaced (only purged with the thread, whose id goes first).
    if (write.existing) return write.existing;
    const stored = this.record(tx, number);
    if (stored) {
      // Stored by a concurrent writer of the same new thread, with the fresh key this job shares.
      if (
        write.fresh &&
        Buffer.from(stored.wrapped).equals(Buffer.from(write.fresh.record.wrapped))
      ) {
        write.usedFresh = true;
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
    write.usedFresh = true;
    return write.fresh.key;
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

  #lease(threadId: string, record: ThreadKeyRecord): Promise<DataKeyLease> {
    return this.#cache.acquire(threadId, () => this.#unwrap(threadId, record));
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
      this.#cache.set(threadId, fresh.key);
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

  /** Forgets a thread's unwrapped key (crypto-shredding, purges). */
  forget(threadId: string): void {
    this.#cache.delete(threadId);
  }
}
