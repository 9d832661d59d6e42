import { Family, type FamilyName } from './column-families.js';
import { IndexPrefix } from './keys.js';
import type { BatchOp } from './rocks-store.js';

/**
 * The rows every write reads again: a thread's record, the thread id → number index, the wrapped
 * data key, and the exact totals. Small, one per thread (or a handful in all), and read by every
 * command on the thread, each a native point read otherwise.
 */
export function isHotRow(family: FamilyName, key: Buffer): boolean {
  switch (family) {
    case Family.threads:
    case Family.keys:
      return true;
    case Family.indexes:
      return key[0] === IndexPrefix.threadId || key[0] === IndexPrefix.counter;
    default:
      return false;
  }
}

/**
 * A bounded, write-through cache of committed rows (and of their absence), least recently used
 * out first. It is filled by point reads and updated with every batch once the batch is written,
 * so it never holds a value RocksDB does not: a read racing a commit caches the value from before
 * or after it, and the commit's update comes after both. Values are shared with the callers, who
 * must not modify them (nothing does: rows are decoded, never written into).
 */
export class RowCache {
  readonly #max: number;
  readonly #maxBytes: number;
  readonly #rows = new Map<string, Buffer | null>();
  #bytes = 0;

  constructor(maxRows: number, maxBytes = 16 * 1024 * 1024) {
    this.#max = maxRows;
    this.#maxBytes = maxBytes;
  }

  /** The cached row: a value, null when known absent, undefined when not cached. */
  get(family: FamilyName, key: Buffer): Buffer | null | undefined {
    if (!isHotRow(family, key)) return undefined;
    const id = rowId(family, key);
    const value = this.#rows.get(id);
    if (value !== undefined) {
      this.#rows.delete(id);
      this.#rows.set(id, value);
    }
    return value;
  }

  /** Remembers what a point read found (undefined: absent). */
  remember(family: FamilyName, key: Buffer, value: Buffer | undefined): void {
    if (isHotRow(family, key)) this.#set(rowId(family, key), value ?? null);
  }

  /** Applies a batch that is now written. */
  apply(ops: readonly BatchOp[]): void {
    for (const op of ops) {
      if (!isHotRow(op.family, op.key)) continue;
      const id = rowId(op.family, op.key);
      // Only rows read since are worth keeping: a write alone does not make a row hot.
      if (!this.#rows.has(id)) continue;
      this.#set(id, op.type === 'put' ? op.value : null);
    }
  }

  /** Forgets everything (after writes that did not go through `apply`). */
  clear(): void {
    this.#rows.clear();
    this.#bytes = 0;
  }

  /** How many rows are cached. */
  get size(): number {
    return this.#rows.size;
  }

  #set(id: string, value: Buffer | null): void {
    this.#delete(id);
    this.#rows.set(id, value);
    this.#bytes += value?.length ?? 0;
    while (this.#rows.size > this.#max || this.#bytes > this.#maxBytes) {
      const oldest = this.#rows.keys().next().value;
      if (oldest === undefined) break;
      this.#delete(oldest);
    }
  }

  #delete(id: string): void {
    const value = this.#rows.get(id);
    if (value === undefined) return;
    this.#bytes -= value?.length ?? 0;
    this.#rows.delete(id);
  }
}

function rowId(family: FamilyName, key: Buffer): string {
  return `${family}:${key.toString('latin1')}`;
}
