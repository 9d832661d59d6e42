// The parts of @nxtedition/rocksdb that ProgressDB uses. The package ships no types; its synchronous
// entry points (`_getManySync`, `_chainedBatch()._writeSync`, `querySync`) are used on purpose: the
// group-commit writer is single-threaded and reads its own writes without yielding.
declare module '@nxtedition/rocksdb' {
  /** An opaque column-family handle, from `RocksLevel.columns`. */
  export type ColumnHandle = object & { readonly __column: unique symbol };

  export interface OpenOptions {
    createIfMissing?: boolean;
    errorIfExists?: boolean;
    columns: Record<string, Record<string, unknown>>;
    [option: string]: unknown;
  }

  export interface QueryOptions {
    column?: ColumnHandle;
    gte?: Buffer;
    lt?: Buffer;
    reverse?: boolean;
    limit?: number;
    keys?: boolean;
    values?: boolean;
    keyEncoding?: 'buffer';
    valueEncoding?: 'buffer';
    highWaterMarkBytes?: number;
  }

  export interface QueryResult {
    /** Flat rows: key, value, key, value, … */
    rows: (Buffer | undefined)[];
    finished: boolean;
  }

  export interface ChainedBatch {
    _put(key: Buffer, value: Buffer, options: { column: ColumnHandle }): void;
    _del(key: Buffer, options: { column: ColumnHandle }): void;
    _writeSync(options: { sync: boolean }): void;
    _closeSync(): void;
  }

  export class RocksLevel {
    constructor(location: string | bigint, options?: Record<string, unknown>);
    /** The native handle, to open the same database from a worker thread. */
    readonly handle: bigint;
    readonly status: 'opening' | 'open' | 'closing' | 'closed';
    readonly columns: Record<string, ColumnHandle>;
    open(options: OpenOptions): Promise<void>;
    close(): Promise<void>;
    _getManySync(
      keys: Buffer[],
      options: { column: ColumnHandle; valueEncoding: 'buffer' },
    ): (Buffer | undefined)[];
    _chainedBatch(): ChainedBatch;
    querySync(options: QueryOptions): QueryResult;
    getProperty(property: string): string;
  }
}
