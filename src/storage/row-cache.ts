import { Family, type FamilyName } from './column-families.js';
import { IndexPrefix } from './keys.js';
import { LruCache } from './lru-cache.js';
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
  readonly #rows: LruCache<Buffer | null>;

  constructor(maxRows: number, maxBytes = 16 * 1024 * 1024) {
    this.#rows = new LruCache({
      maxEntries: maxRows,
      maxBytes,
      sizeOf: (value) => value?.length ?? 0,
    });
  }

  /** The cached row: a value, null when known absent, undefined when not cached. */
  get(family: FamilyName, key: Buffer): Buffer | null | undefined {
    return isHotRow(family, key) ? this.#rows.get(rowId(family, key)) : undefined;
  }

  /** Remembers what a point read found (undefined: absent). */
  remember(family: FamilyName, key: Buffer, value: Buffer | undefined): void {
    if (isHotRow(family, key)) this.#rows.set(rowId(family, key), value ? unpooled(value) : null);
  }

  /** Applies a batch that is now written. */
  apply(ops: readonly BatchOp[]): void {
    for (const op of ops) {
      if (!isHotRow(op.family, op.key)) continue;
      const id = rowId(op.family, op.key);
      // Only rows read since are worth keeping: a write alone does not make a row hot.
      if (this.#rows.has(id)) this.#rows.set(id, op.type === 'put' ? unpooled(op.value) : null);
    }
  }

  /** Forgets everything (after writes that did not go through `apply`). */
  clear(): void {
    this.#rows.clear();
  }

  /** How many rows are cached. */
  get size(): number {
    return this.#rows.size;
  }
}

/**
 * `value`, or a copy in memory of its own when it is a slice of a larger buffer (Node's shared
 * pool): a cached slice would keep the whole slab alive.
 */
function unpooled(value: Buffer): Buffer {
  if (value.byteLength === value.buffer.byteLength) return value;
  const copy = Buffer.allocUnsafeSlow(value.byteLength);
  value.copy(copy);
  return copy;
}

function rowId(family: FamilyName, key: Buffer): string {
  return `${family}:${key.toString('latin1')}`;
}
