import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { BackupError, BackupProblem } from './backup-format.js';

/** One chunk of the Backup stream, as the SDK's `admin.backup()` yields it. */
export interface BackupChunkLike {
  data: Uint8Array;
  position: bigint;
  eventsDone: bigint;
  eventsEstimated: bigint;
  finished: boolean;
}

/** Progress of a download. */
export interface DownloadProgress {
  position: bigint;
  eventsDone: bigint;
  eventsEstimated: bigint;
  bytes: number;
}

/** What a finished download wrote. */
export interface DownloadResult {
  file: string;
  position: bigint;
  events: bigint;
  bytes: number;
}

/**
 * Takes an online backup through a running server (`admin.backup()` of the SDK) and writes it to
 * `file` (mode 0600): into a temporary sibling first, fsynced, then renamed, so `file` only ever
 * appears complete. Refuses to overwrite an existing file.
 * @throws BackupError INVALID_INPUT when `file` exists, TRUNCATED when the stream ends early; the
 * SDK's errors.
 */
export async function downloadBackup(
  admin: { backup(options?: { signal?: AbortSignal }): AsyncIterable<BackupChunkLike> },
  file: string,
  onProgress: (progress: DownloadProgress) => void = () => undefined,
  signal?: AbortSignal,
): Promise<DownloadResult> {
  const target = resolve(file);
  if (await stat(target).catch(() => undefined)) {
    throw new BackupError(
      BackupProblem.invalidInput,
      `${target} already exists: choose a new file`,
    );
  }
  const partial = join(
    dirname(target),
    `.${basename(target)}.partial-${randomBytes(4).toString('hex')}`,
  );
  const handle = await open(partial, 'wx', 0o600);
  let closed = false;
  try {
    let last: BackupChunkLike | undefined;
    let bytes = 0;
    for await (const chunk of admin.backup(signal ? { signal } : {})) {
      if (chunk.data.length > 0) {
        await handle.write(chunk.data);
        bytes += chunk.data.length;
      }
      last = chunk;
      onProgress({
        position: chunk.position,
        eventsDone: chunk.eventsDone,
        eventsEstimated: chunk.eventsEstimated,
        bytes,
      });
    }
    if (!last?.finished) {
      throw new BackupError(
        BackupProblem.truncated,
        'the server ended the backup before its last chunk: nothing was written',
      );
    }
    await handle.sync();
    await handle.close();
    closed = true;
    await rename(partial, target);
    return { file: target, position: last.position, events: last.eventsDone, bytes };
  } catch (error) {
    if (!closed) await handle.close().catch(() => undefined);
    await rm(partial, { force: true });
    throw error;
  }
}
