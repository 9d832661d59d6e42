import { inspect } from 'node:util';
import { attributeSets, Attr, observe } from '../telemetry/index.js';
import type { DataKey } from './key-provider.js';

/** Lookups of every cache in the process, as plain counts; reported when metrics are scraped. */
const lookups = { hit: 0, miss: 0 };
const LOOKUP = attributeSets(Attr.cacheResult, ['hit', 'miss']);
observe('keyCacheLookups', (result) => {
  result.observe(lookups.hit, LOOKUP.hit);
  result.observe(lookups.miss, LOOKUP.miss);
});

/** Options of `DataKeyCache`. */
export interface DataKeyCacheOptions {
  /** Most keys held; the least recently used goes first. At least 1. */
  readonly maxEntries: number;
  /** How long a key stays after it was unwrapped, used or not, in milliseconds. */
  readonly ttlMs: number;
  /** The clock, in milliseconds; tests inject one. Default: `Date.now`. */
  readonly now?: () => number;
}

/**
 * A key held for as long as it is needed: it stays valid (not zeroed) until `release`, even when the
 * cache evicts it meanwhile. Release it once; later calls do nothing.
 */
export interface DataKeyLease {
  readonly key: DataKey;
  release(): void;
}

interface Entry {
  key: DataKey;
  expiresAt: number;
  leases: number;
  cached: boolean;
}

/** A load in flight, and how many callers wait for it. */
interface Loading {
  readonly entry: Promise<Entry>;
  waiters: number;
}

/**
 * The unwrapped data keys of recently used threads, so steady-state reads and writes make no KMS call:
 * a bounded LRU with a TTL, whose evicted keys are zeroed (`fill(0)`) as soon as no lease holds them.
 * `delete` is the first step of crypto-shredding a thread.
 *
 * Data flow: `log ⇄ DataKeyCache ⇄ KeyProvider`.
 */
export class DataKeyCache {
  readonly #maxEntries: number;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  readonly #loading = new Map<string, Loading>();

  /** @throws Error when `maxEntries` is below 1 or `ttlMs` is not positive. */
  constructor(options: DataKeyCacheOptions) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) {
      throw new Error(`maxEntries must be an integer ≥ 1, not ${options.maxEntries}`);
    }
    if (!(options.ttlMs > 0)) throw new Error(`ttlMs must be > 0, not ${options.ttlMs}`);
    this.#maxEntries = options.maxEntries;
    this.#ttlMs = options.ttlMs;
    this.#now = options.now ?? Date.now;
  }

  /** How many keys are cached (expired ones included until touched). */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * The thread's key, if cached and fresh; marks it recently used. The key is valid only until the
   * cache evicts it: use it synchronously, or `acquire` a lease to hold it across an `await`.
   */
  get(threadId: string): DataKey | undefined {
    const key = this.#fresh(threadId)?.key;
    if (key === undefined) lookups.miss++;
    else lookups.hit++;
    return key;
  }

  /**
   * Caches a thread's key, taking ownership of `key.bytes` (zeroed on eviction). Replaces (and zeroes)
   * a previous key of the thread, and cancels the caching of a load in flight for it.
   */
  set(threadId: string, key: DataKey): void {
    this.#loading.delete(threadId);
    this.#insert(threadId, key);
  }

  /**
   * A lease on the thread's key: the cached one, or else the one `load` returns (cached on the way).
   * Concurrent calls for a thread share one `load`, so N cold reads make one KMS call.
   * @throws whatever `load` throws (then nothing is cached).
   */
  acquire(threadId: string, load: () => Promise<DataKey>): Promise<DataKeyLease> {
    const entry = this.#fresh(threadId);
    if (entry !== undefined) {
      lookups.hit++;
      entry.leases++;
      return Promise.resolve(this.#lease(entry));
    }
    lookups.miss++;
    let loading = this.#loading.get(threadId);
    if (loading === undefined) {
      const started: Loading = {
        waiters: 0,
        entry: new Promise<DataKey>((resolve) => resolve(load())).then(
          (key) => {
            const current = this.#loading.get(threadId) === started;
            if (current) this.#loading.delete(threadId);
            // Deleted or replaced while loading: hand the key out, but do not cache it.
            const loaded = current
              ? this.#insert(threadId, key)
              : { key, expiresAt: 0, leases: 0, cached: false };
            // Every waiter's lease is taken here, before anything else can evict the key.
            loaded.leases += started.waiters;
            return loaded;
          },
          (err: unknown) => {
            if (this.#loading.get(threadId) === started) this.#loading.delete(threadId);
            throw err;
          },
        ),
      };
      this.#loading.set(threadId, started);
      loading = started;
    }
    loading.waiters++;
    return loading.entry.then((loaded) => this.#lease(loaded));
  }

  /**
   * Removes (and zeroes, once unleased) a thread's key, and stops a load in flight from caching it:
   * crypto-shredding starts here.
   * @returns whether a key was cached.
   */
  delete(threadId: string): boolean {
    this.#loading.delete(threadId);
    const entry = this.#entries.get(threadId);
    if (entry === undefined) return false;
    this.#evict(threadId, entry);
    return true;
  }

  /** Removes (and zeroes, once unleased) every key. */
  clear(): void {
    this.#loading.clear();
    for (const [threadId, entry] of this.#entries) this.#evict(threadId, entry);
  }

  /** Shows the size only, never keys. */
  [inspect.custom](): string {
    return `DataKeyCache { size: ${this.size}, maxEntries: ${this.#maxEntries} }`;
  }

  /** Serialises as the size only. */
  toJSON(): { size: number; maxEntries: number; ttlMs: number } {
    return { size: this.size, maxEntries: this.#maxEntries, ttlMs: this.#ttlMs };
  }

  #fresh(threadId: string): Entry | undefined {
    const entry = this.#entries.get(threadId);
    if (entry === undefined) return undefined;
    if (this.#now() >= entry.expiresAt) {
      this.#evict(threadId, entry);
      return undefined;
    }
    this.#entries.delete(threadId);
    this.#entries.set(threadId, entry);
    return entry;
  }

  #insert(threadId: string, key: DataKey): Entry {
    const expiresAt = this.#now() + this.#ttlMs;
    const previous = this.#entries.get(threadId);
    if (previous !== undefined) {
      this.#entries.delete(threadId);
      if (previous.key.bytes === key.bytes) {
        // The same buffer again: refresh it rather than zero what is still in use.
        previous.key = key;
        previous.expiresAt = expiresAt;
        this.#entries.set(threadId, previous);
        return previous;
      }
      this.#evict(threadId, previous);
    }
    const entry: Entry = { key, expiresAt, leases: 0, cached: true };
    this.#entries.set(threadId, entry);
    for (const [oldest, old] of this.#entries) {
      if (this.#entries.size <= this.#maxEntries) break;
      this.#evict(oldest, old);
    }
    return entry;
  }

  #evict(threadId: string, entry: Entry): void {
    if (this.#entries.get(threadId) === entry) this.#entries.delete(threadId);
    const wasCached = entry.cached;
    entry.cached = false;
    if (wasCached && entry.leases === 0) entry.key.bytes.fill(0);
  }

  /** A lease on `entry`, whose `leases` count already includes it. */
  #lease(entry: Entry): DataKeyLease {
    let released = false;
    return {
      key: entry.key,
      release: () => {
        if (released) return;
        released = true;
        entry.leases--;
        if (!entry.cached && entry.leases === 0) entry.key.bytes.fill(0);
      },
    };
  }
}
