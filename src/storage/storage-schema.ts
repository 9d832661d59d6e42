import { Family } from './column-families.js';
import { MetaKey } from './keys.js';
import type { BatchOp } from './rocks-store.js';

/**
 * The layout of what the database stores: the column families, the key encoding (keys.ts) and the
 * records (proto/progressdb/storage/v1). Raise it with any change an older server could misread,
 * and teach `checkStorageSchema` to upgrade or refuse the older layouts.
 */
export const STORAGE_SCHEMA_VERSION = 1;

/** Thrown when a database was written with a storage schema this code does not read. */
export class StorageSchemaError extends Error {
  constructor(
    readonly location: string,
    /** The stored version; undefined when the stored value is not a version at all. */
    readonly found: number | undefined,
  ) {
    super(
      found === undefined
        ? `the database at ${location} has a damaged storage schema version ` +
            `(default/schema_version is not a 4-byte number)`
        : `the database at ${location} has storage schema ${found}; this ProgressDB reads ` +
            `schema ${STORAGE_SCHEMA_VERSION} only: run the ProgressDB version that wrote it, ` +
            `or restore a backup into an empty data folder`,
    );
    this.name = 'StorageSchemaError';
  }
}

/** The `default` row that records the schema version, for `version` (u32 big-endian). */
export function schemaVersionRow(version = STORAGE_SCHEMA_VERSION): BatchOp {
  const value = Buffer.alloc(4);
  value.writeUInt32BE(version);
  return { type: 'put', family: Family.default, key: MetaKey.schemaVersion, value };
}

/**
 * What opening a database with `stored` as its schema version row means: the row to write (a new
 * database, or one of schema 1 from before the version was recorded, then the only schema), or
 * nothing to do. @throws StorageSchemaError for any other schema, or a damaged value.
 */
export function checkStorageSchema(
  location: string,
  stored: Buffer | undefined,
): BatchOp | undefined {
  if (stored === undefined) return schemaVersionRow();
  if (stored.length !== 4) throw new StorageSchemaError(location, undefined);
  const found = stored.readUInt32BE(0);
  if (found !== STORAGE_SCHEMA_VERSION) throw new StorageSchemaError(location, found);
  return undefined;
}
