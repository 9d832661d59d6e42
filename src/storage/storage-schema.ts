import { Family } from './column-families.js';
import { MetaKey } from './keys.js';
import type { BatchOp } from './rocks-store.js';

/**
 * The layout of what the database stores: the column families, the key encoding (keys.ts) and the
 * records (proto/progressdb/storage/v1). Raise it with any change an older server could misread,
 * and teach `checkStorageSchema` to upgrade or refuse the older layouts.
 */
export const STORAGE_SCHEMA_VERSION = 1;

/** The schema of databases written before the version was recorded: there was only one. */
const UNRECORDED_SCHEMA_VERSION = 1;

/** Thrown when a database was written with a storage schema this code does not read. */
export class StorageSchemaError extends Error {
  constructor(
    readonly location: string,
    /** The stored version; undefined when the stored value is not a version at all. */
    readonly found: number | undefined,
    /** The version this code reads. */
    readonly supported: number = STORAGE_SCHEMA_VERSION,
  ) {
    super(
      found === undefined
        ? `the database at ${location} has a damaged storage schema version ` +
            `(default/schema_version is not a 4-byte number)`
        : `the database at ${location} has storage schema ${found}; this ProgressDB reads ` +
            `schema ${supported} only: run the ProgressDB version that wrote it, ` +
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
 * What opening a database with `stored` as its schema version row means: the row to write, or
 * nothing to do. A new (empty) database gets this code's version; one that holds data but no
 * version is of schema 1, from before the version was recorded.
 * `supported` is this code's version (a parameter for tests of what a later version will do).
 * @throws StorageSchemaError for another schema than `supported`, or a damaged value.
 */
export function checkStorageSchema(
  location: string,
  stored: Buffer | undefined,
  holdsData: boolean,
  supported: number = STORAGE_SCHEMA_VERSION,
): BatchOp | undefined {
  let found: number;
  if (stored === undefined) {
    if (!holdsData) return schemaVersionRow(supported);
    found = UNRECORDED_SCHEMA_VERSION;
  } else if (stored.length !== 4) {
    throw new StorageSchemaError(location, undefined, supported);
  } else {
    found = stored.readUInt32BE(0);
  }
  if (found !== supported) throw new StorageSchemaError(location, found, supported);
  return stored === undefined ? schemaVersionRow(found) : undefined;
}
