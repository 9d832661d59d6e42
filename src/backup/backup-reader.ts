import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import type {
  BackupEvents,
  BackupHeader,
  BackupPurgeAudit,
  BackupThreadKey,
  BackupTrailer,
} from '../gen/progressdb/storage/v1/backup.js';
import {
  BackupError,
  BackupProblem,
  FORMAT_VERSION,
  MAGIC,
  readRecords,
  SCHEMA_VERSION,
} from './backup-format.js';

/** What a reader does with the records of a backup, in file order. */
export interface BackupSink {
  header?(header: BackupHeader): void | Promise<void>;
  events?(events: BackupEvents): void | Promise<void>;
  threadKey?(key: BackupThreadKey): void | Promise<void>;
  threadOmitted?(threadNumber: bigint): void | Promise<void>;
  purgeAudit?(audit: BackupPurgeAudit): void | Promise<void>;
}

/** The counts a reader tallied, which the trailer must match. */
export interface BackupSummary {
  header: BackupHeader;
  trailer: BackupTrailer;
  /** Compressed bytes read. */
  fileBytes: number;
}

/** Refuses a file that is not gzip at all before reading it. @throws BackupError NOT_A_BACKUP */
async function checkGzip(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    if (bytesRead === 0) {
      throw new BackupError(BackupProblem.truncated, 'the backup file is empty');
    }
    if (bytesRead < 2 || head[0] !== 0x1f || head[1] !== 0x8b) {
      throw new BackupError(
        BackupProblem.notABackup,
        'not a ProgressDB backup file (it is not gzip-compressed)',
      );
    }
  } finally {
    await handle.close();
  }
}

/** A zlib failure in plain words: a file cut short, or damaged bytes. */
function zlibProblem(error: unknown): BackupError | undefined {
  const code = (error as { code?: unknown }).code;
  if (code === 'Z_BUF_ERROR') {
    return new BackupError(
      BackupProblem.truncated,
      'the backup file is truncated: its compressed data ends early',
    );
  }
  if (code === 'Z_DATA_ERROR' || code === 'Z_STREAM_ERROR' || code === 'Z_NEED_DICT') {
    return new BackupError(
      BackupProblem.corrupt,
      `the backup file is corrupted: its compressed data is damaged (${(error as Error).message})`,
    );
  }
  return undefined;
}

/**
 * Reads a backup file from start to end, handing each record to `sink`, and checks everything a
 * file can get wrong: the magic, the format and schema versions, each record, the order (header
 * first, trailer last, nothing after it), the trailer's counts and its SHA-256. A sink's work is
 * only trustworthy once this resolves.
 * Data flow: file → gunzip → frames (+SHA-256) → sink.
 * @throws BackupError NOT_A_BACKUP, UNSUPPORTED_VERSION, TRUNCATED, CORRUPT
 */
export async function readBackupFile(file: string, sink: BackupSink = {}): Promise<BackupSummary> {
  await checkGzip(file);
  const input = createReadStream(file);
  const gunzip = createGunzip();
  input.on('error', (error) => gunzip.destroy(error));
  input.pipe(gunzip);
  const hash = createHash('sha256').update(MAGIC);
  let header: BackupHeader | undefined;
  let trailer: BackupTrailer | undefined;
  const tally = { events: 0n, threads: 0n, keys: 0n, purgeAudits: 0n };
  // A thread's events are contiguous, and an omission follows them at once.
  let current: { number: bigint; events: bigint } | undefined;
  try {
    for await (const { record, frame } of readRecords(gunzip as AsyncIterable<Buffer>)) {
      const body = record.record;
      if (trailer) {
        throw new BackupError(BackupProblem.corrupt, 'the backup file has data after its trailer');
      }
      if (!header && body?.$case !== 'header') {
        throw new BackupError(
          BackupProblem.corrupt,
          'the backup file does not start with a header',
        );
      }
      if (body?.$case !== 'trailer') hash.update(frame);
      switch (body?.$case) {
        case 'header':
          if (header) {
            throw new BackupError(BackupProblem.corrupt, 'the backup file has two headers');
          }
          header = body.value;
          if (header.formatVersion !== FORMAT_VERSION) {
            throw new BackupError(
              BackupProblem.unsupportedVersion,
              `the backup file has format version ${header.formatVersion}; this version reads ${FORMAT_VERSION}`,
            );
          }
          if (header.schemaVersion > SCHEMA_VERSION || header.schemaVersion === 0) {
            throw new BackupError(
              BackupProblem.unsupportedVersion,
              `the backup file has storage schema ${header.schemaVersion}; this version reads up to ${SCHEMA_VERSION}`,
            );
          }
          await sink.header?.(header);
          break;
        case 'events':
          if (current?.number !== body.value.threadNumber) {
            current = { number: body.value.threadNumber, events: 0n };
            tally.threads++;
          }
          current.events += BigInt(body.value.events.length);
          tally.events += BigInt(body.value.events.length);
          await sink.events?.(body.value);
          break;
        case 'threadKey':
          tally.keys++;
          await sink.threadKey?.(body.value);
          break;
        case 'threadOmitted':
          if (current?.number !== body.value.threadNumber) {
            throw new BackupError(
              BackupProblem.corrupt,
              'the backup file omits a thread other than the one just read',
            );
          }
          tally.events -= current.events;
          tally.threads--;
          current = undefined;
          await sink.threadOmitted?.(body.value.threadNumber);
          break;
        case 'purgeAudit':
          tally.purgeAudits++;
          await sink.purgeAudit?.(body.value);
          break;
        case 'trailer':
          trailer = body.value;
          break;
        case undefined:
          throw new BackupError(BackupProblem.corrupt, 'the backup file holds an empty record');
      }
    }
  } catch (error) {
    throw zlibProblem(error) ?? error;
  } finally {
    input.destroy();
  }
  if (!header || !trailer) {
    throw new BackupError(
      BackupProblem.truncated,
      'the backup file is truncated: it ends before its trailer',
    );
  }
  if (!hash.digest().equals(Buffer.from(trailer.sha256))) {
    throw new BackupError(
      BackupProblem.corrupt,
      'the backup file is corrupted: its SHA-256 checksum does not match its content',
    );
  }
  for (const name of ['events', 'threads', 'keys', 'purgeAudits'] as const) {
    if (tally[name] !== trailer[name]) {
      throw new BackupError(
        BackupProblem.corrupt,
        `the backup file is inconsistent: it holds ${tally[name]} ${name}, its trailer says ${trailer[name]}`,
      );
    }
  }
  return { header, trailer, fileBytes: input.bytesRead };
}
