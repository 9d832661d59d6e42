import { once } from 'node:events';
import type { Writable } from 'node:stream';

/** One event of the ExportEvents stream, as the SDK's `admin.exportEvents()` yields it. */
export interface ExportedEventLike {
  threadId: string;
  revision: bigint;
  position: bigint;
  kind: string;
  time: Date | undefined;
  actorId: string;
  requestId: string;
  payload: { [key: string]: unknown } | undefined;
  sealed: boolean;
}

/** What to export. */
export interface ExportOptions {
  threadId?: string | undefined;
  afterPosition?: bigint | undefined;
  decrypt?: boolean | undefined;
}

/** Progress of an export. */
export interface ExportProgress {
  events: bigint;
  lastPosition: bigint;
  headPosition: bigint;
}

/** One line of the ndjson export format (docs/backup.md). */
export interface ExportLine {
  thread_id: string;
  revision: string;
  position: string;
  kind: string;
  timestamp: string;
  actor: string;
  request_id: string;
  sealed: boolean;
  payload: { [key: string]: unknown };
}

/** An exported event as one ndjson line (64-bit numbers as strings). */
export function exportLine(event: ExportedEventLike): string {
  const line: ExportLine = {
    thread_id: event.threadId,
    revision: String(event.revision),
    position: String(event.position),
    kind: event.kind,
    timestamp: (event.time ?? new Date(0)).toISOString(),
    actor: event.actorId,
    request_id: event.requestId,
    sealed: event.sealed,
    payload: event.payload ?? {},
  };
  return `${JSON.stringify(line)}\n`;
}

/**
 * Exports events through a running server (`admin.exportEvents()` of the SDK) as ndjson to `out`,
 * one event per line in position order, honouring back-pressure. Resume a broken export with
 * `afterPosition` = the returned (or last printed) `lastPosition`.
 */
export async function exportEvents(
  admin: {
    exportEvents(
      input: { threadId?: string; afterPosition?: bigint; decrypt?: boolean },
      options?: { signal?: AbortSignal },
    ): AsyncIterable<{ events: ExportedEventLike[]; headPosition: bigint }>;
  },
  out: Writable,
  options: ExportOptions = {},
  onProgress: (progress: ExportProgress) => void = () => undefined,
  signal?: AbortSignal,
): Promise<ExportProgress> {
  const progress: ExportProgress = {
    events: 0n,
    lastPosition: options.afterPosition ?? 0n,
    headPosition: 0n,
  };
  const input = {
    ...(options.threadId === undefined ? {} : { threadId: options.threadId }),
    ...(options.afterPosition === undefined ? {} : { afterPosition: options.afterPosition }),
    decrypt: options.decrypt ?? false,
  };
  for await (const batch of admin.exportEvents(input, signal ? { signal } : {})) {
    progress.headPosition = batch.headPosition;
    if (batch.events.length === 0) continue;
    const text = batch.events.map(exportLine).join('');
    if (!out.write(text)) await once(out, 'drain');
    progress.events += BigInt(batch.events.length);
    progress.lastPosition = (batch.events[batch.events.length - 1] as ExportedEventLike).position;
    onProgress({ ...progress });
  }
  return progress;
}
