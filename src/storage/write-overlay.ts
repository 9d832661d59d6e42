import type { FamilyName } from './column-families.js';
import type { BatchOp, Row, ScanOptions } from './rocks-store.js';

/** Reads that see committed data. */
export interface StoreReader {
  get(family: FamilyName, key: Buffer): Buffer | undefined;
  scan(family: FamilyName, options: ScanOptions): Row[];
}

interface Pending {
  key: Buffer;
  value: Buffer | null;
}

/**
 * Uncommitted puts and deletes layered over a reader, which they shadow: the staging area of one
 * command (and of one group) in the group-commit writer. Later writes to a key replace earlier ones.
 */
export class WriteOverlay implements StoreReader {
  #base: StoreReader;
  readonly #families = new Map<FamilyName, Map<string, Pending>>();

  constructor(base: StoreReader) {
    this.#base = base;
  }

  /** Reads through `base` from now on: once the writes of the old base are in `base` too. */
  rebase(base: StoreReader): void {
    this.#base = base;
  }

  /** Stages a put. */
  put(family: FamilyName, key: Buffer, value: Buffer): void {
    this.#family(family).set(key.toString('latin1'), { key, value });
  }

  /** Stages a delete. */
  del(family: FamilyName, key: Buffer): void {
    this.#family(family).set(key.toString('latin1'), { key, value: null });
  }

  /** The staged value, else the base's. */
  get(family: FamilyName, key: Buffer): Buffer | undefined {
    const pending = this.#families.get(family)?.get(key.toString('latin1'));
    if (pending) return pending.value ?? undefined;
    return this.#base.get(family, key);
  }

  /** A range scan of the base merged with the staged writes. */
  scan(family: FamilyName, options: ScanOptions): Row[] {
    const staged = this.#families.get(family);
    if (!staged || staged.size === 0) return this.#base.scan(family, options);
    const inRange: Pending[] = [];
    for (const pending of staged.values()) {
      if (
        Buffer.compare(pending.key, options.gte) >= 0 &&
        Buffer.compare(pending.key, options.lt) < 0
      )
        inRange.push(pending);
    }
    if (inRange.length === 0) return this.#base.scan(family, options);
    const limit = options.limit ?? Infinity;
    // Shadowed base rows may be dropped below, so ask the base for enough to still fill the limit.
    const base = this.#base.scan(family, {
      ...options,
      limit: limit === Infinity ? Infinity : limit + inRange.length,
    });
    const merged = new Map<string, Row | null>();
    for (const row of base) merged.set(row.key.toString('latin1'), row);
    for (const pending of inRange) {
      merged.set(
        pending.key.toString('latin1'),
        pending.value ? { key: pending.key, value: pending.value } : null,
      );
    }
    const rows = [...merged.values()].filter((row): row is Row => row !== null);
    rows.sort((a, b) => Buffer.compare(a.key, b.key));
    if (options.reverse) rows.reverse();
    return rows.length > limit ? rows.slice(0, limit) : rows;
  }

  /** Moves every staged write of `child` into this overlay. */
  absorb(child: WriteOverlay): void {
    for (const [family, pending] of child.#families) {
      const target = this.#family(family);
      for (const [id, entry] of pending) target.set(id, entry);
    }
  }

  /** The staged writes as batch operations. */
  ops(): BatchOp[] {
    const ops: BatchOp[] = [];
    for (const [family, pending] of this.#families) {
      for (const { key, value } of pending.values()) {
        ops.push(value ? { type: 'put', family, key, value } : { type: 'del', family, key });
      }
    }
    return ops;
  }

  /** How many writes are staged. */
  get size(): number {
    let size = 0;
    for (const pending of this.#families.values()) size += pending.size;
    return size;
  }

  #family(family: FamilyName): Map<string, Pending> {
    let pending = this.#families.get(family);
    if (!pending) {
      pending = new Map();
      this.#families.set(family, pending);
    }
    return pending;
  }
}
