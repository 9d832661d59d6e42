import { readdirSync, statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ObservableResult } from '@opentelemetry/api';
import { RocksLevel, type ColumnHandle } from '@nxtedition/rocksdb';
import { attributeSets, Attr, observe, SpanName, startChildSpan } from '../telemetry/index.js';
import { ALL_FAMILIES, type FamilyName } from './column-families.js';
import { CommitWorker } from './commit-worker.js';
import { readSstProperties } from './sst-properties.js';

const SCAN_ATTRIBUTES = attributeSets(Attr.family, ALL_FAMILIES);
const FILE_KINDS = ['sst', 'wal', 'other'] as const;
const FILE_KIND_ATTRIBUTES = attributeSets(Attr.fileKind, FILE_KINDS);

function fileKind(name: string): (typeof FILE_KINDS)[number] {
  if (name.endsWith('.sst')) return 'sst';
  if (name.endsWith('.log')) return 'wal';
  return 'other';
}

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

function sstFiles(location: string): string[] {
  try {
    return readdirSync(location).filter((name) => name.endsWith('.sst'));
  } catch {
    return [];
  }
}

/** Storage figures of one column family, from its SST files. */
export interface FamilySize {
  name: FamilyName;
  /** Bytes of the family's SST files; what is still only in the WAL (not yet flushed) is not counted. */
  bytes: bigint;
  /** Estimated keys in those files: entries minus deletions (a key rewritten across levels counts twice). */
  keys: bigint;
}

interface SstFigures {
  family: string;
  bytes: number;
  keys: number;
}

/** A key and its value. */
export interface Row {
  key: Buffer;
  value: Buffer;
}

/**
 * RocksDB with ProgressDB's column families: synchronous point reads, range scans and atomic
 * cross-family batches. Data flow: log ⇄ group-commit writer ⇄ RocksStore ⇄ RocksDB.
 */
export class RocksStore {
  readonly #db: RocksLevel;
  readonly #location: string;
  readonly #columns: Record<FamilyName, ColumnHandle>;
  readonly #unobserve: (() => void)[];
  /** SST files are immutable: each is read once, by file name. */
  readonly #sstFigures = new Map<string, SstFigures | undefined>();
  #commits: CommitWorker | undefined;

  private constructor(db: RocksLevel, location: string) {
    this.#db = db;
    this.#location = location;
    const columns = {} as Record<FamilyName, ColumnHandle>;
    for (const family of ALL_FAMILIES) {
      const handle = db.columns[family];
      if (!handle) throw new Error(`column family ${family} did not open`);
      columns[family] = handle;
    }
    this.#columns = columns;
    // The binding reads RocksDB properties of the default family only, so per-family sizes are
    // out of reach; the folder's files are what can be measured (see docs/telemetry.md).
    this.#unobserve = [
      observe('diskBytes', this.#observeDisk),
      observe('familyBytes', (result) => {
        for (const family of this.familySizes())
          result.observe(Number(family.bytes), SCAN_ATTRIBUTES[family.name]);
      }),
      observe('familyKeys', (result) => {
        for (const family of this.familySizes())
          result.observe(Number(family.keys), SCAN_ATTRIBUTES[family.name]);
      }),
    ];
  }

  readonly #observeDisk = async (result: ObservableResult): Promise<void> => {
    const totals = { sst: 0, wal: 0, other: 0 };
    const names = await readdir(this.#location).catch(() => [] as string[]);
    await Promise.all(
      names.map(async (name) => {
        const info = await stat(join(this.#location, name)).catch(() => undefined);
        if (info?.isFile()) totals[fileKind(name)] += info.size;
      }),
    );
    for (const kind of FILE_KINDS) result.observe(totals[kind], FILE_KIND_ATTRIBUTES[kind]);
  };

  /** Opens (creating if missing) the database at `location` with every column family. */
  static async open(location: string): Promise<RocksStore> {
    const db = new RocksLevel(location);
    const columns: Record<string, Record<string, unknown>> = {};
    for (const family of ALL_FAMILIES) columns[family] = {};
    // The WAL is fsynced per group: compressing it would only add CPU to every commit.
    await db.open({ createIfMissing: true, walCompression: false, columns });
    return new RocksStore(db, location);
  }

  /**
   * Bytes and estimated keys per column family, from the SST files' own properties (the binding
   * reads RocksDB properties of the default family only). Data not yet flushed from the memtables
   * is in the WAL and counted nowhere here. Reads each new SST file's tail once; synchronous.
   */
  familySizes(): FamilySize[] {
    const totals = new Map<string, { bytes: number; keys: number }>();
    const names = new Set(sstFiles(this.#location));
    for (const name of this.#sstFigures.keys()) if (!names.has(name)) this.#sstFigures.delete(name);
    for (const name of names) {
      if (!this.#sstFigures.has(name)) this.#sstFigures.set(name, this.#readSst(name));
      const figures = this.#sstFigures.get(name);
      if (!figures) continue;
      const total = totals.get(figures.family) ?? { bytes: 0, keys: 0 };
      total.bytes += figures.bytes;
      total.keys += figures.keys;
      totals.set(figures.family, total);
    }
    return ALL_FAMILIES.map((name) => ({
      name,
      bytes: BigInt(totals.get(name)?.bytes ?? 0),
      keys: BigInt(totals.get(name)?.keys ?? 0),
    }));
  }

  #readSst(name: string): SstFigures | undefined {
    const path = join(this.#location, name);
    const properties = readSstProperties(path);
    if (!properties) return undefined;
    try {
      return {
        family: properties.family,
        bytes: statSync(path).size,
        keys: Math.max(0, properties.entries - properties.deletions),
      };
    } catch {
      return undefined;
    }
  }

  /** The value at `key`, or undefined. */
  get(family: FamilyName, key: Buffer): Buffer | undefined {
    return this.#db._getManySync([key], {
      column: this.#columns[family],
      valueEncoding: 'buffer',
    })[0];
  }

  /** The values at `keys`, in order (undefined where absent). */
  getMany(family: FamilyName, keys: Buffer[]): (Buffer | undefined)[] {
    if (keys.length === 0) return [];
    return this.#db._getManySync(keys, { column: this.#columns[family], valueEncoding: 'buffer' });
  }

  /** The rows in a range, in key order (or reverse), at most `limit`. Traced inside a request. */
  scan(family: FamilyName, options: ScanOptions): Row[] {
    const span = startChildSpan(SpanName.rocksScan, SCAN_ATTRIBUTES[family]);
    if (!span) return this.#scan(family, options);
    try {
      const rows = this.#scan(family, options);
      span.setAttribute(Attr.rows, rows.length);
      return rows;
    } finally {
      span.end();
    }
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
    const span = startChildSpan(SpanName.rocksScan, SCAN_ATTRIBUTES[family]);
    if (!span) return this.#scanValues(family, options);
    try {
      const values = this.#scanValues(family, options);
      span.setAttribute(Attr.rows, values.length);
      return values;
    } finally {
      span.end();
    }
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
      batch._writeSync({ sync });
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
    return this.#commits.write(ops, sync);
  }

  /** Takes note of commits the commit thread has finished (cheap; call it often). */
  pollCommits(): void {
    this.#commits?.poll();
  }

  /** Closes the database. */
  async close(): Promise<void> {
    for (const stop of this.#unobserve) stop();
    await this.#commits?.close();
    this.#commits = undefined;
    if (this.#db.status === 'open') await this.#db.close();
  }
}
