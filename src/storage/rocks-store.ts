import { RocksLevel, type ColumnHandle } from '@nxtedition/rocksdb';
import { attributeSets, Attr, SpanName, startChildSpan } from '../telemetry/index.js';
import { ALL_FAMILIES, Family, type FamilyName } from './column-families.js';
import { CommitWorker } from './commit-worker.js';
import { MetaKey } from './keys.js';
import { RowCache } from './row-cache.js';
import { StorageGauges, type FamilySize } from './storage-gauges.js';
import { checkStorageSchema } from './storage-schema.js';

const SCAN_ATTRIBUTES = attributeSets(Attr.family, ALL_FAMILIES);

/** One put or delete of a batch. */
export type BatchOp =
  | { type: 'put'; family: FamilyName; key: Buffer; value: Buffer }
  | { type: 'del'; family: FamilyName; key: Buffer };

/** A key range: `gte` ≤ key < `lt`. */
export interface KeyRange {
  gte: Buffer;
  lt: Buffer;
}

/** Options of a range scan. */
export interface ScanOptions extends KeyRange {
  reverse?: boolean;
  limit?: number;
}

/** A key and its value. */
export interface Row {
  key: Buffer;
  value: Buffer;
}

/** Runs a range read of `family` in a span (inside a traced request), with the rows it found. */
function traced<T extends readonly unknown[]>(family: FamilyName, read: () => T): T {
  const span = startChildSpan(SpanName.rocksScan, SCAN_ATTRIBUTES[family]);
  if (!span) return read();
  try {
    const rows = read();
    span.setAttribute(Attr.rows, rows.length);
    return rows;
  } finally {
    span.end();
  }
}

/** The families that grow with every message: their memtables dominate resident memory. */
const LARGE_FAMILIES: ReadonlySet<FamilyName> = new Set([
  Family.events,
  Family.versions,
  Family.tails,
  Family.indexes,
]);

/**
 * Memtables of the large families, bounded: RocksDB's defaults (64 MiB write buffers, two of them)
 * let four busy families hold ~500 MiB of memtables. A 32 MiB budget gives 8 MiB write buffers
 * flushed two at a time ("level" compaction of the binding, which also leaves L0 and L1
 * uncompressed and ZSTD-compresses deeper levels).
 */
const LARGE_FAMILY_OPTIONS = { compaction: 'level', memtableMemoryBudget: 32 * 1024 * 1024 };

/** The most rows of the hot-row cache (thread records, thread ids, data keys, totals). */
const HOT_ROWS = 20_000;

/**
 * RocksDB with ProgressDB's column families: synchronous point reads, range scans and atomic
 * cross-family batches. Data flow: log ⇄ group-commit writer ⇄ RocksStore ⇄ RocksDB.
 */
export class RocksStore {
  readonly #db: RocksLevel;
  readonly #columns: Record<FamilyName, ColumnHandle>;
  readonly #gauges: StorageGauges;
  readonly #hot = new RowCache(HOT_ROWS);
  #commits: CommitWorker | undefined;

  private constructor(db: RocksLevel, location: string) {
    this.#db = db;
    const columns = {} as Record<FamilyName, ColumnHandle>;
    for (const family of ALL_FAMILIES) {
      const handle = db.columns[family];
      if (!handle) throw new Error(`column family ${family} did not open`);
      columns[family] = handle;
    }
    this.#columns = columns;
    this.#gauges = new StorageGauges(location);
  }

  /**
   * Opens (creating if missing) the database at `location` with every column family. The families
   * that grow with every message get bounded memtables (see LARGE_FAMILY_OPTIONS). A new database
   * records its storage schema version; an existing one must have this code's.
   * @throws StorageSchemaError when the database has another storage schema.
   */
  static async open(location: string): Promise<RocksStore> {
    const db = new RocksLevel(location);
    const columns: Record<string, Record<string, unknown>> = {};
    for (const family of ALL_FAMILIES) {
      columns[family] = LARGE_FAMILIES.has(family) ? LARGE_FAMILY_OPTIONS : {};
    }
    // The WAL is fsynced per group: compressing it would only add CPU to every commit.
    await db.open({ createIfMissing: true, walCompression: false, columns });
    let store: RocksStore | undefined;
    try {
      store = new RocksStore(db, location);
      store.#checkSchema(location);
      return store;
    } catch (error) {
      // Close what opened, so that the folder's lock is free again; the first error is the one thrown.
      await (store ? store.close() : db.close()).catch(() => undefined);
      throw error;
    }
  }

  /** Records the storage schema in a new database; refuses another. @throws StorageSchemaError */
  #checkSchema(location: string): void {
    const meta = (key: Buffer) => this.get(Family.default, key);
    const holdsData =
      meta(MetaKey.lastPosition) !== undefined || meta(MetaKey.lastThreadNumber) !== undefined;
    const record = checkStorageSchema(location, meta(MetaKey.schemaVersion), holdsData);
    if (record) this.write([record], true);
  }

  /**
   * Bytes and estimated keys per column family, from the SST files' own properties (the binding
   * reads RocksDB properties of the default family only); unflushed data is counted nowhere.
   */
  familySizes(): FamilySize[] {
    return this.#gauges.familySizes();
  }

  /**
   * The value at `key`, or undefined. Rows every write reads (thread records, thread ids, data
   * keys, totals) come from a write-through cache; the buffer must not be modified.
   */
  get(family: FamilyName, key: Buffer): Buffer | undefined {
    const cached = this.#hot.get(family, key);
    if (cached !== undefined) return cached ?? undefined;
    const value = this.#db._getManySync([key], {
      column: this.#columns[family],
      valueEncoding: 'buffer',
    })[0];
    this.#hot.remember(family, key, value);
    return value;
  }

  /** How many rows the hot-row cache holds (see `get`). */
  get cachedRows(): number {
    return this.#hot.size;
  }

  /** The values at `keys`, in order (undefined where absent). */
  getMany(family: FamilyName, keys: Buffer[]): (Buffer | undefined)[] {
    if (keys.length === 0) return [];
    return this.#db._getManySync(keys, { column: this.#columns[family], valueEncoding: 'buffer' });
  }

  /** The rows in a range, in key order (or reverse), at most `limit`. Traced inside a request. */
  scan(family: FamilyName, options: ScanOptions): Row[] {
    return traced(family, () => this.#scan(family, options));
  }

  #scan(family: FamilyName, options: ScanOptions): Row[] {
    const rows: Row[] = [];
    let { gte, lt } = options;
    const reverse = options.reverse ?? false;
    let remaining = options.limit ?? Infinity;
    for (;;) {
      const result = this.#db.querySync({
        column: this.#columns[family],
        gte,
        lt,
        reverse,
        limit: remaining === Infinity ? -1 : remaining,
        keyEncoding: 'buffer',
        valueEncoding: 'buffer',
        highWaterMarkBytes: 64 * 1024 * 1024,
      });
      const flat = result.rows;
      for (let i = 0; i < flat.length; i += 2) {
        rows.push({ key: flat[i] as Buffer, value: flat[i + 1] as Buffer });
      }
      remaining -= flat.length / 2;
      const last = rows[rows.length - 1];
      if (result.finished || remaining <= 0 || flat.length === 0 || !last) return rows;
      // The binding stops early past its byte budget: continue after the last key.
      if (reverse) lt = last.key;
      else gte = Buffer.concat([last.key, Buffer.from([0])]);
    }
  }

  /**
   * The values in a range, without their keys (half the buffers of `scan`): for pages whose keys
   * the caller can derive from the values.
   */
  scanValues(family: FamilyName, options: ScanOptions): Buffer[] {
    return traced(family, () => this.#scanValues(family, options));
  }

  #scanValues(family: FamilyName, options: ScanOptions): Buffer[] {
    const result = this.#db.querySync({
      column: this.#columns[family],
      gte: options.gte,
      lt: options.lt,
      reverse: options.reverse ?? false,
      limit: options.limit ?? -1,
      keys: false,
      values: true,
      valueEncoding: 'buffer',
      highWaterMarkBytes: 64 * 1024 * 1024,
    });
    const values: Buffer[] = [];
    for (let i = 1; i < result.rows.length; i += 2) values.push(result.rows[i] as Buffer);
    if (!result.finished && values.length < (options.limit ?? Infinity)) {
      throw new Error('a value scan stopped early: raise its byte budget or page it');
    }
    return values;
  }

  /** Commits `ops` as one atomic batch; with `sync`, fsyncs the WAL before returning. */
  write(ops: readonly BatchOp[], sync: boolean): void {
    const batch = this.#db._chainedBatch();
    try {
      for (const op of ops) {
        const column = this.#columns[op.family];
        if (op.type === 'put') batch._put(op.key, op.value, { column });
        else batch._del(op.key, { column });
      }
      try {
        batch._writeSync({ sync });
      } catch (error) {
        this.#hot.clear();
        throw error;
      }
      this.#hot.apply(ops);
    } finally {
      batch._closeSync();
    }
  }

  /**
   * Commits `ops` as one atomic batch on the commit thread, in call order, without blocking the
   * event loop; with `sync`, resolves only once the WAL is fsynced. Resolves with the write's µs.
   */
  commit(ops: readonly BatchOp[], sync: boolean): Promise<number> {
    this.#commits ??= new CommitWorker(this.#db.handle);
    return this.#commits.write(ops, sync).then(
      (micros) => {
        this.#hot.apply(ops);
        return micros;
      },
      (error: unknown) => {
        // Whether any of a failed batch reached RocksDB is unknown: read everything afresh.
        this.#hot.clear();
        throw error;
      },
    );
  }

  /** Takes note of commits the commit thread has finished (cheap; call it often). */
  pollCommits(): void {
    this.#commits?.poll();
  }

  /** Closes the database. */
  async close(): Promise<void> {
    this.#gauges.close();
    await this.#commits?.close();
    this.#commits = undefined;
    if (this.#db.status === 'open') await this.#db.close();
  }
}
