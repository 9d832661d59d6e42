export {
  BackupError,
  BackupProblem,
  FORMAT_VERSION,
  MAGIC,
  SCHEMA_VERSION,
  type BackupProblemCode,
} from './backup-format.js';
export { writeBackup, type BackupCounts, type BackupProgress } from './backup-writer.js';
export {
  exportEvents,
  exportedRow,
  type ExportedEventRow,
  type ExportFilter,
  type ExportJson,
} from './event-export.js';
export { readBackupFile, type BackupSink, type BackupSummary } from './backup-reader.js';
export {
  restoreBackup,
  type RestoreOptions,
  type RestoreProgress,
  type RestoreResult,
} from './restore.js';
export {
  downloadBackup,
  type BackupChunkLike,
  type DownloadProgress,
  type DownloadResult,
} from './backup-download.js';
export {
  exportEvents as exportToNdjson,
  exportLine,
  type ExportedEventLike,
  type ExportLine,
  type ExportOptions,
  type ExportProgress,
} from './ndjson-export.js';
export { importEvents, importRequestId, type ImportProgress } from './ndjson-import.js';
