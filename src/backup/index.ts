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
