interface Slot<V> {
  value: V;
  /** When the entry last moved to the back: its place in the order of use. */
  tick: number;
}

/**
 * A map bounded by entry count and by a byte budget (each entry's bytes as `sizeOf` says), least
 * recently used out first. The caches of the store and the log are built on it.
 *
 * The order of use is the map's insertion order. Moving an entry to the back costs a delete and an
 * insert, so a hit moves it only once it has drifted into the older half of the entries: under the
 * entry bound, one used at least once per half-turn of the cache is as safe from eviction as under
 * strict LRU, and a hot page of 50 hits no longer reorders the map 50 times. Under the byte bound
 * the order is only approximate: a large insert can evict an entry hit since its last move.
 */
export class LruCache<V> {
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #sizeOf: (value: V) => number;
  readonly #entries = new Map<string, Slot<V>>();
  #bytes = 0;
  #tick = 0;

  constructor(options: { maxEntries: number; maxBytes: number; sizeOf: (value: V) => number }) {
    this.#maxEntries = options.maxEntries;
    this.#maxBytes = options.maxBytes;
    this.#sizeOf = options.sizeOf;
  }

  /** The value at `id`, now the most recently used; undefined when absent. */
  get(id: string): V | undefined {
    const slot = this.#entries.get(id);
    if (slot === undefined) return undefined;
    // At most `#tick - slot.tick` entries came after it, so below half the size it is in the newer half.
    if (this.#tick - slot.tick >= this.#entries.size / 2) {
      this.#entries.delete(id);
      slot.tick = ++this.#tick;
      this.#entries.set(id, slot);
    }
    return slot.value;
  }

  /** Whether `id` is cached (without using it). */
  has(id: string): boolean {
    return this.#entries.has(id);
  }

  /** Sets `id`, then drops the least recently used entries past either bound. */
  set(id: string, value: V): void {
    this.delete(id);
    this.#entries.set(id, { value, tick: ++this.#tick });
    this.#bytes += this.#sizeOf(value);
    while (this.#entries.size > this.#maxEntries || this.#bytes > this.#maxBytes) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.delete(oldest);
    }
  }

  /** Drops `id`. */
  delete(id: string): void {
    const slot = this.#entries.get(id);
    if (slot === undefined) return;
    this.#bytes -= this.#sizeOf(slot.value);
    this.#entries.delete(id);
  }

  /** Drops every entry whose id starts with `prefix`. */
  deletePrefix(prefix: string): void {
    for (const id of [...this.#entries.keys()]) if (id.startsWith(prefix)) this.delete(id);
  }

  /** How many entries have an id starting with `prefix`. */
  countPrefix(prefix: string): number {
    let count = 0;
    for (const id of this.#entries.keys()) if (id.startsWith(prefix)) count++;
    return count;
  }

  /** Drops everything. */
  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  /** How many entries are cached. */
  get size(): number {
    return this.#entries.size;
  }
}
