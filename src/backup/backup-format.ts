import { BinaryReader } from '@bufbuild/protobuf/wire';
import { BackupRecord } from '../gen/progressdb/storage/v1/backup.js';
import { STORAGE_SCHEMA_VERSION } from '../storage/index.js';

/**
 * The backup file format (docs/backup.md): gzip around `MAGIC`, then length-prefixed (u32
 * big-endian) `BackupRecord`s — one header, the body, one trailer whose SHA-256 covers every byte
 * before the trailer's length prefix.
 */

/** The first bytes of the uncompressed stream: the format's name and generation. */
export const MAGIC = Buffer.from('PDBBACK1', 'latin1');

/** The version of the backup format this code writes and reads. */
export const FORMAT_VERSION = 1;

/** The storage schema of the records (proto/progressdb/storage/v1) a backup carries. */
export const SCHEMA_VERSION = STORAGE_SCHEMA_VERSION;

/** The largest record a reader accepts: far above any real one, so garbage lengths are refused. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

/** Why a backup or a restore was refused. */
export const BackupProblem = {
  /** The file is not a ProgressDB backup (wrong magic). */
  notABackup: 'NOT_A_BACKUP',
  /** The file was written by a newer, unknown format or schema. */
  unsupportedVersion: 'UNSUPPORTED_VERSION',
  /** The file ends before its trailer. */
  truncated: 'TRUNCATED',
  /** The bytes are damaged: bad compression, bad record, checksum mismatch. */
  corrupt: 'CORRUPT',
  /** The restored database does not hold what the trailer says. */
  countMismatch: 'COUNT_MISMATCH',
  /** The restore target is not an empty folder. */
  targetNotEmpty: 'TARGET_NOT_EMPTY',
  /** An option or input is unusable (paths, files). */
  invalidInput: 'INVALID_INPUT',
  /** The caller cancelled the work. */
  cancelled: 'CANCELLED',
} as const;

/** A reason of {@link BackupError}. */
export type BackupProblemCode = (typeof BackupProblem)[keyof typeof BackupProblem];

/** A refused backup, restore, export or import, with a stable `problem` and a plain message. */
export class BackupError extends Error {
  override readonly name = 'BackupError';
  readonly problem: BackupProblemCode;

  constructor(problem: BackupProblemCode, message: string) {
    super(message);
    this.problem = problem;
  }
}

/** Encodes one record with its u32 big-endian length prefix. */
export function frameRecord(record: BackupRecord): Buffer {
  const body = BackupRecord.encode(record).finish();
  const frame = Buffer.allocUnsafe(4 + body.byteLength);
  frame.writeUInt32BE(body.byteLength, 0);
  frame.set(body, 4);
  return frame;
}

/**
 * Splits an uncompressed backup stream into records: checks the magic, then yields each record
 * with the frame bytes it came from (for the checksum).
 * @throws BackupError NOT_A_BACKUP, TRUNCATED, CORRUPT
 */
export async function* readRecords(
  chunks: AsyncIterable<Buffer>,
): AsyncGenerator<{ record: BackupRecord; frame: Buffer }> {
  let pending: Buffer = Buffer.alloc(0);
  let magicSeen = false;
  for await (const chunk of chunks) {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    if (!magicSeen) {
      if (pending.length < MAGIC.length) continue;
      if (!pending.subarray(0, MAGIC.length).equals(MAGIC)) {
        throw new BackupError(
          BackupProblem.notABackup,
          'not a ProgressDB backup file (its first bytes are not the backup magic)',
        );
      }
      magicSeen = true;
      pending = pending.subarray(MAGIC.length);
    }
    let offset = 0;
    while (pending.length - offset >= 4) {
      const length = pending.readUInt32BE(offset);
      if (length > MAX_RECORD_BYTES) {
        throw new BackupError(
          BackupProblem.corrupt,
          `the backup file is corrupted: a record claims ${length} bytes`,
        );
      }
      if (pending.length - offset - 4 < length) break;
      const frame = pending.subarray(offset, offset + 4 + length);
      let record: BackupRecord;
      try {
        record = BackupRecord.decode(frame.subarray(4));
      } catch {
        throw new BackupError(
          BackupProblem.corrupt,
          'the backup file is corrupted: a record cannot be decoded',
        );
      }
      offset += 4 + length;
      yield { record, frame };
    }
    pending = offset === 0 ? pending : Buffer.from(pending.subarray(offset));
  }
  if (!magicSeen) {
    throw new BackupError(
      pending.length === 0 ? BackupProblem.truncated : BackupProblem.notABackup,
      pending.length === 0
        ? 'the backup file is empty'
        : 'not a ProgressDB backup file (too short for the backup magic)',
    );
  }
  if (pending.length > 0) {
    throw new BackupError(
      BackupProblem.truncated,
      'the backup file is truncated: it ends inside a record',
    );
  }
}

/** EventRecord field numbers the backup reads without decoding a whole event (records.proto). */
const EventField = { threadId: 1, revision: 2, position: 3, messageCreated: 15 } as const;

/** The head of an encoded EventRecord, read in one pass without decoding its payload. */
export interface EventHead {
  threadId: string;
  revision: bigint;
  position: bigint;
  /** Whether its payload is `message_created`. */
  messageCreated: boolean;
}

/** Reads the head of an encoded EventRecord, skipping its payload. */
export function eventHead(bytes: Uint8Array): EventHead {
  const reader = new BinaryReader(bytes);
  const head: EventHead = { threadId: '', revision: 0n, position: 0n, messageCreated: false };
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === EventField.threadId) head.threadId = reader.string();
    else if (field === EventField.revision) head.revision = BigInt(reader.uint64().toString());
    else if (field === EventField.position) head.position = BigInt(reader.uint64().toString());
    else {
      if (field === EventField.messageCreated) head.messageCreated = true;
      reader.skip(wireType);
    }
  }
  return head;
}
