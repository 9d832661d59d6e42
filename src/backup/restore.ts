import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { DATABASE_FOLDER, MASTER_KEY_FILE_NAME } from '../data-folder.js';
import { rebuildProjections } from '../log/index.js';
import { Family, keys, RocksStore, type BatchOp } from '../storage/index.js';
import { BackupError, BackupProblem, eventHead } from './backup-format.js';
import { readBackupFile } from './backup-reader.js';
import { verifyCounts, verifyKeys } from './restore-verification.js';

/** Puts per write batch while loading events. */
const LOAD_BATCH_OPS = 4096;

/** Where a restore is. */
export interface RestoreProgress {
  phase: 'reading' | 'rebuilding' | 'verifying' | 'done';
  eventsDone: bigint;
  eventsEstimated: bigint;
}

/** What `restoreBackup` needs. */
export interface RestoreOptions {
  /** The backup file. */
  file: string;
  /** The new data folder: absent or empty. */
  dataDir: string;
  /**
   * The local master key file the backup's data keys are wrapped under (the source's
   * `master-keys.json`): copied into the new data folder, and every restored key is checked to open
   * under it. Not needed with AWS KMS (the KMS key stays where it is).
   */
  masterKeyFile?: string | undefined;
  /** Called as the restore goes. */
  onProgress?: ((progress: RestoreProgress) => void) | undefined;
  /** Stops the restore (and removes what it wrote) at the next step. */
  signal?: AbortSignal | undefined;
}

/** What a restore produced. */
export interface RestoreResult {
  /** The recorded position of the backup. */
  position: bigint;
  events: bigint;
  threads: bigint;
  messages: bigint;
  keys: bigint;
  /** Audit records of whole-thread purges. */
  purgeAudits: bigint;
  /** Keys wrapped by the local provider that no master key file was given for. */
  keysNeedingMasterKey: bigint;
  /** Keys wrapped by AWS KMS (not checked offline). */
  kmsKeys: bigint;
}

/** The revision and position of a stored event. @throws BackupError when it has none */
function eventPlace(event: Uint8Array): { revision: bigint; position: bigint } {
  const { revision, position } = eventHead(event);
  if (revision === 0n || position === 0n) {
    throw new BackupError(BackupProblem.corrupt, 'the backup file holds an event without revision');
  }
  return { revision, position };
}

/** Refuses a target that exists and is not an empty folder. */
async function checkTarget(dataDir: string): Promise<boolean> {
  let exists = true;
  try {
    const info = await stat(dataDir);
    if (!info.isDirectory()) {
      throw new BackupError(BackupProblem.targetNotEmpty, `${dataDir} exists and is not a folder`);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    exists = false;
  }
  if (exists && (await readdir(dataDir)).length > 0) {
    throw new BackupError(
      BackupProblem.targetNotEmpty,
      `${dataDir} is not empty: restore into a new or empty folder`,
    );
  }
  return exists;
}

/**
 * Restores a backup into a new data folder, offline: checks the target is absent or empty, loads
 * every event and wrapped key into a fresh database in a temporary sibling folder, recomputes the
 * projections (and the exact totals) with the same fold as the live writer, verifies the file's
 * checksum and counts and the database's, and only then renames the folder into place. Any failure
 * removes the temporary folder: no half database is left behind.
 * Data flow: file → readBackupFile → RocksStore (events, keys, default) → rebuildProjections.
 * @throws BackupError TARGET_NOT_EMPTY, NOT_A_BACKUP, UNSUPPORTED_VERSION, TRUNCATED, CORRUPT,
 * COUNT_MISMATCH, INVALID_INPUT
 */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreResult> {
  const file = resolve(options.file);
  const dataDir = resolve(options.dataDir);
  const progress = options.onProgress ?? (() => undefined);
  const report = (step: RestoreProgress): void => {
    if (options.signal?.aborted) {
      throw new BackupError(BackupProblem.cancelled, 'the restore was cancelled: nothing was kept');
    }
    progress(step);
  };
  const fileInfo = await stat(file).catch(() => undefined);
  if (!fileInfo?.isFile()) {
    throw new BackupError(BackupProblem.invalidInput, `no backup file at ${file}`);
  }
  const masterKeyFile = options.masterKeyFile ? resolve(options.masterKeyFile) : undefined;
  if (masterKeyFile && !(await stat(masterKeyFile).catch(() => undefined))?.isFile()) {
    throw new BackupError(BackupProblem.invalidInput, `no master key file at ${masterKeyFile}`);
  }
  const targetExisted = await checkTarget(dataDir);
  await mkdir(dirname(dataDir), { recursive: true });
  const temp = join(
    dirname(dataDir),
    `.${basename(dataDir)}.restoring-${randomBytes(4).toString('hex')}`,
  );
  await mkdir(temp, { mode: 0o700 });
  let store: RocksStore | undefined;
  try {
    store = await RocksStore.open(join(temp, DATABASE_FOLDER));
    const result = await load(store, file, report);
    report({ phase: 'rebuilding', eventsDone: result.events, eventsEstimated: result.events });
    const folded = rebuildProjections(store);
    report({ phase: 'verifying', eventsDone: result.events, eventsEstimated: result.events });
    verifyCounts(store, result, BigInt(folded));
    if (masterKeyFile) {
      // The copy is a secret whatever the source's mode was: owner only, as the server writes it.
      await copyFile(masterKeyFile, join(temp, MASTER_KEY_FILE_NAME));
      await chmod(join(temp, MASTER_KEY_FILE_NAME), 0o600);
    }
    const checked = await verifyKeys(
      store,
      masterKeyFile ? join(temp, MASTER_KEY_FILE_NAME) : undefined,
    );
    await store.close();
    store = undefined;
    if (targetExisted) await rmdir(dataDir);
    report({ phase: 'done', eventsDone: result.events, eventsEstimated: result.events });
    await rename(temp, dataDir);
    return { ...result, ...checked };
  } catch (error) {
    await store?.close().catch(() => undefined);
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}

/** Loads the file's events and keys, and the allocation counters; returns the trailer's counts. */
async function load(
  store: RocksStore,
  file: string,
  report: (progress: RestoreProgress) => void,
): Promise<Omit<RestoreResult, 'keysNeedingMasterKey' | 'kmsKeys'>> {
  let ops: BatchOp[] = [];
  let eventsDone = 0n;
  let eventsEstimated = 0n;
  let position = 0n;
  let maxThread = 0n;
  let lastReport = 0;
  const flush = (): void => {
    if (ops.length === 0) return;
    store.write(ops, false);
    ops = [];
  };
  const summary = await readBackupFile(file, {
    header(header) {
      position = header.position;
      maxThread = header.lastThreadNumber;
      eventsEstimated = header.eventsEstimated;
      report({ phase: 'reading', eventsDone, eventsEstimated });
    },
    events({ threadNumber, events }) {
      if (threadNumber > maxThread) maxThread = threadNumber;
      for (const event of events) {
        const head = eventPlace(event);
        if (head.position > position) {
          throw new BackupError(
            BackupProblem.corrupt,
            `the backup file holds an event past its recorded position ${position}`,
          );
        }
        ops.push({
          type: 'put',
          family: Family.events,
          key: keys.eventKey(threadNumber, head.revision),
          value: Buffer.from(event),
        });
      }
      eventsDone += BigInt(events.length);
      if (ops.length >= LOAD_BATCH_OPS) flush();
      if (Date.now() - lastReport > 250) {
        lastReport = Date.now();
        report({ phase: 'reading', eventsDone, eventsEstimated });
      }
    },
    threadKey({ threadNumber, key }) {
      ops.push({
        type: 'put',
        family: Family.keys,
        key: keys.threadKey(threadNumber),
        value: Buffer.from(key),
      });
    },
    purgeAudit({ key, value }) {
      const { gte, lt } = keys.purgeAuditRange;
      if (Buffer.compare(key, gte) < 0 || Buffer.compare(key, lt) >= 0) {
        throw new BackupError(BackupProblem.corrupt, 'the backup file holds a foreign audit key');
      }
      ops.push({
        type: 'put',
        family: Family.default,
        key: Buffer.from(key),
        value: Buffer.from(value),
      });
    },
    threadOmitted(threadNumber) {
      flush();
      const range = keys.threadRange(threadNumber);
      for (;;) {
        const rows = store.scan(Family.events, { ...range, limit: LOAD_BATCH_OPS });
        if (rows.length === 0) break;
        store.write(
          rows.map((row) => ({ type: 'del', family: Family.events, key: row.key })),
          false,
        );
      }
      store.write([{ type: 'del', family: Family.keys, key: keys.threadKey(threadNumber) }], false);
    },
  });
  flush();
  report({ phase: 'reading', eventsDone, eventsEstimated });
  store.write(
    [
      {
        type: 'put',
        family: Family.default,
        key: keys.MetaKey.lastPosition,
        value: keys.u64(position),
      },
      {
        type: 'put',
        family: Family.default,
        key: keys.MetaKey.lastThreadNumber,
        value: keys.u64(maxThread),
      },
    ],
    false,
  );
  const { trailer } = summary;
  return {
    position,
    events: trailer.events,
    threads: trailer.threads,
    messages: trailer.messages,
    keys: trailer.keys,
    purgeAudits: trailer.purgeAudits,
  };
}
