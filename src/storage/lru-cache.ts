/**
 * A map bounded by entry count and by a byte budget (each entry's bytes as `sizeOf` says), least
 * recently used out first. The caches of the store and the log are built on it.
 */
export class LruCache<V> {
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #sizeOf: (value: V) => number;
  readonly #entries = new Map<string, V>();
  #bytes = 0;

  constructor(options: { maxEntries: number; maxBytes: number; sizeOf: (value: V) => number }) {
    this.#maxEntries = options.maxEntries;
    this.#maxBytes = options.maxBytes;
    this.#sizeOf = options.sizeOf;
  }

  /** The value at `id`, now the most recently used; undefined when absent. */
  get(id: string): V | undefined {
    const value = this.#entries.get(id);
    if (value !== undefined) {
      this.#entries.delete(id);
      this.#entries.set(id, value);
    }
    return value;
  }

  /** Whether `id` is cached (without using it). */
  has(id: string): boolean {
    return this.#entries.has(id);
  }

  /** Sets `id`, then drops the least recently used entries past either bound. */
  set(id: string, value: V): void {
    this.delete(id);
    this.#entries.set(id, value);
    this.#bytes += this.#sizeOf(value);
    while (this.#entries.size > this.#maxEntries || this.#bytes > this.#maxBytes) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.delete(oldest);
    }
  }

  /** Drops `id`. */
  delete(id: string): void {
    const value = this.#entries.get(id);
    if (value === undefined) return;
    this.#bytes -= this.#sizeOf(value);
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
