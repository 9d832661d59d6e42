export { Family, ALL_FAMILIES, PROJECTION_FAMILIES, type FamilyName } from './column-families.js';
export * as keys from './keys.js';
export { Counter, IndexPrefixes, type CounterName } from './keys.js';
export {
  RocksStore,
  type BatchOp,
  type KeyRange,
  type Row,
  type ScanOptions,
} from './rocks-store.js';
export { WriteOverlay, type StoreReader } from './write-overlay.js';
export {
  GroupCommitWriter,
  WriterClosedError,
  type GroupCommitInfo,
  type GroupCommitWriterOptions,
  type WriteJob,
  type WriteTransaction,
} from './group-commit-writer.js';
export { LruCache } from './lru-cache.js';
export { STORAGE_SCHEMA_VERSION, StorageSchemaError, schemaVersionRow } from './storage-schema.js';
